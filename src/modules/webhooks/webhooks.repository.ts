import type { DatabaseHandle, RawQuery } from '../../db/open-database.ts'
import { SQL } from './webhooks.statements.ts'

/** Webhook configuration, delivery claiming and the delivery log, over the statements in webhooks.statements.ts. */

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
