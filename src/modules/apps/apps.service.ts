import type { Clock } from '../../platform/clock.ts'
import { type IdGenerator, isUuid } from '../../platform/ids.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import { generateApiKey, keyHint, sha256Hex } from '../../platform/secrets.ts'
import {
  type AccessLevelRow,
  type ApiKeyRow,
  type AppRow,
  type AppsRepository,
  STORE_CREDENTIAL_FIELDS,
  type StoreCredentialField,
} from './apps.repository.ts'
import type { SharingMode } from './apps.schemas.ts'
import { effectiveExchangeRates } from './exchange-rates.ts'

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
  sharingMode: SharingMode
  sandboxSharingMode: SharingMode
  /** The app's own exchange-rate table; null while the bundled snapshot applies. */
  exchangeRates: Record<string, number> | null
  /** Web store secrets, for the admin API to show masked; null when not set. */
  credentials: Record<StoreCredentialField, string | null>
}

export interface SettingsChanges {
  rateLimitPerMinute?: number | null
  sharingMode?: SharingMode
  sandboxSharingMode?: SharingMode
  /**
   * Entries merged into the app's table (the bundled snapshot the first time): a rate sets a currency, null
   * removes it. null as a whole returns to the bundled snapshot.
   */
  exchangeRates?: Record<string, number | null> | null
  /** A secret replaces the stored one; null removes it. */
  credentials?: Partial<Record<StoreCredentialField, string | null>>
}

/** A change the rules refuse, with the field it concerns. */
export interface InvalidSetting {
  code: 'validation_error'
  source: string
  message: string
}

const CURRENCY_CODE = /^[A-Z]{3}$/

function settingsOf(app: AppRow): AppSettings {
  return {
    rateLimitPerMinute: app.rateLimitPerMinute,
    sharingMode: app.sharingMode as SharingMode,
    sandboxSharingMode: app.sandboxSharingMode as SharingMode,
    exchangeRates: app.exchangeRates ?? null,
    credentials: {
      stripeSecretKey: app.stripeSecretKey,
      stripeWebhookSecret: app.stripeWebhookSecret,
      paddleApiKey: app.paddleApiKey,
    },
  }
}

function invalidRates(entries: Record<string, number | null>): InvalidSetting | null {
  for (const [currency, rate] of Object.entries(entries)) {
    if (!CURRENCY_CODE.test(currency)) {
      const shown = currency.length > 20 ? `${currency.slice(0, 20)}…` : currency
      return {
        code: 'validation_error',
        source: 'exchange_rates',
        message: `${JSON.stringify(shown)} is not a currency code: use three capital letters (ISO 4217), such as EUR.`,
      }
    }
    if (rate !== null && !(typeof rate === 'number' && Number.isFinite(rate) && rate > 0)) {
      return {
        code: 'validation_error',
        source: `exchange_rates.${currency}`,
        message: 'A rate is a positive number of US dollars per unit, or null to remove the currency.',
      }
    }
    if (currency === 'USD' && rate !== 1) {
      return {
        code: 'validation_error',
        source: 'exchange_rates.USD',
        message: 'Rates are in US dollars, so USD is always 1.',
      }
    }
  }
  return null
}

/** The app's table after merging `entries` into it. */
function mergeRates(
  stored: Record<string, number> | null,
  entries: Record<string, number | null>,
): Record<string, number> {
  const merged: Record<string, number> = { ...effectiveExchangeRates(stored) }
  for (const [currency, rate] of Object.entries(entries)) {
    if (rate === null) delete merged[currency]
    else merged[currency] = rate
  }
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
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
    ): Promise<
      Result<
        true,
        'app_not_found' | 'access_level_not_found' | 'access_level_protected' | 'access_level_in_use'
      >
    > {
      if (!(await findApp(appId))) return fail('app_not_found')
      if (accessLevelId === DEFAULT_ACCESS_LEVEL) return fail('access_level_protected')
      const outcome = await repo.deleteAccessLevel(appId, accessLevelId)
      if (outcome === 'in_use') return fail('access_level_in_use')
      return outcome === 'deleted' ? ok(true) : fail('access_level_not_found')
    },

    async getSettings(appId: string): Promise<Result<AppSettings, 'app_not_found'>> {
      const app = await findApp(appId)
      return app ? ok(settingsOf(app)) : fail('app_not_found')
    },

    /** Changes what is sent, under a lock on the app so that concurrent merges of rates all land. */
    async updateSettings(
      appId: string,
      changes: SettingsChanges,
    ): Promise<Result<AppSettings, 'app_not_found' | InvalidSetting>> {
      if (changes.exchangeRates) {
        const invalid = invalidRates(changes.exchangeRates)
        if (invalid) return fail(invalid)
      }
      if (!isUuid(appId)) return fail('app_not_found')
      const outcome = await repo.transaction(async (tx) => {
        const current = await repo.findAppForUpdate(tx, appId)
        if (!current) return fail('app_not_found' as const)
        const update: Parameters<AppsRepository['updateApp']>[2] = {}
        if (changes.rateLimitPerMinute !== undefined) update.rateLimitPerMinute = changes.rateLimitPerMinute
        if (changes.sharingMode !== undefined) update.sharingMode = changes.sharingMode
        if (changes.sandboxSharingMode !== undefined) update.sandboxSharingMode = changes.sandboxSharingMode
        // An empty object merges nothing, so a bundled table stays bundled.
        if (
          changes.exchangeRates !== undefined &&
          (changes.exchangeRates === null || Object.keys(changes.exchangeRates).length > 0)
        ) {
          update.exchangeRates =
            changes.exchangeRates === null ? null : mergeRates(current.exchangeRates, changes.exchangeRates)
        }
        for (const field of STORE_CREDENTIAL_FIELDS) {
          const secret = changes.credentials?.[field]
          if (secret !== undefined) update[field] = secret
        }
        if (Object.keys(update).length === 0) return ok(current)
        return ok(await repo.updateApp(tx, appId, update))
      })
      if (!outcome.ok) return outcome
      if (Object.keys(changes).length > 0) onCredentialsChanged?.(appId)
      return ok(settingsOf(outcome.value))
    },
  }
}

export type AppsService = ReturnType<typeof createAppsService>
