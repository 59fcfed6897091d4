import {
  attemptView,
  endpointInputFrom,
  endpointView,
  webhookFailure,
} from '../modules/webhooks/webhooks.routes.ts'
import {
  DeliveriesQuery,
  RedeliverRangeBody,
  RotateSecretBody,
  SaveWebhookBody,
  type SaveWebhookInput,
} from '../modules/webhooks/webhooks.schemas.ts'
import {
  DEFAULT_SECRET_OVERLAP_SECONDS,
  ENVIRONMENTS,
  type EnvironmentName,
  WEBHOOK_EVENT_TYPES,
  type WebhookFailure,
} from '../modules/webhooks/webhooks.service.ts'
import {
  type Command,
  type CommandOutcome,
  checkOptions,
  compileValidator,
  done,
  failed,
  need,
  UsageError,
} from './command-support.ts'

/** `webhooks …`: the webhook endpoints, the delivery log and redelivery, as the admin API has them. */

const saveValidator = compileValidator(SaveWebhookBody, 'body')
const rotateValidator = compileValidator(RotateSecretBody, 'body')
const deliveriesValidator = compileValidator(DeliveriesQuery, 'querystring')
const rangeValidator = compileValidator(RedeliverRangeBody, 'body')

const EVENT_TYPES = new Set<string>(WEBHOOK_EVENT_TYPES)
const ENVIRONMENT_NAMES = Object.keys(ENVIRONMENTS) as EnvironmentName[]

/** The admin API lower-cases ids in the path; so does the CLI. */
const lower = (value: string) => value.toLowerCase()

function fail(failure: WebhookFailure): CommandOutcome {
  return failed(webhookFailure(failure))
}

function environmentOf(value: string | undefined, what: string): EnvironmentName {
  const environment = need(value, what)
  if (!(ENVIRONMENT_NAMES as string[]).includes(environment))
    throw new UsageError(`${what} must be production or sandbox`)
  return environment as EnvironmentName
}

function eventType(value: string, option: string): string {
  if (!EVENT_TYPES.has(value))
    throw new UsageError(`${option}: unknown event type ${value}; one of: ${WEBHOOK_EVENT_TYPES.join(', ')}`)
  return value
}

/** `--event-name TYPE=NAME`, repeated; the name may contain `=`. */
function eventNames(values: string[]): Record<string, string> {
  const names: Record<string, string> = {}
  for (const value of values) {
    const equals = value.indexOf('=')
    if (equals <= 0)
      throw new UsageError(`--event-name ${value}: expected TYPE=NAME, e.g. trial_started=trial_start`)
    const type = eventType(value.slice(0, equals), '--event-name')
    if (type in names) throw new UsageError(`--event-name: ${type} given twice`)
    names[type] = value.slice(equals + 1)
  }
  return names
}

type EndpointView = ReturnType<typeof endpointView>

function endpointText(view: EndpointView): string {
  const names = Object.entries(view.event_names).map(([type, name]) => `${type}=${name}`)
  const yesNo = (value: boolean) => (value ? 'yes' : 'no')
  const previousSigns =
    view.previous_secret_expires_at !== null && Date.parse(view.previous_secret_expires_at) > Date.now()
  return [
    `${view.environment}  ${view.url}`,
    `authorization: ${view.authorization ?? 'none'}`,
    `events: ${view.events === null ? 'all' : view.events.join(', ') || 'none'}`,
    `event names: ${names.join(', ') || 'the event types'}`,
    `send user attributes: ${yesNo(view.send_user_attributes)}; send trial price: ${yesNo(view.send_trial_price)}`,
    `signing secret: ${view.signing_secret_hint}${
      previousSigns ? ` (the previous one also signs until ${view.previous_secret_expires_at})` : ''
    }`,
  ].join('\n')
}

function attemptLine(attempt: ReturnType<typeof attemptView>): string {
  return [
    attempt.attempted_at,
    attempt.event_id,
    attempt.event_type ?? '-',
    `attempt ${attempt.attempt}`,
    attempt.status_code === null ? `error: ${attempt.error ?? 'no answer'}` : `status ${attempt.status_code}`,
    `${attempt.latency_ms} ms`,
    attempt.next_attempt_at
      ? `delivery ${attempt.delivery_status}, next attempt ${attempt.next_attempt_at}`
      : `delivery ${attempt.delivery_status}`,
  ].join('  ')
}

export const WEBHOOK_COMMANDS: Record<string, Command> = {
  'webhooks set': async (services, _config, input) => {
    const appId = lower(need(input.positionals[0], 'APP_ID'))
    const environment = environmentOf(input.positionals[1], 'ENVIRONMENT')
    const body: Record<string, unknown> = {
      url: need(input.url, '--url'),
      send_user_attributes: input.sendUserAttributes ?? false,
      send_trial_price: input.sendTrialPrice ?? false,
    }
    if (input.authorization !== undefined) body.authorization = input.authorization
    if (input.events !== undefined) {
      body.events = input.events
        .split(',')
        .map((type) => type.trim())
        .filter(Boolean)
        .map((type) => eventType(type, '--events'))
    }
    if (input.eventNames !== undefined) body.event_names = eventNames(input.eventNames)
    checkOptions(saveValidator, body, {
      url: '--url',
      authorization: '--authorization',
      events: '--events',
      event_names: '--event-name',
    })
    const result = await services.webhooks.save(
      appId,
      environment,
      endpointInputFrom(body as SaveWebhookInput),
    )
    if (!result.ok) return fail(result.error)
    const { endpoint, created } = result.value
    const view = endpointView(endpoint, created)
    const lines = created
      ? [
          `Saved the ${environment} webhook endpoint (it answered the verification request).`,
          endpointText(view),
          `Signing secret (shown once; verify the webhook-signature header with it): ${endpoint.signingSecret}`,
        ]
      : [`Updated the ${environment} webhook endpoint; the signing secret is unchanged.`, endpointText(view)]
    return done(view, lines.join('\n'))
  },

  'webhooks get': async (services, _config, input) => {
    const result = await services.webhooks.get(
      lower(need(input.positionals[0], 'APP_ID')),
      environmentOf(input.positionals[1], 'ENVIRONMENT'),
    )
    if (!result.ok) return fail(result.error)
    const view = endpointView(result.value, false)
    return done(view, endpointText(view))
  },

  'webhooks delete': async (services, _config, input) => {
    const environment = environmentOf(input.positionals[1], 'ENVIRONMENT')
    const result = await services.webhooks.remove(lower(need(input.positionals[0], 'APP_ID')), environment)
    if (!result.ok) return fail(result.error)
    return done(
      { deleted: true, environment },
      `Deleted the ${environment} webhook endpoint; deliveries still waiting for it are cancelled.`,
    )
  },

  'webhooks rotate-secret': async (services, _config, input) => {
    const appId = lower(need(input.positionals[0], 'APP_ID'))
    const environment = environmentOf(input.positionals[1], 'ENVIRONMENT')
    let overlapSeconds = DEFAULT_SECRET_OVERLAP_SECONDS
    if (input.overlapSeconds !== undefined) {
      if (!/^\d+$/.test(input.overlapSeconds))
        throw new UsageError('--overlap-seconds must be a whole number of seconds')
      overlapSeconds = Number(input.overlapSeconds)
      checkOptions(
        rotateValidator,
        { overlap_seconds: overlapSeconds },
        { overlap_seconds: '--overlap-seconds' },
      )
    }
    const result = await services.webhooks.rotateSecret(appId, environment, overlapSeconds)
    if (!result.ok) return fail(result.error)
    const view = endpointView(result.value, true)
    return done(
      view,
      [
        `New signing secret of the ${environment} webhook endpoint (shown once): ${result.value.signingSecret}`,
        overlapSeconds > 0 && view.previous_secret_expires_at
          ? `The previous secret keeps signing next to it until ${view.previous_secret_expires_at}.`
          : 'The previous secret no longer signs.',
      ].join('\n'),
    )
  },

  'webhooks deliveries': async (services, _config, input) => {
    const appId = lower(need(input.positionals[0], 'APP_ID'))
    if (input.status !== undefined && input.status !== 'succeeded' && input.status !== 'failed')
      throw new UsageError('--status must be succeeded or failed')
    const query: Record<string, unknown> = {}
    if (input.eventId !== undefined) query.event_id = input.eventId
    if (input.status !== undefined) query.status = input.status
    if (input.after !== undefined) query.after = input.after
    if (input.limit !== undefined) query.limit = input.limit
    checkOptions(deliveriesValidator, query, {
      event_id: '--event-id',
      status: '--status',
      after: '--after',
      limit: '--limit',
    })
    const result = await services.webhooks.attempts(appId, {
      after: input.after,
      eventId: input.eventId?.toLowerCase(),
      outcome: input.status as 'succeeded' | 'failed' | undefined,
      limit: query.limit as number,
    })
    if (!result.ok) {
      if (result.error.code === 'validation_error')
        return failed({ code: 'invalid_cursor', source: 'after', message: result.error.message })
      return fail(result.error)
    }
    const attempts = result.value.attempts.map(attemptView)
    const next = result.value.nextCursor
    return done(
      { data: attempts, next_cursor: next },
      attempts.length === 0
        ? 'No delivery attempts.'
        : [...attempts.map(attemptLine), `Next page: --after ${next}`].join('\n'),
    )
  },

  'webhooks redeliver': async (services, _config, input) => {
    const eventId = lower(need(input.positionals[1], 'EVENT_ID'))
    const result = await services.webhooks.redeliver(lower(need(input.positionals[0], 'APP_ID')), eventId)
    if (!result.ok) return fail(result.error)
    return done(
      { delivery_id: result.value.deliveryId },
      `Queued delivery ${result.value.deliveryId} of event ${eventId}; the running server sends it.`,
    )
  },

  'webhooks redeliver-range': async (services, _config, input) => {
    const appId = lower(need(input.positionals[0], 'APP_ID'))
    const environment =
      input.environment === undefined ? null : environmentOf(input.environment, '--environment')
    const body = { from: need(input.from, '--from'), to: need(input.to, '--to') }
    checkOptions(rangeValidator, body, { from: '--from', to: '--to' })
    const result = await services.webhooks.redeliverRange(appId, {
      from: new Date(body.from),
      to: new Date(body.to),
      environment,
    })
    if (!result.ok) return fail(result.error)
    const { queued } = result.value
    return done(
      { queued },
      `Queued ${queued} ${queued === 1 ? 'delivery' : 'deliveries'}; the running server sends them.`,
    )
  },
}

export const WEBHOOK_USAGE = `  webhooks set APP_ID ENV --url URL [--authorization VALUE] [--events TYPE,TYPE...]
      [--event-name TYPE=NAME]... [--send-user-attributes] [--send-trial-price]
                                         save the webhook endpoint of ENV (production or sandbox) once the
                                         URL answers POST {} with 2xx and JSON; replaces all its settings
                                         (left out: none, all events, default names, off); the first save
                                         prints the signing secret once
  webhooks get APP_ID ENV                show the webhook endpoint of ENV
  webhooks delete APP_ID ENV             remove it; deliveries still waiting for it are cancelled
  webhooks rotate-secret APP_ID ENV [--overlap-seconds N]
                                         new signing secret, printed once; the old one also signs for N
                                         seconds (default 86400)
  webhooks deliveries APP_ID [--event-id ID] [--status succeeded|failed] [--after CURSOR] [--limit N]
                                         the delivery log, one attempt a line, oldest first (N up to 1000)
  webhooks redeliver APP_ID EVENT_ID     queue an event again, for the running server to send
  webhooks redeliver-range APP_ID --from ISO --to ISO [--environment ENV]
                                         queue again the events written in [from, to)`
