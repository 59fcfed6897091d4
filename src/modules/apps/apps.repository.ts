import { and, asc, count, eq } from 'drizzle-orm'
import type { Database } from '../../db/open-database.ts'
import { accessLevels, apiKeys, apps } from '../../db/schema.ts'
import { resultTransaction } from '../../db/transaction.ts'
import type { Result } from '../../platform/result.ts'
import { FOREIGN_KEY_VIOLATION, sqlStateOf } from './sql-errors.ts'

export type AppRow = typeof apps.$inferSelect
export type ApiKeyRow = typeof apiKeys.$inferSelect
export type AccessLevelRow = typeof accessLevels.$inferSelect

/** The web store secrets kept on the app's row. */
export const STORE_CREDENTIAL_FIELDS = ['stripeSecretKey', 'stripeWebhookSecret', 'paddleApiKey'] as const
export type StoreCredentialField = (typeof STORE_CREDENTIAL_FIELDS)[number]

/** What a request authenticated by an API key acts as. */
export interface KeyOwner {
  keyId: string
  appId: string
  kind: 'secret' | 'public'
  keyHash: string
  rateLimitPerMinute: number | null
}

export function createAppsRepository(db: Database) {
  return {
    /** For single statements that need no transaction of their own. */
    db,

    async insertApp(tx: Database, row: typeof apps.$inferInsert): Promise<AppRow> {
      const [inserted] = await tx.insert(apps).values(row).returning()
      if (!inserted) throw new Error('insert into apps returned no row')
      return inserted
    },

    async insertApiKey(tx: Database, row: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
      const [inserted] = await tx.insert(apiKeys).values(row).returning()
      if (!inserted) throw new Error('insert into api_keys returned no row')
      return inserted
    },

    /** Inserts the access level unless the app already has it; answers whether it was new. */
    async insertAccessLevel(tx: Database, appId: string, id: string): Promise<AccessLevelRow | null> {
      const [inserted] = await tx.insert(accessLevels).values({ appId, id }).onConflictDoNothing().returning()
      return inserted ?? null
    },

    async listApps(): Promise<AppRow[]> {
      return db.select().from(apps).orderBy(asc(apps.createdAt), asc(apps.id))
    },

    async countApps(): Promise<number> {
      const [row] = await db.select({ n: count() }).from(apps)
      return row?.n ?? 0
    },

    async findApp(appId: string): Promise<AppRow | null> {
      const [row] = await db.select().from(apps).where(eq(apps.id, appId))
      return row ?? null
    },

    /** The app's row, held until the transaction ends so that read-modify-write changes cannot interleave. */
    async findAppForUpdate(tx: Database, appId: string): Promise<AppRow | null> {
      const [row] = await tx.select().from(apps).where(eq(apps.id, appId)).for('update')
      return row ?? null
    },

    async updateApp(
      tx: Database,
      appId: string,
      changes: Partial<
        Pick<
          AppRow,
          | 'name'
          | 'rateLimitPerMinute'
          | 'sharingMode'
          | 'sandboxSharingMode'
          | 'exchangeRates'
          | StoreCredentialField
        >
      >,
    ): Promise<AppRow> {
      const [row] = await tx.update(apps).set(changes).where(eq(apps.id, appId)).returning()
      if (!row) throw new Error('update of a locked app returned no row')
      return row
    },

    async listApiKeys(appId: string): Promise<ApiKeyRow[]> {
      return db
        .select()
        .from(apiKeys)
        .where(eq(apiKeys.appId, appId))
        .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
    },

    async deleteApiKey(tx: Database, appId: string, keyId: string): Promise<ApiKeyRow | null> {
      const [row] = await tx
        .delete(apiKeys)
        .where(and(eq(apiKeys.appId, appId), eq(apiKeys.id, keyId)))
        .returning()
      return row ?? null
    },

    async countSecretKeys(tx: Database, appId: string): Promise<number> {
      const [row] = await tx
        .select({ n: count() })
        .from(apiKeys)
        .where(and(eq(apiKeys.appId, appId), eq(apiKeys.kind, 'secret')))
      return row?.n ?? 0
    },

    /** The hot path of every API request when the key is not cached: one indexed lookup. */
    async findKeyOwnerByHash(keyHash: string): Promise<KeyOwner | null> {
      const [row] = await db
        .select({
          keyId: apiKeys.id,
          appId: apiKeys.appId,
          kind: apiKeys.kind,
          keyHash: apiKeys.keyHash,
          rateLimitPerMinute: apps.rateLimitPerMinute,
        })
        .from(apiKeys)
        .innerJoin(apps, eq(apps.id, apiKeys.appId))
        .where(eq(apiKeys.keyHash, keyHash))
      return row ?? null
    },

    async listAccessLevels(appId: string): Promise<AccessLevelRow[]> {
      return db
        .select()
        .from(accessLevels)
        .where(eq(accessLevels.appId, appId))
        .orderBy(asc(accessLevels.createdAt), asc(accessLevels.id))
    },

    /** `in_use` when a product grants the level: the products' foreign key refuses the delete. */
    async deleteAccessLevel(appId: string, id: string): Promise<'deleted' | 'not_found' | 'in_use'> {
      try {
        const deleted = await db
          .delete(accessLevels)
          .where(and(eq(accessLevels.appId, appId), eq(accessLevels.id, id)))
          .returning({ id: accessLevels.id })
        return deleted.length > 0 ? 'deleted' : 'not_found'
      } catch (error) {
        if (sqlStateOf(error) === FOREIGN_KEY_VIOLATION) return 'in_use'
        throw error
      }
    },

    /** Holds the app's row until the transaction ends, so checks on its keys cannot race. */
    async lockApp(tx: Database, appId: string): Promise<boolean> {
      const [row] = await tx.select({ id: apps.id }).from(apps).where(eq(apps.id, appId)).for('update')
      return row !== undefined
    },

    transaction<T, E>(work: (tx: Database) => Promise<Result<T, E>>): Promise<Result<T, E>> {
      return resultTransaction(db, work)
    },
  }
}

export type AppsRepository = ReturnType<typeof createAppsRepository>
