import type { ComponentChildren, InputHTMLAttributes } from 'preact'
import { renderToString } from 'preact-render-to-string'

/** The dashboard's frame and its small shared pieces. Preact escapes every text and attribute it renders. */

export interface PageContext {
  csrfToken: string | null
}

/** A moment as the dashboard shows it: UTC to the second; a dash when there is none. */
export const utcTime = (value: Date | null) =>
  value ? `${value.toISOString().slice(0, 19).replace('T', ' ')} UTC` : '—'

export function renderPage(node: preact.VNode): string {
  return `<!doctype html>${renderToString(node)}`
}

export function Page(props: {
  title: string
  context: PageContext
  /** The app the page belongs to, for the app's own navigation. */
  app?: { id: string; name: string; section: AppSection }
  /** Reload the page every so many seconds, while something it shows is under way. */
  refreshSeconds?: number
  children: ComponentChildren
}) {
  const { context, app } = props
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Entitle`}</title>
        {props.refreshSeconds !== undefined && (
          <meta http-equiv="refresh" content={String(props.refreshSeconds)} />
        )}
        <link rel="stylesheet" href="/dashboard/assets/dashboard.css" />
        <script src="/dashboard/assets/dashboard.js" defer />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/dashboard/apps">
            Entitle
          </a>
          {context.csrfToken !== null && (
            <nav aria-label="Main">
              <a href="/dashboard/apps">Apps</a>
              <form method="post" action="/dashboard/sign-out" class="inline">
                <CsrfField token={context.csrfToken} />
                <button type="submit" class="link">
                  Sign out
                </button>
              </form>
            </nav>
          )}
        </header>
        {app && <AppNav app={app} />}
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  )
}

export type AppSection = 'overview' | 'keys' | 'catalog' | 'profiles' | 'events' | 'webhooks' | 'stripe'

const APP_SECTIONS: { section: AppSection; label: string; path: string }[] = [
  { section: 'overview', label: 'Overview', path: '' },
  { section: 'keys', label: 'Keys and settings', path: '/keys' },
  { section: 'catalog', label: 'Catalog', path: '/catalog' },
  { section: 'profiles', label: 'Profiles', path: '/profiles' },
  { section: 'events', label: 'Events', path: '/events' },
  { section: 'webhooks', label: 'Webhooks', path: '/webhooks' },
  { section: 'stripe', label: 'Stripe', path: '/stripe' },
]

function AppNav({ app }: { app: { id: string; name: string; section: AppSection } }) {
  return (
    <nav class="app-nav" aria-label={`App ${app.name}`}>
      <span class="app-name">{app.name}</span>
      {APP_SECTIONS.map((entry) => (
        <a
          href={`/dashboard/apps/${app.id}${entry.path}`}
          aria-current={entry.section === app.section ? 'page' : undefined}
        >
          {entry.label}
        </a>
      ))}
    </nav>
  )
}

export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name="_csrf" value={token} />
}

/** A POST form with the session's CSRF token; `confirm` asks before it is sent. */
export function PostForm(props: {
  action: string
  context: PageContext
  confirm?: string
  class?: string
  label?: string
  children: ComponentChildren
}) {
  return (
    <form
      method="post"
      action={props.action}
      class={props.class}
      data-confirm={props.confirm}
      aria-label={props.label}
    >
      <CsrfField token={props.context.csrfToken ?? ''} />
      {props.children}
    </form>
  )
}

/** A Delete button of a table row, asking `confirm` before it posts to `action`. */
export function DeleteInRow(props: { action: string; context: PageContext; confirm: string; label: string }) {
  return (
    <PostForm
      action={props.action}
      context={props.context}
      confirm={props.confirm}
      class="inline"
      label={props.label}
    >
      <button type="submit" class="danger">
        Delete
      </button>
    </PostForm>
  )
}

export type FieldErrors = Record<string, string>

/** A labelled input with its validation message, tied together for screen readers. */
export function Field(props: {
  name: string
  label: string
  errors?: FieldErrors
  value?: string
  type?: 'text' | 'password' | 'number' | 'email'
  required?: boolean
  hint?: string
  autocomplete?: string
}) {
  const error = props.errors?.[props.name]
  const id = `field-${props.name}`
  const described = [props.hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ')
  // preact types `type` as a discriminated union; the attributes are plain either way.
  const inputAttributes = {
    id,
    name: props.name,
    type: props.type ?? 'text',
    value: props.value ?? '',
    required: props.required,
    autocomplete: props.autocomplete,
    'aria-invalid': error ? 'true' : undefined,
    'aria-describedby': described || undefined,
  } as InputHTMLAttributes<HTMLInputElement>
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      <input {...inputAttributes} />
      {props.hint && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="error" role="alert">
          {error}
        </small>
      )}
    </div>
  )
}

export function Select(props: {
  name: string
  label: string
  options: readonly string[]
  value?: string
  errors?: FieldErrors
}) {
  const error = props.errors?.[props.name]
  const id = `field-${props.name}`
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name} aria-describedby={error ? `${id}-error` : undefined}>
        {props.options.map((option) => (
          <option value={option} selected={option === props.value}>
            {option}
          </option>
        ))}
      </select>
      {error && (
        <small id={`${id}-error`} class="error" role="alert">
          {error}
        </small>
      )}
    </div>
  )
}

/** A notice at the top of a page: what just happened, or why it did not. */
export function Notice(props: { kind: 'success' | 'error'; children: ComponentChildren }) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  )
}

/** A secret shown once, with a button that copies it. */
export function OnceSecret(props: { label: string; value: string }) {
  return (
    <div class="secret">
      <p>
        <strong>{props.label}</strong> It is shown only this once; only its hash is stored.
      </p>
      <code id="once-secret">{props.value}</code>
      <button type="button" data-copy="#once-secret">
        Copy
      </button>
    </div>
  )
}

/** A table that scrolls sideways inside its frame on a narrow screen; an empty header is an actions column. */
export function Table(props: { headers: string[]; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {props.headers.map((header) => (
              <th scope="col">{header === '' ? <span class="visually-hidden">Actions</span> : header}</th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  )
}
