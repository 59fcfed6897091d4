import type { RawQuery } from '../../db/open-database.ts'
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
  type ResolvedProduct,
  type SharingMode,
  type StoredTransaction,
  transactionKeyOf,
} from './entitlement-model.ts'
import type { ChainRow, EntitlementsRepository, LockedProfile, NewJob } from './entitlements.repository.ts'
import type { BuiltEvent } from './event-payloads.ts'

/**
 * Set transactions are written in batches: requests that arrive while a batch is being written wait for the
 * next one, which locks all their chains, reads all their rows in one round trip, applies them one after
 * the other in arrival order, and writes every change in one statement and one commit. Under load this is
 * what lets a write cost a fraction of a round trip; alone, a request is a batch of one.
 *
 * A batch starts once the requests read from the sockets in the same turn of the event loop have all been
 * submitted (setImmediate), not with the first of them: started at once, the first request of a burst went
 * alone, took a database connection and a commit of its own, and left the rest of the burst to the next
 * batch (batches of one alternating with large ones; about a tenth fewer set transactions per second).
 */

export type BatchFailure =
  | { kind: 'profile_not_found' }
  | { kind: 'customer_user_id_mismatch' }
  | { kind: 'original_transaction_mismatch'; recordedUnder: string }

interface Pending {
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

const MAX_BATCH = 64
const MAX_BATCHES_IN_FLIGHT = 2
const asSharingMode = (value: string | undefined): SharingMode =>
  SHARING_MODES.includes(value as SharingMode) ? (value as SharingMode) : 'enabled'

export function createTransactionBatcher(deps: BatchDeps) {
  const queue: Pending[] = []
  let inFlight = 0
  let idle: (() => void)[] = []
  let pumpScheduled = false

  function pumpSoon(): void {
    if (pumpScheduled) return
    pumpScheduled = true
    setImmediate(() => {
      pumpScheduled = false
      pump()
    })
  }

  function pump(): void {
    while (inFlight < MAX_BATCHES_IN_FLIGHT && queue.length > 0) {
      // One app per batch: every statement is scoped by app.
      const appId = (queue[0] as Pending).appId
      const batch: Pending[] = []
      for (let i = 0; i < queue.length && batch.length < MAX_BATCH; ) {
        const pending = queue[i] as Pending
        if (pending.appId === appId) {
          const members = pending.group ? queue.filter((other) => other.group === pending.group) : [pending]
          batch.push(...members)
          for (const member of members) queue.splice(queue.indexOf(member), 1)
        } else i += 1
      }
      inFlight += 1
      void runBatch(appId, batch).finally(() => {
        inFlight -= 1
        pump()
        if (inFlight === 0 && queue.length === 0) {
          for (const wake of idle) wake()
          idle = []
        }
      })
    }
  }

  async function runBatch(appId: string, batch: Pending[]): Promise<void> {
    try {
      const results = await writeBatch(deps, appId, batch)
      for (const [index, pending] of batch.entries()) {
        pending.resolve(results[index] as Result<LockedProfile, BatchFailure>)
      }
    } catch (error) {
      const units: Pending[][] = []
      for (const pending of batch) {
        const last = units.at(-1)
        if (last && pending.group !== undefined && last[0]?.group === pending.group) last.push(pending)
        else units.push([pending])
      }
      if (units.length === 1) {
        for (const pending of batch) pending.reject(error)
        return
      }
      // One request's trouble (a deadlock, a bad row) must not fail the others: each (a group whole) is
      // tried alone.
      for (const unit of units) {
        try {
          const results = await writeBatch(deps, appId, unit)
          for (const [index, pending] of unit.entries()) {
            pending.resolve(results[index] as Result<LockedProfile, BatchFailure>)
          }
        } catch (single) {
          for (const pending of unit) pending.reject(single)
        }
      }
    }
  }

  return {
    /** Resolves once every submitted transaction is written: the server waits for it before closing the database. */
    drain(): Promise<void> {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve()
      return new Promise((resolve) => idle.push(resolve))
    },

    submit(appId: string, identification: Identification, txn: NormalizedTransaction) {
      return new Promise<Result<LockedProfile, BatchFailure>>((resolve, reject) => {
        queue.push({ appId, identification, txn, resolve, reject })
        pumpSoon()
      })
    },

    /** Several transactions written in one batch, in this order (an import of a store's history). */
    submitGroup(appId: string, identification: Identification, txns: NormalizedTransaction[]) {
      const group = {}
      const results = txns.map(
        (txn) =>
          new Promise<Result<LockedProfile, BatchFailure>>((resolve, reject) => {
            queue.push({ appId, identification, txn, group, resolve, reject })
          }),
      )
      pumpSoon()
      return Promise.all(results)
    },
  }
}

async function writeBatch(
  deps: BatchDeps,
  appId: string,
  batch: Pending[],
): Promise<Result<LockedProfile, BatchFailure>[]> {
  const { repo, clock, ids } = deps
  const now = clock.now().toISOString()
  return repo.transaction(async (query: RawQuery, finalQuery: RawQuery) => {
    const loaded = await repo.loadBatch(
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
      const catalogued = loaded.products.get(JSON.stringify([txn.store, txn.storeProductId]))
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

    if (entries.length > 0) {
      // Sent with the COMMIT behind it: one round trip for both.
      await repo.writeChanges(finalQuery, appId, {
        entries,
        chains: [...touchedChains].map((key) => chainRows.get(key) as ChainRow),
        transactions: [...touchedTransactions].map((key) => world.transactions.get(key) as StoredTransaction),
        profiles: [...profiles.values()].filter((profile) => world.profiles.has(profile.id)),
        events,
        jobs,
        doneJobIds: [],
        at: now,
      })
    }
    return results
  })
}
