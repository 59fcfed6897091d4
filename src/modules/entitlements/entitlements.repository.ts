import type { DatabaseHandle, PreparedStatement, RawQuery } from '../../db/open-database.ts'
import type { ChainState, LedgerEntry, ProfileEntitlements, StoredTransaction } from './entitlement-model.ts'
import type { BuiltEvent, EventProfileInfo } from './event-payloads.ts'

/**
 * All SQL of the entitlement engine. Statements are prepared and run raw: a set transaction is a dozen small
 * statements in one transaction, and building each with the query builder would cost more than running it.
 * JSON goes in as text (`$n::text::json`) so both drivers pass it unchanged; int8 comes out cast to int.
 */

const statement = (name: string, text: string): PreparedStatement => ({ name, text })

const LOCKED_PROFILE_COLUMNS = `p.id, p.app_id, p.customer_user_id, p.email, p.created_at, p.integration_ids,
  p.ip_country, p.entitlements, p.total_revenue_usd, p.event_seq::int as event_seq, p.segment_hash,
  p.custom_attributes, i.idfv, i.idfa, i.advertising_id, i.user_agent`

const LATEST_INSTALLATION = `left join lateral (
    select idfv, idfa, advertising_id, user_agent from profile_installations d
     where d.profile_id = p.id order by d.updated_at desc limit 1
  ) i on true`

const SQL = {
  purchaseContext: statement(
    'ent_purchase_context',
    `select a.sharing_mode, a.sandbox_sharing_mode, a.exchange_rates,
            p.product_id, p.access_level_id, p.type
       from apps a
       left join product_store_products sp on sp.app_id = a.id and sp.store = $2 and sp.store_product_id = $3
       left join products p on p.id = sp.product_uuid
      where a.id = $1`,
  ),
  accessLevelExists: statement(
    'ent_access_level_exists',
    'select 1 as found from access_levels where app_id = $1 and id = $2',
  ),
  tryLockChain: statement(
    'ent_try_lock_chain',
    `select pg_try_advisory_xact_lock(hashtext($1), hashtext($2 || ':' || $3)) as locked`,
  ),
  lockProfiles: statement(
    'ent_lock_profiles',
    `select ${LOCKED_PROFILE_COLUMNS}
       from profiles p ${LATEST_INSTALLATION}
      where p.app_id = $1 and p.id = any(string_to_array($2, ',')::uuid[])
      order by p.id
        for update of p`,
  ),
  lockProfileById: statement(
    'ent_lock_profile_by_id',
    `select ${LOCKED_PROFILE_COLUMNS} from profiles p ${LATEST_INSTALLATION}
      where p.app_id = $1 and p.id = $2 for update of p`,
  ),
  // For the scheduler, which never waits for a profile a request holds: it comes back next round.
  tryLockProfile: statement(
    'ent_try_lock_profile',
    `select ${LOCKED_PROFILE_COLUMNS} from profiles p ${LATEST_INSTALLATION}
      where p.app_id = $1 and p.id = $2 for update of p skip locked`,
  ),
  profileExists: statement(
    'ent_profile_exists',
    'select 1 as found from profiles where app_id = $1 and id = $2',
  ),
  lockProfileByCustomerUserId: statement(
    'ent_lock_profile_by_cuid',
    `select ${LOCKED_PROFILE_COLUMNS} from profiles p ${LATEST_INSTALLATION}
      where p.app_id = $1 and p.customer_user_id = $2 for update of p`,
  ),
  // Chains locked in one order (by lock key) so that batches never wait on each other in a cycle.
  lockChains: statement(
    'ent_lock_chains',
    `select count(pg_advisory_xact_lock(hashtext($1::text), h))::int as locked
       from (select distinct hashtext(k) as h from json_array_elements_text($2::text::json) k order by h) s`,
  ),
  /**
   * Everything a batch of set transactions reads, after its chain locks: the app's settings, the products
   * of its store products, the chains, the transactions, and every profile involved, locked in id order.
   */
  loadBatch: statement(
    'ent_load_batch',
    `with keys as (
       select * from json_to_recordset($2::text::json)
         as k(store text, original text, txn text, product text)
     ), chain as (
       select c.state, c.end_events_written_for from purchase_chains c
        where c.app_id = $1::uuid
          and (c.store, c.store_original_transaction_id) in (select store, original from keys)
     ), txn as (
       select t.store, t.store_transaction_id, t.store_original_transaction_id, t.purchase_id, t.profile_id,
              t.record, t.price_usd, t.revenue_usd
         from store_transactions t
        where t.app_id = $1::uuid and (t.store, t.store_transaction_id) in (select store, txn from keys)
     ), product as (
       select sp.store, sp.store_product_id, p.product_id, p.access_level_id, p.type
         from product_store_products sp join products p on p.id = sp.product_uuid
        where sp.app_id = $1::uuid and (sp.store, sp.store_product_id) in (select store, product from keys)
     ), wanted as (
       select id from profiles
        where app_id = $1::uuid
          and (id = any(string_to_array(nullif($3, ''), ',')::uuid[])
               or customer_user_id in (select json_array_elements_text($4::text::json)))
       union select (json_array_elements_text(state -> 'holders'))::uuid from chain
       union select profile_id from txn
     ), locked as (
       select ${LOCKED_PROFILE_COLUMNS}
         from profiles p ${LATEST_INSTALLATION}
        where p.app_id = $1::uuid and p.id in (select id from wanted)
        order by p.id
          for update of p
     )
     select (select row_to_json(a) from (select sharing_mode, sandbox_sharing_mode, exchange_rates
                                            from apps where id = $1::uuid) a) as settings,
            (select coalesce(json_agg(chain), '[]'::json) from chain) as chains,
            (select coalesce(json_agg(txn), '[]'::json) from txn) as txns,
            (select coalesce(json_agg(product), '[]'::json) from product) as products,
            (select coalesce(json_agg(locked), '[]'::json) from locked) as profiles`,
  ),
  /** Every change of one write in one statement. Each list may be empty. */
  writeChanges: statement(
    'ent_write_changes',
    `with ledger as (
       insert into ledger_entries (id, app_id, profile_id, kind, recorded_at, entry)
       select x.id, $1, x.profile_id, x.kind, x.recorded_at, x.entry
         from json_to_recordset($2::text::json)
           as x(id uuid, profile_id uuid, kind text, recorded_at timestamptz, entry json, ordinal int)
        order by x.ordinal
       returning 1
     ), chains as (
       insert into purchase_chains (app_id, store, store_original_transaction_id, state, end_events_written_for,
                                    updated_at)
       select $1, x.store, x.store_original_transaction_id, x.state, x.end_events_written_for, $8::timestamptz
         from json_to_recordset($3::text::json)
           as x(store text, store_original_transaction_id text, state json, end_events_written_for timestamptz)
       on conflict (app_id, store, store_original_transaction_id) do update
         set state = excluded.state, end_events_written_for = excluded.end_events_written_for,
             updated_at = excluded.updated_at
       returning 1
     ), transactions as (
       insert into store_transactions (app_id, store, store_transaction_id, store_original_transaction_id,
                                       purchase_id, profile_id, record, price_usd, revenue_usd, updated_at)
       select $1, x.store, x.store_transaction_id, x.store_original_transaction_id, x.purchase_id, x.profile_id,
              x.record, x.price_usd, x.revenue_usd, $8::timestamptz
         from json_to_recordset($4::text::json)
           as x(store text, store_transaction_id text, store_original_transaction_id text, purchase_id uuid,
                profile_id uuid, record json, price_usd float8, revenue_usd float8)
       on conflict (app_id, store, store_transaction_id) do update
         set purchase_id = excluded.purchase_id, profile_id = excluded.profile_id, record = excluded.record,
             price_usd = excluded.price_usd, revenue_usd = excluded.revenue_usd, updated_at = excluded.updated_at
       returning 1
     ), profile_updates as (
       update profiles p
          set entitlements = x.entitlements, total_revenue_usd = x.total_revenue_usd, event_seq = x.event_seq,
              updated_at = $8::timestamptz
         from json_to_recordset($5::text::json)
           as x(id uuid, entitlements json, total_revenue_usd float8, event_seq bigint)
        where p.app_id = $1 and p.id = x.id
       returning 1
     ), new_events as (
       insert into events (id, app_id, profile_id, profile_seq, event_type, event_datetime, environment, payload)
       select x.id, $1, x.profile_id, x.profile_seq, x.event_type, x.event_datetime, x.environment, x.payload
         from json_to_recordset($6::text::json)
           as x(id uuid, profile_id uuid, profile_seq bigint, event_type text, event_datetime timestamptz,
                environment text, payload json, ordinal int)
        order by x.ordinal
       returning 1
     ), new_jobs as (
       insert into scheduled_jobs (id, app_id, profile_id, kind, subject, due_at)
       select x.id, $1, x.profile_id, x.kind, x.subject, x.due_at
         from json_to_recordset($7::text::json)
           as x(id uuid, profile_id uuid, kind text, subject text, due_at timestamptz)
       on conflict (app_id, profile_id, kind, subject) do update set due_at = excluded.due_at
       returning 1
     ), done_jobs as (
       delete from scheduled_jobs where id = any(string_to_array(nullif($9, ''), ',')::uuid[])
       returning 1
     )
     select (select count(*) from ledger)::int + (select count(*) from chains)::int
          + (select count(*) from transactions)::int + (select count(*) from profile_updates)::int
          + (select count(*) from new_events)::int + (select count(*) from new_jobs)::int
          + (select count(*) from done_jobs)::int as written`,
  ),
  chain: statement(
    'ent_chain',
    `select state, end_events_written_for from purchase_chains
      where app_id = $1 and store = $2 and store_original_transaction_id = $3`,
  ),
  transaction: statement(
    'ent_transaction',
    `select store, store_transaction_id, store_original_transaction_id, purchase_id, profile_id, record,
            price_usd, revenue_usd
       from store_transactions where app_id = $1 and store = $2 and store_transaction_id = $3`,
  ),
  claimDueJob: statement(
    'ent_claim_due_job',
    `select id, app_id, profile_id, kind, subject, due_at from scheduled_jobs
      where due_at <= $1::timestamptz
      order by due_at, id
      limit 1
        for update skip locked`,
  ),
} as const

export interface PurchaseContext {
  sharingMode: string
  sandboxSharingMode: string
  exchangeRates: Record<string, number> | null
  product: { productId: string; accessLevelId: string; type: string } | null
}

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

interface StoredTransactionRecord {
  store: string
  store_transaction_id: string
  store_original_transaction_id: string
  purchase_id: string
  profile_id: string
  record: StoredTransaction['record']
  price_usd: number | null
  revenue_usd: number
}

const toStoredTransaction = (row: StoredTransactionRecord): StoredTransaction => ({
  store: row.store,
  storeTransactionId: row.store_transaction_id,
  storeOriginalTransactionId: row.store_original_transaction_id,
  purchaseId: row.purchase_id,
  profileId: row.profile_id,
  record: row.record,
  priceUsd: row.price_usd === null ? null : Number(row.price_usd),
  revenueUsd: Number(row.revenue_usd),
})

const isoOf = (value: Date | string | null): string | null =>
  value === null ? null : (value instanceof Date ? value : new Date(value)).toISOString()

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

interface LockedProfileRecord {
  id: string
  app_id: string
  customer_user_id: string | null
  email: string | null
  created_at: Date | string
  integration_ids: Record<string, string>
  ip_country: string | null
  entitlements: ProfileEntitlements
  total_revenue_usd: number
  event_seq: number
  segment_hash: string
  custom_attributes: { key: string; value: string | number }[]
  idfv: string | null
  idfa: string | null
  advertising_id: string | null
  user_agent: string | null
}

const toLockedProfile = (row: LockedProfileRecord): LockedProfile => ({
  id: row.id,
  appId: row.app_id,
  customerUserId: row.customer_user_id,
  email: row.email,
  createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
  integrationIds: row.integration_ids,
  ipCountry: row.ip_country,
  entitlements: row.entitlements,
  totalRevenueUsd: Number(row.total_revenue_usd),
  eventSeq: Number(row.event_seq),
  segmentHash: row.segment_hash,
  customAttributes: row.custom_attributes,
  idfv: row.idfv,
  idfa: row.idfa,
  advertisingId: row.advertising_id,
  userAgent: row.user_agent,
})

const byId = (rows: LockedProfileRecord[]) => new Map(rows.map((row) => [row.id, toLockedProfile(row)]))

export type ProfileKey = { profileId?: string; customerUserId?: string }

export interface LoadedBatch {
  settings: {
    sharingMode: string
    sandboxSharingMode: string
    exchangeRates: Record<string, number> | null
  } | null
  chains: ChainRow[]
  transactions: StoredTransaction[]
  /** Keyed by JSON [store, store_product_id]. */
  products: Map<string, { productId: string; accessLevelId: string; type: string }>
  profiles: Map<string, LockedProfile>
}

export function createEntitlementsRepository(database: Pick<DatabaseHandle, 'rawQuery' | 'rawTransaction'>) {
  const { rawQuery } = database
  return {
    transaction: database.rawTransaction,

    async purchaseContext(
      appId: string,
      store: string,
      storeProductId: string,
    ): Promise<PurchaseContext | null> {
      const [row] = await rawQuery<{
        sharing_mode: string
        sandbox_sharing_mode: string
        exchange_rates: Record<string, number> | null
        product_id: string | null
        access_level_id: string | null
        type: string | null
      }>(SQL.purchaseContext, [appId, store, storeProductId])
      if (!row) return null
      return {
        sharingMode: row.sharing_mode,
        sandboxSharingMode: row.sandbox_sharing_mode,
        exchangeRates: row.exchange_rates,
        product:
          row.product_id !== null
            ? { productId: row.product_id, accessLevelId: row.access_level_id ?? '', type: row.type ?? '' }
            : null,
      }
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
      const chainKeys = items.map((item) => `${item.store}:${item.originalId}`)
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
            }
          : null,
        chains: (row?.chains ?? []).map((chain) => ({
          state: chain.state,
          endEventsWrittenFor: isoOf(chain.end_events_written_for),
        })),
        transactions: (row?.txns ?? []).map(toStoredTransaction),
        products: new Map(
          (row?.products ?? []).map((product) => [
            JSON.stringify([product.store, product.store_product_id]),
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

    async writeChanges(query: RawQuery, appId: string, changes: Changes): Promise<void> {
      const json = (value: unknown) => JSON.stringify(value)
      await query(SQL.writeChanges, [
        appId,
        json(
          changes.entries.map((entry, ordinal) => ({
            ordinal,
            id: entry.id,
            profile_id: entry.profileId,
            kind: entry.kind,
            recorded_at: entry.recordedAt,
            entry,
          })),
        ),
        json(
          changes.chains.map((chain) => ({
            store: chain.state.store,
            store_original_transaction_id: chain.state.storeOriginalTransactionId,
            state: chain.state,
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
            record: txn.record,
            price_usd: txn.priceUsd,
            revenue_usd: txn.revenueUsd,
          })),
        ),
        json(
          changes.profiles.map((profile) => ({
            id: profile.id,
            entitlements: profile.entitlements,
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
            payload: event.payload,
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
      ])
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
}

export type EntitlementsRepository = ReturnType<typeof createEntitlementsRepository>

/** Reads for the consistency check: the ledger and the stored projection of one app. */
export function createProjectionReader(database: Pick<DatabaseHandle, 'rawQuery'>) {
  const { rawQuery } = database
  return {
    async ledger(appId: string): Promise<LedgerEntry[]> {
      const rows = await rawQuery<{ entry: LedgerEntry }>(
        statement('ent_read_ledger', 'select entry from ledger_entries where app_id = $1 order by seq'),
        [appId],
      )
      return rows.map((row) => row.entry)
    },
    async projection(appId: string) {
      const profiles = await rawQuery<{
        id: string
        entitlements: ProfileEntitlements
        total_revenue_usd: number
      }>(
        statement(
          'ent_read_profiles',
          'select id, entitlements, total_revenue_usd from profiles where app_id = $1',
        ),
        [appId],
      )
      const chains = await rawQuery<{ state: ChainState }>(
        statement('ent_read_chains', 'select state from purchase_chains where app_id = $1'),
        [appId],
      )
      const transactions = await rawQuery<StoredTransactionRecord>(
        statement(
          'ent_read_transactions',
          `select store, store_transaction_id, store_original_transaction_id, purchase_id, profile_id, record,
                  price_usd, revenue_usd
             from store_transactions where app_id = $1`,
        ),
        [appId],
      )
      return {
        profiles: profiles.map((row) => ({
          id: row.id,
          entitlements: row.entitlements,
          totalRevenueUsd: Number(row.total_revenue_usd),
        })),
        chains: chains.map((row) => row.state),
        transactions: transactions.map(toStoredTransaction),
      }
    },
  }
}
