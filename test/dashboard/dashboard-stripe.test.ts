import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fixedClock } from '../../src/platform/clock.ts'
import { stripeTenant, stripeTestApp } from '../stripe/stripe-support.ts'
import { uniqueUserId } from '../support/harness.ts'
import { getProfile } from '../support/purchases.ts'
import { DAY, epoch, putOneTimePurchase, putSubscription, stripeId } from '../support/stripe-fixtures.ts'
import { signedIn } from './support.ts'

/** The dashboard's Stripe page: the set-up, an import started from the form, its progress and outcome. */

const clock = fixedClock(new Date('2026-06-01T00:00:00Z'))
// Its own PostgreSQL database: running the queue takes any app's imports.
const { fake, h } = await stripeTestApp(clock, { ownDatabase: true })

function customer() {
  const customerId = stripeId('cus')
  fake.put({ id: customerId, object: 'customer', address: { country: 'DE' }, livemode: false })
  const start = epoch('2026-05-01T00:00:00Z')
  const subscription = putSubscription(fake, {
    customerId,
    periods: [{ start, end: start + 30 * DAY, amount: 999 }],
  })
  const unknown = putOneTimePurchase(fake, {
    customerId,
    amount: 100,
    at: start + DAY,
    productId: 'prod_NotInCatalog<b>',
    priceId: 'price_X',
  })
  return { customerId, subscription, unknown }
}

describe('dashboard Stripe page', () => {
  it('shows the set-up, starts an import from the form and follows it to its outcome', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const v = await signedIn(h)
    const base = `/dashboard/apps/${tenant.appId}/stripe`
    const page = await v.get(base)
    assert.equal(page.statusCode, 200, page.body)
    assert.match(page.body, /sk_test_…cdef/)
    assert.match(page.body, new RegExp(`/webhooks/stripe/${tenant.appId}`))
    assert.ok(!page.body.includes(fake.secretKey), 'the secret key is never shown whole')
    assert.match(page.body, /No imports yet/)

    const user = uniqueUserId()
    const { customerId, subscription, unknown } = customer()
    const started = await v.post(`${base}/imports`, {
      customer_user_id: user,
      stripe_customer_id: customerId,
    })
    assert.equal(started.statusCode, 303, started.body)
    const jobUrl = started.headers.location as string
    assert.match(jobUrl, new RegExp(`^${base}/imports/[0-9a-f-]{36}$`))

    const queued = await v.get(jobUrl)
    assert.equal(queued.statusCode, 200)
    assert.match(queued.body, /Waiting for a worker/)
    assert.match(queued.body, /<meta http-equiv="refresh" content="2"/)
    const list = await v.get(base)
    assert.match(list.body, /<meta http-equiv="refresh"/, 'the list refreshes while an import is under way')

    while (await h.services.stripeImports.runNext()) {}
    const done = await v.get(jobUrl)
    assert.ok(!done.body.includes('http-equiv="refresh"'), 'a finished import stops refreshing')
    assert.match(done.body, /The import finished/)
    assert.match(done.body, /2 of 2 purchases handled/)
    assert.match(done.body, /<progress max="2" value="2"/)
    assert.ok(done.body.includes(subscription.subscriptionId))
    assert.ok(done.body.includes(unknown.paymentIntentId))
    assert.match(done.body, /Skipped/)
    // The store product id comes from Stripe: shown as text.
    assert.ok(done.body.includes('prod_NotInCatalog&lt;b'))
    assert.ok(!done.body.includes('prod_NotInCatalog<b>'))
    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.subscriptions.length, 1)

    const again = await v.post(`${jobUrl}/again`, {})
    assert.equal(again.statusCode, 303)
    assert.notEqual(again.headers.location, jobUrl)
    while (await h.services.stripeImports.runNext()) {}
    const rerun = await v.get(again.headers.location as string)
    assert.match(rerun.body, /The import finished/)
    const recent = await v.get(base)
    assert.equal((recent.body.match(/\/imports\/[0-9a-f-]{36}"/g) ?? []).length, 2)
  })

  it('shows why an import cannot start next to its field, keeping what was typed', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const v = await signedIn(h)
    const base = `/dashboard/apps/${tenant.appId}/stripe`
    await v.get(base)
    const both = await v.post(`${base}/imports`, {
      customer_user_id: 'someone',
      stripe_customer_id: 'cus_A1',
      tokens: 'sub_B2',
    })
    assert.equal(both.statusCode, 400)
    assert.match(both.body, /id="field-stripe_customer_id-error"[^>]*>Give either a Stripe customer id/)
    assert.match(both.body, /value="someone"/)
    const badToken = await v.post(`${base}/imports`, { customer_user_id: 'x', tokens: 'sub_1, in_2' })
    assert.equal(badToken.statusCode, 400)
    assert.match(badToken.body, /id="field-tokens-error"[^>]*>in_2 is not a subscription/)

    const keyless = await h.createTenant()
    const keylessBase = `/dashboard/apps/${keyless.appId}/stripe`
    const setup = await v.get(keylessBase)
    assert.match(setup.body, /Not set: imports and webhooks cannot read Stripe/)
    const refused = await v.post(`${keylessBase}/imports`, { customer_user_id: 'x', tokens: 'sub_1' })
    assert.equal(refused.statusCode, 400)
    assert.match(refused.body, /Set the Stripe secret key on Keys and settings first/)

    const missing = await v.get(`${base}/imports/00000000-0000-7000-8000-000000000000`)
    assert.equal(missing.statusCode, 404)
    const notUuid = await v.get(`${base}/imports/nope`)
    assert.equal(notUuid.statusCode, 404)
    const noApp = await v.get('/dashboard/apps/00000000-0000-7000-8000-000000000000/stripe')
    assert.equal(noApp.statusCode, 404)
    const forged = await v.post(`${base}/imports`, { customer_user_id: 'x', tokens: 'sub_1' }, 'wrong')
    assert.equal(forged.statusCode, 403)
  })
})
