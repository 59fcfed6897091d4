import type { Config } from './config.ts'
import type { DatabaseHandle } from './db/open-database.ts'
import { createKeyResolver } from './http/api-key-auth.ts'
import { createAppsRepository } from './modules/apps/apps.repository.ts'
import { createAppsService } from './modules/apps/apps.service.ts'
import { createCatalogRepository } from './modules/catalog/catalog.repository.ts'
import { createCatalogService } from './modules/catalog/catalog.service.ts'
import { createEntitlementsRepository } from './modules/entitlements/entitlements.repository.ts'
import { createEntitlementsService } from './modules/entitlements/entitlements.service.ts'
import { createEventsRepository } from './modules/events/events.repository.ts'
import { createEventsService } from './modules/events/events.service.ts'
import { createIdempotencyRepository } from './modules/idempotency/idempotency.repository.ts'
import { createIntegrationIdentifiersService } from './modules/integration-identifiers/integration-identifiers.service.ts'
import { createOperatorRepository } from './modules/operator/operator.repository.ts'
import { createOperatorService } from './modules/operator/operator.service.ts'
import { createProfilesRepository } from './modules/profiles/profiles.repository.ts'
import { createProfilesService } from './modules/profiles/profiles.service.ts'
import { createRefundSaverService } from './modules/refund-saver/refund-saver.service.ts'
import { type Clock, systemClock } from './platform/clock.ts'
import { type IdGenerator, systemIds } from './platform/ids.ts'

/** The composition root: every service wired to its repositories, shared by the HTTP app and the CLI. */
export function createServices(database: DatabaseHandle, options: { clock?: Clock; ids?: IdGenerator } = {}) {
  const clock = options.clock ?? systemClock
  const ids = options.ids ?? systemIds
  const db = database.db
  const appsRepository = createAppsRepository(db)
  const profilesRepository = createProfilesRepository(database)
  const keyResolver = createKeyResolver(appsRepository)
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
    profiles: createProfilesService({ repo: profilesRepository, clock, ids }),
    integrationIdentifiers: createIntegrationIdentifiersService({ repo: profilesRepository, clock }),
    refundSaver: createRefundSaverService({ repo: profilesRepository, clock }),
    idempotency: createIdempotencyRepository(database),
    events: createEventsService({ repo: createEventsRepository(database) }),
    entitlements: createEntitlementsService({ repo: createEntitlementsRepository(database), clock, ids }),
  }
}

export type Services = ReturnType<typeof createServices>
export type { Config }
