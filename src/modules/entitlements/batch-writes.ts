import type { RawQuery } from '../../db/open-database.ts'
import type { Result } from '../../platform/result.ts'
import { lookupKey } from '../profiles/profile-identity.ts'
import { applyBatch, type BatchDeps, type BatchFailure, type Pending } from './apply-batch.ts'
import type { BatchCache, CachedBatch, CacheRequest } from './batch-cache.ts'
import { productKeyOf } from './entitlement-model.ts'
import { type FreshnessGuard, type LockedProfile, STALE_CACHE } from './entitlements.repository.ts'

/**
 * How a batch reaches the database: from the cache's copies with a guard (one round trip), or with a read
 * first (two). See batch-cache.ts for why the first is safe.
 */

/** Profile ids and chain keys (app-scoped) of the batches in flight, counted: two may share a key. */
export interface InFlightKeys {
  has(key: string): boolean
  add(keys: string[]): void
  remove(keys: string[]): void
}

export function inFlightKeys(): InFlightKeys {
  const counts = new Map<string, number>()
  return {
    has: (key) => counts.has(key),
    add(keys) {
      for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1)
    },
    remove(keys) {
      for (const key of keys) {
        const left = (counts.get(key) ?? 1) - 1
        if (left === 0) counts.delete(key)
        else counts.set(key, left)
      }
    },
  }
}

/** A guarded write was refused, or a request failed on cached rows: the batch is read and written again. */
const FROM_READ = Symbol('from read')

export async function writeBatch(
  deps: BatchDeps,
  appId: string,
  batch: Pending[],
  cache: BatchCache,
  inFlight: InFlightKeys,
): Promise<Result<LockedProfile, BatchFailure>[]> {
  const cached = cache.lookup(appId, batch.map(cacheRequestOf), inFlight.has)
  if (cached) {
    const keys = [...cached.profileIds, ...cached.chainKeys]
    inFlight.add(keys)
    try {
      const results = await writeFromCache(deps, appId, batch, cached, cache)
      if (results !== FROM_READ) return results
    } finally {
      inFlight.remove(keys)
    }
  }
  const keys = cache.keysOf(appId, batch.map(cacheRequestOf))
  inFlight.add(keys)
  try {
    return await writeFromRead(deps, appId, batch, cache)
  } finally {
    inFlight.remove(keys)
  }
}

const cacheRequestOf = ({ identification, txn }: Pending): CacheRequest => ({
  identification,
  store: txn.store,
  originalId: txn.storeOriginalTransactionId,
  storeTransactionId: txn.storeTransactionId,
  storeProductId: txn.storeProductId,
})

/** The usual way: locks, one read of everything the batch touches, then the writes and the COMMIT. */
async function writeFromRead(
  deps: BatchDeps,
  appId: string,
  batch: Pending[],
  cache: BatchCache,
): Promise<Result<LockedProfile, BatchFailure>[]> {
  const now = deps.clock.now().toISOString()
  const outcome = await deps.repo.transaction(async (query: RawQuery, finalQuery: RawQuery) => {
    const loaded = await deps.repo.loadBatch(
      query,
      appId,
      batch.map(({ txn, identification }) => ({
        store: txn.store,
        originalId: txn.storeOriginalTransactionId,
        storeTransactionId: txn.storeTransactionId,
        storeProductId: txn.storeProductId,
        key: lookupKey(identification),
      })),
    )
    const applied = applyBatch(deps, batch, loaded, now)
    // Sent with the COMMIT behind it: one round trip for both.
    const version = applied.changes ? await deps.repo.writeChanges(finalQuery, appId, applied.changes) : null
    return { applied, loaded, version }
  })
  const { applied, loaded, version } = outcome
  if (applied.changes && version) {
    cache.remember(appId, version, {
      profiles: applied.changes.profiles as LockedProfile[],
      chains: applied.changes.chains,
      settings: loaded.settings,
      products: batch.map(({ txn }) => ({
        store: txn.store,
        storeProductId: txn.storeProductId,
        product: loaded.products.get(productKeyOf(txn.store, txn.storeProductId)) ?? null,
      })),
    })
  }
  return applied.results
}

/**
 * Without the read: the batch is computed from the cache's copies and sent with the chain locks and a guard
 * that those copies are current, all in one round trip with the COMMIT. The guard refusing leaves nothing
 * written; so does a request that fails on the copies (its answer must come from the stored rows).
 */
async function writeFromCache(
  deps: BatchDeps,
  appId: string,
  batch: Pending[],
  cached: CachedBatch,
  cache: BatchCache,
): Promise<Result<LockedProfile, BatchFailure>[] | typeof FROM_READ> {
  const now = deps.clock.now().toISOString()
  const applied = applyBatch(deps, batch, cached.loaded, now)
  const { changes } = applied
  if (!changes || applied.results.some((result) => !result.ok)) return FROM_READ
  const guard: FreshnessGuard = {
    ...cached.guard,
    newTransactions: changes.transactions.map((txn) => ({
      store: txn.store,
      storeTransactionId: txn.storeTransactionId,
    })),
  }
  let version: string
  try {
    version = await deps.repo.transaction(async (query: RawQuery, finalQuery: RawQuery) => {
      const written = await deps.repo.writeGuarded(query, finalQuery, appId, guard, changes)
      // Thrown so that the transaction is rolled back on either engine.
      if (written === STALE_CACHE) throw FROM_READ
      return written
    })
  } catch (error) {
    if (error !== FROM_READ) throw error
    cache.forget(cached)
    return FROM_READ
  }
  cache.remember(appId, version, {
    profiles: changes.profiles as LockedProfile[],
    chains: changes.chains,
    settings: null,
    products: [],
  })
  return applied.results
}
