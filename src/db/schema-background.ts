import { sql } from 'drizzle-orm'
import {
  bigint,
  boolean,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core'
import { apps, createdAt, updatedAt } from './schema.ts'

/** The tables of the work done in the background: webhook delivery, web store imports, the stats rollup. */

/** A customer's webhook endpoint: one per app and environment (Production, Sandbox). */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    /** Production | Sandbox: the events' own environment values. */
    environment: text('environment').notNull(),
    url: text('url').notNull(),
    /** Sent verbatim as the Authorization header; null sends none. */
    authorization: text('authorization'),
    /** Event types sent; null sends every type. */
    eventTypes: jsonb('event_types').$type<string[] | null>(),
    /** Renamed event types, { type: name }. */
    eventNames: jsonb('event_names').$type<Record<string, string>>().notNull(),
    sendUserAttributes: boolean('send_user_attributes').notNull(),
    sendTrialPrice: boolean('send_trial_price').notNull(),
    // Kept in the clear: the server must compute HMACs with it. The database is the trust boundary, as for
    // the Stripe and Paddle keys that apps store.
    signingSecret: text('signing_secret').notNull(),
    /** The secret before the last rotation, still signing next to the new one until it expires. */
    previousSigningSecret: text('previous_signing_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [primaryKey({ columns: [table.appId, table.environment] })],
)

/** One event on its way to one endpoint: claimed, attempted and retried by the delivery workers. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    appId: uuid('app_id').notNull(),
    eventId: uuid('event_id').notNull(),
    environment: text('environment').notNull(),
    /** pending | delivered | failed (gave up) | cancelled (endpoint removed) */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** When the next attempt is due; while an attempt runs, when it counts as crashed and is due again. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** The body, fixed at the first attempt so that retries send the same bytes. */
    body: text('body'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index('webhook_deliveries_due_idx').on(table.nextAttemptAt).where(sql`status = 'pending'`),
    index('webhook_deliveries_event_idx').on(table.appId, table.eventId),
  ],
)

/** The delivery log: one row per attempt. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    appId: uuid('app_id').notNull(),
    deliveryId: uuid('delivery_id').notNull(),
    eventId: uuid('event_id').notNull(),
    attempt: integer('attempt').notNull(),
    url: text('url').notNull(),
    attemptedAt: timestamp('attempted_at', { withTimezone: true, mode: 'date' }).notNull(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    /** The first 1 KB of the response body. */
    responseExcerpt: text('response_excerpt'),
    error: text('error'),
    succeeded: boolean('succeeded').notNull(),
  },
  (table) => [
    index('webhook_attempts_app_seq_idx').on(table.appId, table.seq),
    index('webhook_attempts_event_idx').on(table.appId, table.eventId),
  ],
)

/**
 * Which customer user id a web store purchase (a Stripe subscription, payment intent or customer) was
 * validated for, so that the store's later webhooks reach the same profile.
 */
export const storePurchaseLinks = pgTable(
  'store_purchase_links',
  {
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    store: text('store').notNull(),
    externalId: text('external_id').notNull(),
    customerUserId: text('customer_user_id').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [primaryKey({ columns: [table.appId, table.store, table.externalId] })],
)

/**
 * A Stripe import started by an operator (all of a customer's purchases, or the purchases named): queued
 * here, run by a worker in any process (claimed with FOR UPDATE SKIP LOCKED under a lease), with its
 * progress and the outcome of each purchase, so a page can follow it.
 */
export const stripeImports = pgTable(
  'stripe_imports',
  {
    id: uuid('id').primaryKey(),
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    customerUserId: text('customer_user_id').notNull(),
    stripeCustomerId: text('stripe_customer_id'),
    /** The `sub_…` / `pi_…` ids asked for; empty when the customer's whole history is imported. */
    tokens: jsonb('tokens').$type<string[]>().notNull(),
    status: text('status').notNull(),
    total: integer('total'),
    done: integer('done').notNull().default(0),
    results: jsonb('results').$type<unknown[]>().notNull(),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [
    index('stripe_imports_app_created_idx').on(table.appId, table.createdAt),
    index('stripe_imports_open_idx').on(table.createdAt).where(sql`status in ('queued', 'running')`),
  ],
)

/**
 * Derived from `events`, never written by a request: the number of events of each UTC day and type, counted
 * by the stats rollup worker up to its app's watermark (event_rollup_state). The overview reads these rows
 * and counts the events past the watermark live, so the answer is exact whatever the worker's progress.
 */
export const eventDayCounts = pgTable(
  'event_day_counts',
  {
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    environment: text('environment').notNull(),
    /** The UTC day of the events' event_datetime (their business time, not when they were written). */
    day: date('day', { mode: 'string' }).notNull(),
    eventType: text('event_type').notNull(),
    count: integer('count').notNull(),
  },
  (table) => [primaryKey({ columns: [table.appId, table.environment, table.day, table.eventType] })],
)

/** The stats rollup's progress in one app; the row is also what a worker claims (FOR UPDATE SKIP LOCKED). */
export const eventRollupState = pgTable('event_rollup_state', {
  appId: uuid('app_id')
    .primaryKey()
    .references(() => apps.id, { onDelete: 'cascade' }),
  /** Every event of the app with feed_seq <= this is counted in event_day_counts, and no other. */
  rolledUpTo: bigint('rolled_up_to', { mode: 'number' }).notNull().default(0),
  /** The app's highest feed_seq seen at checkpoint_at: rolled up once the safety lag has passed. */
  checkpointSeq: bigint('checkpoint_seq', { mode: 'number' }),
  checkpointAt: timestamp('checkpoint_at', { withTimezone: true, mode: 'date' }),
  updatedAt: updatedAt(),
})
