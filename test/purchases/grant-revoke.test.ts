import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import { fixedClock } from '../../src/platform/clock.ts'
import { buildTestApp, type Tenant } from '../support/harness.ts'
import {
  createAccessLevel,
  eventsOf,
  getProfile,
  grant,
  newProfile,
  oneTimeBody,
  revoke,
  setTransaction,
  subscriptionBody,
  traceOf,
  uniqueTransactionId,
} from '../support/purchases.ts'

/**
 * Grant and revoke access level through HTTP (contract §2.6–2.7, §5.2; decisions.md "Transactions and access").
 * The clock only moves forward within a test: each test has its own app, hence its own API key.
 */

const T0 = new Date('2026-01-10T00:00:00Z')
const NOW = '2026-01-10T00:00:00.000000+00:00'
const clock = fixedClock(T0)
const h = await buildTestApp({ clock })

beforeEach(() => clock.set(T0))

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

type Level = Record<string, unknown>
interface WireProfile {
  total_revenue_usd: number
  access_levels: Level[]
  subscriptions: Record<string, unknown>[]
  non_subscriptions: Record<string, unknown>[]
}

function data(response: { statusCode: number; body: string; json(): unknown }): WireProfile {
  assert.equal(response.statusCode, 200, response.body)
  return (response.json() as { data: WireProfile }).data
}

const level = (profile: WireProfile, id: string) =>
  profile.access_levels.find((l) => l.access_level_id === id)

async function setup() {
  const tenant = await h.createTenant()
  const profile = await newProfile(tenant)
  return { tenant, profile }
}

const read = async (tenant: Tenant, headers: Record<string, string>) =>
  data(await getProfile(tenant, headers))

describe('grant access level', () => {
  it('now, without dates: lifetime access from the server-side product, nothing else', async () => {
    const { tenant, profile } = await setup()
    const granted = data(await grant(tenant, profile.headers, { access_level_id: 'premium' }))
    assert.equal(granted.access_levels.length, 1)
    const premium = granted.access_levels[0] as Level
    const grantId = premium.store_transaction_id as string
    assert.match(grantId, UUID)
    // Contract: starts_at is nullable; a grant without starts_at starts at the moment it is made.
    assert.ok(premium.starts_at === null || premium.starts_at === NOW, String(premium.starts_at))
    assert.deepEqual(premium, {
      access_level_id: 'premium',
      store: 'adapty',
      store_product_id: 'adapty_server_side_product',
      store_base_plan_id: null,
      store_transaction_id: grantId,
      store_original_transaction_id: grantId,
      offer: null,
      starts_at: premium.starts_at,
      purchased_at: NOW,
      originally_purchased_at: NOW,
      expires_at: null,
      renewal_cancelled_at: null,
      billing_issue_detected_at: null,
      is_in_grace_period: false,
      cancellation_reason: null,
    })
    // No transaction: no subscription, no purchase, no revenue.
    assert.deepEqual(granted.subscriptions, [])
    assert.deepEqual(granted.non_subscriptions, [])
    assert.equal(granted.total_revenue_usd, 0)
    const trace = await traceOf(h, tenant.appId, profile.profileId)
    assert.equal(trace.storeTransactions, 0)
    assert.equal(trace.purchaseChains, 0)

    // Still there, unchanged, decades later.
    clock.set(new Date('2060-01-01T00:00:00Z'))
    assert.deepEqual(level(await read(tenant, profile.headers), 'premium'), premium)
  })

  it('with null dates is the same as without', async () => {
    const { tenant, profile } = await setup()
    const granted = data(
      await grant(tenant, profile.headers, { access_level_id: 'premium', starts_at: null, expires_at: null }),
    )
    assert.equal(level(granted, 'premium')?.expires_at, null)
    assert.equal(level(granted, 'premium')?.store_product_id, 'adapty_server_side_product')
  })

  it('with a future starts_at: listed with it, and active once the clock passes it (no job needed)', async () => {
    const { tenant, profile } = await setup()
    const granted = data(
      await grant(tenant, profile.headers, {
        access_level_id: 'premium',
        starts_at: '2026-02-01T00:00:00Z',
        expires_at: '2026-03-01T00:00:00+00:00',
      }),
    )
    assert.equal(level(granted, 'premium')?.starts_at, '2026-02-01T00:00:00.000000+00:00')
    assert.equal(level(granted, 'premium')?.expires_at, '2026-03-01T00:00:00.000000+00:00')
    assert.equal(level(granted, 'premium')?.purchased_at, NOW)

    clock.set(new Date('2026-02-10T00:00:00Z'))
    const started = await read(tenant, profile.headers)
    const premium = level(started, 'premium')
    assert.equal(premium?.starts_at, '2026-02-01T00:00:00.000000+00:00')
    assert.equal(premium?.expires_at, '2026-03-01T00:00:00.000000+00:00')
    assert.ok(Date.parse(premium?.starts_at as string) <= clock.now().getTime())
    assert.ok(Date.parse(premium?.expires_at as string) > clock.now().getTime())
  })

  it('with a past expires_at: listed, already expired', async () => {
    const { tenant, profile } = await setup()
    const granted = data(
      await grant(tenant, profile.headers, {
        access_level_id: 'premium',
        starts_at: '2025-12-01T00:00:00Z',
        expires_at: '2026-01-05T00:00:00Z',
      }),
    )
    assert.equal(level(granted, 'premium')?.starts_at, '2025-12-01T00:00:00.000000+00:00')
    assert.equal(level(granted, 'premium')?.expires_at, '2026-01-05T00:00:00.000000+00:00')
    assert.deepEqual(await read(tenant, profile.headers), granted)
  })

  it('a new grant replaces the previous grant of the same level, and leaves other levels alone', async () => {
    const { tenant, profile } = await setup()
    await createAccessLevel(h, tenant.appId, 'sports')
    const first = data(await grant(tenant, profile.headers, { access_level_id: 'premium' }))
    data(
      await grant(tenant, profile.headers, { access_level_id: 'sports', expires_at: '2026-06-01T00:00:00Z' }),
    )
    const second = data(
      await grant(tenant, profile.headers, {
        access_level_id: 'premium',
        expires_at: '2026-03-01T00:00:00Z',
      }),
    )
    // The shorter grant replaced the lifetime one: it is no longer in force.
    assert.deepEqual(
      second.access_levels.map((l) => [l.access_level_id, l.expires_at]),
      [
        ['premium', '2026-03-01T00:00:00.000000+00:00'],
        ['sports', '2026-06-01T00:00:00.000000+00:00'],
      ],
    )
    assert.notEqual(
      level(second, 'premium')?.store_transaction_id,
      level(first, 'premium')?.store_transaction_id,
    )
    clock.set(new Date('2026-04-01T00:00:00Z'))
    const later = await read(tenant, profile.headers)
    assert.equal(level(later, 'premium')?.expires_at, '2026-03-01T00:00:00.000000+00:00')
  })

  it('events of a grant carry vendor_product_id adapty_server_side_product', async () => {
    const { tenant, profile } = await setup()
    data(await grant(tenant, profile.headers, { access_level_id: 'premium' }))
    const events = await eventsOf(h, tenant.appId, profile.profileId)
    assert.deepEqual(
      events.map((e) => e.eventType),
      ['access_level_updated'],
    )
    const properties = events[0]?.payload.event_properties
    assert.equal(properties?.vendor_product_id, 'adapty_server_side_product')
    assert.equal(properties?.access_level_id, 'premium')
    assert.equal(properties?.is_active, true)
  })

  it('a grant is not shared with the profiles that share a store purchase', async () => {
    const { tenant, profile } = await setup()
    await createAccessLevel(h, tenant.appId, 'sports')
    const sibling = await newProfile(tenant)
    // Both profiles hold one store subscription (sharing mode enabled, the default).
    const body = subscriptionBody({ expires_at: '2026-03-01T00:00:00Z' })
    data(await setTransaction(tenant, profile.headers, body))
    const restored = data(await setTransaction(tenant, sibling.headers, body))
    assert.deepEqual(
      restored.access_levels.map((l) => l.access_level_id),
      ['premium'],
    )

    const granted = data(await grant(tenant, profile.headers, { access_level_id: 'sports' }))
    assert.deepEqual(
      granted.access_levels.map((l) => l.access_level_id),
      ['premium', 'sports'],
    )
    // A lifetime premium grant on the profile does not lengthen the sibling's premium either.
    data(await grant(tenant, profile.headers, { access_level_id: 'premium' }))
    const siblingView = await read(tenant, sibling.headers)
    assert.deepEqual(
      siblingView.access_levels.map((l) => [l.access_level_id, l.store, l.expires_at]),
      [['premium', 'app_store', '2026-03-01T00:00:00.000000+00:00']],
    )
    assert.ok(
      !(await eventsOf(h, tenant.appId, sibling.profileId)).some(
        (e) => e.payload.event_properties.vendor_product_id === 'adapty_server_side_product',
      ),
    )
  })
})

describe('revoke access level', () => {
  it('now: a granted level ends at this moment, cancellation_reason adapty_revoked', async () => {
    const { tenant, profile } = await setup()
    const granted = data(await grant(tenant, profile.headers, { access_level_id: 'premium' }))
    const revoked = data(await revoke(tenant, profile.headers, { access_level_id: 'premium' }))
    const premium = level(revoked, 'premium')
    assert.equal(premium?.expires_at, NOW)
    assert.equal(premium?.cancellation_reason, 'adapty_revoked')
    assert.equal(premium?.store_transaction_id, level(granted, 'premium')?.store_transaction_id)
    // revoke_at null is now too.
    const other = await newProfile(tenant)
    data(await grant(tenant, other.headers, { access_level_id: 'premium' }))
    const revokedNull = data(
      await revoke(tenant, other.headers, { access_level_id: 'premium', revoke_at: null }),
    )
    assert.equal(level(revokedNull, 'premium')?.expires_at, NOW)
    assert.equal(level(revokedNull, 'premium')?.cancellation_reason, 'adapty_revoked')
    // A GET answers the same.
    assert.deepEqual(level(await read(tenant, profile.headers), 'premium'), premium)
  })

  it('now: a store subscription level ends at this moment; the subscription keeps its period', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody()
    data(await setTransaction(tenant, profile.headers, body))
    const revoked = data(await revoke(tenant, profile.headers, { access_level_id: 'premium' }))
    const premium = level(revoked, 'premium')
    assert.equal(premium?.expires_at, NOW)
    assert.equal(premium?.cancellation_reason, 'adapty_revoked')
    assert.equal(premium?.store_transaction_id, body.store_transaction_id)
    assert.equal(revoked.subscriptions.length, 1)
    assert.equal(revoked.subscriptions[0]?.expires_at, '2026-02-01T00:00:00.000000+00:00')
    // Revenue stays: a revoke is not a refund.
    assert.equal(revoked.total_revenue_usd, 9.99)
  })

  it('now: a lifetime one-time purchase level ends at this moment', async () => {
    const { tenant, profile } = await setup()
    data(await setTransaction(tenant, profile.headers, oneTimeBody()))
    const revoked = data(await revoke(tenant, profile.headers, { access_level_id: 'premium' }))
    assert.equal(level(revoked, 'premium')?.expires_at, NOW)
    assert.equal(level(revoked, 'premium')?.cancellation_reason, 'adapty_revoked')
    assert.equal(revoked.non_subscriptions.length, 1)
  })

  it('scheduled: access ends at revoke_at', async () => {
    const { tenant, profile } = await setup()
    data(await grant(tenant, profile.headers, { access_level_id: 'premium' }))
    const revoked = data(
      await revoke(tenant, profile.headers, {
        access_level_id: 'premium',
        revoke_at: '2026-02-01T00:00:00Z',
      }),
    )
    assert.equal(level(revoked, 'premium')?.expires_at, '2026-02-01T00:00:00.000000+00:00')

    // A subscription: revoke_at before the period end shortens it; exactly now is accepted.
    const subscriber = await newProfile(tenant)
    data(await setTransaction(tenant, subscriber.headers, subscriptionBody()))
    const cut = data(
      await revoke(tenant, subscriber.headers, {
        access_level_id: 'premium',
        revoke_at: '2026-01-20T12:00:00.000+00:00',
      }),
    )
    assert.equal(level(cut, 'premium')?.expires_at, '2026-01-20T12:00:00.000000+00:00')
    assert.equal(cut.subscriptions[0]?.expires_at, '2026-02-01T00:00:00.000000+00:00')

    const atNow = await newProfile(tenant)
    data(await grant(tenant, atNow.headers, { access_level_id: 'premium' }))
    const immediate = data(
      await revoke(tenant, atNow.headers, { access_level_id: 'premium', revoke_at: '2026-01-10T00:00:00Z' }),
    )
    assert.equal(level(immediate, 'premium')?.expires_at, NOW)

    // After revoke_at, still listed with it as the (past) expiry.
    clock.set(new Date('2026-03-01T00:00:00Z'))
    assert.equal(
      level(await read(tenant, profile.headers), 'premium')?.expires_at,
      '2026-02-01T00:00:00.000000+00:00',
    )
    assert.equal(
      level(await read(tenant, subscriber.headers), 'premium')?.expires_at,
      '2026-01-20T12:00:00.000000+00:00',
    )
  })

  it('a later revoke can shorten a scheduled one further', async () => {
    const { tenant, profile } = await setup()
    data(await grant(tenant, profile.headers, { access_level_id: 'premium' }))
    data(
      await revoke(tenant, profile.headers, {
        access_level_id: 'premium',
        revoke_at: '2026-03-01T00:00:00Z',
      }),
    )
    const shorter = data(
      await revoke(tenant, profile.headers, {
        access_level_id: 'premium',
        revoke_at: '2026-02-01T00:00:00Z',
      }),
    )
    assert.equal(level(shorter, 'premium')?.expires_at, '2026-02-01T00:00:00.000000+00:00')
  })

  it('a revoked store subscription: an update of the same transaction keeps it revoked, a renewal restores access', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody()
    data(await setTransaction(tenant, profile.headers, body))
    data(await revoke(tenant, profile.headers, { access_level_id: 'premium' }))

    // The store reports the same transaction again (auto-renew turned off): the revoke sticks.
    clock.set(new Date('2026-01-15T00:00:00Z'))
    const updated = data(
      await setTransaction(tenant, profile.headers, {
        ...body,
        renew_status: false,
        renew_status_changed_at: '2026-01-14T00:00:00Z',
      }),
    )
    assert.equal(level(updated, 'premium')?.expires_at, NOW)
    assert.equal(level(updated, 'premium')?.cancellation_reason, 'adapty_revoked')

    // The next period is bought: access again, until its end.
    clock.set(new Date('2026-02-01T00:05:00Z'))
    const renewalId = uniqueTransactionId('renewal')
    const renewed = data(
      await setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          store_transaction_id: renewalId,
          store_original_transaction_id: body.store_original_transaction_id,
          purchased_at: '2026-02-01T00:00:00Z',
          expires_at: '2026-03-01T00:00:00Z',
        }),
      ),
    )
    const premium = level(renewed, 'premium')
    assert.equal(premium?.store_transaction_id, renewalId)
    assert.equal(premium?.expires_at, '2026-03-01T00:00:00.000000+00:00')
    assert.equal(premium?.cancellation_reason, null)
    assert.equal(renewed.subscriptions[0]?.cancellation_reason, null)
  })

  it('revoke then grant restores access', async () => {
    const { tenant, profile } = await setup()
    data(await setTransaction(tenant, profile.headers, subscriptionBody()))
    data(await revoke(tenant, profile.headers, { access_level_id: 'premium' }))
    clock.set(new Date('2026-01-11T00:00:00Z'))
    const granted = data(
      await grant(tenant, profile.headers, {
        access_level_id: 'premium',
        expires_at: '2026-05-01T00:00:00Z',
      }),
    )
    const premium = level(granted, 'premium')
    assert.equal(premium?.store, 'adapty')
    assert.equal(premium?.expires_at, '2026-05-01T00:00:00.000000+00:00')
    assert.equal(premium?.cancellation_reason, null)

    // The same for a revoked grant: the new grant replaces it.
    const other = await newProfile(tenant)
    data(await grant(tenant, other.headers, { access_level_id: 'premium' }))
    data(await revoke(tenant, other.headers, { access_level_id: 'premium' }))
    const again = data(await grant(tenant, other.headers, { access_level_id: 'premium' }))
    assert.equal(level(again, 'premium')?.expires_at, null)
    assert.equal(level(again, 'premium')?.cancellation_reason, null)
    // And it can be revoked again.
    clock.set(new Date('2026-01-12T00:00:00Z'))
    const revokedAgain = data(await revoke(tenant, other.headers, { access_level_id: 'premium' }))
    assert.equal(level(revokedAgain, 'premium')?.expires_at, '2026-01-12T00:00:00.000000+00:00')
  })

  it('revokes only the level named, on the profile named', async () => {
    const { tenant, profile } = await setup()
    await createAccessLevel(h, tenant.appId, 'sports')
    const sibling = await newProfile(tenant)
    const body = subscriptionBody({ expires_at: '2026-03-01T00:00:00Z' })
    data(await setTransaction(tenant, profile.headers, body))
    data(await setTransaction(tenant, sibling.headers, body))
    data(await grant(tenant, profile.headers, { access_level_id: 'sports' }))
    const revoked = data(await revoke(tenant, profile.headers, { access_level_id: 'premium' }))
    assert.deepEqual(
      revoked.access_levels.map((l) => [l.access_level_id, l.expires_at]),
      [
        ['premium', NOW],
        ['sports', null],
      ],
    )
    assert.equal(
      level(await read(tenant, sibling.headers), 'premium')?.expires_at,
      '2026-03-01T00:00:00.000000+00:00',
    )
  })
})
