import type Stripe from 'stripe'
import type { Clock } from '../../platform/clock.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import {
  type ImportFailure,
  type NoProductsFound,
  resolveCatalogProducts,
  type StoreImporter,
} from './store-import.ts'
import type { StorePurchasesRepository } from './store-purchases.repository.ts'
import {
  createStripeClient,
  fetchOneTimePayment,
  fetchSubscriptionHistory,
  listCustomerPurchases,
  paymentIntentIdOf,
  type StripeApiSettings,
  type StripeFetchFailure,
  type StripePurchase,
  subscriptionIdOfInvoice,
  subscriptionOfPayment,
} from './stripe-api.ts'
import { customerUserIdInMetadata, oneTimeTransaction, subscriptionTransactions } from './stripe-mapping.ts'

export const STRIPE_STORE = 'stripe'

export type StripeFailure =
  | { kind: 'token_invalid' }
  | { kind: 'secret_key_not_found' }
  | { kind: 'stripe'; failure: StripeFetchFailure }
  | NoProductsFound
  | ImportFailure

/** What a webhook led to: applied, or left alone and why (Stripe is answered 200 either way). */
export type WebhookOutcome =
  | { applied: true; token: string }
  | { applied: false; reason: 'event_not_handled' | 'no_purchase' | 'user_unknown' | 'no_products_found' }

export type WebhookFailure =
  | { kind: 'signature_invalid'; message: string }
  | { kind: 'secret_key_not_found' }
  | { kind: 'stripe'; failure: StripeFetchFailure }
  | ImportFailure

const TOKEN = /^(sub|pi)_[A-Za-z0-9]{1,100}$/

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value == null ? null : typeof value === 'string' ? value : value.id

export function createStripeService(deps: {
  repo: StorePurchasesRepository
  importer: StoreImporter
  clock: Clock
  settings: StripeApiSettings
}) {
  const { repo, importer, clock, settings } = deps

  async function clientFor(appId: string): Promise<Stripe | null> {
    const secretKey = await repo.credential(appId, 'stripeSecretKey')
    return secretKey === null ? null : createStripeClient(secretKey, settings)
  }

  const fetchPurchase = (client: Stripe, token: string) =>
    token.startsWith('sub_') ? fetchSubscriptionHistory(client, token) : fetchOneTimePayment(client, token)

  /** The set-transaction bodies of a purchase, with the catalog's store_product_id, or the products missing. */
  function resolveProducts(appId: string, purchase: StripePurchase) {
    const nowSeconds = Math.floor(clock.now().getTime() / 1000)
    const drafts =
      purchase.kind === 'subscription'
        ? subscriptionTransactions(purchase, nowSeconds)
        : [oneTimeTransaction(purchase, nowSeconds)].filter((draft) => draft !== null)
    return resolveCatalogProducts(repo, appId, STRIPE_STORE, drafts)
  }

  function linksOf(purchase: StripePurchase): string[] {
    const main = purchase.kind === 'subscription' ? purchase.subscription.id : purchase.paymentIntent.id
    const customer =
      purchase.kind === 'subscription'
        ? idOf(purchase.subscription.customer)
        : idOf(purchase.paymentIntent.customer)
    return customer === null ? [main] : [main, customer]
  }

  /** Fetches the whole purchase first, then writes it: a Stripe failure leaves nothing written. */
  async function importPurchase(
    appId: string,
    client: Stripe,
    token: string,
    customerUserId: string | ((purchase: StripePurchase) => Promise<string | null>),
  ): Promise<Result<boolean, StripeFailure>> {
    const fetched = await fetchPurchase(client, token)
    if (!fetched.ok) return fail({ kind: 'stripe', failure: fetched.error })
    const purchase = fetched.value
    const owner = typeof customerUserId === 'string' ? customerUserId : await customerUserId(purchase)
    if (owner === null) return ok(false)
    const bodies = await resolveProducts(appId, purchase)
    if (!bodies.ok) return bodies
    const applied = await importer.apply(appId, {
      store: STRIPE_STORE,
      customerUserId: owner,
      transactions: bodies.value,
      links: linksOf(purchase),
    })
    return applied.ok ? ok(true) : applied
  }

  /** The subscription or payment intent a Stripe event is about, or null for events that change no purchase. */
  async function tokenOfEvent(
    client: Stripe,
    event: Stripe.Event,
  ): Promise<Result<string | null, StripeFetchFailure>> {
    const object = event.data.object as unknown as Record<string, unknown> & { id: string }
    if (event.type.startsWith('customer.subscription.')) return ok(object.id)
    if (event.type.startsWith('invoice.'))
      return ok(subscriptionIdOfInvoice(object as unknown as Stripe.Invoice))
    if (event.type === 'checkout.session.completed') {
      const session = object as unknown as Stripe.Checkout.Session
      return ok(idOf(session.subscription) ?? idOf(session.payment_intent))
    }
    const intent =
      event.type === 'payment_intent.succeeded'
        ? object.id
        : event.type === 'charge.refunded'
          ? paymentIntentIdOf((object as unknown as Stripe.Charge).payment_intent)
          : null
    if (intent === null) return ok(null)
    // A payment intent that paid a subscription's invoice is news about the subscription.
    const subscription = await subscriptionOfPayment(client, intent)
    if (!subscription.ok) return subscription
    return ok(subscription.value ?? intent)
  }

  return {
    /** The `sub_…` and `pi_…` ids of everything a Stripe customer bought, oldest first. */
    async customerPurchases(appId: string, customerId: string): Promise<Result<string[], StripeFailure>> {
      const client = await clientFor(appId)
      if (!client) return fail({ kind: 'secret_key_not_found' })
      const listed = await listCustomerPurchases(client, customerId)
      if (!listed.ok) return fail({ kind: 'stripe', failure: listed.error })
      return ok([...listed.value.subscriptions, ...listed.value.payments])
    },

    async hasSecretKey(appId: string): Promise<boolean> {
      return (await repo.credential(appId, 'stripeSecretKey')) !== null
    },

    /** Validates a `sub_…` or `pi_…` token and imports its history into the customer user id's profile. */
    async validate(
      appId: string,
      customerUserId: string,
      token: string,
    ): Promise<Result<true, StripeFailure>> {
      if (!TOKEN.test(token)) return fail({ kind: 'token_invalid' })
      const client = await clientFor(appId)
      if (!client) return fail({ kind: 'secret_key_not_found' })
      const imported = await importPurchase(appId, client, token, customerUserId)
      return imported.ok ? ok(true) : imported
    },

    /**
     * A Stripe webhook: verified with the app's signing secret, then the purchase it is about is fetched
     * again in full and imported, so that events arriving out of order or twice converge on Stripe's state.
     */
    async receiveWebhook(
      appId: string,
      payload: string,
      signature: string | undefined,
    ): Promise<Result<WebhookOutcome, WebhookFailure>> {
      const webhookSecret = await repo.credential(appId, 'stripeWebhookSecret')
      if (webhookSecret === null) {
        return fail({ kind: 'signature_invalid', message: 'This app has no Stripe webhook signing secret.' })
      }
      const client = await clientFor(appId)
      if (!client) return fail({ kind: 'secret_key_not_found' })
      let event: Stripe.Event
      try {
        event = client.webhooks.constructEvent(
          payload,
          signature ?? '',
          webhookSecret,
          300,
          undefined,
          // Milliseconds, unlike the header's seconds.
          clock.now().getTime(),
        )
      } catch (error) {
        return fail({ kind: 'signature_invalid', message: (error as Error).message })
      }
      const token = await tokenOfEvent(client, event)
      if (!token.ok) return fail({ kind: 'stripe', failure: token.error })
      if (token.value === null) return ok({ applied: false, reason: 'event_not_handled' })
      const object = event.data.object as {
        metadata?: Stripe.Metadata | null
        client_reference_id?: string | null
      }
      const imported = await importPurchase(appId, client, token.value, async (purchase) => {
        const fromStripe =
          purchase.kind === 'subscription'
            ? customerUserIdInMetadata(purchase.subscription, object)
            : customerUserIdInMetadata(purchase.paymentIntent, purchase.session, object)
        return fromStripe ?? (await repo.linkedCustomerUserId(appId, STRIPE_STORE, linksOf(purchase)))
      })
      if (!imported.ok) {
        const failure = imported.error
        if (failure.kind === 'no_products_found') return ok({ applied: false, reason: 'no_products_found' })
        if (failure.kind === 'stripe' && failure.failure === 'not_found') {
          return ok({ applied: false, reason: 'no_purchase' })
        }
        if (failure.kind === 'token_invalid') return ok({ applied: false, reason: 'no_purchase' })
        return fail(failure)
      }
      return ok(
        imported.value ? { applied: true, token: token.value } : { applied: false, reason: 'user_unknown' },
      )
    },
  }
}

export type StripeService = ReturnType<typeof createStripeService>
