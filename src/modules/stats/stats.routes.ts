import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.ts'
import { errorResponses } from '../../http/common-schemas.ts'
import { formatDateTime } from '../../platform/datetime.ts'
import { isUuid } from '../../platform/ids.ts'
import { type AppStats, STATS_PERIODS, type StatsPeriod, type StatsService } from './stats.service.ts'

const StatsQuery = Type.Object({
  days: Type.Optional(
    Type.Unsafe<StatsPeriod>({
      type: 'integer',
      enum: [...STATS_PERIODS],
      default: 30,
      description: '30 or 90',
    }),
  ),
})

const DayFigures = Type.Object({
  date: Type.String({ format: 'date', description: 'UTC day' }),
  new_subscriptions: Type.Integer({ description: 'subscription_started events' }),
  new_trials: Type.Integer({ description: 'trial_started events' }),
  refunds: Type.Integer({
    description: 'subscription_refunded and non_subscription_purchase_refunded events',
  }),
  revenue_usd: Type.Number({
    description: 'Revenue of the transactions purchased that day, in USD, net of refunds',
  }),
})

const StatsResponse = Type.Object({
  as_of: Type.String({ format: 'date-time' }),
  days: Type.Integer(),
  active_subscriptions: Type.Integer({ description: 'Subscriptions whose current period has not ended' }),
  active_trials: Type.Integer({ description: 'Of those, the ones in a free trial' }),
  daily: Type.Array(DayFigures, { description: 'One entry per UTC day of the period, oldest first' }),
  events_by_type: Type.Record(Type.String(), Type.Integer(), {
    description: 'Events of the period by type (by their business time)',
  }),
})

export const statsView = (stats: AppStats) => ({
  as_of: formatDateTime(stats.asOf),
  days: stats.days,
  active_subscriptions: stats.activeSubscriptions,
  active_trials: stats.activeTrials,
  daily: stats.daily.map((day) => ({
    date: day.date,
    new_subscriptions: day.newSubscriptions,
    new_trials: day.newTrials,
    refunds: day.refunds,
    revenue_usd: day.revenueUsd,
  })),
  events_by_type: stats.eventsByType,
})

export function statsRoutes({ service }: { service: StatsService }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/apps/:app_id/stats',
      {
        schema: {
          operationId: 'adminAppStats',
          summary: 'Overview figures',
          description:
            'Production figures of the app: subscriptions and trials active now, and for the last 30 or 90 ' +
            'UTC days new subscriptions, new trials, refunds and revenue (USD, net of refunds) per day, and ' +
            'events by type. The dashboard draws its charts from these.',
          tags: ['Admin: events'],
          security: [{ adminToken: [] }],
          params: Type.Object({ app_id: Type.String() }),
          querystring: StatsQuery,
          response: { 200: StatsResponse, ...errorResponses('fields', [400, 401, 404, 500, 503]) },
        },
      },
      async (request) => {
        const appId = request.params.app_id
        if (!isUuid(appId)) throw new AppError('app_not_found', 'App not found.')
        const result = await service.overview(appId.toLowerCase(), request.query.days ?? 30)
        if (!result.ok) throw new AppError('app_not_found', 'App not found.')
        return statsView(result.value)
      },
    )
  }
}
