import type { Clock } from '../../platform/clock.ts'
import { type IdGenerator, isUuid } from '../../platform/ids.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import { generateApiKey, keyHint, sha256Hex } from '../../platform/secrets.ts'
import type { AccessLevelRow, ApiKeyRow, AppRow, AppsRepository } from './apps.repository.ts'

/** Every app has it from birth; set transaction grants it for products the catalog does not know. */
export const DEFAULT_ACCESS_LEVEL = 'premium'

export interface CreatedApp {
  app: AppRow
  secretApiKey: string
  publicApiKey: string
}

export interface IssuedKey {
  key: ApiKeyRow
  secretApiKey: string
}

export interface AppSettings {
  rateLimitPerMinute: number | null
}

export interface AppsServiceDeps {
  repo: AppsRepository
  ids: IdGenerator
  clock: Clock
  /** Called after keys or limits of an app change, so caches of credentials can drop the app at once. */
  onCredentialsChanged?: (appId: string) => void
}

export function createAppsService({ repo, ids, clock, onCredentialsChanged }: AppsServiceDeps) {
  const findApp = async (appId: string): Promise<AppRow | null> =>
    isUuid(appId) ? repo.findApp(appId) : null

  return {
    async createApp(name: string): Promise<CreatedApp> {
      const secretApiKey = generateApiKey('secret')
      const publicApiKey = generateApiKey('public')
      const now = clock.now()
      const created = await repo.transaction(async (tx) => {
        const app = await repo.insertApp(tx, { id: ids.uuid(), name, createdAt: now })
        for (const [kind, key] of [
          ['secret', secretApiKey],
          ['public', publicApiKey],
        ] as const) {
          await repo.insertApiKey(tx, {
            id: ids.uuid(),
            appId: app.id,
            kind,
            keyHash: sha256Hex(key),
            hint: keyHint(key),
            createdAt: now,
          })
        }
        await repo.insertAccessLevel(tx, app.id, DEFAULT_ACCESS_LEVEL)
        return ok(app)
      })
      if (!created.ok) throw new Error('creating an app cannot fail')
      return { app: created.value, secretApiKey, publicApiKey }
    },

    listApps: () => repo.listApps(),

    countApps: () => repo.countApps(),

    async getApp(appId: string): Promise<Result<{ app: AppRow; keys: ApiKeyRow[] }, 'app_not_found'>> {
      const app = await findApp(appId)
      if (!app) return fail('app_not_found')
      return ok({ app, keys: await repo.listApiKeys(appId) })
    },

    /** Issues a new secret key; the old ones keep working until deleted. */
    async rotateSecretKey(appId: string): Promise<Result<IssuedKey, 'app_not_found'>> {
      if (!(await findApp(appId))) return fail('app_not_found')
      const secretApiKey = generateApiKey('secret')
      const key = await repo.insertApiKey(repo.db, {
        id: ids.uuid(),
        appId,
        kind: 'secret',
        keyHash: sha256Hex(secretApiKey),
        hint: keyHint(secretApiKey),
        createdAt: clock.now(),
      })
      return ok({ key, secretApiKey })
    },

    async deleteKey(
      appId: string,
      keyId: string,
    ): Promise<Result<ApiKeyRow, 'app_not_found' | 'api_key_not_found' | 'last_secret_key'>> {
      if (!(await findApp(appId))) return fail('app_not_found')
      if (!isUuid(keyId)) return fail('api_key_not_found')
      const outcome = await repo.transaction(async (tx) => {
        await repo.lockApp(tx, appId)
        const deleted = await repo.deleteApiKey(tx, appId, keyId)
        if (!deleted) return fail('api_key_not_found')
        // A failure rolls the delete back.
        if (deleted.kind === 'secret' && (await repo.countSecretKeys(tx, appId)) === 0)
          return fail('last_secret_key')
        return ok(deleted)
      })
      if (outcome.ok) onCredentialsChanged?.(appId)
      return outcome
    },

    async addAccessLevel(
      appId: string,
      accessLevelId: string,
    ): Promise<Result<AccessLevelRow, 'app_not_found' | 'access_level_exists'>> {
      if (!(await findApp(appId))) return fail('app_not_found')
      const row = await repo.insertAccessLevel(repo.db, appId, accessLevelId)
      return row ? ok(row) : fail('access_level_exists')
    },

    async listAccessLevels(appId: string): Promise<Result<AccessLevelRow[], 'app_not_found'>> {
      if (!(await findApp(appId))) return fail('app_not_found')
      return ok(await repo.listAccessLevels(appId))
    },

    async deleteAccessLevel(
      appId: string,
      accessLevelId: string,
    ): Promise<Result<true, 'app_not_found' | 'access_level_not_found' | 'access_level_protected'>> {
      if (!(await findApp(appId))) return fail('app_not_found')
      if (accessLevelId === DEFAULT_ACCESS_LEVEL) return fail('access_level_protected')
      return (await repo.deleteAccessLevel(appId, accessLevelId)) ? ok(true) : fail('access_level_not_found')
    },

    async getSettings(appId: string): Promise<Result<AppSettings, 'app_not_found'>> {
      const app = await findApp(appId)
      return app ? ok({ rateLimitPerMinute: app.rateLimitPerMinute }) : fail('app_not_found')
    },

    async updateSettings(
      appId: string,
      changes: Partial<AppSettings>,
    ): Promise<Result<AppSettings, 'app_not_found'>> {
      const current = await findApp(appId)
      if (!current) return fail('app_not_found')
      if (Object.keys(changes).length === 0) return ok({ rateLimitPerMinute: current.rateLimitPerMinute })
      const app = await repo.updateApp(appId, changes)
      if (!app) return fail('app_not_found')
      onCredentialsChanged?.(appId)
      return ok({ rateLimitPerMinute: app.rateLimitPerMinute })
    },
  }
}

export type AppsService = ReturnType<typeof createAppsService>
