import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { eq } from 'drizzle-orm'
import { events, ledgerEntries, profiles } from '../../src/db/schema.ts'
import { fixedClock } from '../../src/platform/clock.ts'
import { startFakePaddle } from '../support/fake-paddle.ts'
import { buildTestApp, type Tenant, uniqueUserId } from '../support/harness.ts'
import { createProduct, eventTypesOf, traceOf } from '../support/purchases.ts'

// Paddle validation (contract §2.11): a fetch client against a fake Paddle on loopback.
const clock = fixedClock(new Date('2026-06-01T00:00:00Z'))
const fake = await startFakePaddle()
const h = await buildTestApp({ clock, env: { PADDLE_API_URL: fake.url, STORE_API_TIMEOUT_SECONDS: '0.5' } })

const PATH = '/purchase/paddle/token/validate/'
let counter = 0
const paddleId = (prefix: string) => {
  counter += 1
  return `${prefix}_01t${process.pid}x${Date.now().toString(36)}x${String(counter).padStart(4, '0')}`
}
const wire = (iso: string) => new Date(iso).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00')

async function paddleTenant(apiKey: string | null = fake.apiKey): Promise<Tenant> {
  const tenant = await h.createTenant()
  if (apiKey !== null) {
    const response = await h.admin({
      method: 'PATCH',
      url: `/admin/v1/apps/${tenant.appId}/settings`,
      payload: { paddle_api_key: apiKey },
    })
    assert.equal(response.statusCode, 200, response.body)
  }
  await createProduct(h, tenant.appId, {
    product_id: 'monthly',
    access_level_id: 'premium',
    type: 'subscription',
    period: 'P1M',
    store_products: [{ store: 'paddle', store_product_id: 'pro_monthly' }],
  })
  await createProduct(h, tenant.appId, {
    product_id: 'lifetime',
    access_level_id: 'premium',
    type: 'one_time',
    store_products: [{ store: 'paddle', store_product_id: 'pro_lifetime:pri_lifetime' }],
  })
  return tenant
}

function transaction(options: {
  subscriptionId?: string | null
  productId?: string
  priceId?: string
  at: string
  periodEnd?: string
  amount: number
  trial?: boolean
  refundedAt?: string
  status?: string
}) {
  const id = paddleId('txn')
  return {
    id,
    status: options.status ?? 'completed',
    subscription_id: options.subscriptionId ?? null,
    currency_code: 'EUR',
    origin: options.subscriptionId ? 'subscription_recurring' : 'web',
    created_at: options.at,
    billed_at: options.status === 'past_due' ? null : options.at,
    billing_period: options.periodEnd ? { starts_at: options.at, ends_at: options.periodEnd } : null,
    items: [
      {
        quantity: 1,
        price: {
          id: options.priceId ?? 'pri_monthly',
          product_id: options.productId ?? 'pro_monthly',
          trial_period: options.trial ? { interval: 'day', frequency: 7 } : null,
        },
      },
    ],
    details: { totals: { total: String(options.amount), grand_total: String(options.amount) } },
    address: { country_code: 'NL' },
    adjustments: options.refundedAt
      ? [
          {
            id: paddleId('adj'),
            action: 'refund',
            status: 'approved',
            type: 'full',
            created_at: options.refundedAt,
          },
        ]
      : [],
  }
}

/** A week's trial, two paid months, the second refunded, and the subscription cancelled then. */
function putTrialTwoMonthsRefund(productId = 'pro_monthly') {
  const subscriptionId = paddleId('sub')
  const txns = [
    transaction({
      subscriptionId,
      productId,
      at: '2026-01-01T00:00:00Z',
      periodEnd: '2026-01-08T00:00:00Z',
      amount: 0,
      trial: true,
    }),
    transaction({
      subscriptionId,
      productId,
      at: '2026-01-08T00:00:00Z',
      periodEnd: '2026-02-08T00:00:00Z',
      amount: 1299,
    }),
    transaction({
      subscriptionId,
      productId,
      at: '2026-02-08T00:00:00Z',
      periodEnd: '2026-03-08T00:00:00Z',
      amount: 1299,
      refundedAt: '2026-02-10T00:00:00Z',
    }),
  ]
  fake.put(...txns, {
    id: subscriptionId,
    status: 'canceled',
    currency_code: 'EUR',
    started_at: '2026-01-01T00:00:00Z',
    canceled_at: '2026-02-10T00:00:00Z',
    paused_at: null,
    current_billing_period: null,
    scheduled_change: null,
    items: [{ price: { id: 'pri_monthly', product_id: productId } }],
  })
  return { subscriptionId, txns }
}

const validate = (tenant: Tenant, body: unknown) => tenant.api({ method: 'POST', path: PATH, body })

function flatError(
  response: { statusCode: number; body: string; json(): unknown },
  status: number,
  code: string,
) {
  assert.equal(response.statusCode, status, response.body)
  const body = response.json() as { errors: string[]; error_code: string; status_code: number }
  assert.equal(body.error_code, code)
  assert.equal(body.status_code, status)
  assert.equal(body.errors.length, 1)
  return body.errors[0] as string
}

async function assertNothingWritten(tenant: Tenant) {
  const db = h.database.db
  assert.equal((await db.select().from(profiles).where(eq(profiles.appId, tenant.appId))).length, 0)
  assert.equal((await db.select().from(ledgerEntries).where(eq(ledgerEntries.appId, tenant.appId))).length, 0)
  assert.equal((await db.select().from(events).where(eq(events.appId, tenant.appId))).length, 0)
}

describe('POST /api/v2/server-side-api/purchase/paddle/token/validate/', () => {
  it('imports a subscription (trial, two months, refund) and answers the profile', async () => {
    const tenant = await paddleTenant()
    const user = uniqueUserId()
    const { subscriptionId, txns } = putTrialTwoMonthsRefund()
    const response = await validate(tenant, { customer_user_id: user, paddle_token: subscriptionId })
    assert.equal(response.statusCode, 200, response.body)
    const profile = response.json().data
    assert.equal(profile.customer_user_id, user)
    assert.equal(profile.total_revenue_usd > 0, true)
    assert.equal(profile.subscriptions.length, 1)
    const subscription = profile.subscriptions[0]
    assert.equal(subscription.store, 'paddle')
    assert.equal(subscription.store_product_id, 'pro_monthly')
    assert.equal(subscription.store_transaction_id, txns[2]?.id)
    assert.equal(subscription.store_original_transaction_id, subscriptionId)
    assert.equal(subscription.environment, 'Sandbox')
    assert.equal(subscription.cancellation_reason, 'refund')
    assert.equal(profile.access_levels[0].expires_at, wire('2026-02-10T00:00:00Z'))
    assert.deepEqual(await eventTypesOf(h, tenant.appId, profile.profile_id), [
      'trial_started',
      'access_level_updated',
      'trial_converted',
      'access_level_updated',
      'subscription_renewed',
      'subscription_renewal_cancelled',
      'subscription_refunded',
      'access_level_updated',
    ])
    // One paid month counts (in EUR at the bundled rate); the refunded one does not.
    const one = await validate(await paddleTenant(), {
      customer_user_id: uniqueUserId(),
      paddle_token: putOneTime({ amount: 1299 }),
    })
    assert.equal(profile.total_revenue_usd, one.json().data.total_revenue_usd)
  })

  it('a txn_ of a subscription imports the whole subscription; running it again changes nothing', async () => {
    const tenant = await paddleTenant()
    const user = uniqueUserId()
    const { subscriptionId, txns } = putTrialTwoMonthsRefund()
    const first = await validate(tenant, { customer_user_id: user, paddle_token: txns[1]?.id })
    assert.equal(first.statusCode, 200, first.body)
    const profile = first.json().data
    assert.equal(profile.subscriptions[0].store_original_transaction_id, subscriptionId)
    assert.equal(profile.subscriptions[0].store_transaction_id, txns[2]?.id)
    const before = await traceOf(h, tenant.appId, profile.profile_id)
    const again = await validate(tenant, { customer_user_id: user, paddle_token: subscriptionId })
    assert.equal(again.statusCode, 200, again.body)
    assert.deepEqual(await traceOf(h, tenant.appId, profile.profile_id), before)
  })

  function putOneTime(options: { amount: number; productId?: string; priceId?: string }): string {
    const txn = transaction({
      at: '2026-03-01T00:00:00Z',
      amount: options.amount,
      productId: options.productId ?? 'pro_lifetime',
      priceId: options.priceId ?? 'pri_lifetime',
    })
    fake.put(txn)
    return txn.id
  }

  it('a txn_ without subscription is a one-time purchase, matched by product and price', async () => {
    const tenant = await paddleTenant()
    const token = putOneTime({ amount: 4900 })
    const response = await validate(tenant, { customer_user_id: uniqueUserId(), paddle_token: token })
    assert.equal(response.statusCode, 200, response.body)
    const bought = response.json().data.non_subscriptions[0]
    assert.equal(bought.store_transaction_id, token)
    assert.equal(bought.store_product_id, 'pro_lifetime:pri_lifetime')
    assert.equal(response.json().data.access_levels[0].expires_at, null)
  })

  it('errors: missing fields, bad token, no key, unknown purchase, wrong key, product not in the catalog', async () => {
    const tenant = await paddleTenant()
    const user = uniqueUserId()
    assert.equal(
      flatError(await validate(tenant, { customer_user_id: user }), 400, 'validation_error'),
      'paddle_token: This field is required.',
    )
    assert.match(
      flatError(
        await validate(tenant, { customer_user_id: user, paddle_token: 'ord_1' }),
        400,
        'validation_error',
      ),
      /^paddle_token: /,
    )
    assert.equal(
      flatError(
        await validate(await paddleTenant(null), { customer_user_id: user, paddle_token: 'txn_1' }),
        400,
        'paddle_api_key_not_found',
      ),
      'Paddle API key not found',
    )
    assert.equal(
      flatError(
        await validate(tenant, { customer_user_id: user, paddle_token: 'txn_unknown' }),
        400,
        'invalid_paddle_credentials_or_purchase_not_found',
      ),
      'Invalid Paddle credentials or purchase not found',
    )
    const { subscriptionId } = putTrialTwoMonthsRefund()
    const wrongKey = await paddleTenant('pdl_live_apikey_wrongwrongwrongwrong')
    flatError(
      await validate(wrongKey, { customer_user_id: user, paddle_token: subscriptionId }),
      400,
      'invalid_paddle_credentials_or_purchase_not_found',
    )
    const unknownProduct = putTrialTwoMonthsRefund('pro_elsewhere')
    const missing = flatError(
      await validate(tenant, { customer_user_id: user, paddle_token: unknownProduct.subscriptionId }),
      400,
      'no_products_found',
    )
    assert.match(missing, /pro_elsewhere/)
    await assertNothingWritten(tenant)
    await assertNothingWritten(wrongKey)
  })

  it('without a valid API key: 401 unauthorized, flat', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: `/api/v2/server-side-api${PATH}`,
      headers: { authorization: 'Api-Key nope', 'content-type': 'application/json' },
      payload: { customer_user_id: 'u', paddle_token: 'txn_1' },
    })
    flatError(response, 401, 'unauthorized')
  })

  it('Paddle failing on the second page, or never answering: 502 store_api_unavailable, nothing written', async () => {
    const tenant = await paddleTenant()
    const { subscriptionId } = putTrialTwoMonthsRefund()
    fake.fail({ when: (url) => url.searchParams.has('after'), mode: 'error500', times: 1 })
    flatError(
      await validate(tenant, { customer_user_id: uniqueUserId(), paddle_token: subscriptionId }),
      502,
      'store_api_unavailable',
    )
    fake.fail({ when: (url) => url.pathname.startsWith('/subscriptions/'), mode: 'hang', times: 1 })
    flatError(
      await validate(tenant, { customer_user_id: uniqueUserId(), paddle_token: subscriptionId }),
      502,
      'store_api_unavailable',
    )
    assert.ok(fake.requests.some((request) => request.includes('after=')))
    await assertNothingWritten(tenant)
  })
})
