import type { DatabaseHandle, PreparedStatement, RawQuery } from '../../db/open-database.ts'

/**
 * The SQL of the stats rollup worker: which apps have events past their watermark, the claim of an app's
 * state row, and the folding of a range of events into event_day_counts. The read side is in
 * stats.repository.ts.
 */

const statement = (name: string, text: string): PreparedStatement => ({ name, text })

const SQL = {
  /**
   * One probe of events_app_feed_idx per app (the index's last entry for the app), so this stays cheap
   * however many events there are; apps without events or state rows are left out or given defaults.
   */
  pending: statement(
    'rollup_pending',
    `select a.id as app_id, coalesce(s.rolled_up_to, 0)::text as rolled_up_to,
            s.checkpoint_seq::text as checkpoint_seq, s.checkpoint_at, latest.seq::text as latest_seq
       from apps a
       left join event_rollup_state s on s.app_id = a.id
       cross join lateral (select max(e.feed_seq) as seq from events e where e.app_id = a.id) latest
      where latest.seq > coalesce(s.rolled_up_to, 0)`,
  ),
  createState: statement(
    'rollup_create_state',
    'insert into event_rollup_state (app_id) values ($1) on conflict (app_id) do nothing',
  ),
  // SKIP LOCKED: another process holding the row is already rolling this app up; it is not waited for.
  claim: statement(
    'rollup_claim',
    `select rolled_up_to::text as rolled_up_to, checkpoint_seq::text as checkpoint_seq, checkpoint_at
       from event_rollup_state where app_id = $1
        for update skip locked`,
  ),
  latestSeq: statement(
    'rollup_latest_seq',
    'select coalesce(max(feed_seq), 0)::text as seq from events where app_id = $1',
  ),
  /**
   * Folds the app's events in (from, to] into the day counts, at most `limit` of them in feed order, and
   * answers how far that got: `to` when the range was exhausted, else the last feed_seq folded. Gaps (ids of
   * rolled-back transactions) need no care: the range is a range of ids, not of rows.
   */
  fold: statement(
    'rollup_fold',
    `with batch as (
       select feed_seq, environment, event_type, event_datetime
         from events
        where app_id = $1::uuid and feed_seq > $2::bigint and feed_seq <= $3::bigint
        order by feed_seq
        limit $4::int
     ), counted as (
       insert into event_day_counts (app_id, environment, day, event_type, count)
       select $1::uuid, b.environment, (b.event_datetime at time zone 'UTC')::date, b.event_type, count(*)::int
         from batch b
        group by b.environment, (b.event_datetime at time zone 'UTC')::date, b.event_type
       on conflict (app_id, environment, day, event_type)
         do update set count = event_day_counts.count + excluded.count
     )
     select (case when count(*) < $4::int then $3::bigint else max(feed_seq) end)::text as rolled_up_to,
            count(*)::int as folded
       from batch`,
  ),
  save: statement(
    'rollup_save',
    `update event_rollup_state
        set rolled_up_to = $2::bigint, checkpoint_seq = $3::bigint, checkpoint_at = $4::timestamptz,
            updated_at = $5::timestamptz
      where app_id = $1`,
  ),
}

/** Where an app's rollup stands. Feed positions are numbers: identity values stay far below 2^53. */
export interface RollupState {
  rolledUpTo: number
  checkpoint: { seq: number; at: Date } | null
}

export interface PendingApp extends RollupState {
  appId: string
  latestSeq: number
}

interface StateRow {
  rolled_up_to: string
  checkpoint_seq: string | null
  checkpoint_at: Date | string | null
}

const stateOf = (row: StateRow): RollupState => ({
  rolledUpTo: Number(row.rolled_up_to),
  checkpoint:
    row.checkpoint_seq === null || row.checkpoint_at === null
      ? null
      : { seq: Number(row.checkpoint_seq), at: new Date(row.checkpoint_at) },
})

/** What a worker may do with an app while it holds the app's state row. */
export interface ClaimedApp {
  /** The app's highest feed_seq among the events visible now (0 without any). */
  latestSeq(): Promise<number>
  /** Counts up to `limit` events of (from, to] into the day counts; the feed_seq counted up to. */
  fold(from: number, to: number, limit: number): Promise<number>
  save(state: RollupState, now: Date): Promise<void>
}

export function createEventRollupRepository(database: Pick<DatabaseHandle, 'rawQuery' | 'rawTransaction'>) {
  const claimedApp = (query: RawQuery, appId: string): ClaimedApp => ({
    async latestSeq() {
      const [row] = await query<{ seq: string }>(SQL.latestSeq, [appId])
      return Number(row?.seq ?? 0)
    },
    async fold(from, to, limit) {
      const [row] = await query<{ rolled_up_to: string }>(SQL.fold, [appId, from, to, limit])
      return Number(row?.rolled_up_to ?? from)
    },
    async save(state, now) {
      await query(SQL.save, [
        appId,
        state.rolledUpTo,
        state.checkpoint?.seq ?? null,
        state.checkpoint?.at.toISOString() ?? null,
        now.toISOString(),
      ])
    },
  })

  return {
    /** Apps with events past their watermark, with where their rollup stands. */
    async pending(): Promise<PendingApp[]> {
      const rows = await database.rawQuery<StateRow & { app_id: string; latest_seq: string }>(SQL.pending, [])
      return rows.map((row) => ({ appId: row.app_id, latestSeq: Number(row.latest_seq), ...stateOf(row) }))
    },

    /**
     * Runs `work` in one transaction holding the app's state row, so that the counts it adds and the
     * watermark it moves commit together or not at all. Answers null without running it when another
     * worker holds the row.
     */
    async withClaim<T>(
      appId: string,
      work: (state: RollupState, app: ClaimedApp) => Promise<T>,
    ): Promise<{ value: T } | null> {
      await database.rawQuery(SQL.createState, [appId])
      return database.rawTransaction(async (query) => {
        const [row] = await query<StateRow>(SQL.claim, [appId])
        if (!row) return null
        return { value: await work(stateOf(row), claimedApp(query, appId)) }
      })
    },
  }
}

export type EventRollupRepository = ReturnType<typeof createEventRollupRepository>
