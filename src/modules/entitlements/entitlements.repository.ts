import type { DatabaseHandle, PreparedStatement, RawQuery } from '../../db/open-database.ts'
import {
  type ChainState,
  type LedgerEntry,
  productKeyOf,
  type StoredTransaction,
} from './entitlement-model.ts'
import {
  byId,
  isoOf,
  type LockedProfileRecord,
  type StoredTransactionRecord,
  toLockedProfile,
  toStoredTransaction,
} from './entitlement-rows.ts'
import { SQL } from './entitlements.statements.ts'
import type { BuiltEvent, EventProfileInfo } from './event-payloads.ts'

/** The entitlement engine's reads and writes; the statements themselves are in entitlements.statements.ts. */

/** A locked profile: the projection, the view fields and what an event payload tells of the person. */
export interface LockedProfile extends EventProfileInfo {
  appId: string
  eventSeq: number
  segmentHash: string
  customAttributes: { key: string; value: string | number }[]
}

export interface ChainRow {
  state: ChainState
  endEventsWrittenFor: string | null
}

export interface JobRow {
  id: string
  appId: string
  profileId: string
  kind: string
  subject: string
  dueAt: string
}

export interface NewJob {
  id: string
  profileId: string
  kind: string
  subject: string
  dueAt: string
}

/** Everything one write changes, written in one statement. */
export interface Changes {
  entries: LedgerEntry[]
  chains: ChainRow[]
  transactions: StoredTransaction[]
  profiles: Pick<LockedProfile, 'id' | 'entitlements' | 'totalRevenueUsd' | 'eventSeq'>[]
  events: (BuiltEvent & { profileSeq: number })[]
  jobs: NewJob[]
  doneJobIds: string[]
  at: string
}

export type ProfileKey = { profileId?: string; customerUserId?: string }

export interface BatchSettings {
  sharingMode: string
  sandboxSharingMode: string
  exchangeRates: Record<string, number> | null
  /** The apps row's xmin: the batch cache's version of the settings. */
  version: string
}

export interface CatalogProduct {
  productId: string
  accessLevelId: string
  type: string
}

export interface LoadedBatch {
  settings: BatchSettings | null
  chains: ChainRow[]
  transactions: StoredTransaction[]
  /** Keyed by productKeyOf. */
  products: Map<string, CatalogProduct>
  profiles: Map<string, LockedProfile>
}

/**
 * JSON documents as one text, separated by U+001E: JSON.stringify escapes every control character, so the
 * separator cannot occur inside a document (writeChanges splits on it).
 */
const documents = (values: unknown[]): string => values.map((value) => JSON.stringify(value)).join('\u001e')

/** The advisory lock keys of chains, as every writer of a chain takes them (lockChains). */
const chainLockKeys = (chains: { store: string; originalId: string }[]): string[] =>
  chains.map((chain) => `${chain.store}:${chain.originalId}`)

/** What a batch written from the cache expects to find, checked by SQL.freshGuard before its writes. */
export interface FreshnessGuard {
  profiles: { id: string; version: string }[]
  /** version null: the chain must not exist yet. */
  chains: { store: string; originalId: string; version: string | null }[]
  /** Store transactions the batch writes as new: none may exist. */
  newTransactions: { store: string; storeTransactionId: string }[]
  /** The catalog's answer for each store product (null: no product claims it). */
  products: { store: string; storeProductId: string; product: CatalogProduct | null }[]
  settingsVersion: string
}

/** A guarded write found a row changed since it was cached: nothing was written. */
export const STALE_CACHE = 'stale_cache'

export function createEntitlementsRepository(
  database: Pick<DatabaseHandle, 'rawQuery' | 'rawTransaction'>,
  options: {
    /** Told after a transaction that wrote events has committed: the webhook worker starts on them at once. */
    onEventsCommitted?: () => void
  } = {},
) {
  const { rawQuery } = database
  const notify = options.onEventsCommitted
  const repository = {
    transaction: <T>(work: (query: RawQuery, finalQuery: RawQuery) => Promise<T>): Promise<T> => {
      if (!notify) return database.rawTransaction(work)
      // Only a write that queued deliveries wakes the worker: an app without an endpoint costs it nothing.
      let queued = false
      const track =
        (run: RawQuery): RawQuery =>
        <Row>(statement: PreparedStatement, values: unknown[]) => {
          const rows = run<Row>(statement, values)
          if (statement !== SQL.writeChanges) return rows
          return rows.then((written) => {
            if (Number((written[0] as { queued?: number } | undefined)?.queued ?? 0) > 0) queued = true
            return written
          })
        }
      return database
        .rawTransaction((query, finalQuery) => work(track(query), track(finalQuery)))
        .then((result) => {
          if (queued) notify()
          return result
        })
    },

    async accessLevelExists(appId: string, accessLevelId: string): Promise<boolean> {
      return (await rawQuery(SQL.accessLevelExists, [appId, accessLevelId])).length > 0
    },

    /** Locks the chains of a batch, then reads everything the batch needs: two statements, one round trip. */
    async loadBatch(
      query: RawQuery,
      appId: string,
      items: {
        store: string
        originalId: string
        storeTransactionId: string
        storeProductId: string
        key: ProfileKey
      }[],
    ): Promise<LoadedBatch> {
      const chainKeys = chainLockKeys(items)
      const keys = items.map((item) => ({
        store: item.store,
        original: item.originalId,
        txn: item.storeTransactionId,
        product: item.storeProductId,
      }))
      const profileIds = items.flatMap((item) =>
        item.key.profileId !== undefined ? [item.key.profileId] : [],
      )
      const customerUserIds = items.flatMap((item) =>
        item.key.profileId === undefined && item.key.customerUserId !== undefined
          ? [item.key.customerUserId]
          : [],
      )
      // Sent together: the load runs after the locks on the server, so it reads what they protect.
      const [, rows] = await Promise.all([
        query(SQL.lockChains, [appId, JSON.stringify(chainKeys)]),
        query<{
          settings: {
            sharing_mode: string
            sandbox_sharing_mode: string
            exchange_rates: Record<string, number> | null
            version: string
          } | null
          chains: { state: ChainState; end_events_written_for: string | null }[]
          txns: StoredTransactionRecord[]
          products: {
            store: string
            store_product_id: string
            product_id: string
            access_level_id: string
            type: string
          }[]
          profiles: LockedProfileRecord[]
        }>(SQL.loadBatch, [
          appId,
          JSON.stringify(keys),
          profileIds.join(','),
          JSON.stringify(customerUserIds),
        ]),
      ])
      const row = rows[0]
      return {
        settings: row?.settings
          ? {
              sharingMode: row.settings.sharing_mode,
              sandboxSharingMode: row.settings.sandbox_sharing_mode,
              exchangeRates: row.settings.exchange_rates,
              version: row.settings.version,
            }
          : null,
        chains: (row?.chains ?? []).map((chain) => ({
          state: chain.state,
          endEventsWrittenFor: isoOf(chain.end_events_written_for),
        })),
        transactions: (row?.txns ?? []).map(toStoredTransaction),
        products: new Map(
          (row?.products ?? []).map((product) => [
            productKeyOf(product.store, product.store_product_id),
            { productId: product.product_id, accessLevelId: product.access_level_id, type: product.type },
          ]),
        ),
        profiles: byId(row?.profiles ?? []),
      }
    },

    async lockIdentifiedProfile(
      query: RawQuery,
      appId: string,
      key: ProfileKey,
    ): Promise<LockedProfile | null> {
      const rows =
        key.profileId !== undefined
          ? await query<LockedProfileRecord>(SQL.lockProfileById, [appId, key.profileId])
          : await query<LockedProfileRecord>(SQL.lockProfileByCustomerUserId, [appId, key.customerUserId])
      const [row] = rows
      return row ? toLockedProfile(row) : null
    },

    /** The profile locked, 'busy' when a request holds it, or null when it is gone. */
    async tryLockProfile(
      query: RawQuery,
      appId: string,
      profileId: string,
    ): Promise<LockedProfile | 'busy' | null> {
      const [row] = await query<LockedProfileRecord>(SQL.tryLockProfile, [appId, profileId])
      if (row) return toLockedProfile(row)
      return (await query(SQL.profileExists, [appId, profileId])).length > 0 ? 'busy' : null
    },

    async tryLockChain(query: RawQuery, appId: string, store: string, originalId: string): Promise<boolean> {
      const [row] = await query<{ locked: boolean }>(SQL.tryLockChain, [appId, store, originalId])
      return row?.locked === true
    },

    /** Locks in id order, so that writers sharing profiles never wait on each other in a cycle. */
    async lockProfiles(
      query: RawQuery,
      appId: string,
      profileIds: string[],
    ): Promise<Map<string, LockedProfile>> {
      const ids = [...new Set(profileIds)].sort()
      return byId(await query<LockedProfileRecord>(SQL.lockProfiles, [appId, ids.join(',')]))
    },

    async chain(query: RawQuery, appId: string, store: string, originalId: string): Promise<ChainRow | null> {
      const [row] = await query<{ state: ChainState; end_events_written_for: Date | string | null }>(
        SQL.chain,
        [appId, store, originalId],
      )
      return row ? { state: row.state, endEventsWrittenFor: isoOf(row.end_events_written_for) } : null
    },

    /**
     * Writes a batch whose rows came from the cache, with no read first: the chain locks, the freshness
     * guard, the writes and the COMMIT go out together, one round trip. Answers the version of the rows
     * written, or STALE_CACHE when the guard refused (the transaction is rolled back).
     */
    async writeGuarded(
      query: RawQuery,
      finalQuery: RawQuery,
      appId: string,
      guard: FreshnessGuard,
      changes: Changes,
    ): Promise<string | typeof STALE_CACHE> {
      // postgres.js sends a query when it is first awaited: allSettled awaits these two now, so that they
      // go out ahead of the writes and the COMMIT.
      const checks = Promise.allSettled([
        query(SQL.lockChains, [appId, JSON.stringify(chainLockKeys(guard.chains))]),
        query(SQL.freshGuard, [
          appId,
          JSON.stringify(guard.profiles),
          JSON.stringify(
            guard.chains.map((chain) => ({
              store: chain.store,
              original: chain.originalId,
              version: chain.version,
            })),
          ),
          JSON.stringify(
            guard.newTransactions.map((txn) => ({ store: txn.store, txn: txn.storeTransactionId })),
          ),
          JSON.stringify(
            guard.products.map(({ store, storeProductId, product }) => ({
              store,
              product: storeProductId,
              product_id: product?.productId ?? null,
              access_level_id: product?.accessLevelId ?? null,
              type: product?.type ?? null,
            })),
          ),
          guard.settingsVersion,
        ]),
      ])
      const written = Promise.allSettled([repository.writeChanges(finalQuery, appId, changes)])
      const [[lock, check], [write]] = await Promise.all([checks, written])
      if (check.status === 'rejected' && (check.reason as { code?: string } | null)?.code === 'EN409') {
        return STALE_CACHE
      }
      for (const settled of [lock, check, write]) if (settled.status === 'rejected') throw settled.reason
      return (write as PromiseFulfilledResult<string>).value
    },

    /** Answers the version (xmin) of the rows it wrote. */
    async writeChanges(query: RawQuery, appId: string, changes: Changes): Promise<string> {
      const json = (value: unknown) => JSON.stringify(value)
      const [row] = await query<{ row_version: string }>(SQL.writeChanges, [
        appId,
        json(
          changes.entries.map((entry, ordinal) => ({
            ordinal,
            id: entry.id,
            profile_id: entry.profileId,
            kind: entry.kind,
            recorded_at: entry.recordedAt,
          })),
        ),
        json(
          changes.chains.map((chain) => ({
            store: chain.state.store,
            store_original_transaction_id: chain.state.storeOriginalTransactionId,
            end_events_written_for: chain.endEventsWrittenFor,
          })),
        ),
        json(
          changes.transactions.map((txn) => ({
            store: txn.store,
            store_transaction_id: txn.storeTransactionId,
            store_original_transaction_id: txn.storeOriginalTransactionId,
            purchase_id: txn.purchaseId,
            profile_id: txn.profileId,
            price_usd: txn.priceUsd,
            revenue_usd: txn.revenueUsd,
          })),
        ),
        json(
          changes.profiles.map((profile) => ({
            id: profile.id,
            total_revenue_usd: profile.totalRevenueUsd,
            event_seq: profile.eventSeq,
          })),
        ),
        json(
          changes.events.map((event, ordinal) => ({
            ordinal,
            id: event.id,
            profile_id: event.profileId,
            profile_seq: event.profileSeq,
            event_type: event.eventType,
            event_datetime: event.eventDatetime,
            environment: event.environment,
          })),
        ),
        json(
          changes.jobs.map((job) => ({
            id: job.id,
            profile_id: job.profileId,
            kind: job.kind,
            subject: job.subject,
            due_at: job.dueAt,
          })),
        ),
        changes.at,
        changes.doneJobIds.join(','),
        changes.profiles.map((profile) => profile.id).join(','),
        documents(changes.entries),
        documents(changes.chains.map((chain) => chain.state)),
        documents(changes.transactions.map((txn) => txn.record)),
        documents(changes.profiles.map((profile) => profile.entitlements)),
        documents(changes.events.map((event) => event.payload)),
      ])
      return row?.row_version ?? ''
    },

    async moveJob(query: RawQuery, appId: string, jobId: string, dueAt: string): Promise<void> {
      await query(SQL.moveJob, [appId, jobId, dueAt])
    },

    async claimDueJob(query: RawQuery, now: string): Promise<JobRow | null> {
      const [row] = await query<{
        id: string
        app_id: string
        profile_id: string
        kind: string
        subject: string
        due_at: Date | string
      }>(SQL.claimDueJob, [now])
      if (!row) return null
      return {
        id: row.id,
        appId: row.app_id,
        profileId: row.profile_id,
        kind: row.kind,
        subject: row.subject,
        dueAt: isoOf(row.due_at) as string,
      }
    },
  }
  return repository
}

export type EntitlementsRepository = ReturnType<typeof createEntitlementsRepository>
