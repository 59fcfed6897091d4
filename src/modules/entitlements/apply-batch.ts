import type { Clock } from '../../platform/clock.ts'
import type { IdGenerator } from '../../platform/ids.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import { SHARING_MODES } from '../apps/apps.schemas.ts'
import { effectiveExchangeRates, toUsd } from '../apps/exchange-rates.ts'
import { checkMatches, type Identification, lookupKey } from '../profiles/profile-identity.ts'
import type { NormalizedTransaction } from '../purchases/transaction-rules.ts'
import { applyEntry, type EventDraft, type World } from './apply-entry.ts'
import {
  type ChainState,
  chainKeyOf,
  DEFAULT_ACCESS_LEVEL_ID,
  earlier,
  type LedgerEntry,
  productKeyOf,
  type ResolvedProduct,
  type SharingMode,
  type StoredTransaction,
  transactionKeyOf,
} from './entitlement-model.ts'
import type {
  ChainRow,
  Changes,
  EntitlementsRepository,
  LoadedBatch,
  LockedProfile,
  NewJob,
} from './entitlements.repository.ts'
import type { BuiltEvent } from './event-payloads.ts'

/** A batch of set transactions applied in memory: the answers and every change to write (transaction-batches.ts). */

export type BatchFailure =
  | { kind: 'profile_not_found' }
  | { kind: 'customer_user_id_mismatch' }
  | { kind: 'original_transaction_mismatch'; recordedUnder: string }

export interface Pending {
  appId: string
  identification: Identification
  txn: NormalizedTransaction
  /** Transactions submitted together (an import of a store's history) are written in one batch. */
  group?: object
  resolve(result: Result<LockedProfile, BatchFailure>): void
  reject(error: unknown): void
}

export interface BatchDeps {
  repo: EntitlementsRepository
  clock: Clock
  ids: IdGenerator
  chainJobs(
    world: World,
    chainKey: string,
    chain: ChainState,
    row: ChainRow,
    now: string,
  ): {
    drafts: EventDraft[]
    jobs: NewJob[]
  }
  buildEvents(
    drafts: EventDraft[],
    profiles: Map<string, LockedProfile>,
    world: World,
    at: string,
  ): (BuiltEvent & { profileSeq: number })[]
}

const asSharingMode = (value: string | undefined): SharingMode =>
  SHARING_MODES.includes(value as SharingMode) ? (value as SharingMode) : 'enabled'

export interface Applied {
  results: Result<LockedProfile, BatchFailure>[]
  /** null: nothing to write (every request failed). */
  changes: Changes | null
}

/** Applies the batch's requests in order to the rows it read (or the cache's copies): pure, no I/O. */
export function applyBatch(deps: BatchDeps, batch: Pending[], loaded: LoadedBatch, now: string): Applied {
  const { ids } = deps
  const profiles = loaded.profiles
  const world: World = { chains: new Map(), transactions: new Map(), profiles: new Map(profiles) }
  const chainRows = new Map<string, ChainRow>()
  for (const row of loaded.chains) {
    const key = chainKeyOf(row.state.store, row.state.storeOriginalTransactionId)
    world.chains.set(key, row.state)
    chainRows.set(key, row)
  }
  for (const stored of loaded.transactions) {
    world.transactions.set(transactionKeyOf(stored.store, stored.storeTransactionId), stored)
  }
  const rates = effectiveExchangeRates(loaded.settings?.exchangeRates ?? null)
  const entries: LedgerEntry[] = []
  const events: (BuiltEvent & { profileSeq: number })[] = []
  const jobs: NewJob[] = []
  const touchedChains = new Set<string>()
  const touchedTransactions = new Set<string>()

  // Within a group (one import), the last transaction of each chain; other requests stand alone.
  const lastOfChainInGroup = new Map<string, number>()
  for (const [index, { txn, group }] of batch.entries()) {
    if (group) lastOfChainInGroup.set(chainKeyOf(txn.store, txn.storeOriginalTransactionId), index)
  }

  const results = batch.map(({ identification, txn }, index): Result<LockedProfile, BatchFailure> => {
    const key = lookupKey(identification)
    const found =
      key.profileId !== undefined
        ? (profiles.get(key.profileId) ?? null)
        : ([...profiles.values()].find((profile) => profile.customerUserId === key.customerUserId) ?? null)
    const target = checkMatches(identification, found)
    if (!target.ok) return fail({ kind: target.error })
    const profile = target.value
    const chainKey = chainKeyOf(txn.store, txn.storeOriginalTransactionId)
    const txnKey = transactionKeyOf(txn.store, txn.storeTransactionId)
    const stored = world.transactions.get(txnKey) ?? null
    if (stored && stored.storeOriginalTransactionId !== txn.storeOriginalTransactionId) {
      return fail({
        kind: 'original_transaction_mismatch',
        recordedUnder: stored.storeOriginalTransactionId,
      })
    }
    const catalogued = loaded.products.get(productKeyOf(txn.store, txn.storeProductId))
    const product: ResolvedProduct = catalogued
      ? {
          productId: catalogued.productId,
          accessLevelId: catalogued.accessLevelId,
          type: catalogued.type as ResolvedProduct['type'],
        }
      : {
          productId: null,
          accessLevelId: DEFAULT_ACCESS_LEVEL_ID,
          type: txn.purchaseType === 'subscription' ? 'subscription' : 'one_time',
        }
    // An update in place keeps the USD value of the day it was first recorded, unless the price changed.
    const samePrice =
      stored !== null &&
      stored.record.price.value === txn.price.value &&
      stored.record.price.currency === txn.price.currency
    const priceUsd = samePrice ? stored.priceUsd : toUsd(txn.price.value, txn.price.currency, rates)
    const sharingMode = asSharingMode(
      txn.environment === 'Sandbox' ? loaded.settings?.sandboxSharingMode : loaded.settings?.sharingMode,
    )

    const existing = world.chains.get(chainKey)
    const row: ChainRow = chainRows.get(chainKey) ?? {
      state: existing as ChainState,
      endEventsWrittenFor: null,
    }
    const drafts: EventDraft[] = []
    // An expiry that fell due before this transaction was made, and whose job has not run yet, is told
    // first. A renewal made in time but reported late (an import of history) is no lapse.
    const madeAt = earlier(txn.purchasedAt, now)
    if (existing) drafts.push(...deps.chainJobs(world, chainKey, existing, row, madeAt).drafts)
    const entry: LedgerEntry = {
      kind: 'transaction',
      id: ids.uuid(),
      profileId: profile.id,
      recordedAt: now,
      profileAnonymous: profile.customerUserId === null,
      sharingMode,
      purchaseId: stored?.purchaseId ?? ids.uuid(),
      product,
      priceUsd,
      transaction: txn,
    }
    drafts.push(...applyEntry(world, entry))
    row.state = world.chains.get(chainKey) as ChainState
    chainRows.set(chainKey, row)
    // A later transaction of the chain in the same import tells whether this one's end was a lapse.
    const after =
      batch[index]?.group && lastOfChainInGroup.get(chainKey) !== index
        ? { drafts: [], jobs: [] }
        : deps.chainJobs(world, chainKey, row.state, row, now)
    drafts.push(...after.drafts)
    entries.push(entry)
    jobs.push(...after.jobs)
    // Built now: an event tells the state right after its own change, not after the whole batch.
    events.push(...deps.buildEvents(drafts, profiles, world, now))
    touchedChains.add(chainKey)
    touchedTransactions.add(txnKey)
    return ok({ ...profile })
  })

  return {
    results,
    changes:
      entries.length === 0
        ? null
        : {
            entries,
            chains: [...touchedChains].map((key) => chainRows.get(key) as ChainRow),
            transactions: [...touchedTransactions].map(
              (key) => world.transactions.get(key) as StoredTransaction,
            ),
            profiles: [...profiles.values()].filter((profile) => world.profiles.has(profile.id)),
            events,
            jobs,
            doneJobIds: [],
            at: now,
          },
  }
}
