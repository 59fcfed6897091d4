import { sql } from 'drizzle-orm'
import {
  bigint,
  boolean,
  date,
  doublePrecision,
  foreignKey,
  index,
  integer,
  json,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'

// Every tenant-owned table carries app_id; repositories always filter by it.

export const createdAt = () =>
  timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()
export const updatedAt = () =>
  timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()

/** Instance-wide settings of the operator (not of an app), such as the admin token's hash. */
export const operatorSettings = pgTable('operator_settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: updatedAt(),
})

export const apps = pgTable('apps', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  /** null: the server's DEFAULT_RATE_LIMIT_PER_MINUTE applies. */
  rateLimitPerMinute: integer('rate_limit_per_minute'),
  /** How access is shared between profiles holding one store purchase: enabled | transfer | disabled. */
  sharingMode: text('sharing_mode').notNull().default('enabled'),
  sandboxSharingMode: text('sandbox_sharing_mode').notNull().default('enabled'),
  /** Currency code to USD per unit; null means the bundled snapshot (src/modules/apps/exchange-rates.ts). */
  exchangeRates: jsonb('exchange_rates').$type<Record<string, number>>(),
  /** Web store credentials: write-only in the admin API, read only to call the store. */
  stripeSecretKey: text('stripe_secret_key'),
  stripeWebhookSecret: text('stripe_webhook_secret'),
  paddleApiKey: text('paddle_api_key'),
  createdAt: createdAt(),
})

export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey(),
  appId: uuid('app_id')
    .notNull()
    .references(() => apps.id, { onDelete: 'cascade' }),
  kind: text('kind', { enum: ['secret', 'public'] }).notNull(),
  /** SHA-256 of the whole key, hex; the key itself is never stored. */
  keyHash: text('key_hash').notNull().unique(),
  /** What an operator may see: the prefix and the last four characters. */
  hint: text('hint').notNull(),
  createdAt: createdAt(),
})

export const accessLevels = pgTable(
  'access_levels',
  {
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ columns: [table.appId, table.id] })],
)

export interface StoredCustomAttribute {
  key: string
  value: string | number
}

export const profiles = pgTable(
  'profiles',
  {
    id: uuid('id').primaryKey(),
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    customerUserId: text('customer_user_id'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    gender: text('gender'),
    email: text('email'),
    phoneNumber: text('phone_number'),
    birthday: date('birthday', { mode: 'string' }),
    ipCountry: text('ip_country'),
    ipV4Address: text('ip_v4_address'),
    storeCountry: text('store_country'),
    store: text('store'),
    storeAccountToken: text('store_account_token'),
    attStatus: smallint('att_status'),
    analyticsDisabled: boolean('analytics_disabled'),
    customAttributes: jsonb('custom_attributes')
      .$type<StoredCustomAttribute[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    integrationIds: jsonb('integration_ids')
      .$type<Record<string, string>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    refundSaverConsent: boolean('refund_saver_consent'),
    refundSaverPreference: text('refund_saver_preference'),
    /** Kept up to date by the entitlement engine; read as-is. */
    totalRevenueUsd: doublePrecision('total_revenue_usd').notNull().default(0),
    /** Hash of what segments are computed from, refreshed on every write that changes it. */
    segmentHash: text('segment_hash').notNull(),
    /**
     * The entitlement projection (src/modules/entitlements): held subscription chains, one-time purchases and
     * grants, kept up to date in the same transaction as every ledger entry; GET profile renders it as-is.
     */
    entitlements: json('entitlements')
      .$type<unknown>()
      .notNull()
      .default(sql`'{"chains":[],"purchases":[],"grants":[]}'::json`),
    /** The last per-profile event sequence number handed out. */
    eventSeq: bigint('event_seq', { mode: 'number' }).notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [uniqueIndex('profiles_app_customer_user_id_key').on(table.appId, table.customerUserId)],
)

/** One row per device of a profile (Adapty's installation_meta). */
export const profileInstallations = pgTable(
  'profile_installations',
  {
    profileId: uuid('profile_id')
      .notNull()
      .references(() => profiles.id, { onDelete: 'cascade' }),
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    deviceId: text('device_id').notNull(),
    platform: text('platform'),
    device: text('device'),
    locale: text('locale'),
    os: text('os'),
    timezone: text('timezone'),
    userAgent: text('user_agent'),
    appBuild: text('app_build'),
    appVersion: text('app_version'),
    adaptySdkVersion: text('adapty_sdk_version'),
    idfa: text('idfa'),
    idfv: text('idfv'),
    advertisingId: text('advertising_id'),
    androidId: text('android_id'),
    androidAppSetId: text('android_app_set_id'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [primaryKey({ columns: [table.profileId, table.deviceId] })],
)

/** The catalog: what a store product grants. */
export const products = pgTable(
  'products',
  {
    id: uuid('id').primaryKey(),
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    /** The operator's own id for the product, unique per app. */
    productId: text('product_id').notNull(),
    accessLevelId: text('access_level_id').notNull(),
    /** subscription | one_time | consumable */
    type: text('type').notNull(),
    /** P1W | P1M | P3M | P6M | P1Y, or null */
    period: text('period'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    uniqueIndex('products_app_product_id_key').on(table.appId, table.productId),
    // An access level in use by a product cannot be deleted.
    foreignKey({
      columns: [table.appId, table.accessLevelId],
      foreignColumns: [accessLevels.appId, accessLevels.id],
      name: 'products_access_level_fk',
    }),
  ],
)

/** Which store products a product stands for; one store product belongs to at most one product of an app. */
export const productStoreProducts = pgTable(
  'product_store_products',
  {
    appId: uuid('app_id').notNull(),
    productUuid: uuid('product_uuid')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    store: text('store').notNull(),
    storeProductId: text('store_product_id').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.appId, table.store, table.storeProductId] }),
    index('product_store_products_product_idx').on(table.productUuid),
  ],
)

/**
 * The append-only ledger: every set transaction, grant, revoke and profile deletion, with everything that was
 * resolved when it was written (product, settings, USD price), so that folding it again is deterministic.
 * profile_id has no foreign key on purpose: a deleted profile's ledger stays.
 */
export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    id: uuid('id').notNull(),
    // No foreign key: rows here are written by the hundred per second, and the app id always comes from
    // an authenticated key; a key check per row and a lock on the app row would cost every write.
    appId: uuid('app_id').notNull(),
    profileId: uuid('profile_id').notNull(),
    kind: text('kind').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'date' }).notNull(),
    entry: json('entry').$type<unknown>().notNull(),
  },
  (table) => [index('ledger_entries_app_seq_idx').on(table.appId, table.seq)],
)

/** Projection: the current version of every store transaction (updated in place by the same id). */
export const storeTransactions = pgTable(
  'store_transactions',
  {
    // No foreign key: rows here are written by the hundred per second, and the app id always comes from
    // an authenticated key; a key check per row and a lock on the app row would cost every write.
    appId: uuid('app_id').notNull(),
    store: text('store').notNull(),
    storeTransactionId: text('store_transaction_id').notNull(),
    storeOriginalTransactionId: text('store_original_transaction_id').notNull(),
    purchaseId: uuid('purchase_id').notNull(),
    /** The profile the revenue is attributed to (the chain's parent when first seen). */
    profileId: uuid('profile_id').notNull(),
    record: json('record').$type<unknown>().notNull(),
    /** The price in USD at the rate of the day the transaction was first recorded; null: no rate. */
    priceUsd: doublePrecision('price_usd'),
    revenueUsd: doublePrecision('revenue_usd').notNull().default(0),
    updatedAt: updatedAt(),
  },
  (table) => [primaryKey({ columns: [table.appId, table.store, table.storeTransactionId] })],
)

/** Projection: one row per store purchase chain (store + original transaction id) and who holds it. */
export const purchaseChains = pgTable(
  'purchase_chains',
  {
    // No foreign key: rows here are written by the hundred per second, and the app id always comes from
    // an authenticated key; a key check per row and a lock on the app row would cost every write.
    appId: uuid('app_id').notNull(),
    store: text('store').notNull(),
    storeOriginalTransactionId: text('store_original_transaction_id').notNull(),
    state: json('state').$type<unknown>().notNull(),
    /** The end moment whose expiry events have been written; time-driven, so not part of the ledger fold. */
    endEventsWrittenFor: timestamp('end_events_written_for', { withTimezone: true, mode: 'date' }),
    updatedAt: updatedAt(),
  },
  (table) => [primaryKey({ columns: [table.appId, table.store, table.storeOriginalTransactionId] })],
)

/** The outbox: every event, written in the transaction of the change that caused it. */
export const events = pgTable(
  'events',
  {
    /** Adapty's profile_event_id. */
    id: uuid('id').primaryKey(),
    /** Global order for the feed cursor. */
    feedSeq: bigint('feed_seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    // No foreign key: rows here are written by the hundred per second, and the app id always comes from
    // an authenticated key; a key check per row and a lock on the app row would cost every write.
    appId: uuid('app_id').notNull(),
    profileId: uuid('profile_id').notNull(),
    /** Per-profile sequence number, from 1. */
    profileSeq: bigint('profile_seq', { mode: 'number' }).notNull(),
    eventType: text('event_type').notNull(),
    eventDatetime: timestamp('event_datetime', { withTimezone: true, mode: 'date' }).notNull(),
    environment: text('environment').notNull(),
    payload: json('payload').$type<unknown>().notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex('events_profile_seq_key').on(table.appId, table.profileId, table.profileSeq),
    // A profile's slice of the feed uses events_profile_seq_key: its sequence follows the feed's order.
    index('events_app_feed_idx').on(table.appId, table.feedSeq),
  ],
)

/** Work that falls due because time passes: expiries, grant starts, scheduled revokes. */
export const scheduledJobs = pgTable(
  'scheduled_jobs',
  {
    id: uuid('id').primaryKey(),
    // No foreign key: rows here are written by the hundred per second, and the app id always comes from
    // an authenticated key; a key check per row and a lock on the app row would cost every write.
    appId: uuid('app_id').notNull(),
    profileId: uuid('profile_id').notNull(),
    kind: text('kind').notNull(),
    /** What the job is about, such as a chain key or an access level id. */
    subject: text('subject').notNull(),
    dueAt: timestamp('due_at', { withTimezone: true, mode: 'date' }).notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    // One job per subject: a write moves its due time instead of adding a job.
    uniqueIndex('scheduled_jobs_key').on(table.appId, table.profileId, table.kind, table.subject),
    index('scheduled_jobs_due_idx').on(table.dueAt),
  ],
)

/** Stored first answers of server-side writes sent with an Idempotency-Key header. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    appId: uuid('app_id')
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** SHA-256 of method, path and body: the same key with another request is refused. */
    requestHash: text('request_hash').notNull(),
    /** running | done */
    state: text('state').notNull(),
    /** A running entry whose lease has passed (its process died) may be taken over. */
    lockedUntil: timestamp('locked_until', { withTimezone: true, mode: 'date' }).notNull(),
    responseStatus: integer('response_status'),
    responseHeaders: jsonb('response_headers').$type<Record<string, string>>(),
    responseBody: text('response_body'),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.appId, table.key] }),
    index('idempotency_keys_expires_idx').on(table.expiresAt),
  ],
)
