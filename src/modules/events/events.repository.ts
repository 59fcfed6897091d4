import type { DatabaseHandle, PreparedStatement } from '../../db/open-database.ts'

export interface FeedEvent {
  feedSeq: number
  id: string
  profileId: string
  profileSeq: number
  eventType: string
  eventDatetime: Date
  environment: string
  createdAt: Date
  payload: Record<string, unknown>
}

const COLUMNS = `feed_seq::text as feed_seq, id, profile_id, profile_seq::int as profile_seq, event_type,
  event_datetime, environment, created_at, payload`

// `order by events.feed_seq`, qualified: a bare `feed_seq` would name the text column of the select list
// and sort "10" before "9".
const FEED: PreparedStatement = {
  name: 'events_feed',
  text: `select ${COLUMNS} from events where app_id = $1 and feed_seq > $2::bigint order by events.feed_seq limit $3`,
}
const FEED_OF_PROFILE: PreparedStatement = {
  name: 'events_feed_of_profile',
  text: `select ${COLUMNS} from events
          where app_id = $1 and profile_id = $4 and feed_seq > $2::bigint order by events.feed_seq limit $3`,
}
const APP_EXISTS: PreparedStatement = {
  name: 'events_app_exists',
  text: 'select 1 as found from apps where id = $1',
}

interface FeedRecord {
  feed_seq: string
  id: string
  profile_id: string
  profile_seq: number
  event_type: string
  event_datetime: Date | string
  environment: string
  created_at: Date | string
  payload: Record<string, unknown>
}

const asDate = (value: Date | string) => (value instanceof Date ? value : new Date(value))

export function createEventsRepository({ rawQuery }: Pick<DatabaseHandle, 'rawQuery'>) {
  return {
    async appExists(appId: string): Promise<boolean> {
      return (await rawQuery(APP_EXISTS, [appId])).length > 0
    },

    /** Events after `afterSeq` in the order they were written, optionally of one profile. */
    async page(appId: string, afterSeq: bigint, limit: number, profileId?: string): Promise<FeedEvent[]> {
      const values = [appId, afterSeq.toString(), limit]
      const rows =
        profileId === undefined
          ? await rawQuery<FeedRecord>(FEED, values)
          : await rawQuery<FeedRecord>(FEED_OF_PROFILE, [...values, profileId])
      return rows.map((row) => ({
        feedSeq: Number(row.feed_seq),
        id: row.id,
        profileId: row.profile_id,
        profileSeq: Number(row.profile_seq),
        eventType: row.event_type,
        eventDatetime: asDate(row.event_datetime),
        environment: row.environment,
        createdAt: asDate(row.created_at),
        payload: row.payload,
      }))
    },
  }
}

export type EventsRepository = ReturnType<typeof createEventsRepository>
