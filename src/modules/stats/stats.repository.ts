import type { DatabaseHandle, PreparedStatement } from '../../db/open-database.ts'

/**
 * The overview's figures, read from the stored projections: purchase chains for what is active now, store
 * transactions for revenue, events (their daily rollup and the events not rolled up yet) for what happened
 * each day. Production only: sandbox purchases are tests.
 */

const statement = (name: string, text: string): PreparedStatement => ({ name, text })

const SQL = {
  active: statement(
    'stats_active',
    `select count(*)::int as subscriptions,
            count(*) filter (where trial)::int as trials
       from (
         select coalesce(state -> 'latest' -> 'offer' ->> 'type' = 'free_trial', false)
                or ((state -> 'latest' -> 'price' ->> 'value')::float8 = 0
                    and state -> 'latest' ->> 'storeTransactionId' = state -> 'latest' ->> 'storeOriginalTransactionId'
                    and not coalesce((state -> 'latest' ->> 'isFamilyShared')::boolean, false)) as trial
           from purchase_chains
          where app_id = $1 and state ->> 'kind' = 'subscription'
            and state -> 'latest' ->> 'environment' = 'Production'
            and state -> 'latest' ->> 'refundedAt' is null
            and (state -> 'latest' ->> 'expiresAt')::timestamptz > $2::timestamptz
       ) active`,
  ),
  watermark: statement(
    'stats_rollup_watermark',
    'select coalesce(max(rolled_up_to), 0)::text as seq from event_rollup_state where app_id = $1',
  ),
  /**
   * The period's events by UTC day and type: the rollup's counters for the events up to the app's watermark
   * (whole days: the period starts and ends at UTC midnight), plus the events past it counted live on
   * events_app_feed_idx. Watermark, counters and live part come from one statement, so one snapshot: the
   * worker moves the watermark and adds to the counters in one commit, and no event is counted twice or
   * missed. $4 is the watermark read just before; it is at most the one this statement sees, so it changes
   * no figure, but it gives the planner the real start of the range (with only the subquery it guesses a
   * third of the app's events and may scan them all).
   */
  eventCounts: statement(
    'stats_event_counts',
    `with mark as (
       select coalesce(max(rolled_up_to), 0) as seq from event_rollup_state where app_id = $1
     )
     select t.day::text as day, t.event_type, sum(t.count)::int as count
       from (
         select c.day, c.event_type, c.count::bigint as count
           from event_day_counts c
          where c.app_id = $1 and c.environment = 'Production'
            and c.day >= ($2::timestamptz at time zone 'UTC')::date
            and c.day < ($3::timestamptz at time zone 'UTC')::date
         union all
         select (e.event_datetime at time zone 'UTC')::date, e.event_type, count(*)
           from events e
          where e.app_id = $1 and e.feed_seq > $4::bigint and e.feed_seq > (select seq from mark)
            and e.environment = 'Production'
            and e.event_datetime >= $2::timestamptz and e.event_datetime < $3::timestamptz
          group by 1, 2
       ) t
      group by t.day, t.event_type`,
  ),
  dailyRevenue: statement(
    'stats_daily_revenue',
    `select day, sum(revenue_usd)::float8 as revenue_usd
       from (
         select (((record ->> 'purchasedAt')::timestamptz) at time zone 'UTC')::date::text as day,
                revenue_usd, (record ->> 'purchasedAt')::timestamptz as purchased_at
           from store_transactions
          where app_id = $1 and record ->> 'environment' = 'Production'
       ) t
      where purchased_at >= $2::timestamptz and purchased_at < $3::timestamptz
      group by day`,
  ),
}

const REFUND_EVENTS = new Set(['subscription_refunded', 'non_subscription_purchase_refunded'])

export interface DailyFigures {
  newSubscriptions: number
  newTrials: number
  refunds: number
  revenueUsd: number
}

export function createStatsRepository({ rawQuery }: Pick<DatabaseHandle, 'rawQuery'>) {
  return {
    async active(appId: string, at: string): Promise<{ subscriptions: number; trials: number }> {
      const [row] = await rawQuery<{ subscriptions: number; trials: number }>(SQL.active, [appId, at])
      return { subscriptions: Number(row?.subscriptions ?? 0), trials: Number(row?.trials ?? 0) }
    },

    /**
     * Figures by UTC day (YYYY-MM-DD) for [from, to), days without any left out, and the period's events by
     * type. `from` and `to` are UTC midnights: the rollup counts whole days.
     */
    async period(
      appId: string,
      from: string,
      to: string,
    ): Promise<{ days: Map<string, DailyFigures>; eventsByType: Record<string, number> }> {
      const eventCounts = async () => {
        const [mark] = await rawQuery<{ seq: string }>(SQL.watermark, [appId])
        return rawQuery<{ day: string; event_type: string; count: number }>(SQL.eventCounts, [
          appId,
          from,
          to,
          mark?.seq ?? '0',
        ])
      }
      const [events, revenue] = await Promise.all([
        eventCounts(),
        rawQuery<{ day: string; revenue_usd: number }>(SQL.dailyRevenue, [appId, from, to]),
      ])
      const days = new Map<string, DailyFigures>()
      const dayOf = (day: string) => {
        const found = days.get(day) ?? { newSubscriptions: 0, newTrials: 0, refunds: 0, revenueUsd: 0 }
        days.set(day, found)
        return found
      }
      const eventsByType: Record<string, number> = {}
      for (const row of events) {
        const count = Number(row.count)
        eventsByType[row.event_type] = (eventsByType[row.event_type] ?? 0) + count
        const figures = dayOf(row.day)
        if (row.event_type === 'subscription_started') figures.newSubscriptions += count
        else if (row.event_type === 'trial_started') figures.newTrials += count
        else if (REFUND_EVENTS.has(row.event_type)) figures.refunds += count
      }
      for (const row of revenue) dayOf(row.day).revenueUsd = Number(row.revenue_usd)
      const sortedTypes = Object.fromEntries(
        Object.entries(eventsByType).sort(([a], [b]) => (a < b ? -1 : 1)),
      )
      return { days, eventsByType: sortedTypes }
    },
  }
}

export type StatsRepository = ReturnType<typeof createStatsRepository>
