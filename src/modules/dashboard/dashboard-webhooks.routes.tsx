import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppsService } from '../apps/apps.service.ts'
import {
  DEFAULT_SECRET_OVERLAP_SECONDS,
  type EndpointInput,
  type WebhookFailure,
  type WebhooksService,
} from '../webhooks/webhooks.service.ts'
import type { DashboardRepository } from './dashboard.repository.ts'
import type { DashboardRequestTools } from './dashboard.routes.tsx'
import type { FieldErrors } from './pages/layout.tsx'
import { type EndpointFormValues, type EnvironmentKey, WebhooksPage } from './pages/webhooks-page.tsx'

/** Webhook endpoints per environment, secret rotation, the delivery log and redelivery. */

export interface DashboardWebhooksDeps {
  tools: DashboardRequestTools
  apps: AppsService
  webhooks: WebhooksService
  dashboard: DashboardRepository
}

const HIDDEN = { schema: { hide: true } }
const ENVIRONMENT_KEYS = ['production', 'sandbox'] as const
const LOG_SIZE = 50

const NOTICES: Record<string, { kind: 'success' | 'error'; text: string }> = {
  removed: {
    kind: 'success',
    text: 'The endpoint was removed; deliveries still waiting for it were cancelled.',
  },
  saved: { kind: 'success', text: 'The endpoint passed the verification request and was saved.' },
  queued: { kind: 'success', text: 'Queued: the event is on its way again, with the same webhook-id.' },
  webhook_not_found: { kind: 'error', text: 'The event’s environment has no endpoint.' },
  event_not_found: { kind: 'error', text: 'That event does not exist.' },
}

/** A `datetime-local`-like UTC value, or null. */
function utcDate(value: string | undefined): Date | null {
  const text = (value ?? '').trim()
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?Z?$/.test(text)) return null
  const date = new Date(text.length === 10 ? `${text}T00:00:00Z` : text.endsWith('Z') ? text : `${text}Z`)
  return Number.isNaN(date.getTime()) ? null : date
}

export function dashboardWebhooksRoutes(deps: DashboardWebhooksDeps) {
  const { tools } = deps
  const { context, notFound } = tools
  const appIdOf = (request: FastifyRequest) => (request.params as { appId: string }).appId
  const environmentOf = (request: FastifyRequest): EnvironmentKey | null => {
    const value = (request.params as { environment?: string }).environment
    return ENVIRONMENT_KEYS.includes(value as EnvironmentKey) ? (value as EnvironmentKey) : null
  }

  async function page(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Omit<Parameters<typeof WebhooksPage>[0], 'context' | 'data'> = {},
    status = 200,
  ) {
    const appId = appIdOf(request)
    const found = await deps.apps.getApp(appId)
    if (!found.ok) return notFound(request, reply)
    const query = request.query as { status?: string; notice?: string }
    const outcome = query.status === 'succeeded' || query.status === 'failed' ? query.status : ''
    const [production, sandbox, attempts, counts] = await Promise.all([
      deps.webhooks.get(appId, 'production'),
      deps.webhooks.get(appId, 'sandbox'),
      deps.dashboard.recentAttempts(appId, outcome, LOG_SIZE),
      deps.dashboard.deliveryCounts(appId),
    ])
    return tools.html(
      reply,
      <WebhooksPage
        context={context(request)}
        data={{
          app: found.value.app,
          endpoints: {
            production: production.ok ? production.value : null,
            sandbox: sandbox.ok ? sandbox.value : null,
          },
          attempts,
          outcome,
          counts,
        }}
        notice={extra.notice ?? NOTICES[query.notice ?? '']}
        newSecret={extra.newSecret}
        refused={extra.refused}
      />,
      status,
    )
  }

  /** The endpoint a form describes, or why it cannot be read. */
  function readEndpoint(
    request: FastifyRequest,
  ):
    | { input: EndpointInput; values: EndpointFormValues }
    | { errors: FieldErrors; values: EndpointFormValues } {
    const form = tools.form(request)
    const events = tools.formList(request, 'events')
    const values: EndpointFormValues = {
      url: (form.url ?? '').trim(),
      authorization: form.authorization ?? '',
      events: events.length > 0 ? events : null,
      eventNames: form.event_names ?? '',
      sendUserAttributes: form.send_user_attributes === 'true',
      sendTrialPrice: form.send_trial_price === 'true',
    }
    const eventNames: Record<string, string> = {}
    for (const [index, line] of values.eventNames.split(/\r?\n/).entries()) {
      const text = line.trim()
      if (text === '') continue
      const [type, name, ...rest] = text.split('=').map((part) => part.trim())
      if (!type || !name || rest.length > 0 || name.length > 100) {
        return { errors: { event_names: `Line ${index + 1}: write type=new_name.` }, values }
      }
      eventNames[type] = name
    }
    return {
      values,
      input: {
        url: values.url,
        authorization: values.authorization.trim() === '' ? null : values.authorization,
        eventTypes: values.events,
        eventNames,
        sendUserAttributes: values.sendUserAttributes,
        sendTrialPrice: values.sendTrialPrice,
      },
    }
  }

  const failureErrors = (failure: WebhookFailure): FieldErrors => {
    if (failure.code === 'validation_error') {
      const field = failure.source.split('.')[0] as string
      return { [field === 'events' ? 'event_names' : field]: failure.message }
    }
    return { url: 'message' in failure ? failure.message : 'Refused.' }
  }

  return async (app: FastifyInstance): Promise<void> => {
    const base = (appId: string) => `/dashboard/apps/${appId}/webhooks`

    app.get('/dashboard/apps/:appId/webhooks', HIDDEN, (request, reply) => page(request, reply))

    app.post('/dashboard/apps/:appId/webhooks/:environment', HIDDEN, async (request, reply) => {
      const environment = environmentOf(request)
      if (!environment) return notFound(request, reply)
      const read = readEndpoint(request)
      if ('errors' in read) return page(request, reply, { refused: { environment, ...read } }, 400)
      // Saving keeps the stored Authorization when the field is left empty on an endpoint that has one.
      const existing = await deps.webhooks.get(appIdOf(request), environment)
      const input =
        read.input.authorization === null && existing.ok
          ? { ...read.input, authorization: existing.value.authorization }
          : read.input
      const saved = await deps.webhooks.save(appIdOf(request), environment, input)
      if (!saved.ok) {
        if (saved.error.code === 'app_not_found') return notFound(request, reply)
        return page(
          request,
          reply,
          { refused: { environment, errors: failureErrors(saved.error), values: read.values } },
          400,
        )
      }
      if (!saved.value.created) return reply.redirect(`${base(appIdOf(request))}?notice=saved`, 303)
      return page(
        request,
        reply,
        {
          notice: { kind: 'success', text: 'The endpoint passed the verification request and was saved.' },
          newSecret: { label: 'Signing secret:', value: saved.value.endpoint.signingSecret },
        },
        201,
      )
    })

    app.post('/dashboard/apps/:appId/webhooks/:environment/delete', HIDDEN, async (request, reply) => {
      const environment = environmentOf(request)
      if (!environment) return notFound(request, reply)
      const removed = await deps.webhooks.remove(appIdOf(request), environment)
      if (!removed.ok && removed.error.code === 'app_not_found') return notFound(request, reply)
      return reply.redirect(
        `${base(appIdOf(request))}?notice=${removed.ok ? 'removed' : removed.error.code}`,
        303,
      )
    })

    app.post('/dashboard/apps/:appId/webhooks/:environment/rotate-secret', HIDDEN, async (request, reply) => {
      const environment = environmentOf(request)
      if (!environment) return notFound(request, reply)
      const rotated = await deps.webhooks.rotateSecret(
        appIdOf(request),
        environment,
        DEFAULT_SECRET_OVERLAP_SECONDS,
      )
      if (!rotated.ok) {
        if (rotated.error.code === 'app_not_found') return notFound(request, reply)
        return reply.redirect(`${base(appIdOf(request))}?notice=${rotated.error.code}`, 303)
      }
      return page(request, reply, {
        notice: {
          kind: 'success',
          text: 'New signing secret; the previous one keeps signing next to it for 24 hours.',
        },
        newSecret: { label: 'New signing secret:', value: rotated.value.signingSecret },
      })
    })

    app.post('/dashboard/apps/:appId/webhooks/redeliver', HIDDEN, async (request, reply) => {
      const queued = await deps.webhooks.redeliver(appIdOf(request), tools.form(request).event_id ?? '')
      if (!queued.ok && queued.error.code === 'app_not_found') return notFound(request, reply)
      return reply.redirect(
        `${base(appIdOf(request))}?notice=${queued.ok ? 'queued' : queued.error.code}`,
        303,
      )
    })

    app.post('/dashboard/apps/:appId/webhooks/redeliver-range', HIDDEN, async (request, reply) => {
      const form = tools.form(request)
      const from = utcDate(form.from)
      const to = utcDate(form.to)
      const environment = ENVIRONMENT_KEYS.includes(form.environment as EnvironmentKey)
        ? (form.environment as EnvironmentKey)
        : null
      const errors: FieldErrors = {}
      if (!from) errors.from = 'A date, or a date and time, in UTC.'
      if (!to) errors.to = 'A date, or a date and time, in UTC.'
      if (from && to && to <= from) errors.to = 'Must be later than From.'
      if (!from || !to || Object.keys(errors).length > 0) {
        return page(
          request,
          reply,
          {
            refused: {
              environment: 'production',
              errors,
              values: {
                url: '',
                authorization: '',
                events: null,
                eventNames: '',
                sendUserAttributes: false,
                sendTrialPrice: false,
              },
            },
          },
          400,
        )
      }
      const queued = await deps.webhooks.redeliverRange(appIdOf(request), { from, to, environment })
      if (!queued.ok) return notFound(request, reply)
      return page(request, reply, {
        notice: {
          kind: 'success',
          text: `Queued ${queued.value.queued} event${queued.value.queued === 1 ? '' : 's'} for redelivery; the log below fills as they go out.`,
        },
      })
    })
  }
}
