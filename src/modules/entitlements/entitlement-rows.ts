import type { ProfileEntitlements, StoredTransaction } from './entitlement-model.ts'
import type { LockedProfile } from './entitlements.repository.ts'

/** Rows of the entitlement statements as the drivers return them, and their conversion to the model. */

export interface StoredTransactionRecord {
  store: string
  store_transaction_id: string
  store_original_transaction_id: string
  purchase_id: string
  profile_id: string
  record: StoredTransaction['record']
  price_usd: number | null
  revenue_usd: number
}

export const toStoredTransaction = (row: StoredTransactionRecord): StoredTransaction => ({
  store: row.store,
  storeTransactionId: row.store_transaction_id,
  storeOriginalTransactionId: row.store_original_transaction_id,
  purchaseId: row.purchase_id,
  profileId: row.profile_id,
  record: row.record,
  priceUsd: row.price_usd === null ? null : Number(row.price_usd),
  revenueUsd: Number(row.revenue_usd),
})

export const isoOf = (value: Date | string | null): string | null =>
  value === null ? null : (value instanceof Date ? value : new Date(value)).toISOString()

export interface LockedProfileRecord {
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

export const toLockedProfile = (row: LockedProfileRecord): LockedProfile => ({
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

export const byId = (rows: LockedProfileRecord[]) =>
  new Map(rows.map((row) => [row.id, toLockedProfile(row)]))
