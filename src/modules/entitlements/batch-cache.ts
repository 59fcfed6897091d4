import { type Identification, lookupKey } from '../profiles/profile-identity.ts'
import { chainKeyOf, productKeyOf } from './entitlement-model.ts'
import type {
  BatchSettings,
  CatalogProduct,
  ChainRow,
  FreshnessGuard,
  LoadedBatch,
  LockedProfile,
} from './entitlements.repository.ts'

/**
 * The rows this process's set-transaction batches wrote last, with the version (xmin) they were written
 * under, so that the next batch touching them can skip its read: it is computed from these copies and sent
 * with a guard that checks, under the same locks a read would take, that every copy is still current
 * (SQL.freshGuard). Whatever else changed them (a grant, a profile update, another process, the
 * scheduler) gives them another xmin, the guard refuses, and the batch is written again from a fresh read.
 * So the cache never decides anything on its own; it only saves the read when it is right.
 *
 * Bounded in entries and in age: an xmin is a 32-bit transaction id and comes round again after four
 * billion transactions, far more than ten minutes hold.
 */

const MAX_PROFILES = 2_000
const MAX_CHAINS = 8_000
const MAX_PRODUCTS = 2_000
const MAX_APPS = 2_000
const MAX_AGE_MS = 10 * 60 * 1000

interface Entry<T> {
  value: T
  version: string
  storedAt: number
}

/** A Map kept in use order, trimmed from the least recently used end. */
class BoundedMap<T> {
  private readonly entries = new Map<string, Entry<T>>()
  constructor(
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  get(key: string): Entry<T> | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (this.now() - entry.storedAt > MAX_AGE_MS) {
      this.entries.delete(key)
      return undefined
    }
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry
  }

  set(key: string, value: T, version: string): void {
    this.entries.delete(key)
    this.entries.set(key, { value, version, storedAt: this.now() })
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }
  }

  delete(key: string): void {
    this.entries.delete(key)
  }

  get size(): number {
    return this.entries.size
  }
}

/** One request of a batch, as the cache needs it. */
export interface CacheRequest {
  identification: Identification
  store: string
  originalId: string
  storeTransactionId: string
  storeProductId: string
}

/** A batch's rows taken from the cache, as loadBatch would have read them, and what the guard must check. */
export interface CachedBatch {
  loaded: LoadedBatch
  guard: Omit<FreshnessGuard, 'newTransactions'>
  /** Profile ids and chain keys the batch touches, to keep other batches in flight off them. */
  profileIds: string[]
  chainKeys: string[]
}

export function createBatchCache(now: () => number = Date.now) {
  const profiles = new BoundedMap<LockedProfile>(MAX_PROFILES, now)
  const profileIdByCustomerUserId = new BoundedMap<string>(MAX_PROFILES, now)
  const chains = new BoundedMap<ChainRow>(MAX_CHAINS, now)
  // The catalog's answer per store product (null: none); its version is unused, the guard compares values.
  const products = new BoundedMap<CatalogProduct | null>(MAX_PRODUCTS, now)
  const settings = new BoundedMap<BatchSettings>(MAX_APPS, now)
  let hits = 0
  let misses = 0
  let refused = 0

  const scoped = (appId: string, key: string) => `${appId}\u0000${key}`

  /** The profile id a request names, when the cache knows it (by customer user id). */
  function profileIdOf(appId: string, identification: Identification): string | undefined {
    const key = lookupKey(identification)
    if (key.profileId !== undefined) return key.profileId
    return key.customerUserId === undefined
      ? undefined
      : profileIdByCustomerUserId.get(scoped(appId, key.customerUserId))?.value
  }

  function profileEntry(appId: string, identification: Identification) {
    const id = profileIdOf(appId, identification)
    return id === undefined ? undefined : profiles.get(scoped(appId, id))
  }

  return {
    /**
     * The batch's rows from the cache, or null when any of them is not there (or is being written by a
     * batch in flight): a profile, the holders of a chain, a store product's catalog answer, the settings.
     * A chain the cache does not know is expected not to exist; a store transaction is expected to be new,
     * unless it is the chain's latest (an update in place, which needs the stored row).
     */
    lookup(appId: string, requests: CacheRequest[], busy: (key: string) => boolean): CachedBatch | null {
      const appSettings = settings.get(appId)
      if (!appSettings) return miss()
      const batchProfiles = new Map<string, Entry<LockedProfile>>()
      const batchChains = new Map<string, { store: string; originalId: string; entry?: Entry<ChainRow> }>()
      const batchProducts = new Map<
        string,
        { store: string; storeProductId: string; product: CatalogProduct | null }
      >()
      for (const request of requests) {
        const profile = profileEntry(appId, request.identification)
        if (!profile || busy(scoped(appId, profile.value.id))) return miss()
        batchProfiles.set(profile.value.id, profile)
        const chainKey = chainKeyOf(request.store, request.originalId)
        if (busy(scoped(appId, chainKey))) return miss()
        if (!batchChains.has(chainKey)) {
          const chain = chains.get(scoped(appId, chainKey))
          batchChains.set(chainKey, { store: request.store, originalId: request.originalId, entry: chain })
          for (const holder of chain?.value.state.holders ?? []) {
            const held = profiles.get(scoped(appId, holder))
            if (!held || busy(scoped(appId, holder))) return miss()
            batchProfiles.set(holder, held)
          }
        }
        const latest = batchChains.get(chainKey)?.entry?.value.state.latest
        if (latest?.storeTransactionId === request.storeTransactionId) return miss()
        const productKey = productKeyOf(request.store, request.storeProductId)
        const product = products.get(scoped(appId, productKey))
        if (!product) return miss()
        batchProducts.set(productKey, {
          store: request.store,
          storeProductId: request.storeProductId,
          product: product.value,
        })
      }
      hits += 1
      const loadedProducts = new Map<string, CatalogProduct>()
      for (const [key, { product }] of batchProducts) if (product) loadedProducts.set(key, product)
      return {
        // Copies: a batch changes its profiles and chain rows in place, and may be thrown away.
        loaded: {
          settings: appSettings.value,
          chains: [...batchChains.values()].flatMap(({ entry }) => (entry ? [{ ...entry.value }] : [])),
          transactions: [],
          products: loadedProducts,
          profiles: new Map([...batchProfiles].map(([id, entry]) => [id, { ...entry.value }])),
        },
        guard: {
          profiles: [...batchProfiles].map(([id, entry]) => ({ id, version: entry.version })),
          chains: [...batchChains.values()].map(({ store, originalId, entry }) => ({
            store,
            originalId,
            version: entry?.version ?? null,
          })),
          products: [...batchProducts.values()],
          settingsVersion: appSettings.version,
        },
        profileIds: [...batchProfiles.keys()].map((id) => scoped(appId, id)),
        chainKeys: [...batchChains.keys()].map((key) => scoped(appId, key)),
      }
    },

    /** What a committed batch wrote, all of it under one version (its transaction's xmin). */
    remember(
      appId: string,
      version: string,
      written: {
        profiles: LockedProfile[]
        chains: ChainRow[]
        settings: BatchSettings | null
        products: { store: string; storeProductId: string; product: CatalogProduct | null }[]
      },
    ): void {
      for (const profile of written.profiles) {
        profiles.set(scoped(appId, profile.id), { ...profile }, version)
        if (profile.customerUserId !== null) {
          profileIdByCustomerUserId.set(scoped(appId, profile.customerUserId), profile.id, version)
        }
      }
      for (const row of written.chains) {
        const key = chainKeyOf(row.state.store, row.state.storeOriginalTransactionId)
        chains.set(scoped(appId, key), { ...row }, version)
      }
      if (written.settings) settings.set(appId, written.settings, written.settings.version)
      for (const { store, storeProductId, product } of written.products) {
        products.set(scoped(appId, productKeyOf(store, storeProductId)), product, '')
      }
    },

    /** A guard refused these rows: they are read again next time. */
    forget(cached: CachedBatch): void {
      refused += 1
      for (const key of cached.profileIds) profiles.delete(key)
      for (const key of cached.chainKeys) chains.delete(key)
    },

    /**
     * The in-flight keys of a batch written with a read: its chains, and its profiles where the cache knows
     * their ids (as `lookup`'s busy() receives them).
     */
    keysOf(appId: string, requests: CacheRequest[]): string[] {
      return requests.flatMap((request) => {
        const chainKey = scoped(appId, chainKeyOf(request.store, request.originalId))
        const profileId = profileIdOf(appId, request.identification)
        return profileId === undefined ? [chainKey] : [chainKey, scoped(appId, profileId)]
      })
    },

    stats: () => ({ hits, misses, refused, profiles: profiles.size, chains: chains.size }),
  }

  function miss(): null {
    misses += 1
    return null
  }
}

export type BatchCache = ReturnType<typeof createBatchCache>
