import type { DatabaseHandle, PreparedStatement, RawQuery } from '../../db/open-database.ts'

/** All SQL of webhook configuration, delivery claiming and the delivery log. */

const statement = (name: string, text: string): PreparedStatement => ({ name, text })

export interface EndpointRow {
  appId: string
  environment: string
  url: string
  authorization: string | null
  eventTypes: string[] | null
  eventNames: Record<string, string>
  sendUserAttributes: boolean
  sendTrialPrice: boolean
  signingSecret: string
  previousSigningSecret: string | null
  previousSecretExpiresAt: Date | null
  createdAt: Date
  updatedAt: Date
}

export interface ClaimedDelivery {
  id: string
  appId: string
  eventId: string
  environment: string
  attempts: number
  body: string | null
  createdAt: Date
  /** Null when the event is gone (its app was deleted). */
  event: DeliveryEvent | null
  /** Null when the endpoint was removed since the delivery was queued. */
  endpoint: EndpointRow | null
}

/** What one attempt's log entry says, as the worker writes it and as the delivery log reads it. */
interface AttemptOutcome {
  deliveryId: string
  eventId: string
  attempt: number
  url: string
  attemptedAt: Date
  statusCode: number | null
  latencyMs: number
  responseExcerpt: string | null
  error: string | null
  succeeded: boolean
  nextAttemptAt: Date | null
}

export interface AttemptRecord extends AttemptOutcome {
  appId: string
  status: 'pending' | 'delivered' | 'failed'
  body: string | null
}

export interface AttemptRow extends AttemptOutcome {
  seq: number
  eventType: string | null
  deliveryStatus: string
}

const ENDPOINT_COLUMNS = `app_id, environment, url, "authorization", event_types, event_names, send_user_attributes,
  send_trial_price, signing_secret, previous_signing_secret, previous_secret_expires_at, created_at, updated_at`

const SQL = {
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
   */
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
      where e.app_id = $1 and e.id = $2
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
  eventExists: statement('wh_event_exists', 'select environment from events where app_id = $1 and id = $2'),
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

interface EndpointRecord {
  app_id: string
  environment: string
  url: string
  authorization: string | null
  event_types: string[] | null
  event_names: Record<string, string>
  send_user_attributes: boolean
  send_trial_price: boolean
  signing_secret: string
  previous_signing_secret: string | null
  previous_secret_expires_at: Date | string | null
  created_at: Date | string
  updated_at: Date | string
}

const asDate = (value: Date | string) => (value instanceof Date ? value : new Date(value))

function toEndpoint(row: EndpointRecord): EndpointRow {
  return {
    appId: row.app_id,
    environment: row.environment,
    url: row.url,
    authorization: row.authorization,
    eventTypes: row.event_types,
    eventNames: row.event_names,
    sendUserAttributes: row.send_user_attributes,
    sendTrialPrice: row.send_trial_price,
    signingSecret: row.signing_secret,
    previousSigningSecret: row.previous_signing_secret,
    previousSecretExpiresAt: row.previous_secret_expires_at ? asDate(row.previous_secret_expires_at) : null,
    createdAt: asDate(row.created_at),
    updatedAt: asDate(row.updated_at),
  }
}

export interface DeliveryEvent {
  id: string
  appId: string
  profileId: string
  eventType: string
  payload: Record<string, unknown>
  customAttributes: { key: string; value: string | number }[] | null
}

interface ClaimRecord {
  id: string
  app_id: string
  event_id: string
  environment: string
  attempts: number
  body: string | null
  created_at: Date | string
  profile_id: string | null
  event_type: string | null
  payload: Record<string, unknown> | null
  custom_attributes: { key: string; value: string | number }[] | null
  w_url: string | null
  w_authorization: string | null
  w_event_types: string[] | null
  w_event_names: Record<string, string>
  w_send_user_attributes: boolean
  w_send_trial_price: boolean
  w_signing_secret: string
  w_previous_signing_secret: string | null
  w_previous_secret_expires_at: Date | string | null
  w_created_at: Date | string
  w_updated_at: Date | string
}

function toClaimed(row: ClaimRecord): ClaimedDelivery {
  return {
    id: row.id,
    appId: row.app_id,
    eventId: row.event_id,
    environment: row.environment,
    attempts: Number(row.attempts),
    body: row.body,
    createdAt: asDate(row.created_at),
    event:
      row.payload === null || row.event_type === null
        ? null
        : {
            id: row.event_id,
            appId: row.app_id,
            profileId: row.profile_id ?? '',
            eventType: row.event_type,
            payload: row.payload,
            customAttributes: row.custom_attributes,
          },
    endpoint:
      row.w_url === null
        ? null
        : toEndpoint({
            app_id: row.app_id,
            environment: row.environment,
            url: row.w_url,
            authorization: row.w_authorization,
            event_types: row.w_event_types,
            event_names: row.w_event_names,
            send_user_attributes: row.w_send_user_attributes,
            send_trial_price: row.w_send_trial_price,
            signing_secret: row.w_signing_secret,
            previous_signing_secret: row.w_previous_signing_secret,
            previous_secret_expires_at: row.w_previous_secret_expires_at,
            created_at: row.w_created_at,
            updated_at: row.w_updated_at,
          }),
  }
}

/**
 * postgres.js serialises a prepared statement's values by the types PostgreSQL describes, and it cannot
 * write a Date where a parameter is described as text; ISO strings read the same on both engines.
 */
const asParameters = (values: unknown[]) =>
  values.map((value) => (value instanceof Date ? value.toISOString() : value))

export function createWebhooksRepository(database: Pick<DatabaseHandle, 'rawQuery' | 'rawTransaction'>) {
  const rawQuery: RawQuery = (statement, values) => database.rawQuery(statement, asParameters(values))
  const rawTransaction = <T>(work: (query: RawQuery) => Promise<T>) =>
    database.rawTransaction((query) => work((statement, values) => query(statement, asParameters(values))))
  return {
    async appExists(appId: string): Promise<boolean> {
      return (await rawQuery(SQL.appExists, [appId])).length > 0
    },

    async endpoint(appId: string, environment: string): Promise<EndpointRow | null> {
      const [row] = await rawQuery<EndpointRecord>(SQL.endpoint, [appId, environment])
      return row ? toEndpoint(row) : null
    },

    async saveEndpoint(
      endpoint: Omit<
        EndpointRow,
        'previousSigningSecret' | 'previousSecretExpiresAt' | 'createdAt' | 'updatedAt'
      >,
      at: Date,
    ): Promise<{ endpoint: EndpointRow; created: boolean }> {
      const [row] = await rawQuery<EndpointRecord & { inserted: boolean }>(SQL.upsertEndpoint, [
        endpoint.appId,
        endpoint.environment,
        endpoint.url,
        endpoint.authorization,
        endpoint.eventTypes === null ? null : JSON.stringify(endpoint.eventTypes),
        JSON.stringify(endpoint.eventNames),
        endpoint.sendUserAttributes,
        endpoint.sendTrialPrice,
        endpoint.signingSecret,
        at,
      ])
      const saved = row as EndpointRecord & { inserted: boolean }
      return { endpoint: toEndpoint(saved), created: saved.inserted }
    },

    /** Removes the endpoint and cancels what was still to be sent to it. */
    async deleteEndpoint(appId: string, environment: string, at: Date): Promise<boolean> {
      return rawTransaction(async (query) => {
        const deleted = await query(SQL.deleteEndpoint, [appId, environment])
        if (deleted.length === 0) return false
        await query(SQL.cancelPending, [appId, environment, at])
        return true
      })
    },

    async rotateSecret(
      appId: string,
      environment: string,
      secret: string,
      previousExpiresAt: Date,
      at: Date,
    ): Promise<EndpointRow | null> {
      const [row] = await rawQuery<EndpointRecord>(SQL.rotateSecret, [
        appId,
        environment,
        secret,
        previousExpiresAt,
        at,
      ])
      return row ? toEndpoint(row) : null
    },

    async claimDue(
      now: Date,
      limit: number,
      busyApps: string[],
      leaseUntil: Date,
    ): Promise<ClaimedDelivery[]> {
      const rows = await rawQuery<ClaimRecord>(SQL.claimDue, [now, limit, busyApps.join(','), leaseUntil])
      return rows.map(toClaimed)
    },

    async trialPrice(
      appId: string,
      store: string,
      transactionId: string,
    ): Promise<{ priceLocal: number | null; priceUsd: number | null } | null> {
      const [row] = await rawQuery<{ price_local: number | null; price_usd: number | null }>(SQL.trialPrice, [
        appId,
        store,
        transactionId,
      ])
      return row ? { priceLocal: row.price_local, priceUsd: row.price_usd } : null
    },

    /** Logs attempts and moves their deliveries on, unless another worker has since taken one over. */
    async recordAttempts(attempts: AttemptRecord[]): Promise<void> {
      if (attempts.length === 0) return
      const rows = attempts.map((attempt, ordinal) => ({
        app_id: attempt.appId,
        delivery_id: attempt.deliveryId,
        event_id: attempt.eventId,
        attempt: attempt.attempt,
        url: attempt.url,
        attempted_at: attempt.attemptedAt.toISOString(),
        status_code: attempt.statusCode,
        latency_ms: attempt.latencyMs,
        response_excerpt: attempt.responseExcerpt,
        error: attempt.error,
        succeeded: attempt.succeeded,
        status: attempt.status,
        next_attempt_at: attempt.nextAttemptAt?.toISOString() ?? null,
        body: attempt.status === 'pending' ? attempt.body : null,
        ordinal,
      }))
      await rawQuery(SQL.recordAttempts, [JSON.stringify(rows)])
    },

    async dropDelivery(deliveryId: string, status: 'cancelled' | 'failed', at: Date): Promise<void> {
      await rawQuery(SQL.dropDelivery, [deliveryId, status, at])
    },

    async eventEnvironment(appId: string, eventId: string): Promise<string | null> {
      const [row] = await rawQuery<{ environment: string }>(SQL.eventExists, [appId, eventId])
      return row?.environment ?? null
    },

    async redeliver(appId: string, eventId: string, at: Date): Promise<string | null> {
      const [row] = await rawQuery<{ id: string }>(SQL.redeliver, [appId, eventId, at])
      return row?.id ?? null
    },

    async redeliverRange(appId: string, from: Date, to: Date, environment: string | null, at: Date) {
      return (await rawQuery<{ id: string }>(SQL.redeliverRange, [appId, from, to, at, environment ?? '']))
        .length
    },

    async attempts(
      appId: string,
      filter: { afterSeq: bigint; eventId?: string; outcome?: 'succeeded' | 'failed'; limit: number },
    ): Promise<AttemptRow[]> {
      const rows = await rawQuery<{
        seq: string
        delivery_id: string
        event_id: string
        event_type: string | null
        attempt: number
        url: string
        attempted_at: Date | string
        status_code: number | null
        latency_ms: number
        response_excerpt: string | null
        error: string | null
        succeeded: boolean
        delivery_status: string | null
        next_attempt_at: Date | string | null
      }>(SQL.attempts, [
        appId,
        filter.afterSeq.toString(),
        filter.eventId ?? '',
        filter.outcome ?? '',
        filter.limit,
      ])
      return rows.map((row) => ({
        seq: Number(row.seq),
        deliveryId: row.delivery_id,
        eventId: row.event_id,
        eventType: row.event_type,
        attempt: Number(row.attempt),
        url: row.url,
        attemptedAt: asDate(row.attempted_at),
        statusCode: row.status_code,
        latencyMs: Number(row.latency_ms),
        responseExcerpt: row.response_excerpt,
        error: row.error,
        succeeded: row.succeeded,
        deliveryStatus: row.delivery_status ?? 'unknown',
        nextAttemptAt: row.next_attempt_at ? asDate(row.next_attempt_at) : null,
      }))
    },
  }
}

export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>
