import assert from 'node:assert/strict'
import type { LightMyRequestResponse } from 'fastify'
import type { Clock } from '../../src/platform/clock.ts'
import { startFakeStripe } from '../support/fake-stripe.ts'
import { buildTestApp, type Tenant, type TestApp } from '../support/harness.ts'
import { createProduct } from '../support/purchases.ts'

/** The Stripe test files' setup: a fake Stripe, the app pointed at it, tenants with Stripe keys. */

export const VALIDATE_PATH = '/api/v1/sdk/purchase/stripe/token/validate/'
export const WEBHOOK_SECRET = 'whsec_test0123456789abcdefghijkl'

export async function stripeTestApp(clock: Clock, options: { ownDatabase?: boolean } = {}) {
  const fake = await startFakeStripe()
  const h = await buildTestApp({
    clock,
    ownDatabase: options.ownDatabase ?? false,
    env: { STRIPE_API_URL: fake.url, STORE_API_TIMEOUT_SECONDS: '0.5' },
  })
  return { fake, h }
}

/** Sets the app's Stripe keys through the admin API. */
export async function setStripeKeys(
  h: TestApp,
  appId: string,
  keys: { stripe_secret_key?: string | null; stripe_webhook_secret?: string | null },
): Promise<LightMyRequestResponse> {
  const response = await h.admin({ method: 'PATCH', url: `/admin/v1/apps/${appId}/settings`, payload: keys })
  assert.equal(response.statusCode, 200, response.body)
  return response
}

/** A tenant with Stripe keys set and the catalog products the fixtures sell. */
export async function stripeTenant(h: TestApp, secretKey: string): Promise<Tenant> {
  const tenant = await h.createTenant()
  await setStripeKeys(h, tenant.appId, {
    stripe_secret_key: secretKey,
    stripe_webhook_secret: WEBHOOK_SECRET,
  })
  await createProduct(h, tenant.appId, {
    product_id: 'monthly',
    access_level_id: 'premium',
    type: 'subscription',
    period: 'P1M',
    store_products: [{ store: 'stripe', store_product_id: 'prod_Monthly' }],
  })
  await createProduct(h, tenant.appId, {
    product_id: 'lifetime',
    access_level_id: 'premium',
    type: 'one_time',
    store_products: [{ store: 'stripe', store_product_id: 'prod_Lifetime:price_Lifetime' }],
  })
  return tenant
}

export function validate(
  h: TestApp,
  tenant: Tenant,
  body: unknown,
  contentType = 'application/vnd.api+json',
): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method: 'POST',
    url: VALIDATE_PATH,
    headers: { authorization: `Api-Key ${tenant.secretKey}`, 'content-type': contentType },
    payload: JSON.stringify(body),
  })
}

export const jsonApiBody = (customerUserId: string, token: string) => ({
  data: {
    type: 'stripe_receipt_validation_result',
    attributes: { customer_user_id: customerUserId, stripe_token: token },
  },
})

/** The one JSON:API error of an answer. */
export function jsonApiError(response: LightMyRequestResponse) {
  const body = response.json() as {
    errors: { detail: string; source: { pointer: string }; status: string; code: string }[]
  }
  assert.equal(body.errors.length, 1, response.body)
  return body.errors[0] as (typeof body.errors)[number]
}
