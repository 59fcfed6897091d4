import { type Static, Type } from 'typebox'
import { WEBHOOK_EVENT_TYPES } from './webhooks.service.ts'

const EventType = Type.Union(
  WEBHOOK_EVENT_TYPES.map((type) => Type.Literal(type)),
  { description: 'An event type of the entitlement engine' },
)

export const WebhookParams = Type.Object({
  app_id: Type.String({ description: 'The app id (UUID)' }),
  environment: Type.Union([Type.Literal('production'), Type.Literal('sandbox')], {
    description: 'Which events the endpoint receives: those whose `environment` is Production or Sandbox',
  }),
})

export const SaveWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'An absolute http or https URL' }),
    authorization: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()], {
        description: 'Sent verbatim as the Authorization header of every request; null sends none',
      }),
    ),
    events: Type.Optional(
      Type.Union([Type.Array(EventType, { uniqueItems: true }), Type.Null()], {
        description: 'The event types sent; null or absent: all of them',
      }),
    ),
    event_names: Type.Optional(
      Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 100 }), {
        description: 'Custom names for event types, `{ "<event type>": "<name sent as event_type>" }`',
      }),
    ),
    send_user_attributes: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Add `user_attributes` (the custom attributes) to each body',
      }),
    ),
    send_trial_price: Type.Optional(
      Type.Boolean({ default: false, description: 'Send the price of `trial_started` instead of null' }),
    ),
  },
  { additionalProperties: false },
)
export type SaveWebhookInput = Static<typeof SaveWebhookBody>

const Timestamp = Type.String({ format: 'date-time' })

export const WebhookResponse = Type.Object({
  environment: Type.Union([Type.Literal('production'), Type.Literal('sandbox')]),
  url: Type.String(),
  authorization: Type.Union([Type.String(), Type.Null()], {
    description: 'A hint of the Authorization value (its last 4 characters); the value is never shown again',
  }),
  events: Type.Union([Type.Array(Type.String()), Type.Null()]),
  event_names: Type.Record(Type.String(), Type.String()),
  send_user_attributes: Type.Boolean(),
  send_trial_price: Type.Boolean(),
  signing_secret: Type.Optional(
    Type.String({ description: 'Only in the answer that created it: the first save and each rotation' }),
  ),
  signing_secret_hint: Type.String({ description: '`whsec_…` and the last 4 characters' }),
  previous_secret_expires_at: Type.Union([Timestamp, Type.Null()], {
    description: 'Until when the secret before the last rotation still signs next to the new one',
  }),
  created_at: Timestamp,
  updated_at: Timestamp,
})

export const RotateSecretBody = Type.Object(
  {
    overlap_seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 7 * 86400,
        default: 86400,
        description: 'How long the old secret keeps signing next to the new one (default 24 h)',
      }),
    ),
  },
  { additionalProperties: false },
)

export const DeliveriesQuery = Type.Object({
  event_id: Type.Optional(Type.String({ format: 'uuid', description: 'Only the attempts of this event' })),
  status: Type.Optional(
    Type.Union([Type.Literal('succeeded'), Type.Literal('failed')], {
      description: 'succeeded: answered 2xx; failed: anything else (another status, a timeout, an error)',
    }),
  ),
  after: Type.Optional(Type.String({ description: 'The `next_cursor` of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
})

export const AttemptSchema = Type.Object({
  delivery_id: Type.String({ format: 'uuid' }),
  event_id: Type.String({ format: 'uuid' }),
  event_type: Type.Union([Type.String(), Type.Null()]),
  attempt: Type.Integer({ description: 'Attempt number of the delivery, from 1' }),
  url: Type.String(),
  attempted_at: Timestamp,
  status_code: Type.Union([Type.Integer(), Type.Null()], { description: 'null: no answer (see `error`)' }),
  latency_ms: Type.Integer(),
  response_body: Type.Union([Type.String(), Type.Null()], { description: 'The first 1 KB of the answer' }),
  error: Type.Union([Type.String(), Type.Null()]),
  succeeded: Type.Boolean(),
  delivery_status: Type.String({
    description: 'pending (a retry is due), delivered, failed (gave up), cancelled (endpoint removed)',
  }),
  next_attempt_at: Type.Union([Timestamp, Type.Null()]),
})

export const DeliveriesResponse = Type.Object({
  data: Type.Array(AttemptSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
})

export const RedeliverParams = Type.Object({
  app_id: Type.String({ description: 'The app id (UUID)' }),
  event_id: Type.String({ description: 'The event id (`profile_event_id`)' }),
})

export const RedeliverResponse = Type.Object({ delivery_id: Type.String({ format: 'uuid' }) })

export const RedeliverRangeBody = Type.Object(
  {
    from: Type.String({ format: 'date-time', description: 'Events written at or after this moment ...' }),
    to: Type.String({ format: 'date-time', description: '... and before this one' }),
    environment: Type.Optional(
      Type.Union([Type.Literal('production'), Type.Literal('sandbox'), Type.Null()]),
    ),
  },
  { additionalProperties: false },
)

export const RedeliverRangeResponse = Type.Object({
  queued: Type.Integer({ description: 'Deliveries queued: events in the range that an endpoint takes' }),
})
