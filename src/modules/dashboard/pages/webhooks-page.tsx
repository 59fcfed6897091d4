import type { AppRow } from '../../apps/apps.repository.ts'
import type { EndpointRow } from '../../webhooks/webhooks.repository.ts'
import { WEBHOOK_EVENT_TYPES } from '../../webhooks/webhooks.service.ts'
import type { AttemptLine } from '../dashboard.repository.ts'
import {
  Field,
  type FieldErrors,
  Notice,
  OnceSecret,
  Page,
  type PageContext,
  PostForm,
  Table,
  utcTime,
} from './layout.tsx'

const when = utcTime

export type EnvironmentKey = 'production' | 'sandbox'

/** What the endpoint form shows: the saved endpoint, or what was typed when it was refused. */
export interface EndpointFormValues {
  url: string
  authorization: string
  events: string[] | null
  eventNames: string
  sendUserAttributes: boolean
  sendTrialPrice: boolean
}

export const formValuesOf = (endpoint: EndpointRow | null): EndpointFormValues => ({
  url: endpoint?.url ?? '',
  authorization: '',
  events: endpoint?.eventTypes ?? null,
  eventNames: Object.entries(endpoint?.eventNames ?? {})
    .map(([type, name]) => `${type}=${name}`)
    .join('\n'),
  sendUserAttributes: endpoint?.sendUserAttributes ?? false,
  sendTrialPrice: endpoint?.sendTrialPrice ?? false,
})

export interface WebhooksPageData {
  app: AppRow
  endpoints: Record<EnvironmentKey, EndpointRow | null>
  attempts: AttemptLine[]
  outcome: '' | 'succeeded' | 'failed'
  counts: { waiting: number; failed: number }
}

export function WebhooksPage(props: {
  context: PageContext
  data: WebhooksPageData
  notice?: { kind: 'success' | 'error'; text: string }
  newSecret?: { label: string; value: string }
  /** A refused save: the environment, its messages and the values sent. */
  refused?: { environment: EnvironmentKey; errors: FieldErrors; values: EndpointFormValues }
}) {
  const { app, endpoints } = props.data
  const base = `/dashboard/apps/${app.id}/webhooks`
  return (
    <Page
      title="Webhooks"
      context={props.context}
      app={{ id: app.id, name: app.name, section: 'webhooks' }}
      refreshSeconds={props.data.counts.waiting > 0 && !props.refused && !props.newSecret ? 3 : undefined}
    >
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      {props.newSecret && <OnceSecret label={props.newSecret.label} value={props.newSecret.value} />}
      {(['production', 'sandbox'] as const).map((environment) => {
        const endpoint = endpoints[environment]
        const refused = props.refused?.environment === environment ? props.refused : undefined
        return (
          <section aria-labelledby={`endpoint-${environment}`} class="card">
            <h2 id={`endpoint-${environment}`}>
              {environment === 'production' ? 'Production' : 'Sandbox'} endpoint
            </h2>
            {endpoint ? (
              <p>
                Sends to <code>{endpoint.url}</code>, signed with{' '}
                <code>{`whsec_…${endpoint.signingSecret.slice(-4)}`}</code>
                {endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > new Date()
                  ? ` (the previous secret also signs until ${when(endpoint.previousSecretExpiresAt)})`
                  : ''}
                .
              </p>
            ) : (
              <p>No endpoint: events of this environment are kept in the feed but not sent.</p>
            )}
            <EndpointForm
              action={`${base}/${environment}`}
              environment={environment}
              context={props.context}
              values={refused?.values ?? formValuesOf(endpoint)}
              errors={refused?.errors}
              saved={endpoint !== null}
            />
            {endpoint && (
              <div class="actions">
                <PostForm
                  action={`${base}/${environment}/rotate-secret`}
                  context={props.context}
                  confirm="Rotate the signing secret? The old one keeps signing next to the new one for 24 hours."
                  label={`Rotate the ${environment} signing secret`}
                >
                  <button type="submit">Rotate the signing secret</button>
                </PostForm>
                <PostForm
                  action={`${base}/${environment}/delete`}
                  context={props.context}
                  confirm={`Remove the ${environment} endpoint? Deliveries still waiting for it are cancelled.`}
                  label={`Remove the ${environment} endpoint`}
                >
                  <button type="submit" class="danger">
                    Remove the endpoint
                  </button>
                </PostForm>
              </div>
            )}
          </section>
        )
      })}
      <section aria-labelledby="deliveries">
        <h2 id="deliveries">Delivery log (latest 50 attempts)</h2>
        <p id="delivery-progress" role="status">
          {props.data.counts.waiting > 0
            ? `Sending: ${props.data.counts.waiting} waiting for their first attempt or a retry (this page refreshes itself).`
            : 'Nothing waiting to be sent.'}
          {props.data.counts.failed > 0 ? ` ${props.data.counts.failed} given up after every retry.` : ''}
        </p>
        <nav class="pager" aria-label="Filter the delivery log">
          {(['', 'succeeded', 'failed'] as const).map((outcome) => (
            <a
              href={`${base}${outcome ? `?status=${outcome}` : ''}`}
              aria-current={outcome === props.data.outcome ? 'page' : undefined}
            >
              {outcome === '' ? 'All' : outcome}
            </a>
          ))}
        </nav>
        {props.data.attempts.length === 0 ? (
          <p>No delivery attempts yet.</p>
        ) : (
          <Table headers={['Attempted', 'Event', '#', 'Status', 'Latency', 'Answer or error', '']}>
            {props.data.attempts.map((attempt) => (
              <tr>
                <td>{when(attempt.attemptedAt)}</td>
                <td>
                  {attempt.eventType ?? '—'}
                  <br />
                  <code>{attempt.eventId}</code>
                </td>
                <td>{attempt.attempt}</td>
                <td>
                  {attempt.statusCode ?? 'no answer'} ({attempt.deliveryStatus})
                </td>
                <td>{attempt.latencyMs} ms</td>
                <td>
                  <code class="excerpt">{attempt.error ?? attempt.responseExcerpt ?? ''}</code>
                </td>
                <td>
                  <PostForm
                    action={`${base}/redeliver`}
                    context={props.context}
                    confirm="Send this event again?"
                    class="inline"
                    label={`Redeliver event ${attempt.eventId}`}
                  >
                    <input type="hidden" name="event_id" value={attempt.eventId} />
                    <button type="submit">Redeliver</button>
                  </PostForm>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <section aria-labelledby="redeliver-range" class="card">
        <h2 id="redeliver-range">Redeliver a time range</h2>
        <PostForm
          action={`${base}/redeliver-range`}
          context={props.context}
          confirm="Send every event of this time range again?"
          label="Redeliver a time range"
        >
          <Field
            name="from"
            label="From (UTC)"
            hint="For example 2026-11-24T00:00"
            errors={props.refused?.errors}
          />
          <Field name="to" label="To (UTC)" errors={props.refused?.errors} />
          <div class="field">
            <label for="field-range-environment">Environment</label>
            <select id="field-range-environment" name="environment">
              <option value="">Both</option>
              <option value="production">production</option>
              <option value="sandbox">sandbox</option>
            </select>
          </div>
          <button type="submit">Redeliver</button>
        </PostForm>
      </section>
    </Page>
  )
}

function EndpointForm(props: {
  action: string
  environment: EnvironmentKey
  context: PageContext
  values: EndpointFormValues
  errors?: FieldErrors
  saved: boolean
}) {
  const { values, errors } = props
  const id = (name: string) => `${props.environment}-${name}`
  return (
    <PostForm action={props.action} context={props.context} label={`Save the ${props.environment} endpoint`}>
      <div class={errors?.url ? 'field invalid' : 'field'}>
        <label for={id('url')}>URL</label>
        <input
          id={id('url')}
          name="url"
          type="url"
          value={values.url}
          required
          aria-describedby={errors?.url ? id('url-error') : undefined}
        />
        {errors?.url && (
          <small id={id('url-error')} class="error" role="alert">
            {errors.url}
          </small>
        )}
      </div>
      <div class="field">
        <label for={id('authorization')}>Authorization header (sent verbatim; empty keeps none)</label>
        <input
          id={id('authorization')}
          name="authorization"
          value={values.authorization}
          autocomplete="off"
        />
      </div>
      <fieldset>
        <legend>Events to send (none ticked: all)</legend>
        <div class="checks">
          {WEBHOOK_EVENT_TYPES.map((type) => (
            <label>
              <input
                type="checkbox"
                name="events"
                value={type}
                checked={values.events?.includes(type) ?? false}
              />{' '}
              {type}
            </label>
          ))}
        </div>
      </fieldset>
      <div class={errors?.event_names ? 'field invalid' : 'field'}>
        <label for={id('event_names')}>Renamed events, one per line as type=new_name</label>
        <textarea id={id('event_names')} name="event_names" rows={3}>
          {values.eventNames}
        </textarea>
        {errors?.event_names && (
          <small class="error" role="alert">
            {errors.event_names}
          </small>
        )}
      </div>
      <label class="check">
        <input type="checkbox" name="send_user_attributes" value="true" checked={values.sendUserAttributes} />{' '}
        Send user attributes
      </label>
      <label class="check">
        <input type="checkbox" name="send_trial_price" value="true" checked={values.sendTrialPrice} /> Send
        trial prices
      </label>
      <p class="hint">Saving sends the endpoint a POST of {'{}'}; it must answer 2xx with a JSON body.</p>
      <button type="submit">{props.saved ? 'Save the endpoint' : 'Add the endpoint'}</button>
    </PostForm>
  )
}
