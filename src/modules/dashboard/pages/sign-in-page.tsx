import { CsrfField, Field, Notice, Page } from './layout.tsx'

export function SignInPage(props: { signInToken: string; failed: boolean; signedOut?: boolean }) {
  return (
    <Page title="Sign in" context={{ csrfToken: null }}>
      {props.failed && <Notice kind="error">That admin token is not valid.</Notice>}
      {props.signedOut && <Notice kind="success">You are signed out.</Notice>}
      <form method="post" action="/dashboard/sign-in" class="card narrow">
        <CsrfField token={props.signInToken} />
        <Field
          name="admin_token"
          label="Admin token"
          type="password"
          required
          autocomplete="current-password"
          hint="The token printed at the first start (adm_…), or ADMIN_TOKEN."
        />
        <button type="submit">Sign in</button>
      </form>
    </Page>
  )
}

export function MessagePage(props: { title: string; message: string; csrfToken: string | null }) {
  return (
    <Page title={props.title} context={{ csrfToken: props.csrfToken }}>
      <Notice kind="error">{props.message}</Notice>
      <p>
        <a href="/dashboard/apps">Back to the apps</a>
      </p>
    </Page>
  )
}
