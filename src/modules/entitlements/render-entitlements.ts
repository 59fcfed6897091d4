import { formatInstant } from '../../platform/datetime.ts'
import type {
  WireAccessLevel,
  WireNonSubscription,
  WireSubscription,
} from '../profiles/profile-response.schemas.ts'
import {
  earlier,
  type Grant,
  type HeldChain,
  later,
  type ProfileEntitlements,
  SERVER_SIDE_PRODUCT,
  SERVER_SIDE_STORE,
} from './entitlement-model.ts'

/**
 * Turns a stored profile document into the wire lists at the moment `now`. It reads nothing but the document:
 * time only decides which of a level's sources is in force and whether a grace period still runs.
 */

const iso = (value: string | null): string | null => (value === null ? null : formatInstant(value))

/** When the access of a held chain ends, before any per-profile cut; null: it does not end. */
export function chainAccessEnd(chain: Pick<HeldChain, 'kind' | 'latest'>): string | null {
  const txn = chain.latest
  if (txn.refundedAt !== null) return txn.refundedAt
  if (chain.kind === 'one_time') return null
  if (txn.expiresAt === null) return null
  if (txn.billingIssueDetectedAt !== null && txn.gracePeriodExpiresAt !== null) {
    return later(txn.expiresAt, txn.gracePeriodExpiresAt)
  }
  return txn.expiresAt
}

function cut(end: string | null, at: string | null): string | null {
  if (at === null) return end
  return end === null ? at : earlier(end, at)
}

/** The end of a held chain's access for this profile, revokes and transfers included. */
export function heldChainEnd(chain: HeldChain): string | null {
  let end = chainAccessEnd(chain)
  if (chain.revokedAt !== null && chain.revokedTransactionId === chain.latest.storeTransactionId) {
    end = cut(end, chain.revokedAt)
  }
  return cut(end, chain.lostAt)
}

export function grantEnd(grant: Grant): string | null {
  return cut(grant.expiresAt, grant.revokedAt)
}

/** One way a profile can hold an access level. */
export interface AccessSource {
  accessLevelId: string
  startsAt: string | null
  end: string | null
  /** Where the source came from, for events and revokes. */
  origin: { kind: 'chain'; chain: HeldChain } | { kind: 'grant'; grant: Grant }
}

export function accessSources(document: ProfileEntitlements): AccessSource[] {
  const sources: AccessSource[] = []
  for (const chain of [...document.chains, ...document.purchases]) {
    if (chain.accessLevelId === null) continue
    sources.push({
      accessLevelId: chain.accessLevelId,
      startsAt: null,
      end: heldChainEnd(chain),
      origin: { kind: 'chain', chain },
    })
  }
  for (const grant of document.grants) {
    sources.push({
      accessLevelId: grant.accessLevelId,
      startsAt: grant.startsAt,
      end: grantEnd(grant),
      origin: { kind: 'grant', grant },
    })
  }
  return sources
}

export type SourceStatus = 'active' | 'future' | 'expired'

export function statusAt(source: Pick<AccessSource, 'startsAt' | 'end'>, now: string): SourceStatus {
  if (source.startsAt !== null && source.startsAt > now) {
    return source.end !== null && source.end <= source.startsAt ? 'expired' : 'future'
  }
  return source.end === null || source.end > now ? 'active' : 'expired'
}

/** A null end is later than any instant. */
const endRank = (end: string | null): string => end ?? '\uffff'

/**
 * The source in force for each access level: an active one (the longest lasting), else the next to start,
 * else the one that ended last. Ties go to the source listed later (the newer).
 */
export function selectSources(document: ProfileEntitlements, now: string): Map<string, AccessSource> {
  const chosen = new Map<string, { source: AccessSource; status: SourceStatus }>()
  const rank = { active: 2, future: 1, expired: 0 }
  for (const source of accessSources(document)) {
    const status = statusAt(source, now)
    const current = chosen.get(source.accessLevelId)
    if (!current || rank[status] > rank[current.status]) {
      chosen.set(source.accessLevelId, { source, status })
      continue
    }
    if (rank[status] < rank[current.status]) continue
    const better =
      status === 'future'
        ? (source.startsAt ?? '') <= (current.source.startsAt ?? '')
        : endRank(source.end) >= endRank(current.source.end)
    if (better) chosen.set(source.accessLevelId, { source, status })
  }
  return new Map([...chosen].map(([id, { source }]) => [id, source]))
}

function inGracePeriod(chain: HeldChain, now: string): boolean {
  const txn = chain.latest
  return (
    txn.refundedAt === null &&
    txn.billingIssueDetectedAt !== null &&
    txn.gracePeriodExpiresAt !== null &&
    txn.gracePeriodExpiresAt > now &&
    (txn.expiresAt === null || txn.expiresAt <= now)
  )
}

function renewalCancelledAt(chain: HeldChain): string | null {
  const txn = chain.latest
  if (chain.kind !== 'subscription' || txn.renewStatus) return null
  return txn.renewStatusChangedAt ?? txn.purchasedAt
}

function chainCancellationReason(chain: HeldChain): string | null {
  if (chain.revokedAt !== null && chain.revokedTransactionId === chain.latest.storeTransactionId) {
    return 'adapty_revoked'
  }
  return chain.latest.cancellationReason
}

export function wireAccessLevel(source: AccessSource, now: string): WireAccessLevel {
  if (source.origin.kind === 'grant') {
    const grant = source.origin.grant
    return {
      access_level_id: source.accessLevelId,
      store: SERVER_SIDE_STORE,
      store_product_id: SERVER_SIDE_PRODUCT,
      store_base_plan_id: null,
      store_transaction_id: grant.grantId,
      store_original_transaction_id: grant.grantId,
      offer: null,
      starts_at: iso(grant.startsAt),
      purchased_at: iso(grant.grantedAt) as string,
      originally_purchased_at: iso(grant.grantedAt) as string,
      expires_at: iso(source.end),
      renewal_cancelled_at: null,
      billing_issue_detected_at: null,
      is_in_grace_period: false,
      cancellation_reason: grant.revokedAt !== null ? 'adapty_revoked' : null,
    }
  }
  const chain = source.origin.chain
  const txn = chain.latest
  return {
    access_level_id: source.accessLevelId,
    store: txn.store,
    store_product_id: txn.storeProductId,
    store_base_plan_id: null,
    store_transaction_id: txn.storeTransactionId,
    store_original_transaction_id: txn.storeOriginalTransactionId,
    offer: txn.offer,
    starts_at: null,
    purchased_at: iso(txn.purchasedAt) as string,
    originally_purchased_at: iso(txn.originallyPurchasedAt) as string,
    expires_at: iso(source.end),
    renewal_cancelled_at: iso(renewalCancelledAt(chain)),
    billing_issue_detected_at: iso(txn.billingIssueDetectedAt),
    is_in_grace_period: inGracePeriod(chain, now),
    cancellation_reason: chainCancellationReason(chain),
  }
}

export function wireSubscription(chain: HeldChain, now: string): WireSubscription {
  const txn = chain.latest
  return {
    store: txn.store,
    store_product_id: txn.storeProductId,
    store_base_plan_id: null,
    store_transaction_id: txn.storeTransactionId,
    store_original_transaction_id: txn.storeOriginalTransactionId,
    offer: txn.offer,
    environment: txn.environment,
    purchased_at: iso(txn.purchasedAt) as string,
    originally_purchased_at: iso(txn.originallyPurchasedAt) as string,
    expires_at: iso(txn.expiresAt),
    renewal_cancelled_at: iso(renewalCancelledAt(chain)),
    billing_issue_detected_at: iso(txn.billingIssueDetectedAt),
    is_in_grace_period: inGracePeriod(chain, now),
    cancellation_reason: chainCancellationReason(chain),
  }
}

export function wireNonSubscription(chain: HeldChain): WireNonSubscription {
  const txn = chain.latest
  return {
    purchase_id: chain.purchaseId,
    store: txn.store,
    store_product_id: txn.storeProductId,
    store_base_plan_id: null,
    store_transaction_id: txn.storeTransactionId,
    store_original_transaction_id: txn.storeOriginalTransactionId,
    purchased_at: iso(txn.purchasedAt) as string,
    environment: txn.environment,
    is_refund: txn.refundedAt !== null,
    is_consumable: chain.consumable,
  }
}

export interface WireEntitlements {
  access_levels: WireAccessLevel[]
  subscriptions: WireSubscription[]
  non_subscriptions: WireNonSubscription[]
}

export function renderEntitlements(document: ProfileEntitlements, now: Date): WireEntitlements {
  const at = now.toISOString()
  const levels = [...selectSources(document, at).values()].sort((a, b) =>
    a.accessLevelId < b.accessLevelId ? -1 : a.accessLevelId > b.accessLevelId ? 1 : 0,
  )
  return {
    access_levels: levels.map((source) => wireAccessLevel(source, at)),
    subscriptions: document.chains
      .filter((chain) => chain.lostAt === null)
      .map((c) => wireSubscription(c, at)),
    non_subscriptions: document.purchases.filter((chain) => chain.lostAt === null).map(wireNonSubscription),
  }
}
