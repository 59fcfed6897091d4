import { createHmac } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type FakeServer, sendJson, startFakeServer } from './fake-server.ts'

/**
 * A fake Stripe API on loopback that the real `stripe` SDK talks to (STRIPE_API_URL). It serves the
 * endpoints Entitle reads, with Stripe's list pagination (`has_more`, `starting_after`, newest first),
 * `expand`, Bearer authentication and Stripe's error bodies, and it can fail on purpose: answer 500, or
 * never answer (a timeout). Objects are kept as given; only the fields Entitle reads need to be filled.
 */

export type StripeObject = Record<string, unknown> & { id: string; object: string }

export interface FakeStripe extends FakeServer {
  secretKey: string
  /** Adds or replaces an object (by id). */
  put(...objects: StripeObject[]): void
  get(id: string): StripeObject | undefined
}

/** Page size of list endpoints whatever `limit` asks, so that a few objects already take several pages. */
const PAGE_SIZE = 2

const send = sendJson

function stripeError(response: ServerResponse, status: number, type: string, message: string, code?: string) {
  send(response, status, { error: { type, message, ...(code ? { code } : {}) } })
}

/** `expand[0]=data.payments` and `expand[]=…` alike. */
function expansions(url: URL): string[] {
  return [...url.searchParams.entries()].filter(([key]) => key.startsWith('expand')).map(([, value]) => value)
}

export async function startFakeStripe(options: { secretKey?: string } = {}): Promise<FakeStripe> {
  const secretKey = options.secretKey ?? 'sk_test_fake0123456789abcdef'
  const objects = new Map<string, StripeObject>()

  const ofType = (type: string) => [...objects.values()].filter((object) => object.object === type)

  function expandInvoice(invoice: StripeObject, expand: string[], prefix: string): StripeObject {
    if (!expand.includes(`${prefix}payments`)) {
      const { payments: _omitted, ...rest } = invoice
      return rest as StripeObject
    }
    const payments = ofType('invoice_payment').filter((payment) => payment.invoice === invoice.id)
    return {
      ...invoice,
      payments: { object: 'list', data: payments, has_more: false, url: '/v1/invoice_payments' },
    }
  }

  function expandCharge(charge: StripeObject, expand: string[]): StripeObject {
    if (expand.includes('data.refunds')) return charge
    const { refunds: _omitted, ...rest } = charge
    return rest as StripeObject
  }

  function list(response: ServerResponse, url: URL, items: StripeObject[]): void {
    const sorted = [...items].sort(
      (a, b) => Number(b.created ?? 0) - Number(a.created ?? 0) || (a.id < b.id ? 1 : -1),
    )
    const after = url.searchParams.get('starting_after')
    const start = after === null ? 0 : sorted.findIndex((item) => item.id === after) + 1
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 10), PAGE_SIZE)
    const data = sorted.slice(start, start + limit)
    send(response, 200, { object: 'list', data, has_more: start + limit < sorted.length, url: url.pathname })
  }

  function retrieve(response: ServerResponse, id: string, type: string): StripeObject | null {
    const found = objects.get(id)
    if (!found || found.object !== type) {
      stripeError(response, 404, 'invalid_request_error', `No such ${type}: '${id}'`, 'resource_missing')
      return null
    }
    return found
  }

  function route(request: IncomingMessage, response: ServerResponse, url: URL): void {
    const path = url.pathname
    const query = url.searchParams
    const expand = expansions(url)
    const single = /^\/v1\/(subscriptions|customers|payment_intents|products|prices)\/([^/]+)$/.exec(path)
    const lineItems = /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/.exec(path)
    if (single) {
      const match = single
      const type = {
        subscriptions: 'subscription',
        customers: 'customer',
        payment_intents: 'payment_intent',
        products: 'product',
        prices: 'price',
      }[match[1] as 'products']
      const found = retrieve(response, match[2] as string, type)
      if (found) send(response, 200, found)
      return
    }
    if (path === '/v1/subscriptions' || path === '/v1/payment_intents') {
      const customer = query.get('customer')
      const type = path === '/v1/subscriptions' ? 'subscription' : 'payment_intent'
      list(
        response,
        url,
        ofType(type).filter((item) => customer === null || item.customer === customer),
      )
      return
    }
    if (path === '/v1/invoices') {
      const subscription = query.get('subscription')
      const invoices = ofType('invoice').filter(
        (invoice) =>
          subscription === null ||
          (invoice.parent as { subscription_details?: { subscription?: string } } | null)
            ?.subscription_details?.subscription === subscription,
      )
      list(
        response,
        url,
        invoices.map((invoice) => expandInvoice(invoice, expand, 'data.')),
      )
      return
    }
    if (path === '/v1/charges') {
      const customer = query.get('customer')
      const intent = query.get('payment_intent')
      const charges = ofType('charge').filter(
        (charge) =>
          (customer === null || charge.customer === customer) &&
          (intent === null || charge.payment_intent === intent),
      )
      list(
        response,
        url,
        charges.map((charge) => expandCharge(charge, expand)),
      )
      return
    }
    if (path === '/v1/invoice_payments') {
      const intent = query.get('payment[payment_intent]')
      const payments = ofType('invoice_payment').filter(
        (payment) =>
          intent === null || (payment.payment as { payment_intent?: string }).payment_intent === intent,
      )
      const expanded = payments.map((payment) =>
        expand.includes('data.invoice')
          ? { ...payment, invoice: objects.get(payment.invoice as string) ?? payment.invoice }
          : payment,
      )
      list(response, url, expanded)
      return
    }
    if (path === '/v1/checkout/sessions') {
      const intent = query.get('payment_intent')
      list(
        response,
        url,
        ofType('checkout.session')
          .filter((session) => intent === null || session.payment_intent === intent)
          // Line items are their own endpoint; sessions are listed without them.
          .map(({ line_items: _items, ...session }) => session as StripeObject),
      )
      return
    }
    if (lineItems) {
      const session = retrieve(response, lineItems[1] as string, 'checkout.session')
      if (session) list(response, url, (session.line_items as StripeObject[] | undefined) ?? [])
      return
    }
    stripeError(
      response,
      404,
      'invalid_request_error',
      `Unrecognized request URL (${request.method}: ${path}).`,
    )
  }

  const server = await startFakeServer({
    serverError: (response) => stripeError(response, 500, 'api_error', 'Something went wrong on our end.'),
    handle: (request, response, url) => {
      if (request.headers.authorization !== `Bearer ${secretKey}`) {
        stripeError(response, 401, 'invalid_request_error', 'Invalid API Key provided.')
        return
      }
      if (request.method !== 'GET') {
        stripeError(response, 405, 'invalid_request_error', 'Only GET is faked.')
        return
      }
      route(request, response, url)
    },
  })

  return {
    ...server,
    secretKey,
    put: (...items) => {
      for (const item of items) objects.set(item.id, item)
    },
    get: (id) => objects.get(id),
  }
}

/** Stripe's signature header for `payload`: `t=…,v1=HMAC-SHA256(secret, "t.payload")`. */
export function stripeSignature(payload: string, secret: string, timestamp: number): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')
  return `t=${timestamp},v1=${digest}`
}

let eventCounter = 0
/** A Stripe event as its webhooks deliver it. */
export function stripeEvent(type: string, object: StripeObject, created: number): string {
  eventCounter += 1
  return JSON.stringify({
    id: `evt_test${eventCounter}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  })
}
