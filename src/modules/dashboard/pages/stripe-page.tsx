import type { AppRow } from '../../apps/apps.repository.ts'
import { maskedSecret } from '../../apps/apps.views.ts'
import type { PurchaseOutcome, StripeImportRow } from '../../stripe/stripe-imports.repository.ts'
import {
  Field,
  type FieldErrors,
  Notice,
  Page,
  type PageContext,
  PostForm,
  Table,
  utcTime,
} from './layout.tsx'

const when = utcTime

const UNDER_WAY = new Set(['queued', 'running'])
export const isUnderWay = (job: StripeImportRow) => UNDER_WAY.has(job.status)

const OUTCOME_LABELS: Record<PurchaseOutcome, string> = {
  imported: 'Imported',
  no_products_found: 'Skipped',
  failed: 'Failed',
}

/** What was asked for: a customer's whole history, or a list of purchases. */
const sourceOf = (job: StripeImportRow) =>
  job.stripeCustomerId ?? `${job.tokens.length} purchase${job.tokens.length === 1 ? '' : 's'}`

function progressText(job: StripeImportRow): string {
  if (job.status === 'queued') return 'Waiting for a worker.'
  if (job.total === null) return 'Listing the customer’s purchases in Stripe…'
  const counted = `${job.done} of ${job.total} purchase${job.total === 1 ? '' : 's'}`
  return job.status === 'running' ? `Importing: ${counted} done.` : `${counted} handled.`
}

export interface ImportFormValues {
  customerUserId: string
  stripeCustomerId: string
  tokens: string
}

export function StripePage(props: {
  context: PageContext
  app: AppRow
  webhookUrl: string
  imports: StripeImportRow[]
  errors?: FieldErrors
  values?: ImportFormValues
}) {
  const { app } = props
  const base = `/dashboard/apps/${app.id}/stripe`
  const secretKey = maskedSecret(app.stripeSecretKey)
  const webhookSecret = maskedSecret(app.stripeWebhookSecret)
  const refused = props.errors !== undefined
  return (
    <Page
      title="Stripe"
      context={props.context}
      app={{ id: app.id, name: app.name, section: 'stripe' }}
      refreshSeconds={!refused && props.imports.some(isUnderWay) ? 2 : undefined}
    >
      <section aria-labelledby="stripe-setup" class="card">
        <h2 id="stripe-setup">Set-up</h2>
        <dl class="facts">
          <dt>Secret key</dt>
          <dd>
            {secretKey ? <code>{secretKey}</code> : 'Not set: imports and webhooks cannot read Stripe.'}
          </dd>
          <dt>Webhook signing secret</dt>
          <dd>{webhookSecret ? <code>{webhookSecret}</code> : 'Not set: Stripe webhooks are refused.'}</dd>
          <dt>Webhook endpoint to add in Stripe</dt>
          <dd>
            <code>{props.webhookUrl}</code>
          </dd>
        </dl>
        <p>
          Set the keys on <a href={`/dashboard/apps/${app.id}/keys`}>Keys and settings</a>. Products are
          matched by their Stripe ids in the <a href={`/dashboard/apps/${app.id}/catalog`}>catalog</a> (store{' '}
          <code>stripe</code>, <code>prod_…</code> or <code>prod_…:price_…</code>).
        </p>
      </section>
      <section aria-labelledby="stripe-import" class="card">
        <h2 id="stripe-import">Import purchases</h2>
        <p>
          Brings a Stripe customer’s subscriptions and one-time payments into a profile. It runs in the
          background; purchases already up to date are left as they are, so it is safe to run again.
        </p>
        <PostForm action={`${base}/imports`} context={props.context} label="Import purchases from Stripe">
          <Field
            name="customer_user_id"
            label="Customer user id"
            required
            value={props.values?.customerUserId}
            errors={props.errors}
            hint="The profile that receives the purchases; it is created if missing."
          />
          <Field
            name="stripe_customer_id"
            label="Stripe customer id"
            value={props.values?.stripeCustomerId}
            errors={props.errors}
            hint="cus_…: everything the customer bought."
          />
          <Field
            name="tokens"
            label="Or these purchases"
            value={props.values?.tokens}
            errors={props.errors}
            hint="sub_… and pi_… ids, separated by spaces or commas."
          />
          <button type="submit">Start the import</button>
        </PostForm>
      </section>
      <section aria-labelledby="stripe-imports">
        <h2 id="stripe-imports">Recent imports</h2>
        {props.imports.length === 0 ? (
          <p>No imports yet.</p>
        ) : (
          <Table headers={['Started', 'Customer user id', 'From', 'Status', 'Progress']}>
            {props.imports.map((job) => (
              <tr>
                <td>
                  <a href={`${base}/imports/${job.id}`}>{when(job.createdAt)}</a>
                </td>
                <td>{job.customerUserId}</td>
                <td>
                  <code>{sourceOf(job)}</code>
                </td>
                <td>
                  <span class={`status ${job.status}`}>{job.status}</span>
                </td>
                <td>{progressText(job)}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </Page>
  )
}

export function StripeImportPage(props: { context: PageContext; app: AppRow; job: StripeImportRow }) {
  const { app, job } = props
  const base = `/dashboard/apps/${app.id}/stripe`
  const underWay = isUnderWay(job)
  return (
    <Page
      title="Stripe import"
      context={props.context}
      app={{ id: app.id, name: app.name, section: 'stripe' }}
      refreshSeconds={underWay ? 2 : undefined}
    >
      <p>
        <a href={base}>← All imports</a>
      </p>
      {job.status === 'succeeded' && <Notice kind="success">The import finished.</Notice>}
      {job.status === 'failed' && <Notice kind="error">{job.error ?? 'The import failed.'}</Notice>}
      <dl class="facts">
        <dt>Customer user id</dt>
        <dd>{job.customerUserId}</dd>
        <dt>From</dt>
        <dd>
          <code>{job.stripeCustomerId ?? job.tokens.join(' ')}</code>
        </dd>
        <dt>Status</dt>
        <dd>
          <span class={`status ${job.status}`}>{job.status}</span>
          {job.attempts > 1 ? ` (run ${job.attempts} times: a runner stopped half-way)` : ''}
        </dd>
        <dt>Queued</dt>
        <dd>{when(job.createdAt)}</dd>
        <dt>Finished</dt>
        <dd>{when(job.finishedAt)}</dd>
      </dl>
      <p id="import-progress" role="status">
        {progressText(job)}
        {underWay ? ' This page refreshes itself.' : ''}
      </p>
      {job.total !== null && job.total > 0 && (
        <progress max={job.total} value={job.done} aria-labelledby="import-progress">
          {`${job.done}/${job.total}`}
        </progress>
      )}
      {job.results.length > 0 && (
        <Table headers={['Purchase', 'Outcome', 'Detail']}>
          {job.results.map((result) => (
            <tr>
              <td>
                <code>{result.token}</code>
              </td>
              <td>
                <span class={`status ${result.outcome}`}>{OUTCOME_LABELS[result.outcome]}</span>
              </td>
              <td>{result.message ?? ''}</td>
            </tr>
          ))}
        </Table>
      )}
      {!underWay && (
        <PostForm
          action={`${base}/imports/${job.id}/again`}
          context={props.context}
          label="Run the import again"
          class="actions"
        >
          <button type="submit">Run it again</button>
        </PostForm>
      )}
    </Page>
  )
}
