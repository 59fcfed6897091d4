import { and, asc, eq, inArray } from 'drizzle-orm'
import type { Database } from '../../db/open-database.ts'
import { accessLevels, apps, productStoreProducts, products } from '../../db/schema.ts'
import { resultTransaction } from '../../db/transaction.ts'
import type { Result } from '../../platform/result.ts'

export type ProductRow = typeof products.$inferSelect
export type StoreProductRow = typeof productStoreProducts.$inferSelect

export interface StoreProductKey {
  store: string
  storeProductId: string
}

/** A product with the store products it stands for, sorted by store and store product id. */
export interface CatalogProduct {
  product: ProductRow
  storeProducts: StoreProductKey[]
}

const byStoreThenId = (a: StoreProductKey, b: StoreProductKey) =>
  a.store === b.store
    ? a.storeProductId < b.storeProductId
      ? -1
      : a.storeProductId > b.storeProductId
        ? 1
        : 0
    : a.store < b.store
      ? -1
      : 1

export function sortStoreProducts<T extends StoreProductKey>(keys: T[]): T[] {
  return [...keys].sort(byStoreThenId)
}

export function createCatalogRepository(db: Database) {
  const storeProductsOf = async (
    tx: Database,
    productUuids: string[],
  ): Promise<Map<string, StoreProductKey[]>> => {
    const grouped = new Map<string, StoreProductKey[]>()
    if (productUuids.length === 0) return grouped
    const rows = await tx
      .select()
      .from(productStoreProducts)
      .where(inArray(productStoreProducts.productUuid, productUuids))
    // Sorted here rather than by the database, whose collation may order text differently.
    for (const row of sortStoreProducts(rows)) {
      const list = grouped.get(row.productUuid) ?? []
      list.push({ store: row.store, storeProductId: row.storeProductId })
      grouped.set(row.productUuid, list)
    }
    return grouped
  }

  return {
    db,

    async appExists(tx: Database, appId: string): Promise<boolean> {
      const [row] = await tx.select({ id: apps.id }).from(apps).where(eq(apps.id, appId))
      return row !== undefined
    },

    /**
     * Whether the app has the access level; inside a transaction it also holds the level (FOR KEY SHARE) until
     * the end, so it cannot be deleted before the product that refers to it is written.
     */
    async holdAccessLevel(tx: Database, appId: string, accessLevelId: string): Promise<boolean> {
      const [row] = await tx
        .select({ id: accessLevels.id })
        .from(accessLevels)
        .where(and(eq(accessLevels.appId, appId), eq(accessLevels.id, accessLevelId)))
        .for('key share')
      return row !== undefined
    },

    /** Inserts the product unless the app already has one with its product_id (then null). */
    async insertProduct(tx: Database, row: typeof products.$inferInsert): Promise<ProductRow | null> {
      const [inserted] = await tx
        .insert(products)
        .values(row)
        .onConflictDoNothing({ target: [products.appId, products.productId] })
        .returning()
      return inserted ?? null
    },

    /**
     * Claims store products for a product; answers the keys that another product of the app already has
     * (nothing was claimed for those). Keys are written in one order so that concurrent claims cannot deadlock.
     */
    async claimStoreProducts(
      tx: Database,
      appId: string,
      productUuid: string,
      keys: StoreProductKey[],
    ): Promise<StoreProductKey[]> {
      if (keys.length === 0) return []
      const inserted = await tx
        .insert(productStoreProducts)
        .values(sortStoreProducts(keys).map((key) => ({ appId, productUuid, ...key })))
        .onConflictDoNothing({
          target: [
            productStoreProducts.appId,
            productStoreProducts.store,
            productStoreProducts.storeProductId,
          ],
        })
        .returning({ store: productStoreProducts.store, storeProductId: productStoreProducts.storeProductId })
      const claimed = new Set(inserted.map((key) => `${key.store}\u0000${key.storeProductId}`))
      return keys.filter((key) => !claimed.has(`${key.store}\u0000${key.storeProductId}`))
    },

    /** The product_id of the product that holds a store product, if any. */
    async ownerOfStoreProduct(tx: Database, appId: string, key: StoreProductKey): Promise<string | null> {
      const [row] = await tx
        .select({ productId: products.productId })
        .from(productStoreProducts)
        .innerJoin(products, eq(products.id, productStoreProducts.productUuid))
        .where(
          and(
            eq(productStoreProducts.appId, appId),
            eq(productStoreProducts.store, key.store),
            eq(productStoreProducts.storeProductId, key.storeProductId),
          ),
        )
      return row?.productId ?? null
    },

    async releaseStoreProducts(tx: Database, productUuid: string): Promise<void> {
      await tx.delete(productStoreProducts).where(eq(productStoreProducts.productUuid, productUuid))
    },

    /** The product by its product_id; `lock` holds its row until the transaction ends. */
    async findProduct(
      tx: Database,
      appId: string,
      productId: string,
      options: { lock?: boolean } = {},
    ): Promise<ProductRow | null> {
      const query = tx
        .select()
        .from(products)
        .where(and(eq(products.appId, appId), eq(products.productId, productId)))
      const [row] = options.lock ? await query.for('update') : await query
      return row ?? null
    },

    async updateProduct(
      tx: Database,
      productUuid: string,
      changes: Partial<Pick<ProductRow, 'accessLevelId' | 'type' | 'period' | 'updatedAt'>>,
    ): Promise<ProductRow> {
      const [row] = await tx.update(products).set(changes).where(eq(products.id, productUuid)).returning()
      if (!row) throw new Error('update of a locked product returned no row')
      return row
    },

    async deleteProduct(tx: Database, appId: string, productId: string): Promise<boolean> {
      const deleted = await tx
        .delete(products)
        .where(and(eq(products.appId, appId), eq(products.productId, productId)))
        .returning({ id: products.id })
      return deleted.length > 0
    },

    async withStoreProducts(tx: Database, product: ProductRow): Promise<CatalogProduct> {
      const grouped = await storeProductsOf(tx, [product.id])
      return { product, storeProducts: grouped.get(product.id) ?? [] }
    },

    async listProducts(appId: string): Promise<CatalogProduct[]> {
      const rows = await db
        .select()
        .from(products)
        .where(eq(products.appId, appId))
        .orderBy(asc(products.createdAt), asc(products.productId))
      const grouped = await storeProductsOf(
        db,
        rows.map((row) => row.id),
      )
      return rows.map((product) => ({ product, storeProducts: grouped.get(product.id) ?? [] }))
    },

    transaction<T, E>(work: (tx: Database) => Promise<Result<T, E>>): Promise<Result<T, E>> {
      return resultTransaction(db, work)
    },
  }
}

export type CatalogRepository = ReturnType<typeof createCatalogRepository>
