import type { Config } from './config.ts'
import type { DatabaseHandle } from './db/open-database.ts'
import { createKeyResolver } from './http/api-key-auth.ts'
import { createAppsRepository } from './modules/apps/apps.repository.ts'
import { createAppsService } from './modules/apps/apps.service.ts'
import { createCatalogRepository } from './modules/catalog/catalog.repository.ts'
import { createCatalogService } from './modules/catalog/catalog.service.ts'
import { createDashboardRepository } from './modules/dashboard/dashboard.repository.ts'
import { createEntitlementsRepository } from './modules/entitlements/entitlements.repository.ts'
import { createEntitlementsService } from './modules/entitlements/entitlements.service.ts'
import { createEventsRepository } from './modules/events/events.repository.ts'
import { createEventsService } from './modules/events/events.service.ts'
import { createIdempotencyRepository } from './modules/idempotency/idempotency.repository.ts'
import { createIntegrationIdentifiersService } from './modules/integration-identifiers/integration-identifiers.service.ts'
import { createOperatorRepository } from './modules/operator/operator.repository.ts'
import { createOperatorService } from './modules/operator/operator.service.ts'
import { createPaddleService } from './modules/paddle/paddle.service.ts'
import { createProfilesRepository } from './modules/profiles/profiles.repository.ts'
import { createProfilesService } from './modules/profiles/profiles.service.ts'
import { createRefundSaverService } from './modules/refund-saver/refund-saver.service.ts'
import { createEventRollupRepository } from './modules/stats/event-rollup.repository.ts'
import { createEventRollup } from './modules/stats/event-rollup.ts'
import { createStatsRepository } from './modules/stats/stats.repository.ts'
import { createStatsService } from './modules/stats/stats.service.ts'
import { createStoreImporter } from './modules/stripe/store-import.ts'
import { createStorePurchasesRepository } from './modules/stripe/store-purchases.repository.ts'
import { createStripeService } from './modules/stripe/stripe.service.ts'
import { createStripeImportsRepository } from './modules/stripe/stripe-imports.repository.ts'
import { createStripeImportsService } from './modules/stripe/stripe-imports.service.ts'
import { createDeliveryWorker, DEFAULT_DELIVERY_SETTINGS } from './modules/webhooks/webhook-delivery.ts'
import { createWebhooksRepository } from './modules/webhooks/webhooks.repository.ts'
import { createWebhooksService } from './modules/webhooks/webhooks.service.ts'
import { type Clock, systemClock } from './platform/clock.ts'
import { type IdGenerator, systemIds } from './platform/ids.ts'

/** The composition root: every service wired to its repositories, shared by the HTTP app and the CLI. */
type WebhookConfig = Pick<
  Config,
  'WEBHOOK_RETRY_BASE_SECONDS' | 'WEBHOOK_TIMEOUT_SECONDS' | 'WEBHOOK_ALLOW_PRIVATE'
>
type StoreApiConfig = Pick<Config, 'STRIPE_API_URL' | 'PADDLE_API_URL' | 'STORE_API_TIMEOUT_SECONDS'>
type StatsConfig = Pick<Config, 'STATS_ROLLUP_LAG_SECONDS'>

export function createServices(
  database: DatabaseHandle,
  options: {
    clock?: Clock
    ids?: IdGenerator
    config?: Partial<WebhookConfig & StoreApiConfig & StatsConfig>
  } = {},
) {
  const clock = options.clock ?? systemClock
  const ids = options.ids ?? systemIds
  const db = database.db
  const webhookSettings = {
    ...DEFAULT_DELIVERY_SETTINGS,
    retryBaseMs: (options.config?.WEBHOOK_RETRY_BASE_SECONDS ?? 60) * 1000,
    timeoutMs: (options.config?.WEBHOOK_TIMEOUT_SECONDS ?? 10) * 1000,
    allowPrivate: options.config?.WEBHOOK_ALLOW_PRIVATE === 'true',
  }
  const webhooksRepository = createWebhooksRepository(database)
  const deliveryWorker = createDeliveryWorker({ repo: webhooksRepository, clock, settings: webhookSettings })
  const appsRepository = createAppsRepository(db)
  const profilesRepository = createProfilesRepository(database)
  const keyResolver = createKeyResolver(appsRepository)
  const profiles = createProfilesService({ repo: profilesRepository, clock, ids })
  const entitlements = createEntitlementsService({
    repo: createEntitlementsRepository(database, { onEventsCommitted: deliveryWorker.wake }),
    clock,
    ids,
  })
  const storePurchases = createStorePurchasesRepository(db)
  const storeImporter = createStoreImporter({ repo: storePurchases, profiles, entitlements })
  const storeTimeoutMs = (options.config?.STORE_API_TIMEOUT_SECONDS ?? 20) * 1000
  const stripe = createStripeService({
    repo: storePurchases,
    importer: storeImporter,
    clock,
    settings: {
      apiUrl: options.config?.STRIPE_API_URL ?? 'https://api.stripe.com',
      timeoutMs: storeTimeoutMs,
    },
  })
  const stripeImports = createStripeImportsService({
    repo: createStripeImportsRepository(database),
    stripe,
    appExists: (appId) => webhooksRepository.appExists(appId),
    clock,
    ids,
  })
  return {
    database,
    clock,
    ids,
    keyResolver,
    apps: createAppsService({
      repo: appsRepository,
      ids,
      clock,
      onCredentialsChanged: (appId) => keyResolver.forgetApp(appId),
    }),
    catalog: createCatalogService({ repo: createCatalogRepository(db), ids, clock }),
    operator: createOperatorService({ repo: createOperatorRepository(db), clock }),
    profiles,
    profilesRepository,
    dashboardReads: createDashboardRepository(database),
    stats: createStatsService({
      repo: createStatsRepository(database),
      clock,
      appExists: (appId) => webhooksRepository.appExists(appId),
    }),
    statsRollup: createEventRollup({
      repo: createEventRollupRepository(database),
      clock,
      settings: { lagMs: (options.config?.STATS_ROLLUP_LAG_SECONDS ?? 60) * 1000 },
    }),
    integrationIdentifiers: createIntegrationIdentifiersService({ repo: profilesRepository, clock }),
    refundSaver: createRefundSaverService({ repo: profilesRepository, clock }),
    idempotency: createIdempotencyRepository(database),
    events: createEventsService({ repo: createEventsRepository(database) }),
    entitlements,
    stripe,
    stripeImports,
    paddle: createPaddleService({
      repo: storePurchases,
      importer: storeImporter,
      profiles,
      settings: {
        apiUrl: options.config?.PADDLE_API_URL ?? 'https://api.paddle.com',
        timeoutMs: storeTimeoutMs,
      },
    }),
    webhooks: createWebhooksService({
      repo: webhooksRepository,
      clock,
      worker: deliveryWorker,
      settings: webhookSettings,
    }),
  }
}

export type Services = ReturnType<typeof createServices>
export type { Config }
