import type { Database } from '../../db/open-database.ts'
import type { Clock } from '../../platform/clock.ts'
import { type IdGenerator, isUuid } from '../../platform/ids.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import {
  constraintOf,
  DEADLOCK_DETECTED,
  FOREIGN_KEY_VIOLATION,
  sqlStateOf,
  UNIQUE_VIOLATION,
} from '../apps/sql-errors.ts'
import type { CatalogProduct, CatalogRepository, ProductRow, StoreProductKey } from './catalog.repository.ts'
import { PERIODS, type Period, type ProductType } from './catalog.schemas.ts'

export type CatalogFailureCode =
  | 'app_not_found'
  | 'product_not_found'
  | 'product_exists'
  | 'store_product_taken'
  | 'access_level_not_found'
  | 'validation_error'

/** An expected failure, with what the client is told: the field it concerns and why. */
export interface CatalogFailure {
  code: CatalogFailureCode
  source: string | null
  message: string
}

export interface NewProduct {
  productId: string
  accessLevelId: string
  type: ProductType
  /** Required for subscriptions; null or left out for the other types. */
  period?: Period | null
  storeProducts: StoreProductKey[]
}

export interface ProductChanges {
  accessLevelId?: string
  type?: ProductType
  period?: Period | null
  /** Replaces every store product of the product. */
  storeProducts?: StoreProductKey[]
}

export interface CatalogServiceDeps {
  repo: CatalogRepository
  ids: IdGenerator
  clock: Clock
}

const failure = (code: CatalogFailureCode, message: string, source: string | null = null) =>
  fail<CatalogFailure>({ code, source, message })

const APP_NOT_FOUND = () => failure('app_not_found', 'App not found.')
const PRODUCT_NOT_FOUND = () => failure('product_not_found', 'This app has no product with this product_id.')
const PRODUCT_EXISTS = () =>
  failure('product_exists', 'This app already has a product with this product_id.', 'product_id')
const ACCESS_LEVEL_NOT_FOUND = () =>
  failure('access_level_not_found', 'This app has no access level with this id.', 'access_level_id')

/** A subscription has a period; the other types have none. */
function checkPeriod(type: ProductType, period: Period | null): Result<true, CatalogFailure> {
  if (type === 'subscription' && period === null)
    return failure('validation_error', `A subscription needs a period: ${PERIODS.join(', ')}.`, 'period')
  if (type !== 'subscription' && period !== null)
    return failure(
      'validation_error',
      'Only subscriptions have a period; send null or leave it out for one_time and consumable products.',
      'period',
    )
  return ok(true)
}

/** The same store + store_product_id twice in one list is a mistake in the request, not a conflict. */
function checkDistinct(keys: StoreProductKey[]): Result<true, CatalogFailure> {
  const seen = new Set<string>()
  for (const [index, key] of keys.entries()) {
    const id = `${key.store}\u0000${key.storeProductId}`
    if (seen.has(id))
      return failure(
        'validation_error',
        `The store product ${key.store} ${key.storeProductId} is listed twice.`,
        `store_products.${index}`,
      )
    seen.add(id)
  }
  return ok(true)
}

/**
 * Runs a write; the database's own guards answer the races the checks before them cannot see (a product_id or
 * store product claimed, an access level deleted, by a transaction that committed in between), and a deadlock
 * between two writers is retried.
 */
async function write<T>(work: () => Promise<Result<T, CatalogFailure>>): Promise<Result<T, CatalogFailure>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work()
    } catch (error) {
      const state = sqlStateOf(error)
      const constraint = constraintOf(error) ?? ''
      if (state === DEADLOCK_DETECTED && attempt < 5) continue
      if (state === UNIQUE_VIOLATION) {
        return constraint.startsWith('product_store_products')
          ? failure(
              'store_product_taken',
              'Another product of this app already has one of these store products.',
              'store_products',
            )
          : PRODUCT_EXISTS()
      }
      if (state === FOREIGN_KEY_VIOLATION && constraint === 'products_access_level_fk')
        return ACCESS_LEVEL_NOT_FOUND()
      if (state === FOREIGN_KEY_VIOLATION && constraint.startsWith('products_app_id')) return APP_NOT_FOUND()
      throw error
    }
  }
}

export function createCatalogService({ repo, ids, clock }: CatalogServiceDeps) {
  const appExists = async (appId: string) => isUuid(appId) && (await repo.appExists(repo.db, appId))

  /** Claims the keys for the product, or fails naming the first key another product holds. */
  const claim = async (
    tx: Database,
    appId: string,
    productUuid: string,
    keys: StoreProductKey[],
  ): Promise<Result<true, CatalogFailure>> => {
    const taken = await repo.claimStoreProducts(tx, appId, productUuid, keys)
    const first = taken[0]
    if (!first) return ok(true)
    const owner = await repo.ownerOfStoreProduct(tx, appId, first)
    return failure(
      'store_product_taken',
      `The store product ${first.store} ${first.storeProductId} belongs to the product ${owner ?? 'another product'}` +
        ' of this app; a store product belongs to one product.',
      `store_products.${keys.indexOf(first)}`,
    )
  }

  return {
    async createProduct(appId: string, input: NewProduct): Promise<Result<CatalogProduct, CatalogFailure>> {
      const period = input.period ?? null
      const rules = checkPeriod(input.type, period)
      if (!rules.ok) return rules
      const distinct = checkDistinct(input.storeProducts)
      if (!distinct.ok) return distinct
      if (!(await appExists(appId))) return APP_NOT_FOUND()
      const now = clock.now()
      return write(() =>
        repo.transaction(async (tx) => {
          if (!(await repo.holdAccessLevel(tx, appId, input.accessLevelId))) return ACCESS_LEVEL_NOT_FOUND()
          const product = await repo.insertProduct(tx, {
            id: ids.uuid(),
            appId,
            productId: input.productId,
            accessLevelId: input.accessLevelId,
            type: input.type,
            period,
            createdAt: now,
            updatedAt: now,
          })
          if (!product) return PRODUCT_EXISTS()
          const claimed = await claim(tx, appId, product.id, input.storeProducts)
          if (!claimed.ok) return claimed
          return ok(await repo.withStoreProducts(tx, product))
        }),
      )
    },

    async listProducts(appId: string): Promise<Result<CatalogProduct[], CatalogFailure>> {
      if (!(await appExists(appId))) return APP_NOT_FOUND()
      return ok(await repo.listProducts(appId))
    },

    async getProduct(appId: string, productId: string): Promise<Result<CatalogProduct, CatalogFailure>> {
      if (!(await appExists(appId))) return APP_NOT_FOUND()
      const product = await repo.findProduct(repo.db, appId, productId)
      if (!product) return PRODUCT_NOT_FOUND()
      return ok(await repo.withStoreProducts(repo.db, product))
    },

    /** Changes what is sent; `storeProducts` replaces the whole list. */
    async updateProduct(
      appId: string,
      productId: string,
      changes: ProductChanges,
    ): Promise<Result<CatalogProduct, CatalogFailure>> {
      if (changes.storeProducts) {
        const distinct = checkDistinct(changes.storeProducts)
        if (!distinct.ok) return distinct
      }
      if (!(await appExists(appId))) return APP_NOT_FOUND()
      return write(() =>
        repo.transaction(async (tx) => {
          const current = await repo.findProduct(tx, appId, productId, { lock: true })
          if (!current) return PRODUCT_NOT_FOUND()
          const type = changes.type ?? (current.type as ProductType)
          // A product that stops being a subscription loses its period without being told to.
          const period =
            changes.period !== undefined
              ? changes.period
              : type === 'subscription'
                ? (current.period as Period | null)
                : null
          const rules = checkPeriod(type, period)
          if (!rules.ok) return rules
          if (
            changes.accessLevelId !== undefined &&
            changes.accessLevelId !== current.accessLevelId &&
            !(await repo.holdAccessLevel(tx, appId, changes.accessLevelId))
          )
            return ACCESS_LEVEL_NOT_FOUND()

          const nothingSent =
            changes.accessLevelId === undefined &&
            changes.type === undefined &&
            changes.period === undefined &&
            changes.storeProducts === undefined
          if (nothingSent) return ok(await repo.withStoreProducts(tx, current))

          const product: ProductRow = await repo.updateProduct(tx, current.id, {
            accessLevelId: changes.accessLevelId ?? current.accessLevelId,
            type,
            period,
            updatedAt: clock.now(),
          })
          if (changes.storeProducts) {
            await repo.releaseStoreProducts(tx, current.id)
            const claimed = await claim(tx, appId, current.id, changes.storeProducts)
            if (!claimed.ok) return claimed
          }
          return ok(await repo.withStoreProducts(tx, product))
        }),
      )
    },

    async deleteProduct(appId: string, productId: string): Promise<Result<true, CatalogFailure>> {
      if (!(await appExists(appId))) return APP_NOT_FOUND()
      return write(() =>
        repo.transaction(async (tx) =>
          (await repo.deleteProduct(tx, appId, productId)) ? ok(true as const) : PRODUCT_NOT_FOUND(),
        ),
      )
    },
  }
}

export type CatalogService = ReturnType<typeof createCatalogService>
