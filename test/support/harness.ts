import { after } from 'node:test'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { bootstrap } from '../../src/bootstrap.ts'
import { type Config, parseConfig } from '../../src/config.ts'
import { databaseTargetFrom } from '../../src/db/database-target.ts'
import { type DatabaseHandle, openDatabase } from '../../src/db/open-database.ts'
import { createProfilesRepository, type ProfileRow } from '../../src/modules/profiles/profiles.repository.ts'
import type { Clock } from '../../src/platform/clock.ts'
import { createServices, type Services } from '../../src/services.ts'
import { freshPostgresDatabase } from './server-process.ts'

/** Every file shares one admin token: on PostgreSQL all test files share one database. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef'

export const ENGINE: 'postgres' | 'pglite' = process.env.DATABASE_URL ? 'postgres' : 'pglite'

export interface TestApp {
  app: FastifyInstance
  services: Services
  config: Config
  database: DatabaseHandle
  /** Creates a fresh app through the admin API; every test gets its own tenant. */
  createTenant(name?: string): Promise<Tenant>
  admin(options: InjectOptions): Promise<LightMyRequestResponse>
  /** The whole stored row of a profile, for checking what the API does not echo back. */
  storedProfile(appId: string, profileId: string): Promise<ProfileRow | null>
}

export interface Tenant {
  appId: string
  secretKey: string
  publicKey: string
  /** A request to the server-side API with this tenant's secret key. */
  api(options: ApiRequest): Promise<LightMyRequestResponse>
}

export interface ApiRequest {
  method: InjectOptions['method']
  path: string
  headers?: Record<string, string>
  body?: unknown
}

export const API = '/api/v2/server-side-api'

/**
 * Builds the app on the engine under test (in-memory PGlite by default, PostgreSQL when DATABASE_URL is set),
 * with response-schema enforcement on. Closed after the file's tests.
 */
export async function buildTestApp(
  options: {
    env?: Record<string, string>
    clock?: Clock
    /**
     * On PostgreSQL, a fresh database of the file's own instead of the shared one. For files that run the
     * webhook delivery worker: it claims every app's due deliveries, so on a shared database it would send
     * other files' deliveries (and they its own). Likewise for files that run due jobs on a clock of their
     * own and check the events: another file's scheduler, at another time, would run their jobs early.
     */
    ownDatabase?: boolean
  } = {},
): Promise<TestApp> {
  const own =
    options.ownDatabase && process.env.DATABASE_URL
      ? await freshPostgresDatabase(process.env.DATABASE_URL)
      : null
  const databaseUrl = own?.url ?? process.env.DATABASE_URL
  const parsed = parseConfig({
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...options.env,
  })
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'))
  const config = parsed.config
  const database = await openDatabase(
    config.DATABASE_URL ? databaseTargetFrom(config) : { engine: 'pglite-memory' },
  )
  await database.migrate()
  const services = createServices(database, { clock: options.clock, config })
  await bootstrap(services, config)
  const app = await buildApp({ services, config, enforceResponseSchemas: true })
  await app.ready()
  after(async () => {
    await app.close()
    await database.close()
    await own?.drop()
  })

  const admin = (request: InjectOptions) =>
    app.inject({ ...request, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...request.headers } })

  return {
    app,
    services,
    config,
    database,
    admin,
    storedProfile: (appId, profileId) =>
      createProfilesRepository(database).find(database.db, appId, { profileId }),
    async createTenant(name = 'test-app') {
      const created = await admin({ method: 'POST', url: '/admin/v1/apps', payload: { name } })
      if (created.statusCode !== 201) throw new Error(`creating an app failed: ${created.body}`)
      const body = created.json()
      const tenant: Tenant = {
        appId: body.app_id,
        secretKey: body.secret_api_key,
        publicKey: body.public_api_key,
        api: ({ method, path, headers, body: payload }) =>
          app.inject({
            method,
            url: `${API}${path}`,
            headers: { authorization: `Api-Key ${tenant.secretKey}`, ...headers },
            ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }),
          }),
      }
      return tenant
    },
  }
}

/** Asserts Adapty's field-style error envelope and answers it. */
export function fieldsError(response: LightMyRequestResponse) {
  return response.json() as {
    errors: { source: string | null; errors: string[] }[]
    error_code: string
    status_code: number
  }
}

let counter = 0
/** A customer user id no other test uses, even on a shared PostgreSQL. */
export function uniqueUserId(prefix = 'user'): string {
  counter += 1
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`
}
