import type { AccessLevelRow, ApiKeyRow, AppRow } from '../../apps/apps.repository.ts'
import { SHARING_MODES } from '../../apps/apps.schemas.ts'
import type { AppSettings } from '../../apps/apps.service.ts'
import { maskedSecret } from '../../apps/apps.views.ts'
import { BUNDLED_EXCHANGE_RATES_AS_OF, effectiveExchangeRates } from '../../apps/exchange-rates.ts'
import {
  DeleteInRow,
  Field,
  type FieldErrors,
  Notice,
  OnceSecret,
  Page,
  type PageContext,
  PostForm,
  Select,
  Table,
} from './layout.tsx'

const day = (value: Date) => value.toISOString().slice(0, 10)

/** The write-only secrets of the settings form: stored field, form name, label. */
export const CREDENTIALS = [
  ['stripeSecretKey', 'stripe_secret_key', 'Stripe secret key'],
  ['stripeWebhookSecret', 'stripe_webhook_secret', 'Stripe webhook signing secret'],
  ['paddleApiKey', 'paddle_api_key', 'Paddle API key'],
] as const

export function AppsPage(props: {
  context: PageContext
  apps: AppRow[]
  errors?: FieldErrors
  name?: string
}) {
  return (
    <Page title="Apps" context={props.context}>
      <section aria-labelledby="apps-list">
        <h2 id="apps-list">Your apps</h2>
        {props.apps.length === 0 ? (
          <p>No apps yet.</p>
        ) : (
          <Table headers={['Name', 'App id', 'Created']}>
            {props.apps.map((app) => (
              <tr>
                <td>
                  <a href={`/dashboard/apps/${app.id}`}>{app.name}</a>
                </td>
                <td>
                  <code>{app.id}</code>
                </td>
                <td>{day(app.createdAt)}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <section aria-labelledby="new-app" class="card">
        <h2 id="new-app">New app</h2>
        <PostForm action="/dashboard/apps" context={props.context} label="New app">
          <Field name="name" label="Name" required value={props.name} errors={props.errors} />
          <button type="submit">Create the app</button>
        </PostForm>
      </section>
    </Page>
  )
}

export interface AppPageData {
  app: AppRow
  keys: ApiKeyRow[]
  settings: AppSettings
  accessLevels: AccessLevelRow[]
  defaultRateLimitPerMinute: number
}

export function AppPage(props: {
  context: PageContext
  data: AppPageData
  /** A key just issued (new app or rotation), shown once. */
  newSecret?: { label: string; value: string }
  notice?: { kind: 'success' | 'error'; text: string }
  errors?: FieldErrors
}) {
  const { app, keys, settings } = props.data
  const base = `/dashboard/apps/${app.id}`
  return (
    <Page title={app.name} context={props.context} app={{ id: app.id, name: app.name, section: 'keys' }}>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      {props.newSecret && <OnceSecret label={props.newSecret.label} value={props.newSecret.value} />}
      <p>
        App id <code>{app.id}</code>
      </p>
      <section aria-labelledby="keys">
        <h2 id="keys">API keys</h2>
        <Table headers={['Kind', 'Key', 'Created', '']}>
          {keys.map((key) => (
            <tr>
              <td>{key.kind}</td>
              <td>
                <code>{key.hint}</code>
              </td>
              <td>{day(key.createdAt)}</td>
              <td>
                <DeleteInRow
                  action={`${base}/keys/${key.id}/delete`}
                  context={props.context}
                  confirm={`Delete the key ${key.hint}? Requests that use it will be refused at once.`}
                  label={`Delete the key ${key.hint}`}
                />
              </td>
            </tr>
          ))}
        </Table>
        <PostForm action={`${base}/keys`} context={props.context} label="Issue a new secret key">
          <button type="submit">Issue a new secret key</button>
        </PostForm>
      </section>
      <section aria-labelledby="settings" class="card">
        <h2 id="settings">Settings</h2>
        <PostForm action={`${base}/settings`} context={props.context} label="Settings">
          <Select
            name="sharing_mode"
            label="Access sharing (production)"
            options={SHARING_MODES}
            value={settings.sharingMode}
            errors={props.errors}
          />
          <Select
            name="sandbox_sharing_mode"
            label="Access sharing (sandbox)"
            options={SHARING_MODES}
            value={settings.sandboxSharingMode}
            errors={props.errors}
          />
          <Field
            name="rate_limit_per_minute"
            label="Rate limit (requests per minute per key)"
            type="number"
            value={settings.rateLimitPerMinute === null ? '' : String(settings.rateLimitPerMinute)}
            hint={`Empty: the server default (${props.data.defaultRateLimitPerMinute}).`}
            errors={props.errors}
          />
          <div class={props.errors?.exchange_rates ? 'field invalid' : 'field'}>
            <label for="field-exchange_rates">
              Exchange rates: US dollars per unit, one per line as CODE=rate
            </label>
            <textarea
              id="field-exchange_rates"
              name="exchange_rates"
              rows={6}
              aria-describedby={
                props.errors?.exchange_rates ? 'field-exchange_rates-error' : 'field-exchange_rates-hint'
              }
            >
              {Object.entries(effectiveExchangeRates(settings.exchangeRates))
                .map(([currency, rate]) => `${currency}=${rate}`)
                .join('\n')}
            </textarea>
            <small id="field-exchange_rates-hint" class="hint">
              {settings.exchangeRates === null
                ? `The bundled snapshot of ${BUNDLED_EXCHANGE_RATES_AS_OF}. Saving a change makes it this app's own table.`
                : 'This app’s own table. A currency left out is removed.'}
            </small>
            {props.errors?.exchange_rates && (
              <small id="field-exchange_rates-error" class="error" role="alert">
                {props.errors.exchange_rates}
              </small>
            )}
          </div>
          <label class="check">
            <input type="checkbox" name="reset_exchange_rates" value="true" /> Return to the bundled snapshot
          </label>
          <fieldset>
            <legend>Web store credentials (write-only: empty keeps what is stored)</legend>
            {CREDENTIALS.map(([field, name, label]) => (
              <div class={props.errors?.[name] ? 'field invalid' : 'field'}>
                <label
                  for={`field-${name}`}
                >{`${label} (now: ${maskedSecret(settings.credentials[field]) ?? 'not set'})`}</label>
                <input id={`field-${name}`} name={name} type="password" autocomplete="off" value="" />
                {props.errors?.[name] && (
                  <small class="error" role="alert">
                    {props.errors[name]}
                  </small>
                )}
                <label class="check">
                  <input type="checkbox" name={`remove_${name}`} value="true" /> Remove it
                </label>
              </div>
            ))}
          </fieldset>
          <button type="submit">Save the settings</button>
        </PostForm>
      </section>
    </Page>
  )
}
