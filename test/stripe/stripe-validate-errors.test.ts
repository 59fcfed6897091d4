import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { eq } from 'drizzle-orm'
import { events, ledgerEntries, profiles } from '../../src/db/schema.ts'
import { fixedClock } from '../../src/platform/clock.ts'
import { type Tenant, uniqueUserId } from '../support/harness.ts'
import { getProfile } from '../support/purchases.ts'
import { DAY, epoch, putSubscription } from '../support/stripe-fixtures.ts'
import {
  jsonApiBody,
  jsonApiError,
  setStripeKeys,
  stripeTenant,
  stripeTestApp,
  VALIDATE_PATH,
  validate,
} from './stripe-support.ts'

// Stripe validation's errors: JSON:API documents, 4xx for bad input, 502 for a failing Stripe, and never a
// partial import.
const clock = fixedClock(new Date('2026-06-01T00:00:00Z'))
const { fake, h } = await stripeTestApp(clock)

/** Three paid months, so that listing the invoices takes two pages of the fake. */
function threeMonths(options: { productId?: string } = {}) {
  const start = epoch('2026-02-01T00:00:00Z')
  return putSubscription(fake, {
    ...options,
    periods: [0, 1, 2].map((n) => ({
      start: start + n * 30 * DAY,
      end: start + (n + 1) * 30 * DAY,
      amount: 999,
    })),
  })
}

/** Nothing of the app was written: no profile, no ledger entry, no event. */
async function assertNothingWritten(tenant: Tenant) {
  const db = h.database.db
  assert.equal((await db.select().from(profiles).where(eq(profiles.appId, tenant.appId))).length, 0)
  assert.equal((await db.select().from(ledgerEntries).where(eq(ledgerEntries.appId, tenant.appId))).length, 0)
  assert.equal((await db.select().from(events).where(eq(events.appId, tenant.appId))).length, 0)
}

function assertError(
  response: Awaited<ReturnType<typeof validate>>,
  status: number,
  code: string,
  pointer: string,
) {
  assert.equal(response.statusCode, status, response.body)
  const error = jsonApiError(response)
  assert.equal(error.code, code, response.body)
  assert.equal(error.status, String(status))
  assert.equal(error.source.pointer, pointer)
  assert.ok(error.detail.length > 0)
}

describe('Stripe validation errors', () => {
  it('a missing stripe_token or customer_user_id is 400 validation_error pointing at it, in either body', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    assertError(
      await validate(h, tenant, {
        data: { type: 'stripe_receipt_validation_result', attributes: { customer_user_id: user } },
      }),
      400,
      'validation_error',
      '/data/attributes/stripe_token',
    )
    assertError(
      await validate(h, tenant, {
        data: { type: 'stripe_receipt_validation_result', attributes: { stripe_token: 'sub_1' } },
      }),
      400,
      'validation_error',
      '/data/attributes/customer_user_id',
    )
    assertError(
      await validate(h, tenant, { customer_user_id: user }, 'application/json'),
      400,
      'validation_error',
      '/stripe_token',
    )
    assertError(
      await validate(h, tenant, {
        data: {
          type: 'stripe_receipt_validation_result',
          attributes: { customer_user_id: user, stripe_token: null },
        },
      }),
      400,
      'validation_error',
      '/data/attributes/stripe_token',
    )
    assertError(
      await validate(h, tenant, jsonApiBody(user, 'tok_visa')),
      400,
      'validation_error',
      '/data/attributes/stripe_token',
    )
    assertError(
      await validate(h, tenant, {
        data: { type: 'something_else', attributes: { customer_user_id: user, stripe_token: 'sub_1' } },
      }),
      400,
      'validation_error',
      '/data/type',
    )
    await assertNothingWritten(tenant)
  })

  it('an empty body or malformed JSON is a 400 JSON:API error too', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const empty = await h.app.inject({
      method: 'POST',
      url: VALIDATE_PATH,
      headers: { authorization: `Api-Key ${tenant.secretKey}`, 'content-type': 'application/vnd.api+json' },
    })
    assertError(empty, 400, 'validation_error', '/customer_user_id')
    const malformed = await h.app.inject({
      method: 'POST',
      url: VALIDATE_PATH,
      headers: { authorization: `Api-Key ${tenant.secretKey}`, 'content-type': 'application/vnd.api+json' },
      payload: '{"data": ',
    })
    assertError(malformed, 400, 'parse_error', '')
  })

  it('without a valid API key: 401 not_authenticated, as a JSON:API error', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: VALIDATE_PATH,
      headers: { authorization: 'Api-Key secret_live_nope', 'content-type': 'application/vnd.api+json' },
      payload: JSON.stringify(jsonApiBody('u', 'sub_1')),
    })
    assertError(response, 401, 'not_authenticated', '')
  })

  it('a token Stripe does not know is 400 invalid_stripe_credentials_or_purchase_not_found', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    for (const token of ['sub_DoesNotExist1', 'pi_DoesNotExist1']) {
      assertError(
        await validate(h, tenant, jsonApiBody(uniqueUserId(), token)),
        400,
        'invalid_stripe_credentials_or_purchase_not_found',
        '/data/attributes/stripe_token',
      )
    }
    await assertNothingWritten(tenant)
  })

  it('a secret key Stripe refuses is 400 invalid_stripe_credentials_or_purchase_not_found', async () => {
    const tenant = await stripeTenant(h, 'sk_test_wrongKeyWrongKeyWrongKey')
    const scenario = threeMonths()
    assertError(
      await validate(h, tenant, jsonApiBody(uniqueUserId(), scenario.subscriptionId)),
      400,
      'invalid_stripe_credentials_or_purchase_not_found',
      '/data/attributes/stripe_token',
    )
    await assertNothingWritten(tenant)
  })

  it('an app without a Stripe secret key is 400 stripe_secret_key_not_found, and Stripe is not called', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    await setStripeKeys(h, tenant.appId, { stripe_secret_key: null })
    const calls = fake.requests.length
    assertError(
      await validate(h, tenant, jsonApiBody(uniqueUserId(), 'sub_Anything1')),
      400,
      'stripe_secret_key_not_found',
      '',
    )
    assert.equal(fake.requests.length, calls)
    await assertNothingWritten(tenant)
  })

  it('a product missing from the catalog is 400 no_products_found naming it; nothing is imported', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const scenario = threeMonths({ productId: 'prod_NotInCatalog' })
    const user = uniqueUserId()
    const response = await validate(h, tenant, jsonApiBody(user, scenario.subscriptionId))
    assertError(response, 400, 'no_products_found', '')
    assert.match(jsonApiError(response).detail, /prod_NotInCatalog/)
    await assertNothingWritten(tenant)
    assert.equal((await getProfile(tenant, { 'adapty-customer-user-id': user })).statusCode, 404)
  })

  it('Stripe answering 500 on the second page of invoices: 502 store_api_unavailable, nothing written', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const scenario = threeMonths()
    fake.fail({
      when: (url) => url.pathname === '/v1/invoices' && url.searchParams.has('starting_after'),
      mode: 'error500',
      times: 1,
    })
    const response = await validate(h, tenant, jsonApiBody(uniqueUserId(), scenario.subscriptionId))
    assertError(response, 502, 'store_api_unavailable', '')
    assert.ok(
      fake.requests.some(
        (request) => request.startsWith('/v1/invoices?') && request.includes('starting_after'),
      ),
    )
    await assertNothingWritten(tenant)
  })

  it('Stripe never answering: 502 store_api_unavailable after STORE_API_TIMEOUT_SECONDS, nothing written', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const scenario = threeMonths()
    fake.fail({ when: (url) => url.pathname === '/v1/charges', mode: 'hang', times: 1 })
    const started = Date.now()
    const response = await validate(h, tenant, jsonApiBody(uniqueUserId(), scenario.subscriptionId))
    assertError(response, 502, 'store_api_unavailable', '')
    assert.ok(Date.now() - started < 5000)
    await assertNothingWritten(tenant)
    // Once Stripe answers again, the same validation imports everything.
    const retried = await validate(h, tenant, jsonApiBody(uniqueUserId(), scenario.subscriptionId))
    assert.equal(retried.statusCode, 200, retried.body)
  })
})
