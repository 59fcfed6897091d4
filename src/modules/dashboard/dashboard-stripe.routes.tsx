import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppsService } from '../apps/apps.service.ts'
import type { ImportRequest, StripeImportsService } from '../stripe/stripe-imports.service.ts'
import type { DashboardRequestTools } from './dashboard.routes.tsx'
import type { FieldErrors } from './pages/layout.tsx'
import { type ImportFormValues, StripeImportPage, StripePage } from './pages/stripe-page.tsx'

/** The Stripe set-up at a glance, imports of a customer's purchases and their progress. */

export interface DashboardStripeDeps {
  tools: DashboardRequestTools
  apps: AppsService
  stripeImports: StripeImportsService
}

const HIDDEN = { schema: { hide: true } }
const RECENT_IMPORTS = 20

const splitTokens = (text: string) => text.split(/[\s,]+/).filter((token) => token !== '')

export function dashboardStripeRoutes(deps: DashboardStripeDeps) {
  const { tools } = deps
  const { context, notFound } = tools
  const params = (request: FastifyRequest) => request.params as { appId: string; importId?: string }
  const base = (appId: string) => `/dashboard/apps/${appId}/stripe`

  async function page(
    request: FastifyRequest,
    reply: FastifyReply,
    refused?: { errors: FieldErrors; values: ImportFormValues },
  ) {
    const { appId } = params(request)
    const [found, imports] = await Promise.all([
      deps.apps.getApp(appId),
      deps.stripeImports.list(appId, RECENT_IMPORTS),
    ])
    if (!found.ok || !imports.ok) return notFound(request, reply)
    return tools.html(
      reply,
      <StripePage
        context={context(request)}
        app={found.value.app}
        webhookUrl={`${request.protocol}://${request.host}/webhooks/stripe/${appId}`}
        imports={imports.value}
        errors={refused?.errors}
        values={refused?.values}
      />,
      refused ? 400 : 200,
    )
  }

  /** Queues the import and shows its progress page, or the form again with the reason next to its field. */
  async function start(request: FastifyRequest, reply: FastifyReply, input: ImportRequest) {
    const { appId } = params(request)
    const started = await deps.stripeImports.start(appId, input)
    if (started.ok) return reply.redirect(`${base(appId)}/imports/${started.value.id}`, 303)
    const failure = started.error
    if (failure.code === 'app_not_found') return notFound(request, reply)
    const values = {
      customerUserId: input.customerUserId,
      stripeCustomerId: input.stripeCustomerId ?? '',
      tokens: input.tokens.join(' '),
    }
    const errors: FieldErrors =
      failure.code === 'validation_error'
        ? { [failure.source]: failure.message }
        : { customer_user_id: 'Set the Stripe secret key on Keys and settings first.' }
    return page(request, reply, { errors, values })
  }

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/dashboard/apps/:appId/stripe', HIDDEN, (request, reply) => page(request, reply))

    app.post('/dashboard/apps/:appId/stripe/imports', HIDDEN, async (request, reply) => {
      const form = tools.form(request)
      const stripeCustomerId = (form.stripe_customer_id ?? '').trim()
      return start(request, reply, {
        customerUserId: form.customer_user_id ?? '',
        stripeCustomerId: stripeCustomerId === '' ? null : stripeCustomerId,
        tokens: splitTokens(form.tokens ?? ''),
      })
    })

    app.get('/dashboard/apps/:appId/stripe/imports/:importId', HIDDEN, async (request, reply) => {
      const { appId, importId } = params(request)
      const [found, job] = await Promise.all([
        deps.apps.getApp(appId),
        deps.stripeImports.get(appId, importId ?? ''),
      ])
      if (!found.ok || !job) return notFound(request, reply, 'import')
      return tools.html(
        reply,
        <StripeImportPage context={context(request)} app={found.value.app} job={job} />,
      )
    })

    app.post('/dashboard/apps/:appId/stripe/imports/:importId/again', HIDDEN, async (request, reply) => {
      const { appId, importId } = params(request)
      const job = await deps.stripeImports.get(appId, importId ?? '')
      if (!job) return notFound(request, reply, 'import')
      return start(request, reply, {
        customerUserId: job.customerUserId,
        stripeCustomerId: job.stripeCustomerId,
        tokens: job.tokens,
      })
    })
  }
}
