import type { DatabaseHandle, PreparedStatement } from '../../db/open-database.ts'

/**
 * The overview's figures, read from the stored projections: purchase chains for what is active now, store
 * transactions for revenue, events for what happened each day. Production only: sandbox purchases are tests.
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
  dailyEvents: statement(
    'stats_daily_events',
    `select to_char(event_datetime at time zone 'UTC', 'YYYY-MM-DD') as day,
            count(*) filter (where event_type = 'subscription_started')::int as new_subscriptions,
            count(*) filter (where event_type = 'trial_started')::int as new_trials,
            count(*) filter (where event_type in ('subscription_refunded', 'non_subscription_purchase_refunded'))::int
              as refunds
       from events
      where app_id = $1 and environment = 'Production'
        and event_datetime >= $2::timestamptz and event_datetime < $3::timestamptz
      group by 1`,
  ),
  eventTypes: statement(
    'stats_event_types',
    `select event_type, count(*)::int as count from events
      where app_id = $1 and environment = 'Production'
        and event_datetime >= $2::timestamptz and event_datetime < $3::timestamptz
      group by event_type order by event_type`,
  ),
  dailyRevenue: statement(
    'stats_daily_revenue',
    `select day, sum(revenue_usd)::float8 as revenue_usd
       from (
         select to_char((record ->> 'purchasedAt')::timestamptz at time zone 'UTC', 'YYYY-MM-DD') as day,
                revenue_usd, (record ->> 'purchasedAt')::timestamptz as purchased_at
           from store_transactions
          where app_id = $1 and record ->> 'environment' = 'Production'
       ) t
      where purchased_at >= $2::timestamptz and purchased_at < $3::timestamptz
      group by day`,
  ),
}

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

    /** Figures by UTC day (YYYY-MM-DD) for [from, to); days without any are left out. */
    async daily(appId: string, from: string, to: string): Promise<Map<string, DailyFigures>> {
      const [events, revenue] = await Promise.all([
        rawQuery<{ day: string; new_subscriptions: number; new_trials: number; refunds: number }>(
          SQL.dailyEvents,
          [appId, from, to],
        ),
        rawQuery<{ day: string; revenue_usd: number }>(SQL.dailyRevenue, [appId, from, to]),
      ])
      const days = new Map<string, DailyFigures>()
      const dayOf = (day: string) => {
        const found = days.get(day) ?? { newSubscriptions: 0, newTrials: 0, refunds: 0, revenueUsd: 0 }
        days.set(day, found)
        return found
      }
      for (const row of events) {
        const figures = dayOf(row.day)
        figures.newSubscriptions = Number(row.new_subscriptions)
        figures.newTrials = Number(row.new_trials)
        figures.refunds = Number(row.refunds)
      }
      for (const row of revenue) dayOf(row.day).revenueUsd = Number(row.revenue_usd)
      return days
    },

    async eventTypes(appId: string, from: string, to: string): Promise<Record<string, number>> {
      const rows = await rawQuery<{ event_type: string; count: number }>(SQL.eventTypes, [appId, from, to])
      return Object.fromEntries(rows.map((row) => [row.event_type, Number(row.count)]))
    },
  }
}

export type StatsRepository = ReturnType<typeof createStatsRepository>
