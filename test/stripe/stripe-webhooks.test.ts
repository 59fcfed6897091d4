import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import { eq } from 'drizzle-orm'
import { profiles } from '../../src/db/schema.ts'
import { fixedClock } from '../../src/platform/clock.ts'
import { stripeEvent, stripeSignature } from '../support/fake-stripe.ts'
import { fieldsError, type Tenant, uniqueUserId } from '../support/harness.ts'
import { eventTypesOf, getProfile, traceOf } from '../support/purchases.ts'
import {
  DAY,
  epoch,
  isoOf,
  putOneTimePurchase,
  putRenewal,
  putSubscription,
  type SubscriptionScenario,
} from '../support/stripe-fixtures.ts'
import { jsonApiBody, stripeTenant, stripeTestApp, validate, WEBHOOK_SECRET } from './stripe-support.ts'

// Stripe's webhooks keep a validated purchase in sync: verified, then the purchase is fetched again in full.
const NOW = new Date('2026-02-15T00:00:00Z')
const clock = fixedClock(NOW)
const { fake, h } = await stripeTestApp(clock)

const nowSeconds = () => Math.floor(clock.now().getTime() / 1000)
const wire = (seconds: number) => isoOf(seconds).replace(/\.(\d{3})Z$/, '.$1000+00:00')

function post(appId: string, payload: string, signature?: string) {
  return h.app.inject({
    method: 'POST',
    url: `/webhooks/stripe/${appId}`,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(signature === undefined ? {} : { 'stripe-signature': signature }),
    },
    payload,
  })
}

/** Posts an event about `object` signed with the app's secret, as Stripe does. */
function deliver(
  appId: string,
  type: string,
  object: Record<string, unknown> & { id: string; object: string },
) {
  const payload = stripeEvent(type, object, nowSeconds())
  return post(appId, payload, stripeSignature(payload, WEBHOOK_SECRET, nowSeconds()))
}

beforeEach(() => clock.set(NOW))

const MONTH = 30 * DAY
const START = epoch('2026-02-01T00:00:00Z')

/** A subscription paid for February, validated for a fresh user. */
async function validated(tenant: Tenant, options: { metadataUser?: boolean } = {}) {
  const user = uniqueUserId()
  const scenario = putSubscription(fake, {
    ...(options.metadataUser ? { customerUserId: user } : {}),
    periods: [{ start: START, end: START + MONTH, amount: 999 }],
  })
  const response = await validate(h, tenant, jsonApiBody(user, scenario.subscriptionId))
  assert.equal(response.statusCode, 200, response.body)
  const profileId: string = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    .profile_id
  return { user, scenario, profileId }
}

function withSubscription(scenario: SubscriptionScenario, changes: Record<string, unknown>) {
  const updated = { ...scenario.subscription, ...changes }
  scenario.subscription = updated
  fake.put(updated)
  return updated
}

describe('POST /webhooks/stripe/{app_id}', () => {
  it('refuses a missing, wrong, tampered or stale signature with 400 and changes nothing', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const { scenario, profileId } = await validated(tenant)
    putRenewal(fake, scenario, { start: START + MONTH, end: START + 2 * MONTH, amount: 999 })
    const before = await traceOf(h, tenant.appId, profileId)
    const payload = stripeEvent('invoice.paid', scenario.subscription, nowSeconds())
    const attempts = [
      post(tenant.appId, payload),
      post(tenant.appId, payload, stripeSignature(payload, 'whsec_someoneElsesSecret000000', nowSeconds())),
      post(tenant.appId, `${payload} `, stripeSignature(payload, WEBHOOK_SECRET, nowSeconds())),
      post(tenant.appId, payload, stripeSignature(payload, WEBHOOK_SECRET, nowSeconds() - 3600)),
      post(tenant.appId, payload, 'garbage'),
      post(
        '00000000-0000-7000-8000-000000000000',
        payload,
        stripeSignature(payload, WEBHOOK_SECRET, nowSeconds()),
      ),
      post('not-a-uuid', payload, stripeSignature(payload, WEBHOOK_SECRET, nowSeconds())),
    ]
    for (const response of await Promise.all(attempts)) {
      assert.equal(response.statusCode, 400, response.body)
      const error = fieldsError(response)
      assert.equal(error.error_code, 'stripe_signature_invalid')
      assert.equal(error.errors[0]?.source, 'stripe-signature')
    }
    assert.deepEqual(await traceOf(h, tenant.appId, profileId), before)
  })

  it('a renewal (invoice.paid) after the validation: subscription_renewed and the new expiry; twice changes nothing', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const { scenario, profileId, user } = await validated(tenant)
    clock.set(new Date((START + MONTH + 600) * 1000))
    const renewal = putRenewal(fake, scenario, { start: START + MONTH, end: START + 2 * MONTH, amount: 999 })
    const invoice = fake.get(renewal)
    assert.ok(invoice)
    const response = await deliver(tenant.appId, 'invoice.paid', invoice)
    assert.equal(response.statusCode, 200, response.body)
    assert.deepEqual(response.json(), { received: true, applied: true })
    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.access_levels[0].expires_at, wire(START + 2 * MONTH))
    assert.equal(profile.total_revenue_usd, 19.98)
    assert.deepEqual(await eventTypesOf(h, tenant.appId, profileId), [
      'subscription_started',
      'access_level_updated',
      'subscription_renewed',
      'access_level_updated',
    ])
    const before = await traceOf(h, tenant.appId, profileId)
    assert.equal((await deliver(tenant.appId, 'invoice.payment_succeeded', invoice)).statusCode, 200)
    assert.deepEqual(await traceOf(h, tenant.appId, profileId), before)
  })

  it('renewal turned off (customer.subscription.updated), then deleted at once (customer.subscription.deleted)', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const { scenario, profileId, user } = await validated(tenant)
    const cancelledAt = nowSeconds() - DAY
    const updated = withSubscription(scenario, { cancel_at_period_end: true, canceled_at: cancelledAt })
    assert.equal((await deliver(tenant.appId, 'customer.subscription.updated', updated)).statusCode, 200)
    let profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.subscriptions[0].renewal_cancelled_at, wire(cancelledAt))
    assert.equal(profile.access_levels[0].expires_at, wire(START + MONTH))

    const endedAt = nowSeconds()
    const deleted = withSubscription(scenario, { status: 'canceled', ended_at: endedAt })
    assert.equal((await deliver(tenant.appId, 'customer.subscription.deleted', deleted)).statusCode, 200)
    profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.access_levels[0].expires_at, wire(endedAt))
    assert.equal(profile.subscriptions[0].cancellation_reason, 'voluntarily_cancelled')
    assert.deepEqual(await eventTypesOf(h, tenant.appId, profileId), [
      'subscription_started',
      'access_level_updated',
      'subscription_renewal_cancelled',
      'access_level_updated',
      // Deleted at once: access now ends now, and that end is told at once.
      'access_level_updated',
      'subscription_expired',
      'access_level_updated',
    ])
  })

  it('paused (customer.subscription.paused) turns renewal off; resumed turns it back on', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const { scenario, profileId, user } = await validated(tenant)
    const paused = withSubscription(scenario, { status: 'paused', pause_collection: { behavior: 'void' } })
    assert.equal((await deliver(tenant.appId, 'customer.subscription.paused', paused)).statusCode, 200)
    let subscription = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
      .subscriptions[0]
    // Stripe gives no moment for a pause, so none is recorded (and none made up on each run).
    assert.notEqual(subscription.renewal_cancelled_at, null)
    const resumed = withSubscription(scenario, { status: 'active', pause_collection: null })
    assert.equal((await deliver(tenant.appId, 'customer.subscription.resumed', resumed)).statusCode, 200)
    subscription = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
      .subscriptions[0]
    assert.equal(subscription.renewal_cancelled_at, null)
    assert.deepEqual((await eventTypesOf(h, tenant.appId, profileId)).slice(2), [
      'subscription_renewal_cancelled',
      'access_level_updated',
      'subscription_renewal_reactivated',
      'access_level_updated',
    ])
  })

  it('a failed renewal (invoice.payment_failed) is a billing issue', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const { scenario, profileId, user } = await validated(tenant)
    const failed = putRenewal(fake, scenario, {
      start: START + MONTH,
      end: START + 2 * MONTH,
      amount: 999,
      status: 'open',
    })
    withSubscription(scenario, { status: 'past_due' })
    const response = await deliver(tenant.appId, 'invoice.payment_failed', fake.get(failed) as never)
    assert.equal(response.statusCode, 200, response.body)
    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.subscriptions[0].billing_issue_detected_at, wire(START + MONTH))
    assert.equal(profile.subscriptions[0].is_in_grace_period, false)
    const types = await eventTypesOf(h, tenant.appId, profileId)
    assert.ok(types.includes('billing_issue_detected'), types.join())
  })

  it('charge.refunded of a subscription invoice refunds it, found through the invoice payment', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const { scenario, profileId, user } = await validated(tenant)
    const chargeId = scenario.chargeIds[0] as string
    const refundedAt = nowSeconds() - 60
    const charge = fake.get(chargeId) as Record<string, unknown> & { id: string; object: string }
    const refunded = {
      ...charge,
      refunded: true,
      amount_refunded: charge.amount,
      refunds: {
        object: 'list',
        has_more: false,
        data: [{ id: 're_1', object: 'refund', created: refundedAt }],
      },
    }
    fake.put(refunded)
    const response = await deliver(tenant.appId, 'charge.refunded', refunded)
    assert.equal(response.statusCode, 200, response.body)
    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.total_revenue_usd, 0)
    assert.equal(profile.subscriptions[0].cancellation_reason, 'refund')
    assert.deepEqual((await eventTypesOf(h, tenant.appId, profileId)).slice(2), [
      'subscription_refunded',
      'access_level_updated',
    ])
  })

  it('a subscription never validated: found by customer_user_id in its metadata, the profile is created', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const scenario = putSubscription(fake, {
      customerUserId: user,
      periods: [{ start: START, end: START + MONTH, amount: 999 }],
    })
    const response = await deliver(tenant.appId, 'customer.subscription.created', scenario.subscription)
    assert.equal(response.statusCode, 200, response.body)
    assert.deepEqual(response.json(), { received: true, applied: true })
    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.subscriptions[0].store_original_transaction_id, scenario.subscriptionId)
  })

  it('a one-time purchase (checkout.session.completed) with customer_user_id in the session metadata', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const purchase = putOneTimePurchase(fake, { amount: 4999, at: nowSeconds() - 60, customerUserId: user })
    const session = {
      id: 'cs_test_x',
      object: 'checkout.session',
      payment_intent: purchase.paymentIntentId,
      subscription: null,
    }
    const response = await deliver(tenant.appId, 'checkout.session.completed', session)
    assert.equal(response.statusCode, 200, response.body)
    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.non_subscriptions[0].store_transaction_id, purchase.paymentIntentId)
  })

  it('a purchase of nobody known, an event it does not handle: 200, applied false, nothing written', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const scenario = putSubscription(fake, { periods: [{ start: START, end: START + MONTH, amount: 999 }] })
    const unknown = await deliver(tenant.appId, 'customer.subscription.created', scenario.subscription)
    assert.equal(unknown.statusCode, 200, unknown.body)
    assert.deepEqual(unknown.json(), { received: true, applied: false, reason: 'user_unknown' })
    const other = await deliver(tenant.appId, 'customer.created', {
      id: scenario.customerId,
      object: 'customer',
    })
    assert.deepEqual(other.json(), { received: true, applied: false, reason: 'event_not_handled' })
    const rows = await h.database.db.select().from(profiles).where(eq(profiles.appId, tenant.appId))
    assert.equal(rows.length, 0)
  })

  it('Stripe failing while the event is applied: 502 (Stripe retries), nothing written', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const { scenario, profileId } = await validated(tenant)
    const renewal = putRenewal(fake, scenario, { start: START + MONTH, end: START + 2 * MONTH, amount: 999 })
    const before = await traceOf(h, tenant.appId, profileId)
    fake.fail({ when: (url) => url.pathname === '/v1/charges', mode: 'error500', times: 1 })
    const response = await deliver(tenant.appId, 'invoice.paid', fake.get(renewal) as never)
    assert.equal(response.statusCode, 502, response.body)
    assert.equal(fieldsError(response).error_code, 'store_api_unavailable')
    assert.deepEqual(await traceOf(h, tenant.appId, profileId), before)
    // Stripe's retry goes through.
    assert.equal((await deliver(tenant.appId, 'invoice.paid', fake.get(renewal) as never)).statusCode, 200)
  })
})
