import { formatDateTime, formatInstant } from '../../platform/datetime.ts'
import type { EventDraft } from './apply-entry.ts'
import { isTrialTransaction } from './apply-entry.ts'
import { type ProfileEntitlements, SERVER_SIDE_PRODUCT, SERVER_SIDE_STORE } from './entitlement-model.ts'
import { type AccessSource, selectSources, statusAt } from './render-entitlements.ts'

/**
 * The stored form of an event: Adapty's webhook body (root fields and event_properties, contract §6.3–6.5),
 * built when the event is written so that delivery, replays and the feed all send the same bytes.
 */

export interface EventProfileInfo {
  id: string
  customerUserId: string | null
  email: string | null
  createdAt: Date
  integrationIds: Record<string, string>
  idfv: string | null
  idfa: string | null
  advertisingId: string | null
  userAgent: string | null
  ipCountry: string | null
  entitlements: ProfileEntitlements
  totalRevenueUsd: number
}

export interface BuiltEvent {
  id: string
  profileId: string
  eventType: string
  eventDatetime: string
  environment: string
  payload: Record<string, unknown>
}

const iso = (value: string | null | undefined): string | null =>
  value === null || value === undefined ? null : formatInstant(value)

function days(from: string, to: string | null): string | null {
  if (to === null) return null
  const count = Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000)
  return `${count} ${count === 1 ? 'day' : 'days'}`
}

function hasActiveAccess(document: ProfileEntitlements, at: string): boolean {
  for (const source of selectSources(document, at).values()) {
    if (statusAt(source, at) === 'active') return true
  }
  return false
}

function transactionProperties(draft: EventDraft): Record<string, unknown> {
  const subject = draft.transaction
  if (!subject) return {}
  const txn = subject.record
  const trial = isTrialTransaction(txn)
  const isSubscription = txn.purchaseType === 'subscription'
  const refunded = txn.refundedAt !== null
  const price = txn.price.value
  const properties: Record<string, unknown> = {
    store: txn.store,
    environment: txn.environment,
    vendor_product_id: txn.storeProductId,
    base_plan_id: null,
    transaction_id: txn.storeTransactionId,
    original_transaction_id: txn.storeOriginalTransactionId,
    purchase_date: iso(txn.purchasedAt),
    original_purchase_date: iso(txn.originallyPurchasedAt),
    subscription_expires_at: isSubscription ? iso(refunded ? txn.refundedAt : txn.expiresAt) : null,
    price_local: trial ? null : price,
    price_usd: trial ? null : subject.priceUsd,
    currency: txn.price.currency,
    store_country: txn.price.country,
    variation_id: txn.variationId,
    store_offer_category: txn.offer?.category ?? null,
    store_offer_discount_type: txn.offer?.type ?? null,
    promotional_offer_id: txn.offer?.id ?? null,
    store_offer_number_of_periods: null,
    paywall_name: null,
    paywall_revision: '1',
    ab_test_name: null,
    ab_test_revision: null,
    cohort_name: null,
    developer_id: null,
    rate_after_first_year: false,
  }
  if (isSubscription) {
    properties.cancellation_reason = draft.extra?.cancellation_reason ?? txn.cancellationReason
    properties.will_renew = txn.renewStatus && !refunded
    properties.is_in_grace_period = txn.gracePeriodExpiresAt !== null && txn.billingIssueDetectedAt !== null
    properties.is_refund = refunded
    properties.is_lifetime = txn.expiresAt === null
    properties.trial_duration = draft.eventType.startsWith('trial_')
      ? days(txn.purchasedAt, txn.expiresAt)
      : null
  }
  return properties
}

/**
 * The object literals in this file spell every key out: on Node 20's V8, a literal that spreads an object
 * and then adds keys of its own (`{ ...base, more: 1 }`) took about a microsecond per added key, which made
 * building one access_level_updated payload cost some 20 µs (a tenth of a set transaction's CPU).
 */
function accessLevelProperties(
  source: AccessSource | undefined,
  accessLevelId: string,
  at: string,
): Record<string, unknown> {
  if (!source) {
    return { access_level_id: accessLevelId, is_active: false, expires_at: null, starts_at: null }
  }
  const isActive = statusAt(source, at) === 'active'
  const expiresAt = iso(source.end)
  const startsAt = iso(source.startsAt)
  const isLifetime = source.end === null
  if (source.origin.kind === 'grant') {
    const grant = source.origin.grant
    return {
      access_level_id: accessLevelId,
      is_active: isActive,
      expires_at: expiresAt,
      starts_at: startsAt,
      is_lifetime: isLifetime,
      currency: 'USD',
      activated_at: iso(grant.startsAt),
      store: SERVER_SIDE_STORE,
      vendor_product_id: SERVER_SIDE_PRODUCT,
      transaction_id: grant.grantId,
      original_transaction_id: grant.grantId,
      purchase_date: iso(grant.grantedAt),
      original_purchase_date: iso(grant.grantedAt),
      renewed_at: null,
      subscription_expires_at: iso(source.end),
      will_renew: false,
      is_in_grace_period: false,
      is_refund: false,
      billing_issue_detected_at: null,
      cancellation_reason: grant.revokedAt !== null ? 'adapty_revoked' : null,
      environment: 'Production',
      base_plan_id: null,
      active_introductory_offer_type: null,
      active_promotional_offer_id: null,
      active_promotional_offer_type: null,
    }
  }
  const chain = source.origin.chain
  const txn = chain.latest
  const graceRunning =
    txn.billingIssueDetectedAt !== null && txn.gracePeriodExpiresAt !== null && txn.gracePeriodExpiresAt > at
  return {
    access_level_id: accessLevelId,
    is_active: isActive,
    expires_at: expiresAt,
    starts_at: startsAt,
    is_lifetime: isLifetime,
    currency: 'USD',
    activated_at: iso(txn.originallyPurchasedAt),
    store: txn.store,
    vendor_product_id: txn.storeProductId,
    transaction_id: txn.storeTransactionId,
    original_transaction_id: txn.storeOriginalTransactionId,
    purchase_date: iso(txn.purchasedAt),
    original_purchase_date: iso(txn.originallyPurchasedAt),
    renewed_at: txn.storeTransactionId !== txn.storeOriginalTransactionId ? iso(txn.purchasedAt) : null,
    subscription_expires_at: iso(txn.expiresAt),
    will_renew: chain.kind === 'subscription' && txn.renewStatus && txn.refundedAt === null,
    is_in_grace_period: graceRunning,
    is_refund: txn.refundedAt !== null,
    billing_issue_detected_at: iso(txn.billingIssueDetectedAt),
    cancellation_reason: txn.cancellationReason,
    environment: txn.environment,
    base_plan_id: null,
    active_introductory_offer_type: txn.offer?.category === 'introductory' ? txn.offer.type : null,
    active_promotional_offer_id: txn.offer?.category === 'promotional' ? txn.offer.id : null,
    active_promotional_offer_type: txn.offer?.category === 'promotional' ? txn.offer.type : null,
    trial_duration: isTrialTransaction(txn) ? days(txn.purchasedAt, txn.expiresAt) : null,
    variation_id: txn.variationId,
    store_country: txn.price.country,
  }
}

export function buildEvent(
  draft: EventDraft,
  context: {
    id: string
    /** The moment the change is written; what is_active and profile_has_access_level are judged at. */
    at: string
    profile: EventProfileInfo
    sharing: { profile_id: string; customer_user_id: string | null }[] | null
  },
): BuiltEvent {
  const { profile, at } = context
  const source =
    draft.accessLevelId !== undefined
      ? selectSources(profile.entitlements, at).get(draft.accessLevelId)
      : undefined
  // Made here, so filled in place: the keys it has keep their places, the rest follow in this order.
  const properties =
    draft.eventType === 'access_level_updated'
      ? accessLevelProperties(source, draft.accessLevelId ?? '', at)
      : transactionProperties(draft)
  const environment =
    (properties.environment as string | undefined) ?? draft.transaction?.record.environment ?? 'Production'
  if (draft.extra) Object.assign(properties, draft.extra)
  const eventDatetime = iso(draft.eventDatetime) as string
  properties.environment = environment
  properties.event_datetime = eventDatetime
  properties.profile_event_id = context.id
  properties.profile_id = profile.id
  properties.profile_country = profile.ipCountry
  properties.profile_ip_address = null
  properties.profile_has_access_level = hasActiveAccess(profile.entitlements, at)
  properties.profile_total_revenue_usd = profile.totalRevenueUsd
  const payload = {
    profile_id: profile.id,
    customer_user_id: profile.customerUserId,
    idfv: profile.idfv,
    idfa: profile.idfa,
    advertising_id: profile.advertisingId,
    profile_install_datetime: formatDateTime(profile.createdAt),
    user_agent: profile.userAgent,
    email: profile.email,
    event_type: draft.eventType,
    event_datetime: eventDatetime,
    event_api_version: 1,
    profiles_sharing_access_level: context.sharing,
    integration_ids: Object.keys(profile.integrationIds).length > 0 ? profile.integrationIds : null,
    event_properties: properties,
  }
  return {
    id: context.id,
    profileId: profile.id,
    eventType: draft.eventType,
    eventDatetime: draft.eventDatetime,
    environment,
    payload,
  }
}
