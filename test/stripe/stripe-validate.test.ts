import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fixedClock } from '../../src/platform/clock.ts'
import { uniqueUserId } from '../support/harness.ts'
import { eventsOf, getProfile, traceOf } from '../support/purchases.ts'
import { DAY, epoch, putOneTimePurchase, putSubscription } from '../support/stripe-fixtures.ts'
import { jsonApiBody, stripeTenant, stripeTestApp, validate } from './stripe-support.ts'

// Stripe validation (contract §2.10, §5.7): the real SDK against a fake Stripe on loopback.
const clock = fixedClock(new Date('2026-06-01T00:00:00Z'))
const { fake, h } = await stripeTestApp(clock)

const T = (iso: string) => epoch(iso)
const wire = (iso: string) => new Date(iso).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00')

/** Trial of a week, the first paid month, three renewals, the last one refunded (and the subscription ended). */
function trialThreeRenewalsRefund(customerUserId?: string) {
  const start = T('2026-01-01T00:00:00Z')
  const trialEnd = start + 7 * DAY
  const month = 30 * DAY
  const periods = [0, 1, 2, 3].map((n) => ({
    start: trialEnd + n * month,
    end: trialEnd + (n + 1) * month,
    amount: 999,
  }))
  const refundedAt = (periods[3]?.start ?? 0) + 2 * DAY
  ;(periods[3] as { refundedAt?: number }).refundedAt = refundedAt
  return {
    refundedAt,
    periods,
    scenario: putSubscription(fake, {
      ...(customerUserId ? { customerUserId } : {}),
      trial: { start, end: trialEnd },
      periods,
      status: 'canceled',
      canceledAt: refundedAt,
      endedAt: refundedAt,
    }),
  }
}

describe('POST /api/v1/sdk/purchase/stripe/token/validate/', () => {
  it('imports a subscription with a trial, three renewals and a refund: access, subscription, revenue, events', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const { scenario, periods, refundedAt } = trialThreeRenewalsRefund()
    const response = await validate(h, tenant, jsonApiBody(user, scenario.subscriptionId))
    assert.equal(response.statusCode, 200, response.body)
    assert.deepEqual(response.json(), { data: null })

    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.total_revenue_usd, 29.97)
    const last = periods[3] as { start: number; end: number }
    const refundIso = new Date(refundedAt * 1000).toISOString()
    assert.equal(profile.access_levels.length, 1)
    const level = profile.access_levels[0]
    assert.equal(level.access_level_id, 'premium')
    assert.equal(level.store, 'stripe')
    assert.equal(level.store_product_id, 'prod_Monthly')
    assert.equal(level.expires_at, wire(refundIso))
    assert.equal(profile.subscriptions.length, 1)
    const subscription = profile.subscriptions[0]
    assert.equal(subscription.store_transaction_id, scenario.invoiceIds[4])
    assert.equal(subscription.store_original_transaction_id, scenario.subscriptionId)
    assert.equal(subscription.environment, 'Sandbox')
    assert.equal(subscription.cancellation_reason, 'refund')
    assert.equal(subscription.renewal_cancelled_at, wire(refundIso))
    assert.equal(subscription.originally_purchased_at, wire('2026-01-01T00:00:00Z'))
    assert.deepEqual(profile.access_levels[0].offer, null)
    assert.equal(subscription.purchased_at, wire(new Date(last.start * 1000).toISOString()))

    const events = await eventsOf(h, tenant.appId, profile.profile_id)
    assert.deepEqual(
      events.map((event) => event.eventType),
      [
        'trial_started',
        'access_level_updated',
        'trial_converted',
        'access_level_updated',
        'subscription_renewed',
        'access_level_updated',
        'subscription_renewed',
        'access_level_updated',
        'subscription_renewed',
        'subscription_renewal_cancelled',
        'subscription_refunded',
        'access_level_updated',
      ],
    )
    const refunded = events.find((event) => event.eventType === 'subscription_refunded')
    assert.equal(refunded?.payload.event_properties.store, 'stripe')
    assert.equal(refunded?.payload.event_properties.price_usd, 9.99)
  })

  it('a real gap in the history (renewed days after the end) reads as an expiry, then a renewal', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const first = T('2026-01-01T00:00:00Z')
    const renewedAt = T('2026-02-05T00:00:00Z')
    const scenario = putSubscription(fake, {
      periods: [
        { start: first, end: T('2026-02-01T00:00:00Z'), amount: 999 },
        { start: renewedAt, end: T('2026-07-05T00:00:00Z'), amount: 999 },
      ],
    })
    assert.equal((await validate(h, tenant, jsonApiBody(user, scenario.subscriptionId))).statusCode, 200)
    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    const events = await eventsOf(h, tenant.appId, profile.profile_id)
    assert.deepEqual(
      events.map((event) => event.eventType),
      [
        'subscription_started',
        'access_level_updated',
        'subscription_expired',
        'access_level_updated',
        'subscription_renewed',
        'access_level_updated',
      ],
    )
    assert.equal(events[2]?.payload.event_datetime, wire('2026-02-01T00:00:00Z'))
    assert.equal(profile.access_levels[0].expires_at, wire('2026-07-05T00:00:00Z'))
  })

  it('running the same validation again changes nothing', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const { scenario } = trialThreeRenewalsRefund()
    assert.equal((await validate(h, tenant, jsonApiBody(user, scenario.subscriptionId))).statusCode, 200)
    const profileId = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data.profile_id
    const before = await traceOf(h, tenant.appId, profileId)
    clock.advance(60_000)
    const again = await validate(h, tenant, jsonApiBody(user, scenario.subscriptionId))
    assert.equal(again.statusCode, 200, again.body)
    assert.deepEqual(await traceOf(h, tenant.appId, profileId), before)
  })

  it('a second user validating the same subscription shares it (sharing mode enabled); revenue stays put', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const [first, second] = [uniqueUserId(), uniqueUserId()]
    const start = T('2026-05-01T00:00:00Z')
    const scenario = putSubscription(fake, { periods: [{ start, end: start + 30 * DAY, amount: 999 }] })
    assert.equal((await validate(h, tenant, jsonApiBody(first, scenario.subscriptionId))).statusCode, 200)
    assert.equal((await validate(h, tenant, jsonApiBody(second, scenario.subscriptionId))).statusCode, 200)
    const one = (await getProfile(tenant, { 'adapty-customer-user-id': first })).json().data
    const two = (await getProfile(tenant, { 'adapty-customer-user-id': second })).json().data
    assert.equal(two.access_levels[0]?.access_level_id, 'premium')
    assert.equal(one.access_levels[0]?.access_level_id, 'premium')
    assert.equal(one.total_revenue_usd, 9.99)
    assert.equal(two.total_revenue_usd, 0)
  })

  it('imports a pi_ one-time purchase from its Checkout Session, matched by product and price', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const purchase = putOneTimePurchase(fake, { amount: 4999, at: T('2026-03-01T12:00:00Z'), livemode: true })
    const response = await validate(
      h,
      tenant,
      { customer_user_id: user, stripe_token: purchase.paymentIntentId },
      'application/json',
    )
    assert.equal(response.statusCode, 200, response.body)
    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.total_revenue_usd, 49.99)
    assert.equal(profile.non_subscriptions.length, 1)
    const bought = profile.non_subscriptions[0]
    assert.equal(bought.store, 'stripe')
    assert.equal(bought.store_product_id, 'prod_Lifetime:price_Lifetime')
    assert.equal(bought.store_transaction_id, purchase.paymentIntentId)
    assert.equal(bought.environment, 'Production')
    assert.equal(profile.access_levels[0].access_level_id, 'premium')
    assert.equal(profile.access_levels[0].expires_at, null)
    const events = await eventsOf(h, tenant.appId, profile.profile_id)
    assert.deepEqual(
      events.map((event) => event.eventType),
      ['non_subscription_purchase', 'access_level_updated'],
    )
    assert.equal(events[0]?.payload.event_properties.price_local, 49.99)
  })
})
