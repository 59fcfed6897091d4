import Stripe from 'stripe'
import { fail, ok, type Result } from '../../platform/result.ts'

/**
 * Reads what an import needs from Stripe's API through the official SDK. Everything is fetched before
 * anything is written, so a Stripe failure part-way leaves the database as it was.
 */

export interface StripeApiSettings {
  /** Stripe's API origin; tests point it at a fake server on loopback. */
  apiUrl: string
  timeoutMs: number
}

/** Why Stripe gave no answer to use: credentials refused or object missing, or Stripe itself failing. */
export type StripeFetchFailure = 'not_found' | 'unavailable'

export interface SubscriptionHistory {
  kind: 'subscription'
  subscription: Stripe.Subscription
  /** Every invoice of the subscription, with its payments. */
  invoices: Stripe.Invoice[]
  /** The customer's charges, with their refunds: how an invoice's refund is found. */
  charges: Stripe.Charge[]
  customer: Stripe.Customer | null
}

export interface OneTimePayment {
  kind: 'payment'
  paymentIntent: Stripe.PaymentIntent
  /** The Checkout Session that sold it, whose first line item names the product. */
  session: Stripe.Checkout.Session | null
  lineItem: Stripe.LineItem | null
  charges: Stripe.Charge[]
  customer: Stripe.Customer | null
}

export type StripePurchase = SubscriptionHistory | OneTimePayment

export function createStripeClient(secretKey: string, settings: StripeApiSettings): Stripe {
  const url = new URL(settings.apiUrl)
  const protocol = url.protocol === 'http:' ? 'http' : 'https'
  return new Stripe(secretKey, {
    host: url.hostname,
    port: url.port || (protocol === 'http' ? 80 : 443),
    protocol,
    timeout: settings.timeoutMs,
    // A retry would stretch a request past the caller's patience; the caller retries the whole import.
    maxNetworkRetries: 0,
    telemetry: false,
  })
}

/** Maps the SDK's errors to what the caller can tell the client; anything else is a bug and is rethrown. */
function classify(error: unknown): StripeFetchFailure {
  if (
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError ||
    error instanceof Stripe.errors.StripeInvalidRequestError
  ) {
    return 'not_found'
  }
  if (error instanceof Stripe.errors.StripeError) return 'unavailable'
  throw error
}

async function collect<T>(list: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of list) items.push(item)
  return items
}

const customerIdOf = (customer: string | { id: string } | null): string | null =>
  customer === null ? null : typeof customer === 'string' ? customer : customer.id

async function customerOf(client: Stripe, id: string | null): Promise<Stripe.Customer | null> {
  if (id === null) return null
  const customer = await client.customers.retrieve(id)
  return customer.deleted ? null : customer
}

async function chargesOf(client: Stripe, filter: { customer: string } | { payment_intent: string }) {
  return collect(client.charges.list({ ...filter, limit: 100, expand: ['data.refunds'] }))
}

export async function fetchSubscriptionHistory(
  client: Stripe,
  subscriptionId: string,
): Promise<Result<SubscriptionHistory, StripeFetchFailure>> {
  try {
    const subscription = await client.subscriptions.retrieve(subscriptionId)
    const invoices = await collect(
      client.invoices.list({ subscription: subscriptionId, limit: 100, expand: ['data.payments'] }),
    )
    const customerId = customerIdOf(subscription.customer)
    const charges = customerId === null ? [] : await chargesOf(client, { customer: customerId })
    return ok({
      kind: 'subscription',
      subscription,
      invoices,
      charges,
      customer: await customerOf(client, customerId),
    })
  } catch (error) {
    return fail(classify(error))
  }
}

export async function fetchOneTimePayment(
  client: Stripe,
  paymentIntentId: string,
): Promise<Result<OneTimePayment, StripeFetchFailure>> {
  try {
    const paymentIntent = await client.paymentIntents.retrieve(paymentIntentId)
    const sessions = await client.checkout.sessions.list({ payment_intent: paymentIntentId, limit: 1 })
    const session = sessions.data[0] ?? null
    const lineItems = session ? await client.checkout.sessions.listLineItems(session.id, { limit: 1 }) : null
    const charges = await chargesOf(client, { payment_intent: paymentIntentId })
    return ok({
      kind: 'payment',
      paymentIntent,
      session,
      lineItem: lineItems?.data[0] ?? null,
      charges,
      customer: await customerOf(client, customerIdOf(paymentIntent.customer)),
    })
  } catch (error) {
    return fail(classify(error))
  }
}

/** The subscription an invoice payment by this payment intent paid for, if any (webhooks about charges). */
export async function subscriptionOfPayment(
  client: Stripe,
  paymentIntentId: string,
): Promise<Result<string | null, StripeFetchFailure>> {
  try {
    const payments = await client.invoicePayments.list({
      payment: { type: 'payment_intent', payment_intent: paymentIntentId },
      limit: 1,
      expand: ['data.invoice'],
    })
    const invoice = payments.data[0]?.invoice
    if (!invoice || typeof invoice === 'string' || invoice.deleted) return ok(null)
    return ok(subscriptionIdOfInvoice(invoice))
  } catch (error) {
    return fail(classify(error))
  }
}

export function subscriptionIdOfInvoice(invoice: Stripe.Invoice): string | null {
  const subscription = invoice.parent?.subscription_details?.subscription ?? null
  return subscription === null ? null : typeof subscription === 'string' ? subscription : subscription.id
}

export function paymentIntentIdOf(value: string | { id: string } | null | undefined): string | null {
  return value == null ? null : typeof value === 'string' ? value : value.id
}

/** What a customer bought: every subscription, and the succeeded payments that paid no invoice. */
export interface CustomerPurchaseIds {
  subscriptions: string[]
  payments: string[]
}

/**
 * The purchases of a Stripe customer, oldest first. A payment intent that paid a subscription's invoice is
 * part of that subscription's history, so it is not listed again as a one-time purchase.
 */
export async function listCustomerPurchases(
  client: Stripe,
  customerId: string,
): Promise<Result<CustomerPurchaseIds, StripeFetchFailure>> {
  try {
    const subscriptions = await collect(
      client.subscriptions.list({ customer: customerId, status: 'all', limit: 100 }),
    )
    const intents = await collect(client.paymentIntents.list({ customer: customerId, limit: 100 }))
    const payments: string[] = []
    for (const intent of intents.filter((candidate) => candidate.status === 'succeeded')) {
      const paid = await client.invoicePayments.list({
        payment: { type: 'payment_intent', payment_intent: intent.id },
        limit: 1,
      })
      if (paid.data.length === 0) payments.push(intent.id)
    }
    const oldestFirst = <T extends { created: number; id: string }>(items: T[]) =>
      [...items].sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1))
    return ok({
      subscriptions: oldestFirst(subscriptions).map((subscription) => subscription.id),
      payments: oldestFirst(intents.filter((intent) => payments.includes(intent.id))).map(
        (intent) => intent.id,
      ),
    })
  } catch (error) {
    return fail(classify(error))
  }
}
