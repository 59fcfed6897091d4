import type Stripe from 'stripe'
import type { SubscriptionInput } from '../purchases/purchase-request.schemas.ts'
import { amountOf } from './minor-units.ts'
import type { TransactionDraft } from './store-import.ts'
import type { OneTimePayment, SubscriptionHistory } from './stripe-api.ts'
import { paymentIntentIdOf } from './stripe-api.ts'

/**
 * Turns what Stripe said about a purchase into set-transaction bodies, oldest first, so that the import
 * goes through the same rules and the same engine as any other store. Pure: the caller fetched everything.
 *
 * - A subscription is one chain: `store_original_transaction_id` is the subscription id, and every paid
 *   invoice is one transaction (`store_transaction_id` the invoice id). A paid invoice of 0 inside the
 *   subscription's trial is a free trial.
 * - A one-time purchase is its payment intent (both ids the `pi_…` id).
 * - A fully refunded charge refunds its transaction (Stripe's partial refunds are not refunds here).
 * - The subscription's own state (renewal off, cancelled, a failed renewal) goes on the latest paid invoice.
 * - Test mode (`livemode: false`) is the Sandbox environment.
 */

export type StripeTransaction = TransactionDraft

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString()

/** `at`, or one second after `floor` when `at` is not later: the rules want these strictly after purchase. */
const laterThan = (at: number, floor: number) => (at > floor ? at : floor + 1)

/** No country known: ISO 3166's code for an unknown country (the field is required). */
export const UNKNOWN_COUNTRY = 'ZZ'

function countryOf(customer: Stripe.Customer | null, charges: Stripe.Charge[]): string {
  const fromCharge = charges.find((charge) => charge.billing_details?.address?.country)
  const country = customer?.address?.country ?? fromCharge?.billing_details.address?.country ?? null
  return country && /^[A-Za-z]{2}$/.test(country) ? country.toUpperCase() : UNKNOWN_COUNTRY
}

function candidatesFor(product: string | null, price: string | null): string[] {
  if (product === null) return price === null ? [] : [price]
  return price === null ? [product] : [`${product}:${price}`, product]
}

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value == null ? null : typeof value === 'string' ? value : value.id

/** The moment of a full refund of the charge, or null when it is not fully refunded. */
function fullRefundAt(charge: Stripe.Charge | undefined, now: number): number | null {
  if (!charge?.refunded) return null
  const refunds = charge.refunds?.data ?? []
  // Listed without its refunds (it should not be, they are expanded): the refund is known from now on.
  return refunds.length > 0 ? Math.max(...refunds.map((refund) => refund.created)) : now
}

/** The charge that paid an invoice: through its payments' payment intent or charge. */
function chargeOfInvoice(invoice: Stripe.Invoice, charges: Stripe.Charge[]): Stripe.Charge | undefined {
  for (const payment of invoice.payments?.data ?? []) {
    const intent = paymentIntentIdOf(payment.payment.payment_intent)
    const chargeId = idOf(payment.payment.charge)
    const found = charges.find(
      (charge) => charge.id === chargeId || (intent !== null && idOf(charge.payment_intent) === intent),
    )
    if (found) return found
  }
  return undefined
}

function subscriptionLine(invoice: Stripe.Invoice): Stripe.InvoiceLineItem | undefined {
  const lines = invoice.lines?.data ?? []
  return (
    lines.find(
      (line) =>
        line.parent?.type === 'subscription_item_details' &&
        !line.parent.subscription_item_details?.proration,
    ) ?? lines[0]
  )
}

const paidAtOf = (invoice: Stripe.Invoice) => invoice.status_transitions?.paid_at ?? invoice.created

/** Subscription states in which it will not renew by itself. */
function renews(subscription: Stripe.Subscription): boolean {
  return (
    !['canceled', 'incomplete_expired', 'paused'].includes(subscription.status) &&
    !subscription.cancel_at_period_end &&
    subscription.cancel_at === null &&
    subscription.pause_collection === null
  )
}

export function subscriptionTransactions(
  history: SubscriptionHistory,
  nowSeconds: number,
): StripeTransaction[] {
  const { subscription, charges } = history
  const paid = history.invoices
    .filter((invoice) => invoice.status === 'paid')
    .sort((a, b) => paidAtOf(a) - paidAtOf(b) || a.created - b.created)
  const first = paid[0]
  if (!first) return []
  const environment = subscription.livemode ? 'Production' : 'Sandbox'
  const country = countryOf(history.customer, charges)
  const item = subscription.items.data[0]
  const originallyPurchasedAt = iso(paidAtOf(first))
  const latest = paid[paid.length - 1] as Stripe.Invoice

  return paid.map((invoice): StripeTransaction => {
    const line = subscriptionLine(invoice)
    const details = line?.pricing?.price_details
    const product = details?.product ?? idOf(item?.price.product) ?? null
    const price = idOf(details?.price) ?? item?.price.id ?? null
    const purchasedAt = paidAtOf(invoice)
    const periodEnd = laterThan(line?.period.end ?? invoice.period_end, purchasedAt)
    const inTrial =
      invoice.amount_paid === 0 &&
      subscription.trial_start !== null &&
      subscription.trial_end !== null &&
      (line?.period.start ?? purchasedAt) >= subscription.trial_start &&
      (line?.period.end ?? periodEnd) <= subscription.trial_end
    const refundedAt = fullRefundAt(chargeOfInvoice(invoice, charges), nowSeconds)
    const body: SubscriptionInput = {
      purchase_type: 'subscription',
      store: 'stripe',
      environment,
      store_product_id: '',
      store_transaction_id: invoice.id,
      store_original_transaction_id: subscription.id,
      price: {
        country,
        currency: invoice.currency.toUpperCase(),
        value: amountOf(invoice.amount_paid, invoice.currency),
      },
      purchased_at: iso(purchasedAt),
      originally_purchased_at: originallyPurchasedAt,
      expires_at: iso(periodEnd),
      renew_status: true,
      ...(inTrial ? { offer: { category: 'introductory' as const, type: 'free_trial' as const } } : {}),
      ...(refundedAt === null
        ? {}
        : { refunded_at: iso(laterThan(refundedAt, purchasedAt)), cancellation_reason: 'refund' as const }),
    }
    if (invoice === latest) applySubscriptionState(body, history, purchasedAt, periodEnd)
    return { candidates: candidatesFor(product, price), body }
  })
}

/** What the subscription says now, told on its latest paid invoice. */
function applySubscriptionState(
  body: SubscriptionInput,
  history: SubscriptionHistory,
  purchasedAt: number,
  periodEnd: number,
): void {
  const { subscription } = history
  if (!renews(subscription)) {
    body.renew_status = false
    const changedAt = subscription.canceled_at ?? subscription.ended_at
    body.renew_status_changed_at = changedAt !== null && changedAt > purchasedAt ? iso(changedAt) : null
  }
  const failedRenewal = history.invoices.find(
    (invoice) =>
      (invoice.status === 'open' || invoice.status === 'uncollectible') &&
      invoice.attempt_count > 0 &&
      invoice.created >= purchasedAt,
  )
  // Stripe has no grace period: a failed renewal is a billing issue, and access ends with the period.
  if (failedRenewal) body.billing_issue_detected_at = iso(laterThan(failedRenewal.created, purchasedAt))
  if (subscription.status === 'canceled' && body.refunded_at == null) {
    const endedAt = subscription.ended_at
    // Cancelled at once: access ends then, not at the end of the paid period.
    if (endedAt !== null && endedAt < periodEnd) body.expires_at = iso(laterThan(endedAt, purchasedAt))
    body.cancellation_reason =
      subscription.cancellation_details?.reason === 'payment_failed'
        ? 'billing_error'
        : 'voluntarily_cancelled'
  }
}

export function oneTimeTransaction(payment: OneTimePayment, nowSeconds: number): StripeTransaction | null {
  const intent = payment.paymentIntent
  if (intent.status !== 'succeeded') return null
  const price = payment.lineItem?.price ?? null
  const charge =
    payment.charges.find((candidate) => candidate.id === idOf(intent.latest_charge)) ?? payment.charges[0]
  const purchasedAt = charge?.created ?? intent.created
  const refundedAt = fullRefundAt(charge, nowSeconds)
  return {
    candidates: candidatesFor(idOf(price?.product), price?.id ?? null),
    body: {
      purchase_type: 'one_time_purchase',
      store: 'stripe',
      environment: intent.livemode ? 'Production' : 'Sandbox',
      store_product_id: '',
      store_transaction_id: intent.id,
      store_original_transaction_id: intent.id,
      price: {
        country: countryOf(payment.customer, payment.charges),
        currency: intent.currency.toUpperCase(),
        value: amountOf(intent.amount_received, intent.currency),
      },
      purchased_at: iso(purchasedAt),
      ...(refundedAt === null
        ? {}
        : { refunded_at: iso(laterThan(refundedAt, purchasedAt)), cancellation_reason: 'refund' as const }),
    },
  }
}

/** Who the purchase belongs to by Stripe's own data: `customer_user_id` in metadata, or the Checkout reference. */
export function customerUserIdInMetadata(
  ...sources: (
    | { metadata?: Stripe.Metadata | null; client_reference_id?: string | null }
    | null
    | undefined
  )[]
): string | null {
  for (const source of sources) {
    const id = source?.metadata?.customer_user_id ?? source?.client_reference_id ?? null
    if (id && id.length <= 255) return id
  }
  return null
}
