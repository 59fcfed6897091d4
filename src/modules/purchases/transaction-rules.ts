import { AppError, type ErrorCode } from '../../errors.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import type {
  GrantAccessLevelBodyInput,
  RevokeAccessLevelBodyInput,
  SetTransactionBodyInput,
} from './purchase-request.schemas.ts'

export type { SetTransactionBodyInput } from './purchase-request.schemas.ts'

/** A set-transaction body after every rule has passed: both purchase types in one shape, instants in UTC. */
export interface NormalizedTransaction {
  purchaseType: 'subscription' | 'one_time_purchase'
  store: string
  environment: 'Production' | 'Sandbox'
  storeProductId: string
  storeTransactionId: string
  storeOriginalTransactionId: string
  isFamilyShared: boolean
  /** `country` and `currency` upper-cased. */
  price: { country: string; currency: string; value: number }
  /** Every instant is `new Date(x).toISOString()`: UTC, `Z`, milliseconds. */
  purchasedAt: string
  variationId: string | null
  /** An empty `id` counts as none (null). */
  offer: { category: string; type: string; id: string | null } | null
  refundedAt: string | null
  cancellationReason: string | null
  /** = purchasedAt for one-time purchases. */
  originallyPurchasedAt: string
  /** null for one-time purchases, and for a subscription without end. */
  expiresAt: string | null
  /** false for one-time purchases. */
  renewStatus: boolean
  renewStatusChangedAt: string | null
  billingIssueDetectedAt: string | null
  gracePeriodExpiresAt: string | null
}

/** Why a body that passed its schema is still refused: answered as 400 `code` at `source`. */
export interface RuleViolation {
  code: ErrorCode
  source: string | null
  message: string
}

export interface GrantRequest {
  accessLevelId: string
  /** null: now. */
  startsAt: string | null
  /** null: never. */
  expiresAt: string | null
}

export interface RevokeRequest {
  accessLevelId: string
  /** null: now. */
  revokeAt: string | null
}

// What ajv-formats' `date-time` accepts: `T`, `t` or a space between date and time, any number of
// fractional digits, and an offset `Z`, `+HH`, `+HHMM` or `+HH:MM`.
const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2})?)$/

/**
 * Epoch milliseconds of a request date-time, or null when it is not one. `Date.parse` alone refuses two
 * forms the schema lets through (an hour-only offset `+05` and the leap second `23:59:60`), so the text
 * is rewritten to `YYYY-MM-DDTHH:MM:SS.mmm±HH:MM` first. Digits past milliseconds are dropped, as
 * `Date.parse` does; a leap second counts as the first millisecond of the next minute. Instants before
 * year 1 or after year 9999 (UTC) are refused too: the database could not store them.
 */
export function parseInstant(text: string): number | null {
  const match = DATE_TIME.exec(text)
  if (!match) return null
  const [, date = '', hour, minute, second, fraction = '', zulu, sign, offsetHour, offsetMinute = '00'] =
    match
  if (!isCalendarDate(date)) return null
  const leap = second === '60'
  const millis = fraction.padEnd(3, '0').slice(0, 3)
  const offset = zulu ? 'Z' : `${sign}${offsetHour}:${offsetMinute}`
  const time = Date.parse(`${date}T${hour}:${minute}:${leap ? '59' : second}.${millis}${offset}`)
  if (Number.isNaN(time)) return null
  const result = leap ? time + 1000 : time
  return result >= EARLIEST && result <= LATEST ? result : null
}

// PostgreSQL has no year 0, and an offset can push 0001 or 9999 out of the four-digit years.
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z')
const LATEST = Date.parse('9999-12-31T23:59:59.999Z')

/** `Date.parse` rolls 2024-02-30 over into March instead of refusing it. */
function isCalendarDate(date: string): boolean {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  const probe = new Date(0)
  probe.setUTCFullYear(year, month - 1, day)
  return probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day
}

/** Thrown only when a date-time that passed the schema cannot be read; the error handler answers 400. */
class UnreadableDateTime extends Error {
  constructor(readonly source: string) {
    super(`${source} is not a date-time that can be read.`)
  }
}

function instant(value: string, source: string): string {
  const time = parseInstant(value)
  if (time === null) throw new UnreadableDateTime(source)
  return new Date(time).toISOString()
}

function nullableInstant(value: string | null | undefined, source: string): string | null {
  return value === null || value === undefined ? null : instant(value, source)
}

const after = (a: string, b: string) => Date.parse(a) > Date.parse(b)

function violation(code: ErrorCode, source: string | null, message: string) {
  return fail<RuleViolation>({ code, source, message })
}

/**
 * Checks the rules of set transaction that a schema cannot express and returns the body in one shape.
 * The first rule that fails wins, in this order:
 *
 *  1. `store_transaction_id_error`: a one-time purchase whose store_transaction_id differs from
 *     store_original_transaction_id.
 *  2. `one_time_purchase_trial_error`: a one-time purchase with offer.type `free_trial`.
 *  3. `missing_offer_id`: an offer whose category is not `introductory` without an offer.id.
 *  4. `free_trial_price_error`: offer.type `free_trial` with price.value other than 0.
 *  5. `family_share_price_error`: is_family_shared with price.value other than 0.
 *  6. `refund_fields_error`: refunded_at without cancellation_reason `refund`, or the other way round.
 *  7. `refund_date_error`: refunded_at not later than purchased_at.
 *  8. `originally_purchased_date_error`: originally_purchased_at later than purchased_at.
 *  9. `expires_date_error`: expires_at (when not null) not later than purchased_at.
 * 10. `renew_status_changed_date_error`: renew_status_changed_at not later than purchased_at.
 * 11. `billing_issue_detected_at_date_comparison_error`: billing_issue_detected_at not later than
 *     purchased_at.
 * 12. `grace_period_billing_error`: grace_period_expires_at without billing_issue_detected_at.
 * 13. `grace_period_expires_date_error`: grace_period_expires_at earlier than expires_at (not checked when
 *     expires_at is null).
 *
 * Rules 8 and 10–13 concern fields only subscriptions have; a one-time purchase's copies of them are
 * ignored like any unknown field. Before the rules, a date-time the schema let through but that cannot be
 * read is a `validation_error` at its field (cannot happen with the schema's `date-time` format).
 */
export function normalizeTransaction(
  body: SetTransactionBodyInput,
): Result<NormalizedTransaction, RuleViolation> {
  let normalized: NormalizedTransaction
  try {
    normalized = normalize(body)
  } catch (error) {
    if (error instanceof UnreadableDateTime)
      return violation('validation_error', error.source, 'Must be a valid date-time.')
    throw error
  }
  return check(normalized)
}

function normalize(body: SetTransactionBodyInput): NormalizedTransaction {
  const purchasedAt = instant(body.purchased_at, 'purchased_at')
  const offer = body.offer ?? null
  const common = {
    store: body.store,
    environment: body.environment ?? 'Production',
    storeProductId: body.store_product_id,
    storeTransactionId: body.store_transaction_id,
    storeOriginalTransactionId: body.store_original_transaction_id,
    isFamilyShared: body.is_family_shared ?? false,
    price: {
      country: body.price.country.toUpperCase(),
      currency: body.price.currency.toUpperCase(),
      value: body.price.value,
    },
    purchasedAt,
    variationId: body.variation_id ?? null,
    offer: offer && { category: offer.category, type: offer.type, id: offer.id || null },
    refundedAt: nullableInstant(body.refunded_at, 'refunded_at'),
    cancellationReason: body.cancellation_reason ?? null,
  }
  if (body.purchase_type === 'one_time_purchase') {
    return {
      purchaseType: 'one_time_purchase',
      ...common,
      originallyPurchasedAt: purchasedAt,
      expiresAt: null,
      renewStatus: false,
      renewStatusChangedAt: null,
      billingIssueDetectedAt: null,
      gracePeriodExpiresAt: null,
    }
  }
  return {
    purchaseType: 'subscription',
    ...common,
    originallyPurchasedAt: instant(body.originally_purchased_at, 'originally_purchased_at'),
    expiresAt: nullableInstant(body.expires_at, 'expires_at'),
    renewStatus: body.renew_status,
    renewStatusChangedAt: nullableInstant(body.renew_status_changed_at, 'renew_status_changed_at'),
    billingIssueDetectedAt: nullableInstant(body.billing_issue_detected_at, 'billing_issue_detected_at'),
    gracePeriodExpiresAt: nullableInstant(body.grace_period_expires_at, 'grace_period_expires_at'),
  }
}

function check(t: NormalizedTransaction): Result<NormalizedTransaction, RuleViolation> {
  const oneTime = t.purchaseType === 'one_time_purchase'
  if (oneTime && t.storeTransactionId !== t.storeOriginalTransactionId) {
    return violation(
      'store_transaction_id_error',
      'store_transaction_id',
      'For a one-time purchase, store_transaction_id must be the same as store_original_transaction_id.',
    )
  }
  if (oneTime && t.offer?.type === 'free_trial') {
    return violation(
      'one_time_purchase_trial_error',
      'offer.type',
      'A one-time purchase cannot be a free trial: offer.type free_trial is for subscriptions only.',
    )
  }
  if (t.offer && t.offer.category !== 'introductory' && t.offer.id === null) {
    return violation(
      'missing_offer_id',
      'offer.category',
      `An offer of category ${t.offer.category} needs offer.id; only introductory offers may go without one.`,
    )
  }
  if (t.offer?.type === 'free_trial' && t.price.value !== 0) {
    return violation(
      'free_trial_price_error',
      'offer.type',
      'A free trial (offer.type free_trial) must have price.value 0.',
    )
  }
  if (t.isFamilyShared && t.price.value !== 0) {
    return violation(
      'family_share_price_error',
      'is_family_shared',
      'A family-shared purchase (is_family_shared true) must have price.value 0.',
    )
  }
  const refundReason = t.cancellationReason === 'refund'
  if (t.refundedAt !== null && !refundReason) {
    return violation(
      'refund_fields_error',
      'refunded_at',
      'refunded_at is set, so cancellation_reason must be refund: the two are sent together or not at all.',
    )
  }
  if (t.refundedAt === null && refundReason) {
    return violation(
      'refund_fields_error',
      'refunded_at',
      'cancellation_reason is refund, so refunded_at is required: the two are sent together or not at all.',
    )
  }
  if (t.refundedAt !== null && !after(t.refundedAt, t.purchasedAt)) {
    return violation('refund_date_error', 'refunded_at', 'refunded_at must be later than purchased_at.')
  }
  if (after(t.originallyPurchasedAt, t.purchasedAt)) {
    return violation(
      'originally_purchased_date_error',
      'originally_purchased_at',
      'originally_purchased_at must be earlier than or the same as purchased_at.',
    )
  }
  if (t.expiresAt !== null && !after(t.expiresAt, t.purchasedAt)) {
    return violation('expires_date_error', 'expires_at', 'expires_at must be later than purchased_at.')
  }
  if (t.renewStatusChangedAt !== null && !after(t.renewStatusChangedAt, t.purchasedAt)) {
    return violation(
      'renew_status_changed_date_error',
      'renew_status_changed_at',
      'renew_status_changed_at must be later than purchased_at.',
    )
  }
  if (t.billingIssueDetectedAt !== null && !after(t.billingIssueDetectedAt, t.purchasedAt)) {
    return violation(
      'billing_issue_detected_at_date_comparison_error',
      'billing_issue_detected_at',
      'billing_issue_detected_at must be later than purchased_at.',
    )
  }
  if (t.gracePeriodExpiresAt !== null && t.billingIssueDetectedAt === null) {
    return violation(
      'grace_period_billing_error',
      'billing_issue_detected_at',
      'grace_period_expires_at is set, so billing_issue_detected_at is required: a grace period follows a billing issue.',
    )
  }
  if (t.gracePeriodExpiresAt !== null && t.expiresAt !== null && after(t.expiresAt, t.gracePeriodExpiresAt)) {
    return violation(
      'grace_period_expires_date_error',
      'grace_period_expires_at',
      'grace_period_expires_at must be later than or the same as expires_at.',
    )
  }
  return ok(t)
}

/**
 * A grant body with its instants normalized. Either date may be absent or null; the rest of the rules
 * (does the access level exist) need the database. A date-time the schema let through but that cannot be
 * read throws `AppError` `validation_error` (cannot happen with the schema's `date-time` format).
 */
export function normalizeGrant(body: GrantAccessLevelBodyInput): GrantRequest {
  return readable(() => ({
    accessLevelId: body.access_level_id,
    startsAt: nullableInstant(body.starts_at, 'starts_at'),
    expiresAt: nullableInstant(body.expires_at, 'expires_at'),
  }))
}

/** A revoke body with `revoke_at` normalized; whether it is in the past or after the expiry needs a clock and state. */
export function normalizeRevoke(body: RevokeAccessLevelBodyInput): RevokeRequest {
  return readable(() => ({
    accessLevelId: body.access_level_id,
    revokeAt: nullableInstant(body.revoke_at, 'revoke_at'),
  }))
}

function readable<T>(read: () => T): T {
  try {
    return read()
  } catch (error) {
    if (error instanceof UnreadableDateTime) {
      throw new AppError('validation_error', 'Must be a valid date-time.', { source: error.source })
    }
    throw error
  }
}
