import type { FakeStripe, StripeObject } from './fake-stripe.ts'

/** Builders of Stripe objects for the fake, with the fields Entitle reads (and Stripe's ids and shapes). */

let counter = 0
export function stripeId(prefix: string): string {
  counter += 1
  return `${prefix}_T${process.pid}x${Date.now().toString(36)}x${counter}`
}

export const DAY = 86_400
export const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000)
export const isoOf = (seconds: number) => new Date(seconds * 1000).toISOString()

export interface PaidPeriod {
  start: number
  end: number
  amount: number
  /** Set: the charge was refunded in full at this moment. */
  refundedAt?: number
}

export interface SubscriptionScenario {
  subscriptionId: string
  customerId: string
  productId: string
  priceId: string
  /** Invoice ids, oldest first. */
  invoiceIds: string[]
  chargeIds: string[]
  subscription: StripeObject
}

export interface ScenarioOptions {
  /** An existing customer of the fake to sell to; a new one by default. */
  customerId?: string
  customerUserId?: string
  trial?: { start: number; end: number }
  periods: PaidPeriod[]
  currency?: string
  livemode?: boolean
  status?: string
  cancelAtPeriodEnd?: boolean
  canceledAt?: number | null
  endedAt?: number | null
  productId?: string
  priceId?: string
  country?: string | null
}

function invoice(options: {
  id: string
  subscriptionId: string
  customerId: string
  productId: string
  priceId: string
  start: number
  end: number
  amount: number
  currency: string
  livemode: boolean
  status?: string
  attemptCount?: number
  metadata?: Record<string, string>
}): StripeObject {
  const paid = (options.status ?? 'paid') === 'paid'
  return {
    id: options.id,
    object: 'invoice',
    amount_paid: paid ? options.amount : 0,
    amount_due: options.amount,
    attempt_count: options.attemptCount ?? 1,
    billing_reason: 'subscription_cycle',
    created: options.start,
    currency: options.currency,
    customer: options.customerId,
    livemode: options.livemode,
    status: options.status ?? 'paid',
    status_transitions: { paid_at: paid ? options.start : null, finalized_at: options.start },
    period_start: options.start,
    period_end: options.start,
    parent: {
      type: 'subscription_details',
      quote_details: null,
      subscription_details: { subscription: options.subscriptionId, metadata: options.metadata ?? null },
    },
    lines: {
      object: 'list',
      has_more: false,
      data: [
        {
          id: `il_${options.id}`,
          object: 'line_item',
          amount: options.amount,
          currency: options.currency,
          period: { start: options.start, end: options.end },
          parent: {
            type: 'subscription_item_details',
            subscription_item_details: { proration: false, subscription: options.subscriptionId },
          },
          pricing: {
            type: 'price_details',
            price_details: { price: options.priceId, product: options.productId },
          },
        },
      ],
    },
  }
}

/** What a charge and the payment around it are made of. */
interface Payment {
  customerId: string
  amount: number
  currency: string
  created: number
  livemode: boolean
  /** Set: refunded in full at this moment. */
  refundedAt?: number
}

function charge(options: Payment & { id: string; paymentIntentId: string }): StripeObject {
  const refunded = options.refundedAt !== undefined
  return {
    id: options.id,
    object: 'charge',
    amount: options.amount,
    amount_refunded: refunded ? options.amount : 0,
    billing_details: { address: { country: null } },
    created: options.created,
    currency: options.currency,
    customer: options.customerId,
    livemode: options.livemode,
    paid: true,
    payment_intent: options.paymentIntentId,
    refunded,
    status: 'succeeded',
    refunds: {
      object: 'list',
      has_more: false,
      data: refunded
        ? [{ id: `re_${options.id}`, object: 'refund', amount: options.amount, created: options.refundedAt }]
        : [],
    },
  }
}

/** The payment intent, charge and invoice payment that paid an invoice; answers the charge id. */
function putInvoicePayment(fake: FakeStripe, options: Payment & { invoiceId: string }): string {
  const intentId = stripeId('pi')
  const chargeId = stripeId('ch')
  const { invoiceId, ...rest } = options
  fake.put(
    {
      id: intentId,
      object: 'payment_intent',
      amount: options.amount,
      amount_received: options.amount,
      created: options.created,
      currency: options.currency,
      customer: options.customerId,
      latest_charge: chargeId,
      livemode: options.livemode,
      metadata: {},
      status: 'succeeded',
    },
    charge({ id: chargeId, paymentIntentId: intentId, ...rest }),
    {
      id: stripeId('inpay'),
      object: 'invoice_payment',
      invoice: invoiceId,
      amount_paid: options.amount,
      created: options.created,
      currency: options.currency,
      is_default: true,
      livemode: options.livemode,
      status: 'paid',
      payment: { type: 'payment_intent', payment_intent: intentId },
    },
  )
  return chargeId
}

/** A customer, its subscription, and one paid invoice (with payment intent and charge) per period. */
export function putSubscription(fake: FakeStripe, options: ScenarioOptions): SubscriptionScenario {
  const currency = options.currency ?? 'usd'
  const livemode = options.livemode ?? false
  const customerId = options.customerId ?? stripeId('cus')
  const subscriptionId = stripeId('sub')
  const productId = options.productId ?? 'prod_Monthly'
  const priceId = options.priceId ?? 'price_Monthly999'
  const metadata: Record<string, string> = options.customerUserId
    ? { customer_user_id: options.customerUserId }
    : {}
  if (options.customerId === undefined) {
    fake.put({
      id: customerId,
      object: 'customer',
      address: options.country === null ? null : { country: options.country ?? 'DE' },
      livemode,
    })
  }
  const invoiceIds: string[] = []
  const chargeIds: string[] = []
  const periods: (PaidPeriod & { trial?: boolean })[] = [
    ...(options.trial
      ? [{ start: options.trial.start, end: options.trial.end, amount: 0, trial: true }]
      : []),
    ...options.periods,
  ]
  for (const period of periods) {
    const invoiceId = stripeId('in')
    invoiceIds.push(invoiceId)
    fake.put(
      invoice({
        id: invoiceId,
        subscriptionId,
        customerId,
        productId,
        priceId,
        currency,
        livemode,
        ...period,
        metadata,
      }),
    )
    if (period.amount === 0) continue
    chargeIds.push(
      putInvoicePayment(fake, {
        invoiceId,
        customerId,
        amount: period.amount,
        currency,
        created: period.start,
        livemode,
        ...(period.refundedAt === undefined ? {} : { refundedAt: period.refundedAt }),
      }),
    )
  }
  const last = periods[periods.length - 1] as PaidPeriod
  const subscription: StripeObject = {
    id: subscriptionId,
    object: 'subscription',
    customer: customerId,
    livemode,
    metadata,
    status: options.status ?? 'active',
    cancel_at_period_end: options.cancelAtPeriodEnd ?? false,
    cancel_at: null,
    canceled_at: options.canceledAt ?? null,
    ended_at: options.endedAt ?? null,
    cancellation_details: null,
    pause_collection: null,
    start_date: periods[0]?.start ?? 0,
    created: periods[0]?.start ?? 0,
    trial_start: options.trial?.start ?? null,
    trial_end: options.trial?.end ?? null,
    currency,
    items: {
      object: 'list',
      has_more: false,
      data: [
        {
          id: stripeId('si'),
          object: 'subscription_item',
          current_period_start: last.start,
          current_period_end: last.end,
          price: { id: priceId, object: 'price', product: productId, unit_amount: last.amount, currency },
        },
      ],
    },
  }
  fake.put(subscription, { id: productId, object: 'product', name: 'Monthly' })
  return { subscriptionId, customerId, productId, priceId, invoiceIds, chargeIds, subscription }
}

/** Adds a renewal invoice (paid, or failed with `status: 'open'`) to a subscription of the fake. */
export function putRenewal(
  fake: FakeStripe,
  scenario: SubscriptionScenario,
  period: { start: number; end: number; amount: number; status?: string },
): string {
  const invoiceId = stripeId('in')
  const livemode = Boolean(scenario.subscription.livemode)
  fake.put(
    invoice({
      id: invoiceId,
      subscriptionId: scenario.subscriptionId,
      customerId: scenario.customerId,
      productId: scenario.productId,
      priceId: scenario.priceId,
      currency: 'usd',
      livemode,
      ...period,
    }),
  )
  scenario.invoiceIds.push(invoiceId)
  if ((period.status ?? 'paid') === 'paid') {
    scenario.chargeIds.push(
      putInvoicePayment(fake, {
        invoiceId,
        customerId: scenario.customerId,
        amount: period.amount,
        currency: 'usd',
        created: period.start,
        livemode,
      }),
    )
  }
  return invoiceId
}

export interface OneTimeScenario {
  paymentIntentId: string
  chargeId: string
  customerId: string
}

/** A payment intent sold by a Checkout Session whose first line item is `productId` / `priceId`. */
export function putOneTimePurchase(
  fake: FakeStripe,
  options: {
    productId?: string
    priceId?: string
    amount: number
    currency?: string
    at: number
    refundedAt?: number
    customerUserId?: string
    livemode?: boolean
    status?: string
    /** An existing customer of the fake to sell to; a new one by default. */
    customerId?: string
  },
): OneTimeScenario {
  const currency = options.currency ?? 'usd'
  const livemode = options.livemode ?? false
  const customerId = options.customerId ?? stripeId('cus')
  const paymentIntentId = stripeId('pi')
  const chargeId = stripeId('ch')
  const productId = options.productId ?? 'prod_Lifetime'
  const priceId = options.priceId ?? 'price_Lifetime'
  const metadata: Record<string, string> = options.customerUserId
    ? { customer_user_id: options.customerUserId }
    : {}
  if (options.customerId === undefined) {
    fake.put({ id: customerId, object: 'customer', address: { country: 'FR' }, livemode })
  }
  fake.put(
    {
      id: paymentIntentId,
      object: 'payment_intent',
      amount: options.amount,
      amount_received: options.status && options.status !== 'succeeded' ? 0 : options.amount,
      created: options.at,
      currency,
      customer: customerId,
      latest_charge: chargeId,
      livemode,
      metadata,
      status: options.status ?? 'succeeded',
    },
    charge({
      id: chargeId,
      paymentIntentId,
      customerId,
      amount: options.amount,
      currency,
      created: options.at,
      livemode,
      ...(options.refundedAt === undefined ? {} : { refundedAt: options.refundedAt }),
    }),
    {
      id: stripeId('cs'),
      object: 'checkout.session',
      created: options.at,
      customer: customerId,
      livemode,
      metadata,
      client_reference_id: null,
      mode: 'payment',
      payment_intent: paymentIntentId,
      subscription: null,
      line_items: [
        {
          id: stripeId('li'),
          object: 'item',
          amount_total: options.amount,
          currency,
          quantity: 1,
          price: { id: priceId, object: 'price', product: productId, unit_amount: options.amount, currency },
        },
      ],
    },
  )
  return { paymentIntentId, chargeId, customerId }
}
