import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import { eq } from 'drizzle-orm'
import { storeTransactions } from '../../src/db/schema.ts'
import { fixedClock } from '../../src/platform/clock.ts'
import { buildTestApp, type Tenant } from '../support/harness.ts'
import {
  createAccessLevel,
  createProduct,
  eventTypesOf,
  getProfile,
  grant,
  newProfile,
  oneTimeBody,
  setExchangeRates,
  setTransaction,
  subscriptionBody,
  traceOf,
  uniqueTransactionId,
} from '../support/purchases.ts'

/**
 * Set transaction through HTTP on the real database: what the profile answers afterwards (contract §3.3–3.5,
 * decisions.md "Transactions and access").
 */

const T0 = new Date('2026-01-10T00:00:00Z')
const clock = fixedClock(T0)
const h = await buildTestApp({ clock })

beforeEach(() => clock.set(T0))

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const at = (iso: string) => new Date(iso).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00')

interface WireProfile {
  app_id: string
  profile_id: string
  customer_user_id: string | null
  total_revenue_usd: number
  segment_hash: string
  timestamp: number
  custom_attributes: unknown[]
  access_levels: Record<string, unknown>[]
  subscriptions: Record<string, unknown>[]
  non_subscriptions: Record<string, unknown>[]
}

async function ok(response: { statusCode: number; body: string; json(): unknown }): Promise<WireProfile> {
  assert.equal(response.statusCode, 200, response.body)
  return (response.json() as { data: WireProfile }).data
}

async function setup() {
  const tenant = await h.createTenant()
  const profile = await newProfile(tenant)
  return { tenant, profile }
}

const buy = async (tenant: Tenant, headers: Record<string, string>, body: Record<string, unknown>) =>
  ok(await setTransaction(tenant, headers, body))

const level = (data: WireProfile, id: string) => data.access_levels.find((l) => l.access_level_id === id)

function assertMoney(actual: number, expected: number, what = 'total_revenue_usd') {
  assert.equal(typeof actual, 'number', what)
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: expected ${expected}, got ${actual}`)
}

describe('the profile set transaction answers', () => {
  it('is the full profile, with access_levels and subscriptions shaped as the contract says', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody({
      // Offsets and fractions are accepted as sent and answered in UTC with microseconds.
      purchased_at: '2026-01-01T00:00:00.123456+0000',
      originally_purchased_at: '2026-01-01T01:00:00.123+01:00',
      expires_at: '2026-02-01T00:00:00Z',
      offer: { category: 'introductory', type: 'pay_as_you_go', id: null },
    })
    const data = await buy(tenant, profile.headers, body)
    const txn = body.store_transaction_id as string
    assert.match(data.segment_hash, /^[0-9a-f]{16}$/)
    assert.deepEqual(data, {
      app_id: tenant.appId,
      profile_id: profile.profileId,
      customer_user_id: profile.customerUserId,
      total_revenue_usd: 9.99,
      segment_hash: data.segment_hash,
      timestamp: T0.getTime(),
      custom_attributes: [],
      access_levels: [
        {
          access_level_id: 'premium',
          store: 'app_store',
          store_product_id: 'com.example.monthly',
          store_base_plan_id: null,
          store_transaction_id: txn,
          store_original_transaction_id: txn,
          offer: { category: 'introductory', type: 'pay_as_you_go', id: null },
          starts_at: null,
          purchased_at: '2026-01-01T00:00:00.123000+00:00',
          originally_purchased_at: '2026-01-01T00:00:00.123000+00:00',
          expires_at: '2026-02-01T00:00:00.000000+00:00',
          renewal_cancelled_at: null,
          billing_issue_detected_at: null,
          is_in_grace_period: false,
          cancellation_reason: null,
        },
      ],
      subscriptions: [
        {
          store: 'app_store',
          store_product_id: 'com.example.monthly',
          store_base_plan_id: null,
          store_transaction_id: txn,
          store_original_transaction_id: txn,
          offer: { category: 'introductory', type: 'pay_as_you_go', id: null },
          environment: 'Production',
          purchased_at: '2026-01-01T00:00:00.123000+00:00',
          originally_purchased_at: '2026-01-01T00:00:00.123000+00:00',
          expires_at: '2026-02-01T00:00:00.000000+00:00',
          renewal_cancelled_at: null,
          billing_issue_detected_at: null,
          is_in_grace_period: false,
          cancellation_reason: null,
        },
      ],
      non_subscriptions: [],
    })
  })

  it('answers a one-time purchase in non_subscriptions, shaped as the contract says', async () => {
    const { tenant, profile } = await setup()
    const body = oneTimeBody({ environment: 'Sandbox' })
    const data = await buy(tenant, profile.headers, body)
    const txn = body.store_transaction_id as string
    assert.equal(data.non_subscriptions.length, 1)
    const purchaseId = data.non_subscriptions[0]?.purchase_id as string
    assert.match(purchaseId, UUID)
    assert.deepEqual(data.non_subscriptions, [
      {
        purchase_id: purchaseId,
        store: 'app_store',
        store_product_id: 'com.example.lifetime',
        store_base_plan_id: null,
        store_transaction_id: txn,
        store_original_transaction_id: txn,
        purchased_at: '2026-01-01T00:00:00.000000+00:00',
        environment: 'Sandbox',
        is_refund: false,
        is_consumable: false,
      },
    ])
    assert.deepEqual(data.subscriptions, [])
    // Not in the catalog: premium, for life.
    assert.deepEqual(data.access_levels, [
      {
        access_level_id: 'premium',
        store: 'app_store',
        store_product_id: 'com.example.lifetime',
        store_base_plan_id: null,
        store_transaction_id: txn,
        store_original_transaction_id: txn,
        offer: null,
        starts_at: null,
        purchased_at: '2026-01-01T00:00:00.000000+00:00',
        originally_purchased_at: '2026-01-01T00:00:00.000000+00:00',
        expires_at: null,
        renewal_cancelled_at: null,
        billing_issue_detected_at: null,
        is_in_grace_period: false,
        cancellation_reason: null,
      },
    ])
    assertMoney(data.total_revenue_usd, 49.99)
  })

  it('answers the same lists as GET profile afterwards', async () => {
    const { tenant, profile } = await setup()
    await buy(tenant, profile.headers, subscriptionBody())
    await buy(tenant, profile.headers, oneTimeBody())
    const written = await buy(
      tenant,
      profile.headers,
      subscriptionBody({ store_product_id: 'com.example.yearly', expires_at: '2027-01-01T00:00:00Z' }),
    )
    const read = await ok(await getProfile(tenant, profile.headers))
    assert.deepEqual(read, written)
    const byCustomerUserId = await ok(
      await getProfile(tenant, { 'adapty-customer-user-id': profile.customerUserId as string }),
    )
    assert.deepEqual(byCustomerUserId, written)
    assert.equal(written.subscriptions.length, 2)
    assert.equal(written.non_subscriptions.length, 1)
  })
})

describe('which access level a transaction grants', () => {
  it('a product in the catalog grants its own access level, not premium', async () => {
    const { tenant, profile } = await setup()
    await createAccessLevel(h, tenant.appId, 'sports')
    await createProduct(h, tenant.appId, {
      product_id: 'sports_monthly',
      access_level_id: 'sports',
      type: 'subscription',
      period: 'P1M',
      store_products: [{ store: 'app_store', store_product_id: 'com.example.sports.monthly' }],
    })
    const body = subscriptionBody({ store_product_id: 'com.example.sports.monthly' })
    const data = await buy(tenant, profile.headers, body)
    assert.deepEqual(
      data.access_levels.map((l) => [l.access_level_id, l.store_transaction_id, l.expires_at]),
      [['sports', body.store_transaction_id, '2026-02-01T00:00:00.000000+00:00']],
    )

    // The same store product id in another store is not that product: premium.
    const other = await newProfile(tenant)
    const elsewhere = await buy(
      tenant,
      other.headers,
      subscriptionBody({ store: 'play_store', store_product_id: 'com.example.sports.monthly' }),
    )
    assert.deepEqual(
      elsewhere.access_levels.map((l) => l.access_level_id),
      ['premium'],
    )
  })

  it('an unknown product is stored and grants premium', async () => {
    const { tenant, profile } = await setup()
    await createAccessLevel(h, tenant.appId, 'sports')
    const body = subscriptionBody({ store_product_id: 'com.example.not.in.catalog' })
    const data = await buy(tenant, profile.headers, body)
    assert.deepEqual(
      data.access_levels.map((l) => [l.access_level_id, l.store_product_id]),
      [['premium', 'com.example.not.in.catalog']],
    )
    const stored = await h.database.db
      .select()
      .from(storeTransactions)
      .where(eq(storeTransactions.appId, tenant.appId))
    assert.equal(stored.length, 1)
    assert.equal(stored[0]?.storeTransactionId, body.store_transaction_id)
    assert.equal(stored[0]?.profileId, profile.profileId)
    assertMoney(stored[0]?.revenueUsd as number, 9.99, 'revenue_usd')
    assert.deepEqual(await eventTypesOf(h, tenant.appId, profile.profileId), [
      'subscription_started',
      'access_level_updated',
    ])
  })

  it('a custom store id works like any store, by its Store ID and store product id', async () => {
    const { tenant, profile } = await setup()
    await createAccessLevel(h, tenant.appId, 'sports')
    await createProduct(h, tenant.appId, {
      product_id: 'web_sports',
      access_level_id: 'sports',
      type: 'subscription',
      period: 'P1M',
      store_products: [{ store: 'my-web.store', store_product_id: 'sports-monthly' }],
    })
    const body = subscriptionBody({ store: 'my-web.store', store_product_id: 'sports-monthly' })
    const data = await buy(tenant, profile.headers, body)
    assert.deepEqual(
      data.access_levels.map((l) => [l.access_level_id, l.store, l.store_product_id]),
      [['sports', 'my-web.store', 'sports-monthly']],
    )
    assert.deepEqual(
      data.subscriptions.map((s) => [s.store, s.store_product_id, s.store_transaction_id]),
      [['my-web.store', 'sports-monthly', body.store_transaction_id]],
    )
    // An unknown product of a custom store: premium.
    const other = await buy(tenant, profile.headers, subscriptionBody({ store: 'my-web.store' }))
    assert.deepEqual(
      other.access_levels.map((l) => l.access_level_id),
      ['premium', 'sports'],
    )
  })
})

describe('transactions of one chain', () => {
  it('the same store_transaction_id again updates in place: one entry, one chain, no renewal', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody()
    await buy(tenant, profile.headers, body)
    const again = await buy(tenant, profile.headers, { ...body })
    const changed = await buy(tenant, profile.headers, {
      ...body,
      renew_status: false,
      renew_status_changed_at: '2026-01-05T00:00:00Z',
    })
    for (const data of [again, changed]) {
      assert.equal(data.subscriptions.length, 1)
      assert.equal(data.subscriptions[0]?.store_transaction_id, body.store_transaction_id)
      assert.equal(data.access_levels.length, 1)
      // Revenue is counted once.
      assertMoney(data.total_revenue_usd, 9.99)
    }
    assert.equal(changed.subscriptions[0]?.renewal_cancelled_at, '2026-01-05T00:00:00.000000+00:00')
    const trace = await traceOf(h, tenant.appId, profile.profileId)
    assert.equal(trace.storeTransactions, 1)
    assert.equal(trace.purchaseChains, 1)
    assert.equal(trace.ledgerEntries, 3)
    const types = await eventTypesOf(h, tenant.appId, profile.profileId)
    assert.equal(types.filter((t) => t === 'subscription_started').length, 1, types.join())
    assert.ok(!types.includes('subscription_renewed'), types.join())
  })

  it('a new store_transaction_id under a known original is a renewal; subscriptions shows the latest', async () => {
    const { tenant, profile } = await setup()
    const first = subscriptionBody()
    await buy(tenant, profile.headers, first)
    clock.set(new Date('2026-02-01T00:05:00Z'))
    const renewalId = uniqueTransactionId('renewal')
    const data = await buy(
      tenant,
      profile.headers,
      subscriptionBody({
        store_transaction_id: renewalId,
        store_original_transaction_id: first.store_original_transaction_id,
        purchased_at: '2026-02-01T00:00:00Z',
        expires_at: '2026-03-01T00:00:00Z',
      }),
    )
    assert.deepEqual(data.subscriptions, [
      {
        store: 'app_store',
        store_product_id: 'com.example.monthly',
        store_base_plan_id: null,
        store_transaction_id: renewalId,
        store_original_transaction_id: first.store_transaction_id,
        offer: null,
        environment: 'Production',
        purchased_at: '2026-02-01T00:00:00.000000+00:00',
        originally_purchased_at: '2026-01-01T00:00:00.000000+00:00',
        expires_at: '2026-03-01T00:00:00.000000+00:00',
        renewal_cancelled_at: null,
        billing_issue_detected_at: null,
        is_in_grace_period: false,
        cancellation_reason: null,
      },
    ])
    assert.deepEqual(
      data.access_levels.map((l) => [l.access_level_id, l.store_transaction_id, l.expires_at]),
      [['premium', renewalId, '2026-03-01T00:00:00.000000+00:00']],
    )
    assertMoney(data.total_revenue_usd, 19.98)
    const trace = await traceOf(h, tenant.appId, profile.profileId)
    assert.equal(trace.storeTransactions, 2)
    assert.equal(trace.purchaseChains, 1)
    const types = await eventTypesOf(h, tenant.appId, profile.profileId)
    assert.ok(types.includes('subscription_renewed'), types.join())
    assert.equal(types.filter((t) => t === 'subscription_started').length, 1, types.join())
  })

  it('an expired subscription is still listed, with its past expires_at', async () => {
    const { tenant, profile } = await setup()
    const data = await buy(tenant, profile.headers, subscriptionBody({ expires_at: '2026-01-05T00:00:00Z' }))
    assert.equal(data.subscriptions.length, 1)
    assert.equal(data.subscriptions[0]?.expires_at, '2026-01-05T00:00:00.000000+00:00')
    assert.equal(level(data, 'premium')?.expires_at, '2026-01-05T00:00:00.000000+00:00')
    const read = await ok(await getProfile(tenant, profile.headers))
    assert.deepEqual(read.subscriptions, data.subscriptions)
  })

  it('a subscription with expires_at null has no end', async () => {
    const { tenant, profile } = await setup()
    const data = await buy(tenant, profile.headers, subscriptionBody({ expires_at: null }))
    assert.equal(data.subscriptions[0]?.expires_at, null)
    assert.equal(level(data, 'premium')?.expires_at, null)
    clock.set(new Date('2040-01-01T00:00:00Z'))
    const later = await ok(await getProfile(tenant, profile.headers))
    assert.equal(level(later, 'premium')?.expires_at, null)
  })

  it('a Sandbox transaction shows its environment in subscriptions', async () => {
    const { tenant, profile } = await setup()
    const data = await buy(tenant, profile.headers, subscriptionBody({ environment: 'Sandbox' }))
    assert.equal(data.subscriptions[0]?.environment, 'Sandbox')
    const production = await buy(tenant, profile.headers, subscriptionBody())
    assert.deepEqual(
      production.subscriptions.map((s) => s.environment),
      ['Sandbox', 'Production'],
    )
  })
})

describe('refunds and revenue', () => {
  it('a refund ends access at refunded_at and takes the transaction out of total_revenue_usd', async () => {
    const { tenant, profile } = await setup()
    const refunded = subscriptionBody()
    const kept = subscriptionBody({
      store_product_id: 'com.example.other',
      price: { country: 'US', currency: 'USD', value: 4.99 },
    })
    await buy(tenant, profile.headers, refunded)
    const before = await buy(tenant, profile.headers, kept)
    assertMoney(before.total_revenue_usd, 14.98)

    const data = await buy(tenant, profile.headers, {
      ...refunded,
      refunded_at: '2026-01-05T00:00:00Z',
      cancellation_reason: 'refund',
    })
    assertMoney(data.total_revenue_usd, 4.99)
    const entry = data.subscriptions.find((s) => s.store_transaction_id === refunded.store_transaction_id)
    assert.equal(entry?.cancellation_reason, 'refund')
    // Access of the refunded chain ended at refunded_at; the other chain still gives premium.
    const premium = level(data, 'premium')
    assert.equal(premium?.store_transaction_id, kept.store_transaction_id)

    // Alone, the refunded subscription shows access ending at refunded_at.
    const alone = await newProfile(tenant)
    const only = subscriptionBody()
    await buy(tenant, alone.headers, only)
    const refundedAlone = await buy(tenant, alone.headers, {
      ...only,
      refunded_at: '2026-01-05T00:00:00Z',
      cancellation_reason: 'refund',
    })
    assert.equal(level(refundedAlone, 'premium')?.expires_at, '2026-01-05T00:00:00.000000+00:00')
    assert.equal(level(refundedAlone, 'premium')?.cancellation_reason, 'refund')
    assertMoney(refundedAlone.total_revenue_usd, 0)
  })

  it('a refunded one-time purchase: is_refund, access ends at refunded_at, no revenue', async () => {
    const { tenant, profile } = await setup()
    const body = oneTimeBody()
    await buy(tenant, profile.headers, body)
    const data = await buy(tenant, profile.headers, {
      ...body,
      refunded_at: '2026-01-03T00:00:00Z',
      cancellation_reason: 'refund',
    })
    assert.equal(data.non_subscriptions.length, 1)
    assert.equal(data.non_subscriptions[0]?.is_refund, true)
    assert.equal(level(data, 'premium')?.expires_at, '2026-01-03T00:00:00.000000+00:00')
    assertMoney(data.total_revenue_usd, 0)
  })

  it('total_revenue_usd converts with the app table, and a changed table applies to later transactions', async () => {
    const { tenant, profile } = await setup()
    const eur = (value: number) => ({ country: 'DE', currency: 'EUR', value })
    // The bundled snapshot: 1 EUR = 1.08 USD.
    const first = await buy(tenant, profile.headers, subscriptionBody({ price: eur(10) }))
    assertMoney(first.total_revenue_usd, 10.8)

    await setExchangeRates(h, tenant.appId, { EUR: 2 })
    const second = await buy(tenant, profile.headers, subscriptionBody({ price: eur(10) }))
    assertMoney(second.total_revenue_usd, 30.8)
    // Lower-case currency codes are the same currency; USD stays 1.
    const third = await buy(
      tenant,
      profile.headers,
      oneTimeBody({ price: { country: 'us', currency: 'usd', value: 5 } }),
    )
    assertMoney(third.total_revenue_usd, 35.8)
    const read = await ok(await getProfile(tenant, profile.headers))
    assertMoney(read.total_revenue_usd, 35.8)
  })
})

describe('renewal status, billing issues and grace periods', () => {
  it('renew_status false sets renewal_cancelled_at; true again clears it', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody()
    const cancelled = await buy(tenant, profile.headers, {
      ...body,
      renew_status: false,
      renew_status_changed_at: '2026-01-08T12:00:00Z',
    })
    assert.equal(level(cancelled, 'premium')?.renewal_cancelled_at, '2026-01-08T12:00:00.000000+00:00')
    assert.equal(cancelled.subscriptions[0]?.renewal_cancelled_at, '2026-01-08T12:00:00.000000+00:00')
    // Access is kept until the end of the period.
    assert.equal(level(cancelled, 'premium')?.expires_at, '2026-02-01T00:00:00.000000+00:00')

    const reactivated = await buy(tenant, profile.headers, {
      ...body,
      renew_status: true,
      renew_status_changed_at: '2026-01-09T12:00:00Z',
    })
    assert.equal(level(reactivated, 'premium')?.renewal_cancelled_at, null)
    assert.equal(reactivated.subscriptions[0]?.renewal_cancelled_at, null)
  })

  it('a billing issue with a grace period: access until the grace end, in grace while it runs', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody()
    await buy(tenant, profile.headers, body)
    clock.set(new Date('2026-02-03T00:00:00Z'))
    const data = await buy(tenant, profile.headers, {
      ...body,
      billing_issue_detected_at: '2026-02-01T00:00:00Z',
      grace_period_expires_at: '2026-02-17T00:00:00Z',
    })
    const premium = level(data, 'premium')
    assert.equal(premium?.expires_at, '2026-02-17T00:00:00.000000+00:00')
    assert.equal(premium?.billing_issue_detected_at, '2026-02-01T00:00:00.000000+00:00')
    assert.equal(premium?.is_in_grace_period, true)
    assert.equal(data.subscriptions[0]?.is_in_grace_period, true)
    assert.equal(data.subscriptions[0]?.billing_issue_detected_at, '2026-02-01T00:00:00.000000+00:00')
    // The subscription keeps the period the store billed.
    assert.equal(data.subscriptions[0]?.expires_at, '2026-02-01T00:00:00.000000+00:00')

    clock.set(new Date('2026-02-16T23:59:59Z'))
    const during = await ok(await getProfile(tenant, profile.headers))
    assert.equal(level(during, 'premium')?.is_in_grace_period, true)

    clock.set(new Date('2026-02-17T00:00:00Z'))
    const afterGrace = await ok(await getProfile(tenant, profile.headers))
    assert.equal(level(afterGrace, 'premium')?.is_in_grace_period, false)
    assert.equal(level(afterGrace, 'premium')?.expires_at, '2026-02-17T00:00:00.000000+00:00')
    assert.equal(afterGrace.subscriptions[0]?.is_in_grace_period, false)
  })

  it('a successful renewal after the billing issue clears it', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody()
    await buy(tenant, profile.headers, body)
    clock.set(new Date('2026-02-03T00:00:00Z'))
    await buy(tenant, profile.headers, {
      ...body,
      billing_issue_detected_at: '2026-02-01T00:00:00Z',
      grace_period_expires_at: '2026-02-17T00:00:00Z',
    })
    clock.set(new Date('2026-02-05T00:00:00Z'))
    const renewed = await buy(
      tenant,
      profile.headers,
      subscriptionBody({
        store_original_transaction_id: body.store_original_transaction_id,
        purchased_at: '2026-02-05T00:00:00Z',
        expires_at: '2026-03-05T00:00:00Z',
      }),
    )
    const premium = level(renewed, 'premium')
    assert.equal(premium?.billing_issue_detected_at, null)
    assert.equal(premium?.is_in_grace_period, false)
    assert.equal(premium?.expires_at, '2026-03-05T00:00:00.000000+00:00')
  })
})

describe('one-time purchases', () => {
  it('a non-consumable gives lifetime access; a consumable gives none and is_consumable is true', async () => {
    const { tenant, profile } = await setup()
    await createAccessLevel(h, tenant.appId, 'sports')
    await createProduct(h, tenant.appId, {
      product_id: 'sports_forever',
      access_level_id: 'sports',
      type: 'one_time',
      store_products: [{ store: 'app_store', store_product_id: 'com.example.sports.lifetime' }],
    })
    await createProduct(h, tenant.appId, {
      product_id: 'coins_100',
      access_level_id: 'premium',
      type: 'consumable',
      store_products: [{ store: 'app_store', store_product_id: 'com.example.coins.100' }],
    })

    const coins = await buy(
      tenant,
      profile.headers,
      oneTimeBody({
        store_product_id: 'com.example.coins.100',
        price: { country: 'US', currency: 'USD', value: 0.99 },
      }),
    )
    assert.deepEqual(coins.access_levels, [])
    assert.equal(coins.non_subscriptions.length, 1)
    assert.equal(coins.non_subscriptions[0]?.is_consumable, true)

    const moreCoins = await buy(
      tenant,
      profile.headers,
      oneTimeBody({
        store_product_id: 'com.example.coins.100',
        price: { country: 'US', currency: 'USD', value: 0.99 },
      }),
    )
    assert.deepEqual(moreCoins.access_levels, [])
    assert.equal(moreCoins.non_subscriptions.length, 2)
    const ids = moreCoins.non_subscriptions.map((p) => p.purchase_id as string)
    for (const id of ids) assert.match(id, UUID)
    assert.notEqual(ids[0], ids[1])

    const lifetime = oneTimeBody({ store_product_id: 'com.example.sports.lifetime' })
    const data = await buy(tenant, profile.headers, lifetime)
    assert.deepEqual(
      data.access_levels.map((l) => [l.access_level_id, l.expires_at, l.starts_at, l.store_transaction_id]),
      [['sports', null, null, lifetime.store_transaction_id]],
    )
    const entry = data.non_subscriptions.find((p) => p.store_transaction_id === lifetime.store_transaction_id)
    assert.equal(entry?.is_consumable, false)
    assert.deepEqual(data.subscriptions, [])
    assertMoney(data.total_revenue_usd, 0.99 + 0.99 + 49.99)

    // Still lifetime decades later.
    clock.set(new Date('2060-01-01T00:00:00Z'))
    const later = await ok(await getProfile(tenant, profile.headers))
    assert.equal(level(later, 'sports')?.expires_at, null)
  })

  it('the same one-time purchase again keeps its purchase_id', async () => {
    const { tenant, profile } = await setup()
    const body = oneTimeBody()
    const first = await buy(tenant, profile.headers, body)
    const again = await buy(tenant, profile.headers, { ...body })
    assert.equal(again.non_subscriptions.length, 1)
    assert.equal(again.non_subscriptions[0]?.purchase_id, first.non_subscriptions[0]?.purchase_id)
    assertMoney(again.total_revenue_usd, 49.99)
  })
})

describe('time', () => {
  it('future-dated starts and expiries are judged at the moment of each request, without any job', async () => {
    const { tenant, profile } = await setup()
    await createAccessLevel(h, tenant.appId, 'sports')
    await buy(tenant, profile.headers, subscriptionBody({ expires_at: '2026-02-01T00:00:00Z' }))
    const granted = await ok(
      await grant(tenant, profile.headers, { access_level_id: 'sports', starts_at: '2026-01-20T00:00:00Z' }),
    )
    assert.equal(level(granted, 'premium')?.expires_at, '2026-02-01T00:00:00.000000+00:00')
    assert.equal(level(granted, 'sports')?.starts_at, '2026-01-20T00:00:00.000000+00:00')
    assert.equal(level(granted, 'sports')?.expires_at, null)
    const trace = await traceOf(h, tenant.appId, profile.profileId)

    clock.set(new Date('2026-02-15T00:00:00Z'))
    const read = await ok(await getProfile(tenant, profile.headers))
    assert.equal(read.timestamp, Date.parse('2026-02-15T00:00:00Z'))
    // Both are still listed: premium with its past expiry, sports started.
    assert.deepEqual(
      read.access_levels.map((l) => [l.access_level_id, l.starts_at, l.expires_at]),
      [
        ['premium', null, '2026-02-01T00:00:00.000000+00:00'],
        ['sports', '2026-01-20T00:00:00.000000+00:00', null],
      ],
    )
    assert.equal(read.subscriptions[0]?.expires_at, '2026-02-01T00:00:00.000000+00:00')
    // Reading wrote nothing and ran nothing.
    assert.deepEqual(await traceOf(h, tenant.appId, profile.profileId), trace)
  })

  it('a subscription bought for the future is listed as it was sent', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody({
      purchased_at: '2026-01-15T00:00:00Z',
      originally_purchased_at: '2026-01-15T00:00:00Z',
      expires_at: '2026-02-15T00:00:00Z',
    })
    const data = await buy(tenant, profile.headers, body)
    assert.equal(data.subscriptions[0]?.purchased_at, at('2026-01-15T00:00:00Z'))
    assert.equal(level(data, 'premium')?.expires_at, at('2026-02-15T00:00:00Z'))
  })
})

/** Regressions of bugs the route tests found in the engine. */
describe('regressions', () => {
  it('an in-place update keeps the USD value the transaction was recorded with, whatever the table says now', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody({ price: { country: 'DE', currency: 'EUR', value: 10 } })
    assertMoney((await buy(tenant, profile.headers, body)).total_revenue_usd, 10.8)
    await setExchangeRates(h, tenant.appId, { EUR: 2 })
    // The store reports auto-renew off for the same transaction: its price was not paid again.
    const updated = await buy(tenant, profile.headers, {
      ...body,
      renew_status: false,
      renew_status_changed_at: '2026-01-05T00:00:00Z',
    })
    assertMoney(updated.total_revenue_usd, 10.8)
  })

  it('the same store_transaction_id sent under another store_original_transaction_id is still one transaction', async () => {
    const { tenant, profile } = await setup()
    const body = subscriptionBody()
    await buy(tenant, profile.headers, body)
    // A transaction belongs to one chain: naming another original is refused, and nothing is listed twice.
    const response = await setTransaction(tenant, profile.headers, {
      ...body,
      store_original_transaction_id: uniqueTransactionId('moved'),
    })
    assert.equal(response.statusCode, 400, response.body)
    assert.equal(response.json().error_code, 'validation_error')
    assert.equal(response.json().errors[0].source, 'store_original_transaction_id')
    const read = await ok(await getProfile(tenant, profile.headers))
    const listed = read.subscriptions.filter((s) => s.store_transaction_id === body.store_transaction_id)
    assert.equal(listed.length, 1, JSON.stringify(read.subscriptions))
    assertMoney(read.total_revenue_usd, 9.99)
    const trace = await traceOf(h, tenant.appId, profile.profileId)
    assert.equal(trace.storeTransactions, 1)
    assert.equal(trace.purchaseChains, 1)
  })
})
