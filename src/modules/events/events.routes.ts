import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.ts'
import { errorResponses } from '../../http/common-schemas.ts'
import { formatDateTime } from '../../platform/datetime.ts'
import { isUuid } from '../../platform/ids.ts'
import type { EventsService } from './events.service.ts'

const FeedQuery = Type.Object({
  profile_id: Type.Optional(Type.String({ format: 'uuid', description: 'Only the events of this profile' })),
  after: Type.Optional(
    Type.String({ description: 'The `next_cursor` of the previous page; absent: from the start' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
})

const FeedEventSchema = Type.Object({
  event_id: Type.String({ format: 'uuid', description: "Adapty's profile_event_id" }),
  profile_id: Type.String({ format: 'uuid' }),
  profile_sequence: Type.Integer({ description: 'Position of the event among its profile’s events, from 1' }),
  event_type: Type.String(),
  event_datetime: Type.String({ format: 'date-time', description: 'Business time of the event' }),
  environment: Type.String({ description: 'Production or Sandbox' }),
  created_at: Type.String({ format: 'date-time', description: 'When the event was written' }),
  payload: Type.Record(Type.String(), Type.Unknown(), {
    description: 'The webhook body of the event: root fields and event_properties',
  }),
})

const FeedResponse = Type.Object({
  data: Type.Array(FeedEventSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `after` to read on; null when nothing has been read yet',
  }),
})

export function eventsRoutes({ service }: { service: EventsService }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/apps/:app_id/events',
      {
        schema: {
          operationId: 'adminListEvents',
          summary: 'Event feed',
          description:
            'The events of the app in the order they were written (the outbox), optionally of one profile. ' +
            'Read on with `after=<next_cursor>`; a cursor stays valid while new events arrive.',
          tags: ['Admin: events'],
          security: [{ adminToken: [] }],
          params: Type.Object({ app_id: Type.String() }),
          querystring: FeedQuery,
          response: { 200: FeedResponse, ...errorResponses('fields', [400, 401, 404, 500, 503]) },
        },
      },
      async (request) => {
        const appId = request.params.app_id
        if (!isUuid(appId)) throw new AppError('app_not_found', 'App not found.')
        const result = await service.feed(appId.toLowerCase(), {
          after: request.query.after,
          limit: request.query.limit ?? 100,
          profileId: request.query.profile_id?.toLowerCase(),
        })
        if (!result.ok) {
          throw result.error === 'invalid_cursor'
            ? new AppError('invalid_cursor', 'This is not a cursor of the event feed.', { source: 'after' })
            : new AppError('app_not_found', 'App not found.')
        }
        return {
          data: result.value.events.map((event) => ({
            event_id: event.id,
            profile_id: event.profileId,
            profile_sequence: event.profileSeq,
            event_type: event.eventType,
            event_datetime: formatDateTime(event.eventDatetime),
            environment: event.environment,
            created_at: formatDateTime(event.createdAt),
            payload: event.payload,
          })),
          next_cursor: result.value.nextCursor,
        }
      },
    )
  }
}
