import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../support/harness.ts'
import { eventTypesOf, newProfile, subscriptionBody, traceOf } from '../support/purchases.ts'

const h = await buildTestApp()

describe('Idempotency-Key on set transaction', () => {
  it('50 concurrent identical requests with one key record one transaction and get 50 identical answers', async () => {
    const tenant = await h.createTenant()
    const profile = await newProfile(tenant)
    const body = subscriptionBody({
      price: { country: 'US', currency: 'USD', value: 4.99 },
      expires_at: '2099-01-01T00:00:00Z',
    })
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        tenant.api({
          method: 'POST',
          path: '/purchase/set/transaction/',
          headers: { ...profile.headers, 'idempotency-key': 'order-4711' },
          body,
        }),
      ),
    )
    for (const answer of answers) assert.equal(answer.statusCode, 200, answer.body)
    assert.equal(new Set(answers.map((answer) => answer.body)).size, 1, 'every answer is the first one')
    const trace = await traceOf(h, tenant.appId, profile.profileId)
    assert.equal(trace.ledgerEntries, 1)
    assert.equal(trace.storeTransactions, 1)
    assert.deepEqual(await eventTypesOf(h, tenant.appId, profile.profileId), [
      'subscription_started',
      'access_level_updated',
    ])
    assert.equal(answers[0]?.json().data.total_revenue_usd, 4.99, 'revenue counted once')
  })

  it('the same key with another transaction is 422 and records nothing', async () => {
    const tenant = await h.createTenant()
    const profile = await newProfile(tenant)
    const headers = { ...profile.headers, 'idempotency-key': 'order-4712' }
    const first = await tenant.api({
      method: 'POST',
      path: '/purchase/set/transaction/',
      headers,
      body: subscriptionBody(),
    })
    assert.equal(first.statusCode, 200)
    const second = await tenant.api({
      method: 'POST',
      path: '/purchase/set/transaction/',
      headers,
      body: subscriptionBody(),
    })
    assert.equal(second.statusCode, 422)
    assert.equal(second.json().error_code, 'idempotency_key_reused')
    assert.equal((await traceOf(h, tenant.appId, profile.profileId)).ledgerEntries, 1)
  })
})
