import type { Clock } from '../../platform/clock.ts'
import { isUuid } from '../../platform/ids.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import type { StatsRepository } from './stats.repository.ts'

export const STATS_PERIODS = [30, 90] as const
export type StatsPeriod = (typeof STATS_PERIODS)[number]

export interface AppStats {
  asOf: Date
  days: StatsPeriod
  activeSubscriptions: number
  activeTrials: number
  /** One entry per UTC day of the period, oldest first, today last; days without activity are zeros. */
  daily: {
    date: string
    newSubscriptions: number
    newTrials: number
    refunds: number
    revenueUsd: number
  }[]
  eventsByType: Record<string, number>
}

const DAY_MS = 86_400_000

export function createStatsService(deps: {
  repo: StatsRepository
  clock: Clock
  appExists(appId: string): Promise<boolean>
}) {
  return {
    async overview(appId: string, days: StatsPeriod): Promise<Result<AppStats, 'app_not_found'>> {
      if (!isUuid(appId) || !(await deps.appExists(appId))) return fail('app_not_found')
      const now = deps.clock.now()
      const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
      const from = new Date(today - (days - 1) * DAY_MS).toISOString()
      const to = new Date(today + DAY_MS).toISOString()
      const [active, period] = await Promise.all([
        deps.repo.active(appId, now.toISOString()),
        deps.repo.period(appId, from, to),
      ])
      const { days: daily, eventsByType } = period
      return ok({
        asOf: now,
        days,
        activeSubscriptions: active.subscriptions,
        activeTrials: active.trials,
        daily: Array.from({ length: days }, (_, index) => {
          const date = new Date(today - (days - 1 - index) * DAY_MS).toISOString().slice(0, 10)
          const figures = daily.get(date)
          return {
            date,
            newSubscriptions: figures?.newSubscriptions ?? 0,
            newTrials: figures?.newTrials ?? 0,
            refunds: figures?.refunds ?? 0,
            revenueUsd: Math.round((figures?.revenueUsd ?? 0) * 100) / 100,
          }
        }),
        eventsByType,
      })
    },
  }
}

export type StatsService = ReturnType<typeof createStatsService>
