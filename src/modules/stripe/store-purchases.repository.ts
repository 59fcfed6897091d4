import { and, eq, inArray, sql } from 'drizzle-orm'
import type { Database } from '../../db/open-database.ts'
import { apps, productStoreProducts, storeTransactions } from '../../db/schema.ts'
import { storePurchaseLinks } from '../../db/schema-background.ts'
import type { StoreCredentialField } from '../apps/apps.repository.ts'

/**
 * What the web store imports (Stripe, Paddle) read and write besides the entitlement engine: the app's
 * store credentials, which catalog entries claim a store's products, the records already stored for a
 * purchase (so that an import that changes nothing writes nothing), and the links from a store's purchase
 * ids to the customer user id they were validated for.
 */
export function createStorePurchasesRepository(db: Database) {
  return {
    async credential(appId: string, field: StoreCredentialField): Promise<string | null> {
      const [row] = await db.select({ secret: apps[field] }).from(apps).where(eq(apps.id, appId))
      return row?.secret ?? null
    },

    /** The store product ids among `ids` that a product of the app's catalog claims. */
    async claimedStoreProducts(appId: string, store: string, ids: string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set()
      const rows = await db
        .select({ id: productStoreProducts.storeProductId })
        .from(productStoreProducts)
        .where(
          and(
            eq(productStoreProducts.appId, appId),
            eq(productStoreProducts.store, store),
            inArray(productStoreProducts.storeProductId, ids),
          ),
        )
      return new Set(rows.map((row) => row.id))
    },

    /** The stored version of each of these store transactions, by store_transaction_id. */
    async storedRecords(
      appId: string,
      store: string,
      transactionIds: string[],
    ): Promise<Map<string, unknown>> {
      if (transactionIds.length === 0) return new Map()
      const rows = await db
        .select({ id: storeTransactions.storeTransactionId, record: storeTransactions.record })
        .from(storeTransactions)
        .where(
          and(
            eq(storeTransactions.appId, appId),
            eq(storeTransactions.store, store),
            inArray(storeTransactions.storeTransactionId, transactionIds),
          ),
        )
      return new Map(rows.map((row) => [row.id, row.record]))
    },

    /** Remembers (or moves) which customer user id these purchase ids belong to. */
    async link(appId: string, store: string, externalIds: string[], customerUserId: string): Promise<void> {
      if (externalIds.length === 0) return
      await db
        .insert(storePurchaseLinks)
        .values(externalIds.map((externalId) => ({ appId, store, externalId, customerUserId })))
        .onConflictDoUpdate({
          target: [storePurchaseLinks.appId, storePurchaseLinks.store, storePurchaseLinks.externalId],
          set: { customerUserId: sql`excluded.customer_user_id`, updatedAt: sql`now()` },
          setWhere: sql`${storePurchaseLinks.customerUserId} <> excluded.customer_user_id`,
        })
    },

    /** The customer user id the first of `externalIds` that has a link was validated for. */
    async linkedCustomerUserId(appId: string, store: string, externalIds: string[]): Promise<string | null> {
      if (externalIds.length === 0) return null
      const rows = await db
        .select({
          externalId: storePurchaseLinks.externalId,
          customerUserId: storePurchaseLinks.customerUserId,
        })
        .from(storePurchaseLinks)
        .where(
          and(
            eq(storePurchaseLinks.appId, appId),
            eq(storePurchaseLinks.store, store),
            inArray(storePurchaseLinks.externalId, externalIds),
          ),
        )
      for (const id of externalIds) {
        const found = rows.find((row) => row.externalId === id)
        if (found) return found.customerUserId
      }
      return null
    },
  }
}

export type StorePurchasesRepository = ReturnType<typeof createStorePurchasesRepository>
