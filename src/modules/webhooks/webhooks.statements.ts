import type { PreparedStatement } from '../../db/open-database.ts'
import { sameAppSql } from '../../db/tenant-scope.ts'

/** All SQL of webhook configuration, delivery claiming and the delivery log, prepared by name. */

const statement = (name: string, text: string): PreparedStatement => ({ name, text })

const ENDPOINT_COLUMNS = `app_id, environment, url, "authorization", event_types, event_names, send_user_attributes,
  send_trial_price, signing_secret, previous_signing_secret, previous_secret_expires_at, created_at, updated_at`

export const SQL = {
  endpoint: statement(
    'wh_endpoint',
    `select ${ENDPOINT_COLUMNS} from webhook_endpoints where app_id = $1 and environment = $2`,
  ),
  upsertEndpoint: statement(
    'wh_upsert_endpoint',
    `insert into webhook_endpoints (app_id, environment, url, "authorization", event_types, event_names,
                                    send_user_attributes, send_trial_price, signing_secret, created_at, updated_at)
     values ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb, $7, $8, $9, $10, $10)
     on conflict (app_id, environment) do update
       set url = excluded.url, "authorization" = excluded."authorization", event_types = excluded.event_types,
           event_names = excluded.event_names, send_user_attributes = excluded.send_user_attributes,
           send_trial_price = excluded.send_trial_price, updated_at = excluded.updated_at
     returning ${ENDPOINT_COLUMNS}, (xmax = 0) as inserted`,
  ),
  deleteEndpoint: statement(
    'wh_delete_endpoint',
    'delete from webhook_endpoints where app_id = $1 and environment = $2 returning 1 as deleted',
  ),
  cancelPending: statement(
    'wh_cancel_pending',
    `update webhook_deliveries set status = 'cancelled', updated_at = $3
      where app_id = $1 and environment = $2 and status = 'pending'`,
  ),
  rotateSecret: statement(
    'wh_rotate_secret',
    `update webhook_endpoints
        set previous_signing_secret = signing_secret, previous_secret_expires_at = $4, signing_secret = $3,
            updated_at = $5
      where app_id = $1 and environment = $2
      returning ${ENDPOINT_COLUMNS}`,
  ),
  /**
   * Claims due deliveries and pushes each one's due time past the attempt's lease in the same statement: a
   * worker that dies mid-attempt leaves a delivery that falls due again when the lease ends, never a lost one.
   * The event, the profile's custom attributes and the endpoint come back with it: one round trip a claim.
   */
  claimDue: statement(
    'wh_claim_due',
    `with due as (
       select id from webhook_deliveries
        where status = 'pending' and next_attempt_at <= $1::timestamptz
          and app_id <> all(coalesce(string_to_array(nullif($3, ''), ',')::uuid[], '{}'))
        order by next_attempt_at
        limit $2
          for update skip locked
     ), claimed as (
       update webhook_deliveries d
          set attempts = d.attempts + 1, next_attempt_at = $4::timestamptz, updated_at = $1::timestamptz
         from due where d.id = due.id
       returning d.id, d.app_id, d.event_id, d.environment, d.attempts, d.body, d.created_at
     )
     select c.id, c.app_id, c.event_id, c.environment, c.attempts, c.body, c.created_at,
            e.profile_id, e.event_type, e.payload, p.custom_attributes,
            w.url as w_url, w."authorization" as w_authorization, w.event_types as w_event_types,
            w.event_names as w_event_names, w.send_user_attributes as w_send_user_attributes,
            w.send_trial_price as w_send_trial_price, w.signing_secret as w_signing_secret,
            w.previous_signing_secret as w_previous_signing_secret,
            w.previous_secret_expires_at as w_previous_secret_expires_at,
            w.created_at as w_created_at, w.updated_at as w_updated_at
       from claimed c
       left join events e on e.id = c.event_id
       left join profiles p on p.id = e.profile_id and p.app_id = e.app_id
       left join webhook_endpoints w on w.app_id = c.app_id and w.environment = c.environment`,
  ),
  trialPrice: statement(
    'wh_trial_price',
    `select (record -> 'price' ->> 'value')::float8 as price_local, price_usd from store_transactions
      where app_id = $1 and store = $2 and store_transaction_id = $3`,
  ),
  /**
   * Logs a batch of attempts and moves each delivery on, unless another worker has since taken it over. The
   * body is kept only for a delivery that will be retried: a retry must send the same bytes.
   */
  recordAttempts: statement(
    'wh_record_attempts',
    `with input as (
       select * from json_to_recordset($1::json)
           as x(app_id uuid, delivery_id uuid, event_id uuid, attempt int, url text, attempted_at timestamptz,
                status_code int, latency_ms int, response_excerpt text, error text, succeeded boolean,
                status text, next_attempt_at timestamptz, body text, ordinal int)
     ), logged as (
       insert into webhook_attempts (app_id, delivery_id, event_id, attempt, url, attempted_at, status_code,
                                     latency_ms, response_excerpt, error, succeeded)
       select app_id, delivery_id, event_id, attempt, url, attempted_at, status_code, latency_ms,
              response_excerpt, error, succeeded
         from input order by ordinal
       returning 1
     )
     update webhook_deliveries d
        set status = i.status, next_attempt_at = coalesce(i.next_attempt_at, d.next_attempt_at),
            body = coalesce(d.body, i.body), updated_at = i.attempted_at
       from input i
      where d.id = i.delivery_id and d.attempts = i.attempt and d.status = 'pending'
      returning (select count(*) from logged)::int as logged`,
  ),
  dropDelivery: statement(
    'wh_drop_delivery',
    `update webhook_deliveries set status = $2, updated_at = $3 where id = $1 and status = 'pending'`,
  ),
  redeliver: statement(
    'wh_redeliver',
    `insert into webhook_deliveries (id, app_id, event_id, environment, status, next_attempt_at, created_at)
     select gen_random_uuid(), e.app_id, e.id, e.environment, 'pending', $3::timestamptz, $3::timestamptz
       from events e
       join webhook_endpoints w on w.app_id = e.app_id and w.environment = e.environment
      where ${sameAppSql('e.app_id', '$1')} and e.id = $2
     returning id`,
  ),
  redeliverRange: statement(
    'wh_redeliver_range',
    `insert into webhook_deliveries (id, app_id, event_id, environment, status, next_attempt_at, created_at)
     select gen_random_uuid(), e.app_id, e.id, e.environment, 'pending', $4::timestamptz, $4::timestamptz
       from events e
       join webhook_endpoints w on w.app_id = e.app_id and w.environment = e.environment
      where e.app_id = $1 and e.created_at >= $2::timestamptz and e.created_at < $3::timestamptz
        and ($5 = '' or e.environment = $5)
        and (w.event_types is null or w.event_types ? e.event_type)
     returning id`,
  ),
  eventExists: statement(
    'wh_event_exists',
    `select environment from events where ${sameAppSql('app_id', '$1')} and id = $2`,
  ),
  attempts: statement(
    'wh_attempts',
    `select a.seq::text as seq, a.delivery_id, a.event_id, e.event_type, a.attempt, a.url, a.attempted_at,
            a.status_code, a.latency_ms, a.response_excerpt, a.error, a.succeeded,
            d.status as delivery_status, case when d.status = 'pending' then d.next_attempt_at end as next_attempt_at
       from webhook_attempts a
       left join webhook_deliveries d on d.id = a.delivery_id
       left join events e on e.id = a.event_id
      where a.app_id = $1 and a.seq > $2::bigint
        and ($3 = '' or a.event_id = nullif($3, '')::uuid)
        and ($4 = '' or ($4 = 'succeeded') = a.succeeded)
      order by a.seq
      limit $5`,
  ),
  appExists: statement('wh_app_exists', 'select 1 as found from apps where id = $1'),
}
