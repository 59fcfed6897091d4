import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify'
import type { Config } from './config.ts'
import { AppError } from './errors.ts'
import { adminAuthHook } from './http/admin-auth.ts'
import { apiKeyAuthHook } from './http/api-key-auth.ts'
import { registerErrorHandling } from './http/error-handler.ts'
import { registerIdempotency } from './http/idempotency.ts'
import { registerJsonBodyParser } from './http/json-body-parser.ts'
import { registerOpenApi } from './http/openapi.ts'
import { createRateLimiter } from './http/rate-limiter.ts'
import { enforceResponseSchemas } from './http/response-validation.ts'
import { validatorCompiler } from './http/validation.ts'
import { appsRoutes } from './modules/apps/apps.routes.ts'
import { catalogRoutes } from './modules/catalog/catalog.routes.ts'
import { dashboardRoutes } from './modules/dashboard/dashboard.routes.tsx'
import { eventsRoutes } from './modules/events/events.routes.ts'
import { healthRoutes } from './modules/health/health.routes.ts'
import { integrationIdentifiersRoutes } from './modules/integration-identifiers/integration-identifiers.routes.ts'
import { paddleRoutes } from './modules/paddle/paddle.routes.ts'
import { profilesRoutes } from './modules/profiles/profiles.routes.ts'
import { purchasesRoutes } from './modules/purchases/purchases.routes.ts'
import { refundSaverRoutes } from './modules/refund-saver/refund-saver.routes.ts'
import { statsRoutes } from './modules/stats/stats.routes.ts'
import { stripeValidateRoutes, stripeWebhookRoutes } from './modules/stripe/stripe.routes.ts'
import { stripeImportsRoutes } from './modules/stripe/stripe-imports.routes.ts'
import { webhooksRoutes } from './modules/webhooks/webhooks.routes.ts'
import type { Services } from './services.ts'
import { VERSION } from './version.ts'

export const SERVER_SIDE_API_PREFIX = '/api/v2/server-side-api'
export const ADMIN_API_PREFIX = '/admin/v1'
/** Adapty keeps Stripe validation on its v1 SDK API. */
export const SDK_API_V1_PREFIX = '/api/v1/sdk'

export interface BuildAppOptions {
  services: Services
  config: Config
  logger?: FastifyBaseLogger | boolean
  /** Tests turn this on: replies that break their declared schema become failures. */
  enforceResponseSchemas?: boolean
  /**
   * Where the process is in its life. While `starting` (migrations and first-start work still running) every
   * request but /health is 503; while `stopping`, /health turns 503 so traffic moves away. Always `ready`
   * when unset.
   */
  phase?: () => Phase
}

export type Phase = 'starting' | 'ready' | 'stopping'

/** Builds the HTTP application without listening; tests inject requests into it. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { services, config } = options
  const app = Fastify({
    ...(typeof options.logger === 'object'
      ? { loggerInstance: options.logger }
      : { logger: options.logger ?? false }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    requestIdHeader: 'x-request-id',
    // Fastify's own timeouts keep a slow client from holding a connection forever.
    requestTimeout: 30_000,
    // Requests already on an open connection when shutdown starts are served, not refused in a foreign shape;
    // Fastify marks their responses Connection: close.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Declared up front so every request object keeps one shape (Fastify's advice for hot properties).
  app.decorateRequest('actor', undefined)
  app.setValidatorCompiler(validatorCompiler)
  registerJsonBodyParser(app)
  registerErrorHandling(app)
  if (options.enforceResponseSchemas) enforceResponseSchemas(app)
  await registerOpenApi(app, VERSION)

  const phase = options.phase ?? (() => 'ready' as const)
  // Callback-style: this runs on every request, and the common answer (ready) needs no promise.
  app.addHook('onRequest', (request, _reply, done) => {
    if (phase() === 'starting' && request.url !== '/health') {
      const starting = new AppError(
        'service_unavailable',
        'Entitle is starting: database migrations are being applied.',
        {
          headers: { 'retry-after': '2' },
        },
      )
      done(starting as unknown as FastifyError)
      return
    }
    done()
  })
  await app.register(
    healthRoutes({ isReady: async () => phase() === 'ready' && (await services.database.ping()) }),
  )

  const limiter = createRateLimiter()
  const apiKeyAuth = apiKeyAuthHook({
    resolver: services.keyResolver,
    limiter,
    clock: services.clock,
    defaultRateLimitPerMinute: config.DEFAULT_RATE_LIMIT_PER_MINUTE,
  })
  await app.register(
    async (serverSideApi) => {
      serverSideApi.addHook('onRequest', apiKeyAuth)
      // Before the routes: it extends every write route as it is declared.
      registerIdempotency(serverSideApi, {
        repository: services.idempotency,
        clock: services.clock,
        waitMs: config.IDEMPOTENCY_WAIT_MS,
      })
      await serverSideApi.register(profilesRoutes({ service: services.profiles, clock: services.clock }))
      await serverSideApi.register(integrationIdentifiersRoutes({ service: services.integrationIdentifiers }))
      await serverSideApi.register(refundSaverRoutes({ service: services.refundSaver }))
      await serverSideApi.register(purchasesRoutes({ service: services.entitlements, clock: services.clock }))
      await serverSideApi.register(paddleRoutes({ service: services.paddle, clock: services.clock }))
    },
    { prefix: SERVER_SIDE_API_PREFIX },
  )

  await app.register(
    async (sdkApi) => {
      sdkApi.addHook('onRequest', apiKeyAuth)
      await sdkApi.register(stripeValidateRoutes({ service: services.stripe }))
    },
    { prefix: SDK_API_V1_PREFIX },
  )
  // Stripe signs its webhooks; they carry no API key.
  await app.register(stripeWebhookRoutes({ service: services.stripe }))

  await app.register(
    async (admin) => {
      admin.addHook('onRequest', adminAuthHook(services.operator))
      await admin.register(
        appsRoutes({
          service: services.apps,
          defaultRateLimitPerMinute: config.DEFAULT_RATE_LIMIT_PER_MINUTE,
        }),
      )
      await admin.register(catalogRoutes({ service: services.catalog }))
      await admin.register(eventsRoutes({ service: services.events }))
      await admin.register(statsRoutes({ service: services.stats }))
      await admin.register(webhooksRoutes({ service: services.webhooks }))
      await admin.register(stripeImportsRoutes({ service: services.stripeImports }))
    },
    { prefix: ADMIN_API_PREFIX },
  )

  await app.register(
    dashboardRoutes({
      operator: services.operator,
      apps: services.apps,
      catalog: services.catalog,
      profiles: services.profiles,
      profilesRepository: services.profilesRepository,
      entitlements: services.entitlements,
      dashboard: services.dashboardReads,
      webhooks: services.webhooks,
      stripeImports: services.stripeImports,
      stats: services.stats,
      clock: services.clock,
      defaultRateLimitPerMinute: config.DEFAULT_RATE_LIMIT_PER_MINUTE,
    }),
  )

  return app
}
