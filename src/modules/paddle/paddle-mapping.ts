import type { SubscriptionInput } from '../purchases/purchase-request.schemas.ts'
import { amountOf } from '../stripe/minor-units.ts'
import type { TransactionDraft } from '../stripe/store-import.ts'
import type { PaddlePurchase, PaddleSubscription, PaddleTransaction } from './paddle-api.ts'

/**
 * Paddle's purchases as set-transaction bodies, oldest first (pure; the caller fetched everything).
 *
 * - A subscription is one chain (`store_original_transaction_id` its `sub_…` id); each completed or paid
 *   transaction of it is one transaction (`txn_…`), lasting its billing period. One of 0 whose price has a
 *   trial period is a free trial.
 * - A transaction without subscription is a one-time purchase (both ids its `txn_…` id).
 * - An approved full refund adjustment refunds its transaction.
 * - The subscription's state (cancelled, cancellation scheduled, paused, past due) goes on its latest
 *   transaction.
 */

export type PaddleTransactionDraft = TransactionDraft

const PAID = new Set(['completed', 'paid'])
const UNKNOWN_COUNTRY = 'ZZ'
const iso = (text: string) => new Date(text).toISOString()
const ms = (text: string) => Date.parse(text)
/** `at`, or a second after `floor` when not later: these must come strictly after the purchase. */
const laterThan = (at: string, floor: string) =>
  ms(at) > ms(floor) ? iso(at) : new Date(ms(floor) + 1000).toISOString()

function common(transaction: PaddleTransaction, environment: 'Production' | 'Sandbox') {
  const price = transaction.items[0]?.price
  const currency = transaction.currency_code.toUpperCase()
  const country = transaction.address?.country_code ?? null
  const refund = (transaction.adjustments ?? []).find(
    (adjustment) =>
      adjustment.action === 'refund' && adjustment.status === 'approved' && adjustment.type !== 'partial',
  )
  const purchasedAt = iso(transaction.billed_at ?? transaction.created_at)
  return {
    candidates: price ? [`${price.product_id}:${price.id}`, price.product_id] : [],
    price,
    purchasedAt,
    fields: {
      store: 'paddle',
      environment,
      store_product_id: '',
      store_transaction_id: transaction.id,
      price: {
        country: country && /^[A-Za-z]{2}$/.test(country) ? country.toUpperCase() : UNKNOWN_COUNTRY,
        currency,
        value: amountOf(Number(transaction.details.totals.grand_total), currency),
      },
      purchased_at: purchasedAt,
      ...(refund
        ? { refunded_at: laterThan(refund.created_at, purchasedAt), cancellation_reason: 'refund' as const }
        : {}),
    },
  }
}

export function paddleTransactions(
  purchase: PaddlePurchase,
  environment: 'Production' | 'Sandbox',
): PaddleTransactionDraft[] {
  if (purchase.kind === 'one_time') {
    const transaction = purchase.transaction
    if (!PAID.has(transaction.status)) return []
    const { candidates, fields } = common(transaction, environment)
    return [
      {
        candidates,
        body: {
          purchase_type: 'one_time_purchase',
          ...fields,
          store_original_transaction_id: transaction.id,
        },
      },
    ]
  }
  const paid = purchase.transactions
    .filter((transaction) => PAID.has(transaction.status))
    .sort((a, b) => ms(a.billed_at ?? a.created_at) - ms(b.billed_at ?? b.created_at))
  const first = paid[0]
  if (!first) return []
  const originallyPurchasedAt = iso(first.billed_at ?? first.created_at)
  return paid.map((transaction, index): PaddleTransactionDraft => {
    const { candidates, price, purchasedAt, fields } = common(transaction, environment)
    const periodEnd =
      transaction.billing_period?.ends_at ?? purchase.subscription.current_billing_period?.ends_at
    const body: SubscriptionInput = {
      purchase_type: 'subscription',
      ...fields,
      store_original_transaction_id: purchase.subscription.id,
      originally_purchased_at: originallyPurchasedAt,
      expires_at: periodEnd ? laterThan(periodEnd, purchasedAt) : null,
      renew_status: true,
      ...(fields.price.value === 0 && price?.trial_period
        ? { offer: { category: 'introductory' as const, type: 'free_trial' as const } }
        : {}),
    }
    if (index === paid.length - 1) applySubscriptionState(body, purchase.subscription, purchase.transactions)
    return { candidates, body }
  })
}

function applySubscriptionState(
  body: SubscriptionInput,
  subscription: PaddleSubscription,
  transactions: PaddleTransaction[],
): void {
  const purchasedAt = body.purchased_at
  const cancelling = subscription.scheduled_change?.action === 'cancel'
  if (subscription.status === 'canceled' || subscription.status === 'paused' || cancelling) {
    body.renew_status = false
    const changedAt = subscription.canceled_at ?? subscription.paused_at
    body.renew_status_changed_at = changedAt && ms(changedAt) > ms(purchasedAt) ? iso(changedAt) : null
  }
  if (subscription.status === 'canceled' && body.refunded_at == null) {
    body.cancellation_reason = 'voluntarily_cancelled'
    const endedAt = subscription.canceled_at
    // Cancelled at once: access ends then, not at the end of the paid period.
    if (endedAt && body.expires_at && ms(endedAt) < ms(body.expires_at))
      body.expires_at = laterThan(endedAt, purchasedAt)
  }
  const failed = transactions.find(
    (transaction) => transaction.status === 'past_due' && ms(transaction.created_at) >= ms(purchasedAt),
  )
  if (subscription.status === 'past_due' && failed) {
    body.billing_issue_detected_at = laterThan(failed.created_at, purchasedAt)
  }
}
