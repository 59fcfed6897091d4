import type { PreparedStatement } from '../../db/open-database.ts'
import { sameAppSql } from '../../db/tenant-scope.ts'

/**
 * The SQL of the entitlement engine. Statements are prepared and run raw: a batch of set transactions is a
 * few large statements, and building each with the query builder would cost more than running it. JSON
 * goes in as text (`$n::text::json`) so both drivers pass it unchanged; int8 comes out cast to int. Profiles
 * looked up by id check their app with `sameAppSql`, which keeps the lookup on the primary key.
 */

export const statement = (name: string, text: string): PreparedStatement => ({ name, text })

const LOCKED_PROFILE_COLUMNS = `p.id, p.app_id, p.customer_user_id, p.email, p.created_at, p.integration_ids,
  p.ip_country, p.entitlements, p.total_revenue_usd, p.event_seq::int as event_seq, p.segment_hash,
  p.custom_attributes, i.idfv, i.idfa, i.advertising_id, i.user_agent`

const LATEST_INSTALLATION = `left join lateral (
    select idfv, idfa, advertising_id, user_agent from profile_installations d
     where d.profile_id = p.id order by d.updated_at desc limit 1
  ) i on true`

/**
 * The profiles of a list of ids, locked one by one in id order (so that writers never wait on each other
 * in a cycle), each fetched by its primary key. A LATERAL subquery with LIMIT is planned per id; as
 * = any(...) or as a join, a table without statistics was planned as a scan of the app's profiles (or
 * of the table), which grew with the app and with every dead row version of a busy profile.
 */
const lockedProfilesById = (ids: string, app: string) => `select ${LOCKED_PROFILE_COLUMNS}
  from (${ids} order by 1) w(id)
  cross join lateral (
    select * from profiles p where p.id = w.id and ${sameAppSql('p.app_id', app)} limit 1 for update
  ) p
  ${LATEST_INSTALLATION}`

export const SQL = {
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
    lockedProfilesById(`select distinct unnest(string_to_array($2, ',')::uuid[])`, '$1'),
  ),
  lockProfileById: statement(
    'ent_lock_profile_by_id',
    `select ${LOCKED_PROFILE_COLUMNS} from profiles p ${LATEST_INSTALLATION}
      where ${sameAppSql('p.app_id', '$1')} and p.id = $2 for update of p`,
  ),
  // For the scheduler, which never waits for a profile a request holds: it comes back next round.
  tryLockProfile: statement(
    'ent_try_lock_profile',
    `select ${LOCKED_PROFILE_COLUMNS} from profiles p ${LATEST_INSTALLATION}
      where ${sameAppSql('p.app_id', '$1')} and p.id = $2 for update of p skip locked`,
  ),
  profileExists: statement(
    'ent_profile_exists',
    `select 1 as found from profiles where ${sameAppSql('app_id', '$1')} and id = $2`,
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
     ),
     -- One index lookup per key: a LATERAL subquery with LIMIT is not flattened into a join, which the planner
     -- (its statistics taken while the tables were small) ran as a scan of all the app's chains and
     -- transactions, so that every batch cost more than the one before as the app grew.
     chain as (
       select distinct on (c.store, c.store_original_transaction_id) c.state, c.end_events_written_for
         from keys k cross join lateral (
           select c.store, c.store_original_transaction_id, c.state, c.end_events_written_for
             from purchase_chains c
            where c.app_id = $1::uuid and c.store = k.store and c.store_original_transaction_id = k.original
            limit 1
         ) c
     ), txn as (
       select distinct on (t.store, t.store_transaction_id)
              t.store, t.store_transaction_id, t.store_original_transaction_id, t.purchase_id, t.profile_id,
              t.record, t.price_usd, t.revenue_usd
         from keys k cross join lateral (
           select * from store_transactions t
            where t.app_id = $1::uuid and t.store = k.store and t.store_transaction_id = k.txn
            limit 1
         ) t
     ), product as (
       select distinct on (sp.store, sp.store_product_id)
              sp.store, sp.store_product_id, p.product_id, p.access_level_id, p.type
         from keys k cross join lateral (
           select sp.store, sp.store_product_id, sp.product_uuid from product_store_products sp
            where sp.app_id = $1::uuid and sp.store = k.store and sp.store_product_id = k.product
            limit 1
         ) sp
         join products p on p.id = sp.product_uuid
     ), wanted as (
       select unnest(string_to_array(nullif($3, ''), ',')::uuid[]) as id
       -- One lookup of (app_id, customer_user_id) per user, kept apart by LIMIT as the chains' are: as
       -- = any(...) or as a join, it was planned as a walk of the app's profiles testing each user id.
       union select u.id from json_array_elements_text($4::text::json) c(customer_user_id)
        cross join lateral (
          select id from profiles where app_id = $1::uuid and customer_user_id = c.customer_user_id limit 1
        ) u
       union select (json_array_elements_text(state -> 'holders'))::uuid from chain
       union select profile_id from txn
     ), locked as (
       ${lockedProfilesById('select id from wanted', '$1::uuid')}
     )
     select (select row_to_json(a) from (select sharing_mode, sandbox_sharing_mode, exchange_rates,
                                                   xmin::text as version
                                            from apps where id = $1::uuid) a) as settings,
            (select coalesce(json_agg(chain), '[]'::json) from chain) as chains,
            (select coalesce(json_agg(txn), '[]'::json) from txn) as txns,
            (select coalesce(json_agg(product), '[]'::json) from product) as products,
            (select coalesce(json_agg(locked), '[]'::json) from locked) as profiles`,
  ),
  /**
   * Every change of one write in one statement. Each list may be empty. The documents (ledger entries,
   * chain states, transaction records, profile entitlements, event payloads) travel apart from their
   * rows' small fields, in $11-$15, joined by the record separator U+001E, which JSON text never holds raw,
   * and ROWS FROM pairs the n-th document with the n-th row. Inside json_to_recordset each document was
   * lexed three times (the cast, the walk, the field's own input); split out, once: in PostgreSQL the
   * profile documents of a batch were written in half the time.
   */
  writeChanges: statement(
    'ent_write_changes',
    `with ledger as (
       insert into ledger_entries (id, app_id, profile_id, kind, recorded_at, entry)
       select x.id, $1, x.profile_id, x.kind, x.recorded_at, x.entry::json
         from rows from (
           json_to_recordset($2::text::json)
             as (id uuid, profile_id uuid, kind text, recorded_at timestamptz, ordinal int),
           unnest(string_to_array($11, chr(30)))
         ) as x(id, profile_id, kind, recorded_at, ordinal, entry)
        order by x.ordinal
       returning 1
     ), chains as (
       insert into purchase_chains (app_id, store, store_original_transaction_id, state, end_events_written_for,
                                    updated_at)
       select $1, x.store, x.store_original_transaction_id, x.state::json, x.end_events_written_for, $8::timestamptz
         from rows from (
           json_to_recordset($3::text::json)
             as (store text, store_original_transaction_id text, end_events_written_for timestamptz),
           unnest(string_to_array($12, chr(30)))
         ) as x(store, store_original_transaction_id, end_events_written_for, state)
       on conflict (app_id, store, store_original_transaction_id) do update
         set state = excluded.state, end_events_written_for = excluded.end_events_written_for,
             updated_at = excluded.updated_at
       returning 1
     ), transactions as (
       insert into store_transactions (app_id, store, store_transaction_id, store_original_transaction_id,
                                       purchase_id, profile_id, record, price_usd, revenue_usd, updated_at)
       select $1, x.store, x.store_transaction_id, x.store_original_transaction_id, x.purchase_id, x.profile_id,
              x.record::json, x.price_usd, x.revenue_usd, $8::timestamptz
         from rows from (
           json_to_recordset($4::text::json)
             as (store text, store_transaction_id text, store_original_transaction_id text, purchase_id uuid,
                 profile_id uuid, price_usd float8, revenue_usd float8),
           unnest(string_to_array($13, chr(30)))
         ) as x(store, store_transaction_id, store_original_transaction_id, purchase_id, profile_id, price_usd,
                revenue_usd, record)
       on conflict (app_id, store, store_transaction_id) do update
         set purchase_id = excluded.purchase_id, profile_id = excluded.profile_id, record = excluded.record,
             price_usd = excluded.price_usd, revenue_usd = excluded.revenue_usd, updated_at = excluded.updated_at
       returning 1
     ), profile_updates as (
       update profiles p
          set entitlements = x.entitlements::json, total_revenue_usd = x.total_revenue_usd,
              event_seq = x.event_seq, updated_at = $8::timestamptz
         from rows from (
           json_to_recordset($5::text::json) as (id uuid, total_revenue_usd float8, event_seq bigint),
           unnest(string_to_array($14, chr(30)))
         ) as x(id, total_revenue_usd, event_seq, entitlements)
        -- = any(array(...)) fetches the batch's profiles by primary key, its list parsed once; a join alone
        -- was planned as a scan of the app's profiles.
        where ${sameAppSql('p.app_id', '$1')} and p.id = x.id
          and p.id = any(array(select unnest(string_to_array(nullif($10, ''), ',')::uuid[])))
       returning 1
     ), new_events as (
       insert into events (id, app_id, profile_id, profile_seq, event_type, event_datetime, environment, payload)
       select x.id, $1, x.profile_id, x.profile_seq, x.event_type, x.event_datetime, x.environment,
              x.payload::json
         from rows from (
           json_to_recordset($6::text::json)
             as (id uuid, profile_id uuid, profile_seq bigint, event_type text, event_datetime timestamptz,
                 environment text, ordinal int),
           unnest(string_to_array($15, chr(30)))
         ) as x(id, profile_id, profile_seq, event_type, event_datetime, environment, ordinal, payload)
        order by x.ordinal
       returning id, event_type, environment
     ), new_deliveries as (
       -- The outbox's other half: each event bound for the app's endpoint of its environment is queued for
       -- the delivery workers in the same transaction as the event itself.
       insert into webhook_deliveries (id, app_id, event_id, environment, status, next_attempt_at, created_at)
       select gen_random_uuid(), $1, n.id, n.environment, 'pending', $8::timestamptz, $8::timestamptz
         from new_events n
         join webhook_endpoints w on w.app_id = $1 and w.environment = n.environment
        where w.event_types is null or w.event_types ? n.event_type
       returning 1
     ), new_jobs as (
       insert into scheduled_jobs (id, app_id, profile_id, kind, subject, due_at)
       select x.id, $1, x.profile_id, x.kind, x.subject, x.due_at
         from json_to_recordset($7::text::json)
           as x(id uuid, profile_id uuid, kind text, subject text, due_at timestamptz)
       -- A chain's end moved later (a renewal, nearly every write) leaves its job where it is: the scheduler
       -- moves it on when it fires (moveJob). Only an earlier end, or another kind of job, moves it here.
       -- 'chain_end' is CHAIN_END_JOB of entitlements.service.ts.
       on conflict (app_id, profile_id, kind, subject) do update set due_at = excluded.due_at
         where excluded.due_at < scheduled_jobs.due_at or excluded.kind <> 'chain_end'
       returning 1
     ), done_jobs as (
       delete from scheduled_jobs where id = any(string_to_array(nullif($9, ''), ',')::uuid[])
       returning 1
     )
     select (select count(*) from ledger)::int + (select count(*) from chains)::int
          + (select count(*) from transactions)::int + (select count(*) from profile_updates)::int
          + (select count(*) from new_events)::int + (select count(*) from new_jobs)::int
          + (select count(*) from done_jobs)::int + (select count(*) from new_deliveries)::int as written,
            (select count(*) from new_deliveries)::int as queued,
            -- The xmin of every row this transaction writes: the version the batch cache keeps them under.
            (pg_current_xact_id()::text::bigint % 4294967296)::text as row_version`,
  ),
  /**
   * A batch written from the cache: locks its profiles (in id order, as lockedProfilesById) and checks that
   * every row the cache answered for is still the version it holds: profiles, chains (a null version: the
   * chain must not exist), the new store transactions (none may exist), the catalog's answer for each store
   * product, and the app's settings. Chains and their transactions are safe from other writers behind the
   * chain locks taken just before; profiles behind the locks taken here. Anything else aborts the
   * transaction (entitle_assert_fresh, SQLSTATE EN409).
   */
  freshGuard: statement(
    'ent_fresh_guard',
    `with expected_profiles as materialized (
       select * from json_to_recordset($2::text::json) as e(id uuid, version text)
     ), locked as materialized (
       select l.id, l.version
         from (select id from expected_profiles order by 1) w
        cross join lateral (
          select p.id, p.xmin::text as version from profiles p
           where p.id = w.id and ${sameAppSql('p.app_id', '$1::uuid')} limit 1 for update
        ) l
     )
     select entitle_assert_fresh(
       (select count(*) from expected_profiles e join locked l on l.id = e.id and l.version = e.version)
         = (select count(*) from expected_profiles)
       and not exists (
         select 1 from json_to_recordset($3::text::json) as c(store text, original text, version text)
         left join lateral (
           select pc.xmin::text as version from purchase_chains pc
            where pc.app_id = $1::uuid and pc.store = c.store and pc.store_original_transaction_id = c.original
            limit 1
         ) found on true
          where found.version is distinct from c.version
       )
       and not exists (
         select 1 from json_to_recordset($4::text::json) as t(store text, txn text)
          cross join lateral (
            select 1 from store_transactions st
             where st.app_id = $1::uuid and st.store = t.store and st.store_transaction_id = t.txn limit 1
          ) found
       )
       and not exists (
         select 1 from json_to_recordset($5::text::json)
           as w(store text, product text, product_id text, access_level_id text, type text)
         left join lateral (
           select p.product_id, p.access_level_id, p.type from product_store_products sp
             join products p on p.id = sp.product_uuid
            where sp.app_id = $1::uuid and sp.store = w.store and sp.store_product_id = w.product
            limit 1
         ) current on true
          where current.product_id is distinct from w.product_id
             or current.access_level_id is distinct from w.access_level_id
             or current.type is distinct from w.type
       )
       and (select xmin::text from apps where id = $1::uuid) is not distinct from $6::text
     ) as fresh`,
  ),
  chain: statement(
    'ent_chain',
    `select state, end_events_written_for from purchase_chains
      where app_id = $1 and store = $2 and store_original_transaction_id = $3`,
  ),
  moveJob: statement(
    'ent_move_job',
    `update scheduled_jobs set due_at = $3::timestamptz where ${sameAppSql('app_id', '$1')} and id = $2`,
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
