import type { NormalizedTransaction } from '../purchases/transaction-rules.ts'
import {
  type ChainState,
  chainKeyOf,
  type GrantEntry,
  type HeldChain,
  type LedgerEntry,
  type ProfileEntitlements,
  type ProfileState,
  type RevokeEntry,
  type StoredTransaction,
  type TransactionEntry,
  transactionKeyOf,
} from './entitlement-model.ts'
import { accessSources, selectSources, statusAt, wireAccessLevel } from './render-entitlements.ts'

/**
 * The ledger's reducer. Applying an entry to the part of the world it touches gives the new state and the
 * events it causes at that moment; folding every entry of an app from an empty world gives the same state
 * as the stored projection (the consistency test checks exactly this). Pure: no clock, no ids, no I/O.
 */

export interface World {
  chains: Map<string, ChainState>
  transactions: Map<string, StoredTransaction>
  /** Profiles that exist; a deleted profile is absent. */
  profiles: Map<string, ProfileState>
}

export interface EventDraft {
  profileId: string
  eventType: string
  /** Business time of the event. */
  eventDatetime: string
  /** For transactional events: the chain and transaction they are about. */
  transaction?: {
    chainKey: string
    record: NormalizedTransaction
    product: ChainState['product']
    priceUsd: number | null
  }
  accessLevelId?: string
  /** Event-specific properties, such as cancellation_reason. */
  extra?: Record<string, unknown>
}

export function emptyWorld(): World {
  return { chains: new Map(), transactions: new Map(), profiles: new Map() }
}

export function isTrialTransaction(txn: NormalizedTransaction): boolean {
  if (txn.offer?.type === 'free_trial') return true
  return (
    txn.purchaseType === 'subscription' &&
    !txn.isFamilyShared &&
    txn.price.value === 0 &&
    txn.storeTransactionId === txn.storeOriginalTransactionId
  )
}

export function applyEntry(world: World, entry: LedgerEntry): EventDraft[] {
  switch (entry.kind) {
    case 'transaction':
      return applyTransaction(world, entry)
    case 'grant':
      return applyGrant(world, entry)
    case 'revoke':
      return applyRevoke(world, entry)
    case 'profile_deleted':
      world.profiles.delete(entry.profileId)
      return []
  }
}

/** The rendered access levels of some profiles, to tell afterwards which ones changed. */
function snapshotLevels(
  world: World,
  profileIds: Iterable<string>,
  now: string,
): Map<string, Map<string, string>> {
  const snapshot = new Map<string, Map<string, string>>()
  for (const id of profileIds) {
    const profile = world.profiles.get(id)
    if (!profile) continue
    const levels = new Map<string, string>()
    for (const [levelId, source] of selectSources(profile.entitlements, now)) {
      levels.set(levelId, JSON.stringify(wireAccessLevel(source, now)))
    }
    snapshot.set(id, levels)
  }
  return snapshot
}

function changedLevelEvents(
  world: World,
  before: Map<string, Map<string, string>>,
  now: string,
  always: { profileId: string; accessLevelId: string } | null = null,
): EventDraft[] {
  const after = snapshotLevels(world, before.keys(), now)
  const drafts: EventDraft[] = []
  for (const [profileId, levelsBefore] of before) {
    const levelsAfter = after.get(profileId) ?? new Map<string, string>()
    const ids = new Set([...levelsBefore.keys(), ...levelsAfter.keys()])
    for (const accessLevelId of [...ids].sort()) {
      const forced = always?.profileId === profileId && always.accessLevelId === accessLevelId
      if (forced || levelsBefore.get(accessLevelId) !== levelsAfter.get(accessLevelId)) {
        drafts.push({ profileId, eventType: 'access_level_updated', eventDatetime: now, accessLevelId })
      }
    }
  }
  if (
    always &&
    !drafts.some((d) => d.profileId === always.profileId && d.accessLevelId === always.accessLevelId)
  ) {
    drafts.push({
      profileId: always.profileId,
      eventType: 'access_level_updated',
      eventDatetime: now,
      accessLevelId: always.accessLevelId,
    })
  }
  return drafts
}

function withDocument(profile: ProfileState, change: (document: ProfileEntitlements) => ProfileEntitlements) {
  profile.entitlements = change(profile.entitlements)
}

function nextHolders(entry: TransactionEntry, before: string[]): string[] {
  const profileId = entry.profileId
  if (before.includes(profileId)) return before
  if (before.length === 0) return [profileId]
  // A profile without a customer user id always shares (Adapty: anonymous profiles of one store account).
  const mode = entry.profileAnonymous ? 'enabled' : entry.sharingMode
  if (mode === 'enabled') return [...before, profileId]
  if (mode === 'transfer') return [profileId]
  return before
}

function applyTransaction(world: World, entry: TransactionEntry): EventDraft[] {
  const txn = entry.transaction
  const now = entry.recordedAt
  const chainKey = chainKeyOf(txn.store, txn.storeOriginalTransactionId)
  const txnKey = transactionKeyOf(txn.store, txn.storeTransactionId)
  const previousChain = world.chains.get(chainKey) ?? null
  const previousTxn = world.transactions.get(txnKey) ?? null
  const holdersBefore = (previousChain?.holders ?? []).filter((id) => world.profiles.has(id))
  const holdersAfter = nextHolders(entry, holdersBefore)
  const before = snapshotLevels(world, new Set([...holdersBefore, ...holdersAfter, entry.profileId]), now)

  const kind = txn.purchaseType === 'subscription' ? 'subscription' : 'one_time'
  const isLatest =
    !previousChain ||
    previousChain.latest.storeTransactionId === txn.storeTransactionId ||
    txn.purchasedAt >= previousChain.latest.purchasedAt
  const chain: ChainState = {
    store: txn.store,
    storeOriginalTransactionId: txn.storeOriginalTransactionId,
    kind,
    holders: holdersAfter,
    product: isLatest || !previousChain ? entry.product : previousChain.product,
    latestPurchaseId: isLatest || !previousChain ? entry.purchaseId : previousChain.latestPurchaseId,
    latest: isLatest || !previousChain ? txn : previousChain.latest,
    transactionCount: (previousChain?.transactionCount ?? 0) + (previousTxn ? 0 : 1),
    everPaid: (previousChain?.everPaid ?? false) || (!isTrialTransaction(txn) && txn.price.value > 0),
  }
  world.chains.set(chainKey, chain)

  const revenueUsd = txn.refundedAt !== null ? 0 : (entry.priceUsd ?? 0)
  const attributedTo = previousTxn?.profileId ?? holdersAfter[0] ?? entry.profileId
  world.transactions.set(txnKey, {
    store: txn.store,
    storeTransactionId: txn.storeTransactionId,
    storeOriginalTransactionId: txn.storeOriginalTransactionId,
    purchaseId: entry.purchaseId,
    profileId: attributedTo,
    record: txn,
    priceUsd: entry.priceUsd,
    revenueUsd,
  })
  const revenueDelta = revenueUsd - (previousTxn?.revenueUsd ?? 0)
  const attributed = world.profiles.get(attributedTo)
  if (attributed && revenueDelta !== 0) attributed.totalRevenueUsd += revenueDelta

  const held = (existing: HeldChain | undefined): HeldChain => ({
    key: chainKey,
    kind,
    accessLevelId: chain.product.type === 'consumable' ? null : chain.product.accessLevelId,
    consumable: chain.product.type === 'consumable',
    purchaseId: chain.latestPurchaseId,
    latest: chain.latest,
    revokedAt: existing?.revokedAt ?? null,
    revokedTransactionId: existing?.revokedTransactionId ?? null,
    lostAt: null,
  })
  const listName = kind === 'subscription' ? 'chains' : 'purchases'
  for (const holderId of holdersAfter) {
    const profile = world.profiles.get(holderId)
    if (!profile) continue
    withDocument(profile, (document) => {
      const list = document[listName]
      const index = list.findIndex((c) => c.key === chainKey)
      const next = index === -1 ? [...list, held(undefined)] : list.map((c, i) => (i === index ? held(c) : c))
      return { ...document, [listName]: next }
    })
  }
  for (const formerId of holdersBefore) {
    if (holdersAfter.includes(formerId)) continue
    const profile = world.profiles.get(formerId)
    if (!profile) continue
    withDocument(profile, (document) => ({
      ...document,
      [listName]: document[listName].map((c) =>
        c.key === chainKey && c.lostAt === null ? { ...c, lostAt: now } : c,
      ),
    }))
  }

  const parent = holdersAfter[0] ?? entry.profileId
  const transactional = txn.isFamilyShared ? [] : transactionalEvents(entry, previousChain, previousTxn)
  const subject = { chainKey, record: txn, product: entry.product, priceUsd: entry.priceUsd }
  return [
    ...transactional.map(
      (draft): EventDraft => ({
        profileId: parent,
        eventType: draft.eventType,
        eventDatetime: draft.eventDatetime,
        extra: draft.extra,
        transaction: subject,
      }),
    ),
    ...changedLevelEvents(world, before, now),
  ]
}

type Draft = Omit<EventDraft, 'profileId'>

function transactionalEvents(
  entry: TransactionEntry,
  previousChain: ChainState | null,
  previousTxn: StoredTransaction | null,
): Draft[] {
  const txn = entry.transaction
  const now = entry.recordedAt
  const drafts: Draft[] = []
  const add = (eventType: string, eventDatetime: string, extra?: Record<string, unknown>) =>
    drafts.push(extra ? { eventType, eventDatetime, extra } : { eventType, eventDatetime })

  if (txn.purchaseType === 'one_time_purchase') {
    if (!previousTxn) add('non_subscription_purchase', txn.purchasedAt)
    if (txn.refundedAt !== null && previousTxn?.record.refundedAt == null) {
      add('non_subscription_purchase_refunded', txn.refundedAt, { cancellation_reason: 'refund' })
    }
    return drafts
  }

  const trial = isTrialTransaction(txn)
  const prefix = trial ? 'trial' : 'subscription'
  const earlierVersion = previousTxn?.record ?? null
  if (!previousTxn) {
    if (!previousChain) add(trial ? 'trial_started' : 'subscription_started', txn.purchasedAt)
    else if (isTrialTransaction(previousChain.latest) && !trial) add('trial_converted', txn.purchasedAt)
    else if (previousChain.latest.storeProductId !== txn.storeProductId)
      add('subscription_started', txn.purchasedAt)
    else add('subscription_renewed', txn.purchasedAt)
  }
  const wasRenewing = earlierVersion ? earlierVersion.renewStatus : true
  if (wasRenewing && !txn.renewStatus) add(`${prefix}_renewal_cancelled`, txn.renewStatusChangedAt ?? now)
  if (earlierVersion && !earlierVersion.renewStatus && txn.renewStatus) {
    add(`${prefix}_renewal_reactivated`, txn.renewStatusChangedAt ?? now)
  }
  if (txn.billingIssueDetectedAt !== null && earlierVersion?.billingIssueDetectedAt == null) {
    add('billing_issue_detected', txn.billingIssueDetectedAt)
  }
  if (txn.gracePeriodExpiresAt !== null && earlierVersion?.gracePeriodExpiresAt == null) {
    add('entered_grace_period', txn.billingIssueDetectedAt ?? now)
  }
  if (txn.refundedAt !== null && earlierVersion?.refundedAt == null) {
    add('subscription_refunded', txn.refundedAt, { cancellation_reason: 'refund' })
  } else if (
    txn.refundedAt === null &&
    txn.cancellationReason === 'upgraded' &&
    earlierVersion?.cancellationReason !== 'upgraded'
  ) {
    add('subscription_refunded', now, { cancellation_reason: 'upgraded' })
  }
  return drafts
}

function applyGrant(world: World, entry: GrantEntry): EventDraft[] {
  const profile = world.profiles.get(entry.profileId)
  if (!profile) return []
  const before = snapshotLevels(world, [profile.id], entry.recordedAt)
  withDocument(profile, (document) => ({
    ...document,
    // One grant per level: a new grant replaces the previous one, revoked or not.
    grants: [
      ...document.grants.filter((grant) => grant.accessLevelId !== entry.accessLevelId),
      {
        grantId: entry.id,
        accessLevelId: entry.accessLevelId,
        grantedAt: entry.recordedAt,
        startsAt: entry.startsAt,
        expiresAt: entry.expiresAt,
        revokedAt: null,
      },
    ],
  }))
  return changedLevelEvents(world, before, entry.recordedAt, {
    profileId: profile.id,
    accessLevelId: entry.accessLevelId,
  })
}

function applyRevoke(world: World, entry: RevokeEntry): EventDraft[] {
  const profile = world.profiles.get(entry.profileId)
  if (!profile) return []
  const now = entry.recordedAt
  const before = snapshotLevels(world, [profile.id], now)
  const cutAt = (current: string | null) =>
    current === null || entry.revokeAt < current ? entry.revokeAt : current
  const live = accessSources(profile.entitlements).filter(
    (source) => source.accessLevelId === entry.accessLevelId && statusAt(source, now) !== 'expired',
  )
  const grantIds = new Set(live.flatMap((s) => (s.origin.kind === 'grant' ? [s.origin.grant.grantId] : [])))
  const chainKeys = new Set(live.flatMap((s) => (s.origin.kind === 'chain' ? [s.origin.chain.key] : [])))
  const revokeChain = (chain: HeldChain): HeldChain => {
    if (!chainKeys.has(chain.key)) return chain
    const sameTransaction = chain.revokedTransactionId === chain.latest.storeTransactionId
    return {
      ...chain,
      revokedAt: sameTransaction ? cutAt(chain.revokedAt) : entry.revokeAt,
      revokedTransactionId: chain.latest.storeTransactionId,
    }
  }
  withDocument(profile, (document) => ({
    chains: document.chains.map(revokeChain),
    purchases: document.purchases.map(revokeChain),
    grants: document.grants.map((grant) =>
      grantIds.has(grant.grantId) ? { ...grant, revokedAt: cutAt(grant.revokedAt) } : grant,
    ),
  }))
  return changedLevelEvents(world, before, now, { profileId: profile.id, accessLevelId: entry.accessLevelId })
}

/**
 * What happens when a chain's access runs out: the expiry event on the parent and access_level_updated on
 * every holder. A refund already said it all when it was written, so a refunded chain ends silently.
 */
export function chainEndEvents(world: World, chainKey: string, chain: ChainState, end: string): EventDraft[] {
  if (chain.kind !== 'subscription' || chain.latest.refundedAt !== null) return []
  const holders = chain.holders.filter((id) => world.profiles.has(id))
  const parent = holders[0]
  if (parent === undefined) return []
  const txn = chain.latest
  const reason =
    txn.billingIssueDetectedAt !== null
      ? 'billing_error'
      : (txn.cancellationReason ?? (txn.renewStatus ? null : 'voluntarily_cancelled'))
  const drafts: EventDraft[] = []
  if (!txn.isFamilyShared) {
    drafts.push({
      profileId: parent,
      eventType: isTrialTransaction(txn) ? 'trial_expired' : 'subscription_expired',
      eventDatetime: end,
      transaction: { chainKey, record: txn, product: chain.product, priceUsd: null },
      extra: { cancellation_reason: reason },
    })
  }
  const accessLevelId = chain.product.type === 'consumable' ? null : chain.product.accessLevelId
  if (accessLevelId !== null) {
    for (const holderId of holders) {
      drafts.push({
        profileId: holderId,
        eventType: 'access_level_updated',
        eventDatetime: end,
        accessLevelId,
      })
    }
  }
  return drafts
}
