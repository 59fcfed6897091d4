import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.ts'
import { errorResponses, sendEmpty } from '../../http/common-schemas.ts'
import { absentBodyIsEmptyObject } from '../../http/optional-body.ts'
import { formatDateTime } from '../../platform/datetime.ts'
import { secretHint } from './webhook-signing.ts'
import type { AttemptRow, EndpointRow } from './webhooks.repository.ts'
import {
  DeliveriesQuery,
  DeliveriesResponse,
  RedeliverParams,
  RedeliverRangeBody,
  RedeliverRangeResponse,
  RedeliverResponse,
  RotateSecretBody,
  SaveWebhookBody,
  type SaveWebhookInput,
  WebhookParams,
  WebhookResponse,
} from './webhooks.schemas.ts'
import {
  DEFAULT_SECRET_OVERLAP_SECONDS,
  type EndpointInput,
  type WebhookFailure,
  type WebhooksService,
} from './webhooks.service.ts'

const TAGS = ['Admin: webhooks']
const SECURITY = [{ adminToken: [] }]
const READ = [400, 401, 404, 500, 503] as const
const WRITE = [400, 401, 404, 413, 415, 500, 503] as const

const MESSAGES: Record<WebhookFailure['code'], string> = {
  app_not_found: 'App not found.',
  webhook_not_found: 'No webhook endpoint is set for this environment.',
  event_not_found: 'Event not found.',
  validation_error: 'Invalid value.',
  webhook_url_not_allowed: 'The URL is not allowed.',
  webhook_verification_failed: 'The endpoint failed the verification request.',
}

export function webhookFailure(failure: WebhookFailure): AppError {
  const message = 'message' in failure ? failure.message : MESSAGES[failure.code]
  const source =
    failure.code === 'validation_error'
      ? failure.source
      : failure.code === 'webhook_url_not_allowed' || failure.code === 'webhook_verification_failed'
        ? 'url'
        : null
  return new AppError(failure.code, message, { source })
}

export function endpointInputFrom(body: SaveWebhookInput): EndpointInput {
  return {
    url: body.url,
    authorization: body.authorization ?? null,
    eventTypes: body.events ?? null,
    eventNames: body.event_names ?? {},
    sendUserAttributes: body.send_user_attributes ?? false,
    sendTrialPrice: body.send_trial_price ?? false,
  }
}

export function endpointView(endpoint: EndpointRow, showSecret: boolean) {
  return {
    environment: endpoint.environment === 'Sandbox' ? ('sandbox' as const) : ('production' as const),
    url: endpoint.url,
    authorization: endpoint.authorization === null ? null : `…${endpoint.authorization.slice(-4)}`,
    events: endpoint.eventTypes,
    event_names: endpoint.eventNames,
    send_user_attributes: endpoint.sendUserAttributes,
    send_trial_price: endpoint.sendTrialPrice,
    ...(showSecret ? { signing_secret: endpoint.signingSecret } : {}),
    signing_secret_hint: secretHint(endpoint.signingSecret),
    previous_secret_expires_at:
      endpoint.previousSecretExpiresAt && endpoint.previousSigningSecret
        ? formatDateTime(endpoint.previousSecretExpiresAt)
        : null,
    created_at: formatDateTime(endpoint.createdAt),
    updated_at: formatDateTime(endpoint.updatedAt),
  }
}

export function attemptView(attempt: AttemptRow) {
  return {
    delivery_id: attempt.deliveryId,
    event_id: attempt.eventId,
    event_type: attempt.eventType,
    attempt: attempt.attempt,
    url: attempt.url,
    attempted_at: formatDateTime(attempt.attemptedAt),
    status_code: attempt.statusCode,
    latency_ms: attempt.latencyMs,
    response_body: attempt.responseExcerpt,
    error: attempt.error,
    succeeded: attempt.succeeded,
    delivery_status: attempt.deliveryStatus,
    next_attempt_at: attempt.nextAttemptAt ? formatDateTime(attempt.nextAttemptAt) : null,
  }
}

const appId = (value: string) => value.toLowerCase()

export function webhooksRoutes({ service }: { service: WebhooksService }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.put(
      '/apps/:app_id/webhooks/:environment',
      {
        schema: {
          operationId: 'adminSaveWebhook',
          summary: 'Save the webhook endpoint of an environment',
          description:
            'Sends the endpoint the verification request (`POST {}`, signed) and saves it only when it answers ' +
            '2xx with a JSON body. The first save creates the signing secret and answers it, once, as ' +
            '`signing_secret` (201); later saves change the settings and keep the secret (200). Events of the ' +
            'environment written from then on are delivered to it.',
          tags: TAGS,
          security: SECURITY,
          params: WebhookParams,
          body: SaveWebhookBody,
          response: { 200: WebhookResponse, 201: WebhookResponse, ...errorResponses('fields', WRITE) },
        },
      },
      async (request, reply) => {
        const result = await service.save(
          appId(request.params.app_id),
          request.params.environment,
          endpointInputFrom(request.body),
        )
        if (!result.ok) throw webhookFailure(result.error)
        reply.code(result.value.created ? 201 : 200)
        return endpointView(result.value.endpoint, result.value.created)
      },
    )

    app.get(
      '/apps/:app_id/webhooks/:environment',
      {
        schema: {
          operationId: 'adminGetWebhook',
          summary: 'The webhook endpoint of an environment',
          tags: TAGS,
          security: SECURITY,
          params: WebhookParams,
          response: { 200: WebhookResponse, ...errorResponses('fields', READ) },
        },
      },
      async (request) => {
        const result = await service.get(appId(request.params.app_id), request.params.environment)
        if (!result.ok) throw webhookFailure(result.error)
        return endpointView(result.value, false)
      },
    )

    app.delete(
      '/apps/:app_id/webhooks/:environment',
      {
        schema: {
          operationId: 'adminDeleteWebhook',
          summary: 'Remove the webhook endpoint of an environment',
          description: 'Deliveries still waiting for it are cancelled; the delivery log stays.',
          tags: TAGS,
          security: SECURITY,
          params: WebhookParams,
          response: { 204: Type.Null({ description: 'Removed' }), ...errorResponses('fields', READ) },
        },
      },
      async (request, reply) => {
        const result = await service.remove(appId(request.params.app_id), request.params.environment)
        if (!result.ok) throw webhookFailure(result.error)
        return sendEmpty(reply, 204)
      },
    )

    app.post(
      '/apps/:app_id/webhooks/:environment/rotate-secret',
      {
        preValidation: absentBodyIsEmptyObject,
        schema: {
          operationId: 'adminRotateWebhookSecret',
          summary: 'Rotate the signing secret',
          description:
            'Answers the new secret, once. For `overlap_seconds` (default 24 h) each delivery carries two ' +
            'signatures, one per secret, so receivers can switch without missing an event.',
          tags: TAGS,
          security: SECURITY,
          params: WebhookParams,
          body: RotateSecretBody,
          response: { 200: WebhookResponse, ...errorResponses('fields', WRITE) },
        },
      },
      async (request) => {
        const result = await service.rotateSecret(
          appId(request.params.app_id),
          request.params.environment,
          request.body.overlap_seconds ?? DEFAULT_SECRET_OVERLAP_SECONDS,
        )
        if (!result.ok) throw webhookFailure(result.error)
        return endpointView(result.value, true)
      },
    )

    app.get(
      '/apps/:app_id/deliveries',
      {
        schema: {
          operationId: 'adminListDeliveries',
          summary: 'Webhook delivery log',
          description:
            'One entry per attempt, oldest first: when, the status or error, the latency, and the first 1 KB ' +
            'of the answer, with the state of its delivery. Read on with `after=<next_cursor>`.',
          tags: TAGS,
          security: SECURITY,
          params: Type.Object({ app_id: Type.String() }),
          querystring: DeliveriesQuery,
          response: { 200: DeliveriesResponse, ...errorResponses('fields', READ) },
        },
      },
      async (request) => {
        const result = await service.attempts(appId(request.params.app_id), {
          after: request.query.after,
          eventId: request.query.event_id?.toLowerCase(),
          outcome: request.query.status,
          limit: request.query.limit ?? 100,
        })
        if (!result.ok) {
          if (result.error.code === 'validation_error') {
            throw new AppError('invalid_cursor', result.error.message, { source: 'after' })
          }
          throw webhookFailure(result.error)
        }
        return { data: result.value.attempts.map(attemptView), next_cursor: result.value.nextCursor }
      },
    )

    app.post(
      '/apps/:app_id/events/:event_id/redeliver',
      {
        preValidation: absentBodyIsEmptyObject,
        schema: {
          operationId: 'adminRedeliverEvent',
          summary: 'Send an event again',
          description:
            'Queues a new delivery of the event to the endpoint of its environment, with the same `webhook-id`.',
          tags: TAGS,
          security: SECURITY,
          params: RedeliverParams,
          response: { 202: RedeliverResponse, ...errorResponses('fields', WRITE) },
        },
      },
      async (request, reply) => {
        const result = await service.redeliver(
          appId(request.params.app_id),
          request.params.event_id.toLowerCase(),
        )
        if (!result.ok) throw webhookFailure(result.error)
        reply.code(202)
        return { delivery_id: result.value.deliveryId }
      },
    )

    app.post(
      '/apps/:app_id/events/redeliver',
      {
        schema: {
          operationId: 'adminRedeliverEvents',
          summary: 'Send the events of a time range again',
          description:
            'Queues a new delivery of every event written in [`from`, `to`) to the endpoint of its environment ' +
            '(optionally of one environment), as that endpoint is set now.',
          tags: TAGS,
          security: SECURITY,
          params: Type.Object({ app_id: Type.String() }),
          body: RedeliverRangeBody,
          response: { 202: RedeliverRangeResponse, ...errorResponses('fields', WRITE) },
        },
      },
      async (request, reply) => {
        const result = await service.redeliverRange(appId(request.params.app_id), {
          from: new Date(request.body.from),
          to: new Date(request.body.to),
          environment: request.body.environment ?? null,
        })
        if (!result.ok) throw webhookFailure(result.error)
        reply.code(202)
        return { queued: result.value.queued }
      },
    )
  }
}
