import type { Clock } from '../../platform/clock.ts'
import { isUuid } from '../../platform/ids.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import { isPrivateAddress } from './address-policy.ts'
import { postJson } from './webhook-client.ts'
import { type DeliverySettings, type DeliveryWorker, deliveryHeaders } from './webhook-delivery.ts'
import { generateSigningSecret } from './webhook-signing.ts'
import type { AttemptRow, EndpointRow, WebhooksRepository } from './webhooks.repository.ts'

/** Webhook endpoints per app and environment, the delivery log, and redelivery. */

export const WEBHOOK_EVENT_TYPES = [
  'subscription_started',
  'subscription_renewed',
  'subscription_renewal_cancelled',
  'subscription_renewal_reactivated',
  'subscription_expired',
  'subscription_refunded',
  'non_subscription_purchase',
  'non_subscription_purchase_refunded',
  'trial_started',
  'trial_converted',
  'trial_renewal_cancelled',
  'trial_renewal_reactivated',
  'trial_expired',
  'entered_grace_period',
  'billing_issue_detected',
  'access_level_updated',
] as const

export const ENVIRONMENTS = { production: 'Production', sandbox: 'Sandbox' } as const
export type EnvironmentName = keyof typeof ENVIRONMENTS

/** How long a rotated-out secret keeps signing next to the new one, unless the rotation says otherwise. */
export const DEFAULT_SECRET_OVERLAP_SECONDS = 24 * 3600

export interface EndpointInput {
  url: string
  authorization: string | null
  eventTypes: string[] | null
  eventNames: Record<string, string>
  sendUserAttributes: boolean
  sendTrialPrice: boolean
}

export type WebhookFailure =
  | { code: 'app_not_found' }
  | { code: 'webhook_not_found' }
  | { code: 'event_not_found' }
  | { code: 'validation_error'; source: string; message: string }
  | { code: 'webhook_url_not_allowed'; message: string }
  | { code: 'webhook_verification_failed'; message: string }

const known = new Set<string>(WEBHOOK_EVENT_TYPES)

function checkInput(input: EndpointInput): WebhookFailure | null {
  let url: URL
  try {
    url = new URL(input.url)
  } catch {
    return { code: 'validation_error', source: 'url', message: 'Must be an absolute http or https URL.' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { code: 'validation_error', source: 'url', message: 'Must be an absolute http or https URL.' }
  }
  if (url.username || url.password) {
    return {
      code: 'validation_error',
      source: 'url',
      message: 'Put credentials in `authorization`, not the URL.',
    }
  }
  for (const [index, type] of (input.eventTypes ?? []).entries()) {
    if (!known.has(type))
      return { code: 'validation_error', source: `events.${index}`, message: `Unknown event type ${type}.` }
  }
  for (const type of Object.keys(input.eventNames)) {
    if (!known.has(type))
      return {
        code: 'validation_error',
        source: `event_names.${type}`,
        message: `Unknown event type ${type}.`,
      }
  }
  return null
}

export function createWebhooksService(deps: {
  repo: WebhooksRepository
  clock: Clock
  worker: DeliveryWorker
  settings: Pick<DeliverySettings, 'timeoutMs' | 'allowPrivate'>
}) {
  const { repo, clock, worker, settings } = deps
  const appExists = async (appId: string) => isUuid(appId) && (await repo.appExists(appId))

  /** Adapty's rule: the endpoint answers the verification POST of `{}` with a 2xx and a JSON body. */
  async function verify(endpoint: EndpointRow): Promise<WebhookFailure | null> {
    const url = new URL(endpoint.url)
    const literal = url.hostname.replace(/^\[|\]$/g, '')
    if (!settings.allowPrivate && (literal === 'localhost' || literal.endsWith('.localhost'))) {
      return {
        code: 'webhook_url_not_allowed',
        message: `${literal} is a loopback name (set WEBHOOK_ALLOW_PRIVATE=true to allow)`,
      }
    }
    if (!settings.allowPrivate && /^[\d.]+$|:/.test(literal) && isPrivateAddress(literal)) {
      return {
        code: 'webhook_url_not_allowed',
        message: `${literal} is a private or reserved address (set WEBHOOK_ALLOW_PRIVATE=true to allow)`,
      }
    }
    const body = '{}'
    const outcome = await postJson(
      endpoint.url,
      deliveryHeaders({ eventId: 'verification', body, endpoint, now: clock.now() }),
      body,
      settings,
    )
    if (outcome.error?.includes('private or reserved'))
      return { code: 'webhook_url_not_allowed', message: outcome.error }
    if (outcome.statusCode === null) {
      return {
        code: 'webhook_verification_failed',
        message: `The verification request failed: ${outcome.error}.`,
      }
    }
    if (outcome.statusCode < 200 || outcome.statusCode > 299) {
      return {
        code: 'webhook_verification_failed',
        message: `The endpoint answered the verification request with ${outcome.statusCode}; it must answer 2xx.`,
      }
    }
    if (!outcome.json) {
      return {
        code: 'webhook_verification_failed',
        message:
          'The endpoint answered the verification request without a JSON body (answer {} for example).',
      }
    }
    return null
  }

  return {
    async get(appId: string, environment: EnvironmentName): Promise<Result<EndpointRow, WebhookFailure>> {
      if (!(await appExists(appId))) return fail({ code: 'app_not_found' })
      const endpoint = await repo.endpoint(appId, ENVIRONMENTS[environment])
      return endpoint ? ok(endpoint) : fail({ code: 'webhook_not_found' })
    },

    /**
     * Saves the endpoint once it has passed the verification request. The first save creates the signing
     * secret and is the only answer that shows it (besides a rotation).
     */
    async save(
      appId: string,
      environment: EnvironmentName,
      input: EndpointInput,
    ): Promise<Result<{ endpoint: EndpointRow; created: boolean }, WebhookFailure>> {
      if (!(await appExists(appId))) return fail({ code: 'app_not_found' })
      const invalid = checkInput(input)
      if (invalid) return fail(invalid)
      const existing = await repo.endpoint(appId, ENVIRONMENTS[environment])
      const now = clock.now()
      const candidate: EndpointRow = {
        appId,
        environment: ENVIRONMENTS[environment],
        ...input,
        signingSecret: existing?.signingSecret ?? generateSigningSecret(),
        previousSigningSecret: existing?.previousSigningSecret ?? null,
        previousSecretExpiresAt: existing?.previousSecretExpiresAt ?? null,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      }
      const refused = await verify(candidate)
      if (refused) return fail(refused)
      return ok(await repo.saveEndpoint(candidate, now))
    },

    async remove(appId: string, environment: EnvironmentName): Promise<Result<true, WebhookFailure>> {
      if (!(await appExists(appId))) return fail({ code: 'app_not_found' })
      const deleted = await repo.deleteEndpoint(appId, ENVIRONMENTS[environment], clock.now())
      return deleted ? ok(true) : fail({ code: 'webhook_not_found' })
    },

    async rotateSecret(
      appId: string,
      environment: EnvironmentName,
      overlapSeconds: number,
    ): Promise<Result<EndpointRow, WebhookFailure>> {
      if (!(await appExists(appId))) return fail({ code: 'app_not_found' })
      const now = clock.now()
      const rotated = await repo.rotateSecret(
        appId,
        ENVIRONMENTS[environment],
        generateSigningSecret(),
        new Date(now.getTime() + overlapSeconds * 1000),
        now,
      )
      return rotated ? ok(rotated) : fail({ code: 'webhook_not_found' })
    },

    async attempts(
      appId: string,
      filter: { after?: string; eventId?: string; outcome?: 'succeeded' | 'failed'; limit: number },
    ): Promise<Result<{ attempts: AttemptRow[]; nextCursor: string | null }, WebhookFailure>> {
      if (filter.after !== undefined && !/^\d{1,18}$/.test(filter.after)) {
        return fail({
          code: 'validation_error',
          source: 'after',
          message: 'Pass the next_cursor of the previous page.',
        })
      }
      if (!(await appExists(appId))) return fail({ code: 'app_not_found' })
      const attempts = await repo.attempts(appId, {
        afterSeq: BigInt(filter.after ?? '0'),
        eventId: filter.eventId,
        outcome: filter.outcome,
        limit: filter.limit,
      })
      const last = attempts.at(-1)
      return ok({ attempts, nextCursor: last ? String(last.seq) : (filter.after ?? null) })
    },

    /** Queues the event again for its environment's endpoint: same webhook-id, a body rendered afresh. */
    async redeliver(appId: string, eventId: string): Promise<Result<{ deliveryId: string }, WebhookFailure>> {
      if (!(await appExists(appId))) return fail({ code: 'app_not_found' })
      if (!isUuid(eventId) || (await repo.eventEnvironment(appId, eventId)) === null) {
        return fail({ code: 'event_not_found' })
      }
      const deliveryId = await repo.redeliver(appId, eventId, clock.now())
      if (!deliveryId) return fail({ code: 'webhook_not_found' })
      worker.wake()
      return ok({ deliveryId })
    },

    /** Queues every event written in [from, to) again, for the endpoints that take them. */
    async redeliverRange(
      appId: string,
      range: { from: Date; to: Date; environment: EnvironmentName | null },
    ): Promise<Result<{ queued: number }, WebhookFailure>> {
      if (!(await appExists(appId))) return fail({ code: 'app_not_found' })
      if (range.to <= range.from) {
        return fail({ code: 'validation_error', source: 'to', message: 'Must be later than `from`.' })
      }
      const queued = await repo.redeliverRange(
        appId,
        range.from,
        range.to,
        range.environment ? ENVIRONMENTS[range.environment] : null,
        clock.now(),
      )
      if (queued > 0) worker.wake()
      return ok({ queued })
    },

    worker,
  }
}

export type WebhooksService = ReturnType<typeof createWebhooksService>
