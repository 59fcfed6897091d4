import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { startStripeImportWorker } from '../../src/modules/stripe/stripe-import-worker.ts'
import { createStripeImportsRepository } from '../../src/modules/stripe/stripe-imports.repository.ts'
import { IMPORT_LEASE_MS } from '../../src/modules/stripe/stripe-imports.service.ts'
import { fixedClock } from '../../src/platform/clock.ts'
import { fieldsError, uniqueUserId } from '../support/harness.ts'
import { eventsOf, getProfile } from '../support/purchases.ts'
import { DAY, epoch, putOneTimePurchase, putSubscription, stripeId } from '../support/stripe-fixtures.ts'
import { stripeTenant, stripeTestApp } from './stripe-support.ts'

// Imports of a Stripe customer's purchases, run in the background (issue: dashboard, long operations). The
// file's own PostgreSQL database: a claim takes any app's queued import.
const clock = fixedClock(new Date('2026-06-01T00:00:00Z'))
const { fake, h } = await stripeTestApp(clock, { ownDatabase: true })
const imports = (appId: string) => `/admin/v1/apps/${appId}/stripe/imports`

async function start(appId: string, body: unknown) {
  return h.admin({ method: 'POST', url: imports(appId), payload: body as Record<string, unknown> })
}

async function job(appId: string, id: string) {
  const response = await h.admin({ method: 'GET', url: `${imports(appId)}/${id}` })
  assert.equal(response.statusCode, 200, response.body)
  return response.json()
}

/** Runs every queued import, as the worker of a process does. */
async function runQueued(): Promise<number> {
  let runs = 0
  while (await h.services.stripeImports.runNext()) runs += 1
  return runs
}

/** A customer with a subscription (a trial and two paid months) and a one-time purchase of the catalog. */
function customerWithPurchases(extra: { unknownProduct?: boolean } = {}) {
  const customerId = stripeId('cus')
  fake.put({ id: customerId, object: 'customer', address: { country: 'DE' }, livemode: false })
  const start = epoch('2026-04-01T00:00:00Z')
  const subscription = putSubscription(fake, {
    customerId,
    trial: { start, end: start + 7 * DAY },
    periods: [
      { start: start + 7 * DAY, end: start + 37 * DAY, amount: 999 },
      { start: start + 37 * DAY, end: start + 67 * DAY, amount: 999 },
    ],
  })
  const lifetime = putOneTimePurchase(fake, { customerId, amount: 4999, at: start + 10 * DAY })
  const unknown = extra.unknownProduct
    ? putOneTimePurchase(fake, {
        customerId,
        amount: 100,
        at: start + 11 * DAY,
        productId: 'prod_NotInCatalog',
        priceId: 'price_NotInCatalog',
      })
    : null
  return { customerId, subscription, lifetime, unknown }
}

describe('Stripe imports (admin API)', () => {
  it("imports every purchase of a customer in the background, with progress and each purchase's outcome", async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const { customerId, subscription, lifetime, unknown } = customerWithPurchases({ unknownProduct: true })

    const started = await start(tenant.appId, { customer_user_id: user, stripe_customer_id: customerId })
    assert.equal(started.statusCode, 202, started.body)
    const queued = started.json()
    assert.equal(queued.status, 'queued')
    assert.equal(queued.total, null)
    assert.equal(queued.done, 0)
    assert.deepEqual(queued.tokens, [])

    assert.equal(await runQueued(), 1)
    const finished = await job(tenant.appId, queued.id)
    assert.equal(finished.status, 'succeeded', JSON.stringify(finished))
    assert.equal(finished.total, 3)
    assert.equal(finished.done, 3)
    assert.equal(finished.attempts, 1)
    assert.equal(finished.error, null)
    assert.ok(finished.started_at && finished.finished_at)
    // Oldest first; the payment intents that paid the subscription's invoices are part of it, not listed.
    assert.deepEqual(
      finished.results.map((result: { token: string; outcome: string }) => [result.token, result.outcome]),
      [
        [subscription.subscriptionId, 'imported'],
        [lifetime.paymentIntentId, 'imported'],
        [unknown?.paymentIntentId, 'no_products_found'],
      ],
    )
    assert.match(finished.results[2].message, /prod_NotInCatalog/)

    const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
    assert.equal(profile.subscriptions.length, 1)
    assert.equal(profile.subscriptions[0].store_original_transaction_id, subscription.subscriptionId)
    assert.equal(profile.non_subscriptions.length, 1)
    assert.equal(profile.non_subscriptions[0].store_transaction_id, lifetime.paymentIntentId)
    assert.equal(profile.total_revenue_usd, 69.97)

    const list = await h.admin({ method: 'GET', url: imports(tenant.appId) })
    assert.equal(list.statusCode, 200, list.body)
    assert.deepEqual(
      list.json().data.map((entry: { id: string }) => entry.id),
      [queued.id],
    )
  })

  it('imports the purchases named, and an import run again writes nothing', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const { subscription, lifetime } = customerWithPurchases()
    const body = { customer_user_id: user, tokens: [subscription.subscriptionId, lifetime.paymentIntentId] }
    const first = (await start(tenant.appId, body)).json()
    await runQueued()
    assert.equal((await job(tenant.appId, first.id)).status, 'succeeded')
    const profileId = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data.profile_id
    const eventsBefore = (await eventsOf(h, tenant.appId, profileId)).length
    assert.ok(eventsBefore > 0)

    const again = (await start(tenant.appId, body)).json()
    await runQueued()
    const rerun = await job(tenant.appId, again.id)
    assert.equal(rerun.status, 'succeeded')
    assert.deepEqual(
      rerun.results.map((result: { outcome: string }) => result.outcome),
      ['imported', 'imported'],
    )
    assert.equal((await eventsOf(h, tenant.appId, profileId)).length, eventsBefore)
  })

  it('a Stripe outage fails the purchases it hit, says so, and writes nothing for them', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const { customerId, subscription } = customerWithPurchases()
    fake.fail({ when: (url) => url.pathname === '/v1/invoices', mode: 'error500' })
    try {
      const queued = (
        await start(tenant.appId, { customer_user_id: user, stripe_customer_id: customerId })
      ).json()
      await runQueued()
      const failed = await job(tenant.appId, queued.id)
      assert.equal(failed.status, 'failed')
      assert.equal(failed.error, '1 of 2 purchases could not be imported.')
      assert.equal(failed.results[0].token, subscription.subscriptionId)
      assert.equal(failed.results[0].outcome, 'failed')
      assert.match(failed.results[0].message, /did not answer/)
      assert.equal(failed.results[1].outcome, 'imported')
      const profile = (await getProfile(tenant, { 'adapty-customer-user-id': user })).json().data
      assert.equal(profile.subscriptions.length, 0)
      assert.equal(profile.non_subscriptions.length, 1)
    } finally {
      fake.clearFailures()
    }

    const listing = (
      await start(tenant.appId, { customer_user_id: user, stripe_customer_id: customerId })
    ).json()
    fake.fail({ when: (url) => url.pathname === '/v1/subscriptions', mode: 'error500' })
    try {
      await runQueued()
    } finally {
      fake.clearFailures()
    }
    const notListed = await job(tenant.appId, listing.id)
    assert.equal(notListed.status, 'failed')
    assert.equal(notListed.total, null)
    assert.match(notListed.error, /Stripe did not answer/)
  })

  it('an import whose runner died is run again when its lease ends; the dead runner can no longer write', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const user = uniqueUserId()
    const { subscription } = customerWithPurchases()
    const queued = (
      await start(tenant.appId, { customer_user_id: user, tokens: [subscription.subscriptionId] })
    ).json()
    const repo = createStripeImportsRepository(h.database)
    // A runner claims it and dies before it writes anything.
    const dead = await repo.claim(clock.now(), new Date(clock.now().getTime() + IMPORT_LEASE_MS))
    assert.equal(dead?.id, queued.id)
    assert.equal(await runQueued(), 0, 'still leased: nobody else takes it')
    assert.equal((await job(tenant.appId, queued.id)).status, 'running')

    clock.advance(IMPORT_LEASE_MS + 1000)
    try {
      assert.equal(await runQueued(), 1)
    } finally {
      clock.set(new Date('2026-06-01T00:00:00Z'))
    }
    const finished = await job(tenant.appId, queued.id)
    assert.equal(finished.status, 'succeeded')
    assert.equal(finished.attempts, 2)
    const stale = { id: queued.id, attempt: 1 }
    assert.equal(await repo.progress(stale, { total: 1, done: 0, results: [] }, clock.now()), false)
    assert.equal(await repo.finish(stale, { status: 'failed', error: 'stale' }, clock.now()), false)
    assert.equal((await job(tenant.appId, queued.id)).status, 'succeeded')
  })

  it('two runners at once take different imports, each once', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const ids: string[] = []
    for (let i = 0; i < 4; i++) {
      const { subscription } = customerWithPurchases()
      const body = { customer_user_id: uniqueUserId(), tokens: [subscription.subscriptionId] }
      ids.push((await start(tenant.appId, body)).json().id)
    }
    await Promise.all([runQueued(), runQueued()])
    for (const id of ids) {
      const finished = await job(tenant.appId, id)
      assert.equal(finished.status, 'succeeded')
      assert.equal(finished.attempts, 1)
    }
  })

  it('the worker of the process starts a queued import at once', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const { subscription } = customerWithPurchases()
    const errors: unknown[] = []
    const logger = { error: (entry: unknown) => void errors.push(entry) }
    // A poll far beyond the deadline below: only the wake of the queued import can start it in time.
    const worker = startStripeImportWorker(h.services.stripeImports, logger, 3_600_000)
    try {
      const body = { customer_user_id: uniqueUserId(), tokens: [subscription.subscriptionId] }
      const queued = (await start(tenant.appId, body)).json()
      const deadline = Date.now() + 10_000
      let status = 'queued'
      while (status !== 'succeeded' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        status = (await job(tenant.appId, queued.id)).status
      }
      assert.equal(status, 'succeeded')
      assert.deepEqual(errors, [])
    } finally {
      await worker.stop()
    }
  })

  it('refuses what cannot be imported with a clear 4xx', async () => {
    const tenant = await stripeTenant(h, fake.secretKey)
    const cases: [unknown, string, string][] = [
      [{ customer_user_id: 'u' }, 'validation_error', 'stripe_customer_id'],
      [
        { customer_user_id: 'u', stripe_customer_id: 'cus_1', tokens: ['sub_1'] },
        'validation_error',
        'stripe_customer_id',
      ],
      [{ customer_user_id: 'u', stripe_customer_id: 'acct_1' }, 'validation_error', 'stripe_customer_id'],
      [{ customer_user_id: 'u', tokens: ['sub_1', 'in_1'] }, 'validation_error', 'tokens'],
      [{ customer_user_id: '  ', tokens: ['sub_1'] }, 'validation_error', 'customer_user_id'],
      [{ tokens: ['sub_1'] }, 'validation_error', 'customer_user_id'],
    ]
    for (const [body, code, source] of cases) {
      const response = await start(tenant.appId, body)
      assert.equal(response.statusCode, 400, `${JSON.stringify(body)}: ${response.body}`)
      const error = fieldsError(response)
      assert.equal(error.error_code, code)
      assert.equal(error.errors[0]?.source, source, JSON.stringify(body))
    }
    const tooMany = await start(tenant.appId, {
      customer_user_id: 'u',
      tokens: Array.from({ length: 101 }, (_, i) => `sub_${i}`),
    })
    assert.equal(tooMany.statusCode, 400)

    const keyless = await h.createTenant()
    const noKey = await start(keyless.appId, { customer_user_id: 'u', tokens: ['sub_1'] })
    assert.equal(noKey.statusCode, 400, noKey.body)
    assert.equal(fieldsError(noKey).error_code, 'stripe_secret_key_not_found')

    for (const appId of ['00000000-0000-7000-8000-000000000000', 'not-a-uuid']) {
      const missingApp = await start(appId, { customer_user_id: 'u', tokens: ['sub_1'] })
      assert.equal(missingApp.statusCode, 404, missingApp.body)
      assert.equal(fieldsError(missingApp).error_code, 'app_not_found')
      const listed = await h.admin({ method: 'GET', url: imports(appId) })
      assert.equal(listed.statusCode, 404, listed.body)
    }
    for (const id of ['00000000-0000-7000-8000-000000000000', 'nope']) {
      const missing = await h.admin({ method: 'GET', url: `${imports(tenant.appId)}/${id}` })
      assert.equal(missing.statusCode, 404, missing.body)
      assert.equal(fieldsError(missing).error_code, 'stripe_import_not_found')
    }
    // Another app's import is not found through this app.
    const other = await stripeTenant(h, fake.secretKey)
    const theirs = (await start(other.appId, { customer_user_id: 'u', tokens: ['sub_1'] })).json()
    const crossed = await h.admin({ method: 'GET', url: `${imports(tenant.appId)}/${theirs.id}` })
    assert.equal(crossed.statusCode, 404)
    await runQueued()
  })
})
