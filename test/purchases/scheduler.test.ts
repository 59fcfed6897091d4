import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { databaseTargetFrom } from '../../src/db/database-target.ts'
import { openDatabase } from '../../src/db/open-database.ts'
import { createEntitlementsRepository } from '../../src/modules/entitlements/entitlements.repository.ts'
import { createEntitlementsService } from '../../src/modules/entitlements/entitlements.service.ts'
import { normalizeTransaction } from '../../src/modules/purchases/transaction-rules.ts'
import { fixedClock } from '../../src/platform/clock.ts'
import { systemIds } from '../../src/platform/ids.ts'
import { buildTestApp, ENGINE } from '../support/harness.ts'
import { eventTypesOf, newProfile, setTransaction, subscriptionBody } from '../support/purchases.ts'

const clock = fixedClock(new Date('2026-01-10T00:00:00Z'))
const h = await buildTestApp({ clock, ownDatabase: true })

/** A second worker, as another process would run it: on PostgreSQL with connections of its own. */
async function secondWorker() {
  if (ENGINE === 'pglite') return h.services.entitlements
  const database = await openDatabase(databaseTargetFrom(h.config))
  after(() => database.close())
  return createEntitlementsService({ repo: createEntitlementsRepository(database), clock, ids: systemIds })
}

/** A new tenant and profile holding a subscription bought at `from` (the clock set there) until `to`. */
async function buyerWithSubscription(from: string, to: string, overrides: Record<string, unknown> = {}) {
  clock.set(new Date(from))
  const tenant = await h.createTenant()
  const profile = await newProfile(tenant)
  const body = subscriptionBody({
    purchased_at: from,
    originally_purchased_at: from,
    expires_at: to,
    ...overrides,
  })
  assert.equal((await setTransaction(tenant, profile.headers, body)).statusCode, 200)
  return { tenant, profile, body }
}

describe('scheduler', () => {
  it('workers running side by side write each expiry once', async () => {
    clock.set(new Date('2026-01-10T00:00:00Z'))
    const tenant = await h.createTenant()
    const profiles = []
    for (let i = 0; i < 12; i++) {
      const profile = await newProfile(tenant)
      const answer = await setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          purchased_at: '2026-01-10T00:00:00Z',
          originally_purchased_at: '2026-01-10T00:00:00Z',
          expires_at: '2026-02-10T00:00:00Z',
          renew_status: false,
          renew_status_changed_at: '2026-01-10T00:00:01Z',
        }),
      )
      assert.equal(answer.statusCode, 200, answer.body)
      profiles.push(profile)
    }
    const other = await secondWorker()
    clock.set(new Date('2026-02-10T00:00:01Z'))
    await Promise.all([
      h.services.entitlements.runDueJobs(),
      other.runDueJobs(),
      h.services.entitlements.runDueJobs(),
      other.runDueJobs(),
    ])
    for (const profile of profiles) {
      const expired = (await eventTypesOf(h, tenant.appId, profile.profileId)).filter(
        (type) => type === 'subscription_expired',
      )
      assert.equal(expired.length, 1, profile.profileId)
    }
  })

  it('a job whose chain is being written is left for the next round, not waited for', async () => {
    const { tenant, profile } = await buyerWithSubscription('2026-03-01T00:00:00Z', '2026-03-05T00:00:00Z', {
      renew_status: false,
      renew_status_changed_at: '2026-03-01T00:00:01Z',
    })
    clock.set(new Date('2026-03-05T00:00:01Z'))
    await h.services.entitlements.runDueJobs()
    await h.services.entitlements.runDueJobs()
    const types = await eventTypesOf(h, tenant.appId, profile.profileId)
    assert.equal(types.filter((type) => type === 'subscription_expired').length, 1)
    assert.equal(types.at(-1), 'access_level_updated')
  })

  it('a renewal leaves the expiry job where it was; at that time the job follows the new end, silently', async () => {
    const {
      tenant,
      profile,
      body: first,
    } = await buyerWithSubscription('2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z')
    const dueOfJob = async () => {
      const rows = await h.database.rawQuery<{ due_at: Date | string }>(
        { name: '', text: 'select due_at from scheduled_jobs where app_id = $1 and profile_id = $2' },
        [tenant.appId, profile.profileId],
      )
      assert.equal(rows.length, 1)
      return new Date((rows[0] as { due_at: Date | string }).due_at).toISOString()
    }
    const firstDue = await dueOfJob()
    assert.ok(firstDue >= '2026-05-01T00:00:00.000Z' && firstDue < '2026-05-02', firstDue)

    clock.set(new Date('2026-04-30T00:00:00Z'))
    const renewal = {
      ...first,
      store_transaction_id: `${first.store_transaction_id}-2`,
      purchased_at: '2026-04-30T00:00:00Z',
      expires_at: '2026-05-31T00:00:00Z',
    }
    assert.equal((await setTransaction(tenant, profile.headers, renewal)).statusCode, 200)
    // Not rewritten by the renewal.
    assert.equal(await dueOfJob(), firstDue)

    clock.set(new Date(Date.parse(firstDue) + 1000))
    await h.services.entitlements.runDueJobs()
    const secondDue = await dueOfJob()
    assert.ok(secondDue >= '2026-05-31T00:00:00.000Z' && secondDue < '2026-06-01', secondDue)
    assert.ok(!(await eventTypesOf(h, tenant.appId, profile.profileId)).includes('subscription_expired'))

    clock.set(new Date(Date.parse(secondDue) + 1000))
    await h.services.entitlements.runDueJobs()
    const types = await eventTypesOf(h, tenant.appId, profile.profileId)
    assert.equal(types.filter((type) => type === 'subscription_expired').length, 1)
  })
})

describe('shutdown', () => {
  it('drain() resolves only when every set transaction submitted before it is written', async () => {
    clock.set(new Date('2026-04-01T00:00:00Z'))
    const tenant = await h.createTenant()
    const profile = await newProfile(tenant)
    const writes = Array.from({ length: 20 }, (_, i) => {
      const normalized = normalizeTransaction(
        subscriptionBody({ price: { country: 'US', currency: 'USD', value: i + 1 } }) as never,
      )
      assert.ok(normalized.ok)
      return h.services.entitlements.setTransaction(
        tenant.appId,
        { profileId: profile.profileId },
        normalized.value,
      )
    })
    // As the server does before closing the database: nothing submitted may still be in the air.
    await h.services.entitlements.drain()
    const ledger = await h.database.rawQuery<{ n: number }>(
      { name: 'test_ledger_count', text: 'select count(*)::int as n from ledger_entries where app_id = $1' },
      [tenant.appId],
    )
    assert.equal(ledger[0]?.n, 20)
    for (const result of await Promise.all(writes)) assert.ok(result.ok)
  })
})
