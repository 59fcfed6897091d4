import { sql } from 'drizzle-orm'
import {
  boolean,
  date,
  doublePrecision,
  integer,
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

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()
const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()

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

export const schema = { operatorSettings, apps, apiKeys, accessLevels, profiles, profileInstallations }
