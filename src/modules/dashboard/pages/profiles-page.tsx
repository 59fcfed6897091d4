import type { AccessLevelRow, AppRow } from '../../apps/apps.repository.ts'
import type { WireEntitlements } from '../../entitlements/render-entitlements.ts'
import type { ProfileRow } from '../../profiles/profiles.repository.ts'
import type { EventLine, LedgerLine, ProfileMatch } from '../dashboard.repository.ts'
import { type FieldErrors, Notice, Page, type PageContext, PostForm, Select, Table } from './layout.tsx'

const when = (value: Date | string | null | undefined) =>
  value === null || value === undefined
    ? '—'
    : `${(value instanceof Date ? value : new Date(value)).toISOString().slice(0, 16).replace('T', ' ')} UTC`

export function ProfilesPage(props: {
  context: PageContext
  app: AppRow
  query: string
  matches: ProfileMatch[]
  notice?: { kind: 'success' | 'error'; text: string }
}) {
  const { app } = props
  return (
    <Page title="Profiles" context={props.context} app={{ id: app.id, name: app.name, section: 'profiles' }}>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      <form
        method="get"
        action={`/dashboard/apps/${app.id}/profiles`}
        class="search"
        aria-label="Find a profile"
      >
        <label for="profile-query">Customer user id, profile id or email</label>
        <input id="profile-query" name="q" type="search" value={props.query} />
        <button type="submit">Search</button>
      </form>
      <h2>{props.query === '' ? 'Newest profiles' : `Profiles matching “${props.query}”`}</h2>
      {props.matches.length === 0 ? (
        <p>No profile found.</p>
      ) : (
        <Table headers={['Customer user id', 'Email', 'Profile id', 'Created']}>
          {props.matches.map((match) => (
            <tr>
              <td>
                <a href={`/dashboard/apps/${app.id}/profiles/${match.id}`}>
                  {match.customerUserId ?? '(anonymous)'}
                </a>
              </td>
              <td>{match.email ?? '—'}</td>
              <td>
                <code>{match.id}</code>
              </td>
              <td>{when(match.createdAt)}</td>
            </tr>
          ))}
        </Table>
      )}
    </Page>
  )
}

export interface ProfilePageData {
  app: AppRow
  profile: ProfileRow
  entitlements: WireEntitlements
  accessLevels: AccessLevelRow[]
  ledger: LedgerLine[]
  events: EventLine[]
  now: Date
}

function Definitions({ rows }: { rows: [string, string | number | null | undefined][] }) {
  return (
    <dl class="facts">
      {rows.map(([term, value]) => (
        <>
          <dt>{term}</dt>
          <dd>{value === null || value === undefined || value === '' ? '—' : String(value)}</dd>
        </>
      ))}
    </dl>
  )
}

/** Why an access level is in its state, in words. */
function accessReason(level: WireEntitlements['access_levels'][number], now: Date): string {
  const starts = level.starts_at ? Date.parse(level.starts_at) : null
  const ends = level.expires_at ? Date.parse(level.expires_at) : null
  if (starts !== null && starts > now.getTime()) return `starts ${when(level.starts_at)}`
  if (level.cancellation_reason) return level.cancellation_reason.replaceAll('_', ' ')
  if (level.is_in_grace_period) return 'in grace period after a billing issue'
  if (level.billing_issue_detected_at) return 'billing issue'
  if (ends !== null && ends <= now.getTime()) return 'expired'
  if (level.renewal_cancelled_at) return 'will not renew'
  return level.store === 'adapty' ? 'granted' : 'purchased'
}

function isActive(level: WireEntitlements['access_levels'][number], now: Date): boolean {
  const starts = level.starts_at ? Date.parse(level.starts_at) : null
  const ends = level.expires_at ? Date.parse(level.expires_at) : null
  return (starts === null || starts <= now.getTime()) && (ends === null || ends > now.getTime())
}

/** One line about what a ledger entry recorded. */
function ledgerSummary(line: LedgerLine): string {
  const entry = line.entry as {
    transaction?: {
      storeTransactionId?: string
      storeProductId?: string
      store?: string
      refundedAt?: string | null
    }
    accessLevelId?: string
    expiresAt?: string | null
    revokeAt?: string | null
  }
  if (entry.transaction) {
    const txn = entry.transaction
    return `${txn.store}: ${txn.storeProductId}, transaction ${txn.storeTransactionId}${txn.refundedAt ? ' (refunded)' : ''}`
  }
  if (entry.accessLevelId) {
    const until = 'expiresAt' in entry ? `, until ${entry.expiresAt ? when(entry.expiresAt) : 'forever'}` : ''
    return `${entry.accessLevelId}${until}`
  }
  return ''
}

export function ProfilePage(props: {
  context: PageContext
  data: ProfilePageData
  notice?: { kind: 'success' | 'error'; text: string }
  errors?: FieldErrors
}) {
  const { app, profile, entitlements, now } = props.data
  const base = `/dashboard/apps/${app.id}/profiles/${profile.id}`
  const levelIds = props.data.accessLevels.map((level) => level.id)
  return (
    <Page
      title={`Profile ${profile.customerUserId ?? profile.id}`}
      context={props.context}
      app={{ id: app.id, name: app.name, section: 'profiles' }}
    >
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      <section aria-labelledby="attributes" class="card">
        <h2 id="attributes">Attributes</h2>
        <Definitions
          rows={[
            ['Profile id', profile.id],
            ['Customer user id', profile.customerUserId],
            ['Email', profile.email],
            ['Name', [profile.firstName, profile.lastName].filter(Boolean).join(' ')],
            ['Gender', profile.gender],
            ['Phone', profile.phoneNumber],
            ['Birthday', profile.birthday],
            ['Country (IP)', profile.ipCountry],
            ['Store country', profile.storeCountry],
            ['Total revenue (USD, net of refunds)', profile.totalRevenueUsd.toFixed(2)],
            ['Created', when(profile.createdAt)],
          ]}
        />
        <h3>Custom attributes</h3>
        {profile.customAttributes.length === 0 ? (
          <p>None.</p>
        ) : (
          <Definitions rows={profile.customAttributes.map((attribute) => [attribute.key, attribute.value])} />
        )}
        <h3>Integration ids</h3>
        {Object.keys(profile.integrationIds ?? {}).length === 0 ? (
          <p>None.</p>
        ) : (
          <Definitions rows={Object.entries(profile.integrationIds ?? {})} />
        )}
      </section>

      <section aria-labelledby="access">
        <h2 id="access">Access levels</h2>
        {entitlements.access_levels.length === 0 ? (
          <p>No access level, now or before.</p>
        ) : (
          <Table headers={['Access level', 'Active', 'Until', 'Why', 'From']}>
            {entitlements.access_levels.map((level) => (
              <tr>
                <td>{level.access_level_id}</td>
                <td>{isActive(level, now) ? 'yes' : 'no'}</td>
                <td>{level.expires_at ? when(level.expires_at) : 'lifetime'}</td>
                <td>{accessReason(level, now)}</td>
                <td>
                  {level.store}: {level.store_product_id}
                </td>
              </tr>
            ))}
          </Table>
        )}
        <div class="actions">
          <PostForm
            action={`${base}/grant`}
            context={props.context}
            class="card"
            label="Grant an access level"
            confirm="Grant this access level?"
          >
            <h3>Grant</h3>
            <Select name="access_level_id" label="Access level" options={levelIds} errors={props.errors} />
            <DateField name="starts_at" label="Starts (UTC; empty: now)" errors={props.errors} />
            <DateField name="expires_at" label="Expires (UTC; empty: never)" errors={props.errors} />
            <button type="submit">Grant</button>
          </PostForm>
          <PostForm
            action={`${base}/revoke`}
            context={props.context}
            class="card"
            label="Revoke an access level"
            confirm="Revoke this access level?"
          >
            <h3>Revoke</h3>
            <Select
              name="revoke_access_level_id"
              label="Access level"
              options={levelIds}
              errors={props.errors}
            />
            <DateField name="revoke_at" label="Revoke at (UTC; empty: now)" errors={props.errors} />
            <button type="submit" class="danger">
              Revoke
            </button>
          </PostForm>
        </div>
      </section>

      <PurchasesSection entitlements={entitlements} />

      <section aria-labelledby="ledger">
        <h2 id="ledger">Transaction ledger (latest 100)</h2>
        <Table headers={['#', 'Recorded', 'Kind', 'What']}>
          {props.data.ledger.map((line) => (
            <tr>
              <td>{line.seq}</td>
              <td>{when(line.recordedAt)}</td>
              <td>{line.kind}</td>
              <td>{ledgerSummary(line)}</td>
            </tr>
          ))}
        </Table>
      </section>

      <section aria-labelledby="timeline">
        <h2 id="timeline">Events (latest 100)</h2>
        <ol class="timeline">
          {props.data.events.map((event) => (
            <li>
              <span class="event-type">{event.eventType}</span> {when(event.eventDatetime)}{' '}
              <small>
                {event.environment} · #{event.profileSeq} · <code>{event.id}</code>
              </small>
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="danger" class="card">
        <h2 id="danger">Delete the profile</h2>
        <p>Removes the profile, its attributes and devices. Its ledger is kept, detached from the person.</p>
        <PostForm
          action={`${base}/delete`}
          context={props.context}
          confirm={`Delete the profile ${profile.customerUserId ?? profile.id}? This cannot be undone.`}
          label="Delete the profile"
        >
          <button type="submit" class="danger">
            Delete the profile
          </button>
        </PostForm>
      </section>
    </Page>
  )
}

function DateField(props: { name: string; label: string; errors?: FieldErrors }) {
  const id = `field-${props.name}`
  const error = props.errors?.[props.name]
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type="datetime-local"
        aria-describedby={error ? `${id}-error` : undefined}
      />
      {error && (
        <small id={`${id}-error`} class="error" role="alert">
          {error}
        </small>
      )}
    </div>
  )
}

function PurchasesSection({ entitlements }: { entitlements: WireEntitlements }) {
  return (
    <section aria-labelledby="purchases">
      <h2 id="purchases">Subscriptions</h2>
      {entitlements.subscriptions.length === 0 ? (
        <p>None.</p>
      ) : (
        <Table headers={['Product', 'Transaction', 'Purchased', 'Expires', 'Renewal', 'Environment']}>
          {entitlements.subscriptions.map((subscription) => (
            <tr>
              <td>
                {subscription.store}: {subscription.store_product_id}
              </td>
              <td>
                <code>{subscription.store_transaction_id}</code>
              </td>
              <td>{when(subscription.purchased_at)}</td>
              <td>{when(subscription.expires_at)}</td>
              <td>
                {subscription.cancellation_reason ??
                  (subscription.renewal_cancelled_at ? 'cancelled' : 'renews')}
              </td>
              <td>{subscription.environment}</td>
            </tr>
          ))}
        </Table>
      )}
      <h2>Non-subscriptions</h2>
      {entitlements.non_subscriptions.length === 0 ? (
        <p>None.</p>
      ) : (
        <Table headers={['Product', 'Transaction', 'Purchased', 'Refunded']}>
          {entitlements.non_subscriptions.map((purchase) => (
            <tr>
              <td>
                {purchase.store}: {purchase.store_product_id}
              </td>
              <td>
                <code>{purchase.store_transaction_id}</code>
              </td>
              <td>{when(purchase.purchased_at)}</td>
              <td>{purchase.is_refund ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  )
}
