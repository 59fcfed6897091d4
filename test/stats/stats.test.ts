import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { signedIn } from '../dashboard/support.ts'
import { buildTestApp } from '../support/harness.ts'
import { newProfile, setTransaction, subscriptionBody } from '../support/purchases.ts'

/** GET /admin/v1/apps/{app_id}/stats and the dashboard overview drawn from it. */

const h = await buildTestApp()
const DAY = 86_400_000
// One moment for the whole file: two calls a millisecond apart must not order dates the wrong way round.
const NOW = Date.now()
const iso = (offset: number) => new Date(NOW + offset).toISOString()
const sum = (days: { [key: string]: number | string }[], key: string) =>
  Math.round(days.reduce((total, day) => total + Number(day[key]), 0) * 100) / 100

async function shop() {
  const tenant = await h.createTenant('stats')
  const buy = async (body: Record<string, unknown>) => {
    const buyer = await newProfile(tenant)
    const response = await setTransaction(tenant, buyer.headers, subscriptionBody(body))
    assert.equal(response.statusCode, 200, response.body)
    return buyer
  }
  // Active, paid 3 days ago.
  await buy({
    purchased_at: iso(-3 * DAY),
    originally_purchased_at: iso(-3 * DAY),
    expires_at: iso(27 * DAY),
  })
  // An active free trial, started yesterday.
  await buy({
    purchased_at: iso(-DAY),
    originally_purchased_at: iso(-DAY),
    expires_at: iso(6 * DAY),
    price: { country: 'US', currency: 'USD', value: 0 },
    offer: { category: 'introductory', type: 'free_trial', id: null },
  })
  // Bought 10 days ago and refunded 2 days ago: no revenue, not active.
  const refunded = subscriptionBody({
    purchased_at: iso(-10 * DAY),
    originally_purchased_at: iso(-10 * DAY),
    expires_at: iso(20 * DAY),
  })
  const refundedBuyer = await buy(refunded)
  const refund = await setTransaction(tenant, refundedBuyer.headers, {
    ...refunded,
    refunded_at: iso(-2 * DAY),
    cancellation_reason: 'refund',
  })
  assert.equal(refund.statusCode, 200, refund.body)
  // Sandbox: left out of every figure.
  await buy({
    environment: 'Sandbox',
    purchased_at: iso(-DAY),
    originally_purchased_at: iso(-DAY),
    expires_at: iso(29 * DAY),
  })
  // Expired long ago: counted as new in its day only when inside the period.
  await buy({
    purchased_at: iso(-200 * DAY),
    originally_purchased_at: iso(-200 * DAY),
    expires_at: iso(-170 * DAY),
  })
  return tenant
}

describe('GET /admin/v1/apps/{app_id}/stats', () => {
  it('gives what is active now and the production figures of each day of the period', async () => {
    const tenant = await shop()
    const response = await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}/stats` })
    assert.equal(response.statusCode, 200, response.body)
    const stats = response.json()
    assert.equal(stats.days, 30)
    assert.equal(stats.active_subscriptions, 2)
    assert.equal(stats.active_trials, 1)
    assert.equal(stats.daily.length, 30)
    assert.equal(stats.daily.at(-1).date, new Date().toISOString().slice(0, 10))
    assert.equal(sum(stats.daily, 'new_subscriptions'), 2)
    assert.equal(sum(stats.daily, 'new_trials'), 1)
    assert.equal(sum(stats.daily, 'refunds'), 1)
    assert.equal(sum(stats.daily, 'revenue_usd'), 9.99)
    const threeDaysAgo = stats.daily.find((day: { date: string }) => day.date === iso(-3 * DAY).slice(0, 10))
    assert.equal(threeDaysAgo.revenue_usd, 9.99)
    assert.equal(threeDaysAgo.new_subscriptions, 1)
    assert.equal(stats.events_by_type.subscription_started, 2)
    assert.equal(stats.events_by_type.trial_started, 1)
    assert.equal(stats.events_by_type.subscription_refunded, 1)

    const longer = (
      await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}/stats?days=90` })
    ).json()
    assert.equal(longer.daily.length, 90)
    assert.equal(sum(longer.daily, 'new_subscriptions'), 2)
  })

  it('answers 400 for another period, 404 for an unknown app and 401 without the admin token', async () => {
    const tenant = await h.createTenant('stats-errors')
    assert.equal(
      (await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}/stats?days=7` })).statusCode,
      400,
    )
    assert.equal((await h.admin({ method: 'GET', url: '/admin/v1/apps/nope/stats' })).statusCode, 404)
    assert.equal(
      (await h.admin({ method: 'GET', url: '/admin/v1/apps/01a21078-ec05-739b-9285-2f77f33a7ea3/stats' }))
        .statusCode,
      404,
    )
    assert.equal(
      (await h.app.inject({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}/stats` })).statusCode,
      401,
    )
  })
})

describe('dashboard overview', () => {
  it('shows the same figures as the admin API, with a bar per day', async () => {
    const tenant = await shop()
    const stats = (await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}/stats` })).json()
    const v = await signedIn(h)
    const page = await v.get(`/dashboard/apps/${tenant.appId}`)
    assert.equal(page.statusCode, 200)
    assert.match(page.body, new RegExp(`id="active-subscriptions">${stats.active_subscriptions}<`))
    assert.match(page.body, new RegExp(`id="active-trials">${stats.active_trials}<`))
    assert.match(page.body, /Revenue \(USD, net of refunds\): <strong>\$9\.99<\/strong> in 30 days/)
    const revenueBars = /id="chart-revenue-title"[\s\S]*?<\/svg>/.exec(page.body)?.[0] ?? ''
    const bars = [...revenueBars.matchAll(/data-date="([\d-]+)" data-value="([\d.]+)"/g)]
    assert.equal(bars.length, 30)
    assert.deepEqual(
      bars.filter((bar) => Number(bar[2]) > 0).map((bar) => [bar[1], Number(bar[2])]),
      stats.daily
        .filter((day: { revenue_usd: number }) => day.revenue_usd > 0)
        .map((day: { date: string; revenue_usd: number }) => [day.date, day.revenue_usd]),
    )
    assert.match((await v.get(`/dashboard/apps/${tenant.appId}?days=90`)).body, /in 90 days/)
  })
})
