import type { DatabaseHandle, PreparedStatement, RawQuery } from '../../db/open-database.ts'
import type { ChainState, LedgerEntry, ProfileEntitlements, StoredTransaction } from './entitlement-model.ts'
import type { BuiltEvent, EventProfileInfo } from './event-payloads.ts'

/**
 * All SQL of the entitlement engine. Statements are prepared and run raw: a set transaction is a dozen small
 * statements in one transaction, and building each with the query builder would cost more than running it.
 * jsonb goes in as text (`$n::text::jsonb`) so both drivers pass it unchanged; int8 comes out cast to int.
 */

const statement = (name: string, text: string): PreparedStatement => ({ name, text })

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
  profileById: statement(
    'ent_profile_by_id',
    'select id, customer_user_id from profiles where app_id = $1 and id = $2',
  ),
  profileByCustomerUserId: statement(
    'ent_profile_by_cuid',
    'select id, customer_user_id from profiles where app_id = $1 and customer_user_id = $2',
  ),
  lockChain: statement(
    'ent_lock_chain',
    `select pg_advisory_xact_lock(hashtext($1), hashtext($2 || ':' || $3))`,
  ),
  tryLockChain: statement(
    'ent_try_lock_chain',
    `select pg_try_advisory_xact_lock(hashtext($1), hashtext($2 || ':' || $3)) as locked`,
  ),
  lockProfiles: statement(
    'ent_lock_profiles',
    `select p.id, p.app_id, p.customer_user_id, p.email, p.created_at, p.integration_ids, p.ip_country,
            p.entitlements, p.total_revenue_usd, p.event_seq::int as event_seq, p.segment_hash,
            p.custom_attributes, i.idfv, i.idfa, i.advertising_id, i.user_agent
       from profiles p
       left join lateral (
         select idfv, idfa, advertising_id, user_agent from profile_installations d
          where d.profile_id = p.id order by d.updated_at desc limit 1
       ) i on true
      where p.app_id = $1 and p.id = any(string_to_array($2, ',')::uuid[])
      order by p.id
        for update of p`,
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
  insertLedgerEntry: statement(
    'ent_insert_ledger_entry',
    `insert into ledger_entries (id, app_id, profile_id, kind, recorded_at, entry)
     values ($1, $2, $3, $4, $5::timestamptz, $6::text::jsonb)`,
  ),
  upsertTransaction: statement(
    'ent_upsert_transaction',
    `insert into store_transactions
       (app_id, store, store_transaction_id, store_original_transaction_id, purchase_id, profile_id, record,
        revenue_usd, updated_at, price_usd)
     values ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9::timestamptz, $10)
     on conflict (app_id, store, store_transaction_id) do update
       set purchase_id = excluded.purchase_id, profile_id = excluded.profile_id, record = excluded.record,
           revenue_usd = excluded.revenue_usd, updated_at = excluded.updated_at, price_usd = excluded.price_usd`,
  ),
  upsertChain: statement(
    'ent_upsert_chain',
    `insert into purchase_chains (app_id, store, store_original_transaction_id, state, end_events_written_for,
                                  updated_at)
     values ($1, $2, $3, $4::text::jsonb, $5::timestamptz, $6::timestamptz)
     on conflict (app_id, store, store_original_transaction_id) do update
       set state = excluded.state, end_events_written_for = excluded.end_events_written_for,
           updated_at = excluded.updated_at`,
  ),
  markChainEndWritten: statement(
    'ent_mark_chain_end',
    `update purchase_chains set end_events_written_for = $4::timestamptz
      where app_id = $1 and store = $2 and store_original_transaction_id = $3`,
  ),
  updateProfile: statement(
    'ent_update_profile',
    `update profiles set entitlements = $3::text::jsonb, total_revenue_usd = $4, event_seq = $5,
            updated_at = $6::timestamptz
      where app_id = $1 and id = $2`,
  ),
  insertEvents: statement(
    'ent_insert_events',
    `insert into events (id, app_id, profile_id, profile_seq, event_type, event_datetime, environment, payload)
     select x.id, $1, x.profile_id, x.profile_seq, x.event_type, x.event_datetime, x.environment, x.payload
       from jsonb_to_recordset($2::text::jsonb)
         as x(id uuid, profile_id uuid, profile_seq bigint, event_type text, event_datetime timestamptz,
              environment text, payload jsonb, ordinal int)
      order by x.ordinal`,
  ),
  insertJobs: statement(
    'ent_insert_jobs',
    `insert into scheduled_jobs (id, app_id, profile_id, kind, subject, due_at)
     select x.id, $1, x.profile_id, x.kind, x.subject, x.due_at
       from jsonb_to_recordset($2::text::jsonb)
         as x(id uuid, profile_id uuid, kind text, subject text, due_at timestamptz)
     on conflict do nothing`,
  ),
  claimDueJob: statement(
    'ent_claim_due_job',
    `select id, app_id, profile_id, kind, subject, due_at from scheduled_jobs
      where due_at <= $1::timestamptz
      order by due_at, id
      limit 1
        for update skip locked`,
  ),
  deleteJob: statement('ent_delete_job', 'delete from scheduled_jobs where id = $1'),
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

    async findProfile(
      query: RawQuery,
      appId: string,
      key: { profileId?: string; customerUserId?: string },
    ): Promise<{ id: string; customerUserId: string | null } | null> {
      const [row] =
        key.profileId !== undefined
          ? await query<{ id: string; customer_user_id: string | null }>(SQL.profileById, [
              appId,
              key.profileId,
            ])
          : await query<{ id: string; customer_user_id: string | null }>(SQL.profileByCustomerUserId, [
              appId,
              key.customerUserId,
            ])
      return row ? { id: row.id, customerUserId: row.customer_user_id } : null
    },

    async lockChain(query: RawQuery, appId: string, store: string, originalId: string): Promise<void> {
      await query(SQL.lockChain, [appId, store, originalId])
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
      const rows = await query<{
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
      }>(SQL.lockProfiles, [appId, ids.join(',')])
      const locked = new Map<string, LockedProfile>()
      for (const row of rows) {
        locked.set(row.id, {
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
      }
      return locked
    },

    async chain(query: RawQuery, appId: string, store: string, originalId: string): Promise<ChainRow | null> {
      const [row] = await query<{ state: ChainState; end_events_written_for: Date | string | null }>(
        SQL.chain,
        [appId, store, originalId],
      )
      return row ? { state: row.state, endEventsWrittenFor: isoOf(row.end_events_written_for) } : null
    },

    async storedTransaction(
      query: RawQuery,
      appId: string,
      store: string,
      storeTransactionId: string,
    ): Promise<StoredTransaction | null> {
      const [row] = await query<StoredTransactionRecord>(SQL.transaction, [appId, store, storeTransactionId])
      return row ? toStoredTransaction(row) : null
    },

    async appendLedgerEntry(query: RawQuery, appId: string, entry: LedgerEntry): Promise<void> {
      await query(SQL.insertLedgerEntry, [
        entry.id,
        appId,
        entry.profileId,
        entry.kind,
        entry.recordedAt,
        JSON.stringify(entry),
      ])
    },

    async saveTransaction(query: RawQuery, appId: string, txn: StoredTransaction, at: string): Promise<void> {
      await query(SQL.upsertTransaction, [
        appId,
        txn.store,
        txn.storeTransactionId,
        txn.storeOriginalTransactionId,
        txn.purchaseId,
        txn.profileId,
        JSON.stringify(txn.record),
        txn.revenueUsd,
        at,
        txn.priceUsd,
      ])
    },

    async saveChain(query: RawQuery, appId: string, chain: ChainRow, at: string): Promise<void> {
      await query(SQL.upsertChain, [
        appId,
        chain.state.store,
        chain.state.storeOriginalTransactionId,
        JSON.stringify(chain.state),
        chain.endEventsWrittenFor,
        at,
      ])
    },

    async markChainEndWritten(query: RawQuery, appId: string, chain: ChainState, end: string): Promise<void> {
      await query(SQL.markChainEndWritten, [appId, chain.store, chain.storeOriginalTransactionId, end])
    },

    async saveProfile(
      query: RawQuery,
      appId: string,
      profile: Pick<LockedProfile, 'id' | 'entitlements' | 'totalRevenueUsd' | 'eventSeq'>,
      at: string,
    ): Promise<void> {
      await query(SQL.updateProfile, [
        appId,
        profile.id,
        JSON.stringify(profile.entitlements),
        profile.totalRevenueUsd,
        profile.eventSeq,
        at,
      ])
    },

    async insertEvents(query: RawQuery, appId: string, events: (BuiltEvent & { profileSeq: number })[]) {
      if (events.length === 0) return
      const rows = events.map((event, ordinal) => ({
        ordinal,
        id: event.id,
        profile_id: event.profileId,
        profile_seq: event.profileSeq,
        event_type: event.eventType,
        event_datetime: event.eventDatetime,
        environment: event.environment,
        payload: event.payload,
      }))
      await query(SQL.insertEvents, [appId, JSON.stringify(rows)])
    },

    async insertJobs(query: RawQuery, appId: string, jobs: NewJob[]): Promise<void> {
      if (jobs.length === 0) return
      const rows = jobs.map((job) => ({
        id: job.id,
        profile_id: job.profileId,
        kind: job.kind,
        subject: job.subject,
        due_at: job.dueAt,
      }))
      await query(SQL.insertJobs, [appId, JSON.stringify(rows)])
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

    async deleteJob(query: RawQuery, jobId: string): Promise<void> {
      await query(SQL.deleteJob, [jobId])
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
