import type { DatabaseHandle, PreparedStatement } from '../../db/open-database.ts'

/** The reads only the dashboard makes: finding profiles, a profile's history, the feed newest first. */

const statement = (name: string, text: string): PreparedStatement => ({ name, text })

const SQL = {
  searchProfiles: statement(
    'dash_search_profiles',
    `select id, customer_user_id, email, created_at from profiles
      where app_id = $1
        and (id = $2::uuid or customer_user_id = $3 or lower(email) = lower($3))
      order by created_at desc
      limit 50`,
  ),
  recentProfiles: statement(
    'dash_recent_profiles',
    `select id, customer_user_id, email, created_at from profiles
      where app_id = $1 order by created_at desc limit 20`,
  ),
  profileLedger: statement(
    'dash_profile_ledger',
    `select seq::text as seq, kind, recorded_at, entry from ledger_entries
      where app_id = $1 and profile_id = $2 order by ledger_entries.seq desc limit $3`,
  ),
  profileEvents: statement(
    'dash_profile_events',
    `select id, event_type, event_datetime, environment, profile_seq::int as profile_seq, created_at
       from events where app_id = $1 and profile_id = $2 order by profile_seq desc limit $3`,
  ),
  eventsPage: statement(
    'dash_events_page',
    `select id, feed_seq::text as feed_seq, profile_id, event_type, event_datetime, environment, created_at
       from events
      where app_id = $1 and ($2::bigint = 0 or feed_seq < $2::bigint)
        and ($3 = '' or event_type = $3)
        and ($4 = '' or profile_id = nullif($4, '')::uuid)
        and ($5 = '' or environment = $5)
      order by events.feed_seq desc
      limit $6`,
  ),
  deliveryCounts: statement(
    'dash_delivery_counts',
    `select count(*) filter (where status = 'pending')::int as waiting,
            count(*) filter (where status = 'failed')::int as failed
       from webhook_deliveries where app_id = $1 and status in ('pending', 'failed')`,
  ),
  recentAttempts: statement(
    'dash_recent_attempts',
    `select a.delivery_id, a.event_id, e.event_type, a.attempt, a.attempted_at, a.status_code, a.latency_ms,
            a.response_excerpt, a.error, a.succeeded, d.status as delivery_status
       from webhook_attempts a
       left join webhook_deliveries d on d.id = a.delivery_id
       left join events e on e.id = a.event_id
      where a.app_id = $1 and ($2 = '' or ($2 = 'succeeded') = a.succeeded)
      order by a.seq desc
      limit $3`,
  ),
}

export interface AttemptLine {
  eventId: string
  eventType: string | null
  attempt: number
  attemptedAt: Date
  statusCode: number | null
  latencyMs: number
  responseExcerpt: string | null
  error: string | null
  succeeded: boolean
  deliveryStatus: string
}

export interface ProfileMatch {
  id: string
  customerUserId: string | null
  email: string | null
  createdAt: Date
}

export interface LedgerLine {
  seq: string
  kind: string
  recordedAt: Date
  entry: Record<string, unknown>
}

export interface EventLine {
  id: string
  feedSeq?: string
  profileId?: string
  eventType: string
  eventDatetime: Date
  environment: string
  profileSeq?: number
  createdAt: Date
}

export interface EventFilter {
  eventType: string
  profileId: string
  environment: string
  /** Only events written before this feed position; 0 for the newest. */
  before: bigint
}

const asDate = (value: Date | string) => (value instanceof Date ? value : new Date(value))
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function createDashboardRepository({ rawQuery }: Pick<DatabaseHandle, 'rawQuery'>) {
  type ProfileRecord = { id: string; customer_user_id: string | null; email: string | null; created_at: Date }
  const toMatch = (row: ProfileRecord): ProfileMatch => ({
    id: row.id,
    customerUserId: row.customer_user_id,
    email: row.email,
    createdAt: asDate(row.created_at),
  })
  type EventRecord = {
    id: string
    feed_seq?: string
    profile_id?: string
    event_type: string
    event_datetime: Date
    environment: string
    profile_seq?: number
    created_at: Date
  }
  const toEvent = (row: EventRecord): EventLine => ({
    id: row.id,
    feedSeq: row.feed_seq,
    profileId: row.profile_id,
    eventType: row.event_type,
    eventDatetime: asDate(row.event_datetime),
    environment: row.environment,
    profileSeq: row.profile_seq,
    createdAt: asDate(row.created_at),
  })

  return {
    /** A profile id, a customer user id, or an email (any case); the newest profiles for an empty query. */
    async searchProfiles(appId: string, query: string): Promise<ProfileMatch[]> {
      const text = query.trim()
      const rows =
        text === ''
          ? await rawQuery<ProfileRecord>(SQL.recentProfiles, [appId])
          : await rawQuery<ProfileRecord>(SQL.searchProfiles, [
              appId,
              UUID.test(text) ? text : '00000000-0000-0000-0000-000000000000',
              text,
            ])
      return rows.map(toMatch)
    },

    async profileLedger(appId: string, profileId: string, limit: number): Promise<LedgerLine[]> {
      const rows = await rawQuery<{
        seq: string
        kind: string
        recorded_at: Date
        entry: Record<string, unknown>
      }>(SQL.profileLedger, [appId, profileId, limit])
      return rows.map((row) => ({
        seq: row.seq,
        kind: row.kind,
        recordedAt: asDate(row.recorded_at),
        entry: row.entry,
      }))
    },

    async profileEvents(appId: string, profileId: string, limit: number): Promise<EventLine[]> {
      return (await rawQuery<EventRecord>(SQL.profileEvents, [appId, profileId, limit])).map(toEvent)
    },

    /** Deliveries still to be sent (first attempts and retries), and those given up on. */
    async deliveryCounts(appId: string): Promise<{ waiting: number; failed: number }> {
      const [row] = await rawQuery<{ waiting: number; failed: number }>(SQL.deliveryCounts, [appId])
      return { waiting: Number(row?.waiting ?? 0), failed: Number(row?.failed ?? 0) }
    },

    /** The newest delivery attempts of the app, all or only the succeeded or failed ones. */
    async recentAttempts(
      appId: string,
      outcome: '' | 'succeeded' | 'failed',
      limit: number,
    ): Promise<AttemptLine[]> {
      const rows = await rawQuery<{
        event_id: string
        event_type: string | null
        attempt: number
        attempted_at: Date
        status_code: number | null
        latency_ms: number
        response_excerpt: string | null
        error: string | null
        succeeded: boolean
        delivery_status: string | null
      }>(SQL.recentAttempts, [appId, outcome, limit])
      return rows.map((row) => ({
        eventId: row.event_id,
        eventType: row.event_type,
        attempt: Number(row.attempt),
        attemptedAt: asDate(row.attempted_at),
        statusCode: row.status_code,
        latencyMs: Number(row.latency_ms),
        responseExcerpt: row.response_excerpt,
        error: row.error,
        succeeded: row.succeeded,
        deliveryStatus: row.delivery_status ?? 'unknown',
      }))
    },

    async eventsPage(appId: string, filter: EventFilter, limit: number): Promise<EventLine[]> {
      const rows = await rawQuery<EventRecord>(SQL.eventsPage, [
        appId,
        filter.before.toString(),
        filter.eventType,
        UUID.test(filter.profileId)
          ? filter.profileId
          : filter.profileId === ''
            ? ''
            : '00000000-0000-0000-0000-000000000000',
        filter.environment,
        limit,
      ])
      return rows.map(toEvent)
    },
  }
}

export type DashboardRepository = ReturnType<typeof createDashboardRepository>
