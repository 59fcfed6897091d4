import * as core from './schema.ts'
import * as background from './schema-background.ts'

/** Every table, for the query builder's typed access (and nothing else: migrations read the two files). */
export const schema = {
  operatorSettings: core.operatorSettings,
  apps: core.apps,
  apiKeys: core.apiKeys,
  accessLevels: core.accessLevels,
  profiles: core.profiles,
  profileInstallations: core.profileInstallations,
  products: core.products,
  productStoreProducts: core.productStoreProducts,
  ledgerEntries: core.ledgerEntries,
  storeTransactions: core.storeTransactions,
  purchaseChains: core.purchaseChains,
  events: core.events,
  scheduledJobs: core.scheduledJobs,
  idempotencyKeys: core.idempotencyKeys,
  webhookEndpoints: background.webhookEndpoints,
  webhookDeliveries: background.webhookDeliveries,
  webhookAttempts: background.webhookAttempts,
  storePurchaseLinks: background.storePurchaseLinks,
  stripeImports: background.stripeImports,
  eventDayCounts: background.eventDayCounts,
  eventRollupState: background.eventRollupState,
}
