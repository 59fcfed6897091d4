import type { SharingMode } from '../apps/apps.schemas.ts'
import type { NormalizedTransaction } from '../purchases/transaction-rules.ts'

/**
 * The entitlement model. Everything here is plain JSON: ledger entries, chain states and profile documents
 * are stored as json and folded again by the consistency test, so no Dates, Maps or class instances.
 * Instants are ISO strings from Date#toISOString, which compare correctly as strings.
 */

export type { SharingMode }

/** Access given by a grant or by a store product whose product is not in the catalog. */
export const DEFAULT_ACCESS_LEVEL_ID = 'premium'
export const SERVER_SIDE_PRODUCT = 'adapty_server_side_product'
export const SERVER_SIDE_STORE = 'adapty'

/** What a store product meant when the transaction was written; recorded so that a fold never re-resolves. */
export interface ResolvedProduct {
  /** The catalog's product_id, or null when no product claims the store product. */
  productId: string | null
  /** null: the product grants no access level (consumables). */
  accessLevelId: string | null
  type: 'subscription' | 'one_time' | 'consumable'
}

export interface TransactionEntry {
  kind: 'transaction'
  id: string
  profileId: string
  recordedAt: string
  /** A profile without customer user id always shares, whatever the app's mode. */
  profileAnonymous: boolean
  sharingMode: SharingMode
  /** The purchase id of this store transaction: new when first seen, the stored one after. */
  purchaseId: string
  product: ResolvedProduct
  /** price.value in USD at the app's rate, or null when the app has no rate for the currency. */
  priceUsd: number | null
  transaction: NormalizedTransaction
}

export interface GrantEntry {
  kind: 'grant'
  id: string
  profileId: string
  recordedAt: string
  accessLevelId: string
  startsAt: string
  expiresAt: string | null
}

export interface RevokeEntry {
  kind: 'revoke'
  id: string
  profileId: string
  recordedAt: string
  accessLevelId: string
  revokeAt: string
}

export interface ProfileDeletedEntry {
  kind: 'profile_deleted'
  id: string
  profileId: string
  recordedAt: string
}

export type LedgerEntry = TransactionEntry | GrantEntry | RevokeEntry | ProfileDeletedEntry

/** One store purchase chain: a subscription's transactions, or a single one-time purchase. */
export interface ChainState {
  store: string
  storeOriginalTransactionId: string
  kind: 'subscription' | 'one_time'
  /** Profiles holding the chain's access; the first is the parent, which transactional events go to. */
  holders: string[]
  product: ResolvedProduct
  latestPurchaseId: string
  /** The newest transaction by purchased_at (later writes win ties). */
  latest: NormalizedTransaction
  transactionCount: number
  /** The chain has had a paid, non-trial transaction. */
  everPaid: boolean
}

/** A chain as a holder's profile document keeps it: enough to render without reading anything else. */
export interface HeldChain {
  key: string
  kind: 'subscription' | 'one_time'
  accessLevelId: string | null
  consumable: boolean
  purchaseId: string
  latest: NormalizedTransaction
  /** A revoke cuts the access of the transaction that was latest when it was made; a renewal restores it. */
  revokedAt: string | null
  revokedTransactionId: string | null
  /** Set when another profile took the chain over (sharing mode transfer): access ends then. */
  lostAt: string | null
}

export interface Grant {
  grantId: string
  accessLevelId: string
  grantedAt: string
  startsAt: string
  expiresAt: string | null
  revokedAt: string | null
}

export interface ProfileEntitlements {
  chains: HeldChain[]
  purchases: HeldChain[]
  grants: Grant[]
}

export const EMPTY_ENTITLEMENTS: ProfileEntitlements = Object.freeze({
  chains: [],
  purchases: [],
  grants: [],
}) as unknown as ProfileEntitlements

export interface StoredTransaction {
  store: string
  storeTransactionId: string
  storeOriginalTransactionId: string
  purchaseId: string
  /** Revenue goes to the chain's parent when the transaction is first seen. */
  profileId: string
  record: NormalizedTransaction
  /** The USD price it was recorded with: kept by updates in place, so a later rate change does not move it. */
  priceUsd: number | null
  revenueUsd: number
}

export interface ProfileState {
  id: string
  customerUserId: string | null
  entitlements: ProfileEntitlements
  totalRevenueUsd: number
}

/** Keys are JSON pairs: any store id or transaction id is safe in them, and json can hold them. */
export function chainKeyOf(store: string, storeOriginalTransactionId: string): string {
  return JSON.stringify([store, storeOriginalTransactionId])
}

export function transactionKeyOf(store: string, storeTransactionId: string): string {
  return JSON.stringify([store, storeTransactionId])
}

/** The key of a store product: which catalog product (if any) claims it. */
export function productKeyOf(store: string, storeProductId: string): string {
  return JSON.stringify([store, storeProductId])
}

export const earlier = (a: string, b: string): string => (a <= b ? a : b)
export const later = (a: string, b: string): string => (a >= b ? a : b)
