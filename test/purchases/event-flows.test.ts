import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fixedClock } from '../../src/platform/clock.ts'
import { buildTestApp, type Tenant } from '../support/harness.ts'
import {
  anonymousProfile,
  eventsOf,
  eventTypesOf,
  grant,
  newProfile,
  oneTimeBody,
  revoke,
  setTransaction,
  subscriptionBody,
  uniqueTransactionId,
} from '../support/purchases.ts'

// The event flows of the contract (§6.6): which events a change writes, in which order, with which payload.
const clock = fixedClock(new Date('2026-01-10T00:00:00Z'))
const h = await buildTestApp({ clock, ownDatabase: true })
const at = (iso: string) => clock.set(new Date(iso))
const runJobs = () => h.services.entitlements.runDueJobs()

async function ok(response: Promise<{ statusCode: number; body: string }>) {
  const answered = await response
  assert.equal(answered.statusCode, 200, answered.body)
  return answered
}

async function started(options: { trial?: boolean } = {}) {
  at('2026-01-10T00:00:00Z')
  const tenant = await h.createTenant()
  const profile = await newProfile(tenant)
  const id = uniqueTransactionId()
  const first = subscriptionBody({
    store_transaction_id: id,
    store_original_transaction_id: id,
    purchased_at: '2026-01-10T00:00:00Z',
    originally_purchased_at: '2026-01-10T00:00:00Z',
    expires_at: options.trial ? '2026-01-17T00:00:00Z' : '2026-02-10T00:00:00Z',
    ...(options.trial
      ? {
          price: { country: 'US', currency: 'USD', value: 0 },
          offer: { category: 'introductory', type: 'free_trial' },
        }
      : {}),
  })
  await ok(setTransaction(tenant, profile.headers, first))
  return { tenant, profile, first, originalId: id }
}

const types = (tenant: Tenant, profileId: string) => eventTypesOf(h, tenant.appId, profileId)

describe('event flows (§6.6)', () => {
  it('initial purchase: subscription_started + access_level_updated, with the payload fields', async () => {
    const { tenant, profile, first } = await started()
    const events = await eventsOf(h, tenant.appId, profile.profileId)
    assert.deepEqual(
      events.map((e) => e.eventType),
      ['subscription_started', 'access_level_updated'],
    )
    assert.deepEqual(
      events.map((e) => e.profileSeq),
      [1, 2],
    )
    const [purchase, level] = events
    assert.ok(purchase && level)
    assert.equal(purchase.payload.profile_id, profile.profileId)
    assert.equal(purchase.payload.customer_user_id, profile.customerUserId)
    assert.equal(purchase.payload.event_api_version, 1)
    assert.equal(purchase.payload.event_datetime, '2026-01-10T00:00:00.000000+00:00')
    const properties = purchase.payload.event_properties
    assert.equal(properties.transaction_id, first.store_transaction_id)
    assert.equal(properties.vendor_product_id, 'com.example.monthly')
    assert.equal(properties.price_usd, 9.99)
    assert.equal(properties.profile_total_revenue_usd, 9.99)
    assert.equal(properties.profile_has_access_level, true)
    assert.equal(properties.subscription_expires_at, '2026-02-10T00:00:00.000000+00:00')
    assert.notEqual(properties.profile_event_id, level.payload.event_properties.profile_event_id)
    assert.equal(level.payload.event_properties.access_level_id, 'premium')
    assert.equal(level.payload.event_properties.is_active, true)
  })

  it('renewal: subscription_renewed + access_level_updated; resending the same transaction writes nothing', async () => {
    const { tenant, profile, first, originalId } = await started()
    await ok(setTransaction(tenant, profile.headers, first))
    assert.equal((await types(tenant, profile.profileId)).length, 2)
    at('2026-02-10T00:00:01Z')
    await ok(
      setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          store_transaction_id: uniqueTransactionId(),
          store_original_transaction_id: originalId,
          purchased_at: '2026-02-10T00:00:00Z',
          originally_purchased_at: '2026-01-10T00:00:00Z',
          expires_at: '2026-03-10T00:00:00Z',
        }),
      ),
    )
    assert.deepEqual((await types(tenant, profile.profileId)).slice(2), [
      'subscription_renewed',
      'access_level_updated',
    ])
  })

  it('cancel: renewal_cancelled + access_level_updated now, subscription_expired at the end (business time)', async () => {
    const { tenant, profile, first } = await started()
    at('2026-01-20T00:00:00Z')
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        renew_status: false,
        renew_status_changed_at: '2026-01-20T00:00:00Z',
      }),
    )
    assert.deepEqual((await types(tenant, profile.profileId)).slice(2), [
      'subscription_renewal_cancelled',
      'access_level_updated',
    ])
    await runJobs()
    assert.equal((await types(tenant, profile.profileId)).length, 4, 'nothing is due before the end')
    at('2026-02-10T00:00:05Z')
    await runJobs()
    const events = await eventsOf(h, tenant.appId, profile.profileId)
    assert.deepEqual(
      events.slice(4).map((e) => e.eventType),
      ['subscription_expired', 'access_level_updated'],
    )
    assert.equal(events[4]?.payload.event_datetime, '2026-02-10T00:00:00.000000+00:00')
    assert.equal(events[4]?.payload.event_properties.cancellation_reason, 'voluntarily_cancelled')
    assert.equal(events[5]?.payload.event_properties.is_active, false)
    await runJobs()
    assert.equal((await types(tenant, profile.profileId)).length, 6, 'an expiry is told once')
  })

  it('refund: subscription_refunded replaces subscription_expired', async () => {
    const { tenant, profile, first } = await started()
    at('2026-01-15T00:00:00Z')
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        refunded_at: '2026-01-15T00:00:00Z',
        cancellation_reason: 'refund',
        renew_status: false,
        renew_status_changed_at: '2026-01-15T00:00:00Z',
      }),
    )
    at('2026-03-01T00:00:00Z')
    await runJobs()
    const events = await eventsOf(h, tenant.appId, profile.profileId)
    assert.deepEqual(
      events.slice(2).map((e) => e.eventType),
      ['subscription_renewal_cancelled', 'subscription_refunded', 'access_level_updated'],
    )
    assert.equal(events[3]?.payload.event_properties.cancellation_reason, 'refund')
    assert.equal(events[3]?.payload.event_properties.profile_total_revenue_usd, 0)
  })

  it('immediate cancel (Stripe): renewal_cancelled + expired + access_level_updated at once', async () => {
    const { tenant, profile, first } = await started()
    at('2026-01-15T00:00:00Z')
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        expires_at: '2026-01-15T00:00:00Z',
        renew_status: false,
        renew_status_changed_at: '2026-01-15T00:00:00Z',
        cancellation_reason: 'voluntarily_cancelled',
      }),
    )
    assert.deepEqual((await types(tenant, profile.profileId)).slice(2), [
      'subscription_renewal_cancelled',
      'access_level_updated',
      'subscription_expired',
      'access_level_updated',
    ])
  })

  it('re-purchase after expiry in the same chain is a renewal; the missed expiry is told first', async () => {
    const { tenant, profile, originalId } = await started()
    at('2026-03-01T00:00:00Z')
    // The scheduler has not run: the write tells the expiry before the renewal.
    await ok(
      setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          store_transaction_id: uniqueTransactionId(),
          store_original_transaction_id: originalId,
          purchased_at: '2026-03-01T00:00:00Z',
          originally_purchased_at: '2026-01-10T00:00:00Z',
          expires_at: '2026-04-01T00:00:00Z',
        }),
      ),
    )
    assert.deepEqual((await types(tenant, profile.profileId)).slice(2), [
      'subscription_expired',
      'access_level_updated',
      'subscription_renewed',
      'access_level_updated',
    ])
    await runJobs()
    assert.equal((await types(tenant, profile.profileId)).length, 6)
  })

  it('trial: trial_started, then trial_converted on the first paid renewal', async () => {
    const { tenant, profile, originalId } = await started({ trial: true })
    const events = await eventsOf(h, tenant.appId, profile.profileId)
    assert.deepEqual(
      events.map((e) => e.eventType),
      ['trial_started', 'access_level_updated'],
    )
    assert.equal(events[0]?.payload.event_properties.trial_duration, '7 days')
    assert.equal(events[0]?.payload.event_properties.price_usd, null)
    at('2026-01-17T00:00:01Z')
    await ok(
      setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          store_transaction_id: uniqueTransactionId(),
          store_original_transaction_id: originalId,
          purchased_at: '2026-01-17T00:00:00Z',
          originally_purchased_at: '2026-01-10T00:00:00Z',
          expires_at: '2026-02-17T00:00:00Z',
        }),
      ),
    )
    assert.deepEqual((await types(tenant, profile.profileId)).slice(2), [
      'trial_converted',
      'access_level_updated',
    ])
  })

  it('7-day trial cancelled on day 4: trial_started, trial_renewal_cancelled, trial_expired', async () => {
    const { tenant, profile, first } = await started({ trial: true })
    at('2026-01-14T00:00:00Z')
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        renew_status: false,
        renew_status_changed_at: '2026-01-14T00:00:00Z',
      }),
    )
    at('2026-01-18T00:00:00Z')
    await runJobs()
    const transactional = (await types(tenant, profile.profileId)).filter((t) => t !== 'access_level_updated')
    assert.deepEqual(transactional, ['trial_started', 'trial_renewal_cancelled', 'trial_expired'])
  })

  it('7-day trial cancelled on day 10: started, converted, renewal_cancelled, expired', async () => {
    const { tenant, profile, originalId } = await started({ trial: true })
    at('2026-01-17T00:00:00Z')
    const paid = subscriptionBody({
      store_transaction_id: uniqueTransactionId(),
      store_original_transaction_id: originalId,
      purchased_at: '2026-01-17T00:00:00Z',
      originally_purchased_at: '2026-01-10T00:00:00Z',
      expires_at: '2026-02-17T00:00:00Z',
    })
    await ok(setTransaction(tenant, profile.headers, paid))
    at('2026-01-20T00:00:00Z')
    await ok(
      setTransaction(tenant, profile.headers, {
        ...paid,
        renew_status: false,
        renew_status_changed_at: '2026-01-20T00:00:00Z',
      }),
    )
    at('2026-02-18T00:00:00Z')
    await runJobs()
    const transactional = (await types(tenant, profile.profileId)).filter((t) => t !== 'access_level_updated')
    assert.deepEqual(transactional, [
      'trial_started',
      'trial_converted',
      'subscription_renewal_cancelled',
      'subscription_expired',
    ])
  })

  it('purchase after an expired trial: trial_expired at the end, then trial_converted', async () => {
    const { tenant, profile, originalId } = await started({ trial: true })
    at('2026-01-18T00:00:00Z')
    await runJobs()
    at('2026-01-25T00:00:00Z')
    await ok(
      setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          store_transaction_id: uniqueTransactionId(),
          store_original_transaction_id: originalId,
          purchased_at: '2026-01-25T00:00:00Z',
          originally_purchased_at: '2026-01-10T00:00:00Z',
          expires_at: '2026-02-25T00:00:00Z',
        }),
      ),
    )
    assert.deepEqual((await types(tenant, profile.profileId)).slice(2), [
      'trial_expired',
      'access_level_updated',
      'trial_converted',
      'access_level_updated',
    ])
  })

  it('trial renewal reactivated after being cancelled', async () => {
    const { tenant, profile, first } = await started({ trial: true })
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        renew_status: false,
        renew_status_changed_at: '2026-01-11T00:00:00Z',
      }),
    )
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        renew_status: true,
        renew_status_changed_at: '2026-01-12T00:00:00Z',
      }),
    )
    const transactional = (await types(tenant, profile.profileId)).filter((t) => t !== 'access_level_updated')
    assert.deepEqual(transactional, ['trial_started', 'trial_renewal_cancelled', 'trial_renewal_reactivated'])
  })

  it('subscription renewal reactivated', async () => {
    const { tenant, profile, first } = await started()
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        renew_status: false,
        renew_status_changed_at: '2026-01-11T00:00:00Z',
      }),
    )
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        renew_status: true,
        renew_status_changed_at: '2026-01-12T00:00:00Z',
      }),
    )
    const transactional = (await types(tenant, profile.profileId)).filter((t) => t !== 'access_level_updated')
    assert.deepEqual(transactional, [
      'subscription_started',
      'subscription_renewal_cancelled',
      'subscription_renewal_reactivated',
    ])
  })

  it('immediate upgrade: subscription_refunded (upgraded, no expiry) and subscription_started for the new product', async () => {
    const { tenant, profile, first, originalId } = await started()
    at('2026-01-20T00:00:00Z')
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        expires_at: '2026-01-20T00:00:00Z',
        cancellation_reason: 'upgraded',
        renew_status: false,
        renew_status_changed_at: '2026-01-20T00:00:00Z',
      }),
    )
    await ok(
      setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          store_product_id: 'com.example.yearly',
          store_transaction_id: uniqueTransactionId(),
          store_original_transaction_id: originalId,
          purchased_at: '2026-01-20T00:00:00Z',
          originally_purchased_at: '2026-01-10T00:00:00Z',
          expires_at: '2027-01-20T00:00:00Z',
          price: { country: 'US', currency: 'USD', value: 99.99 },
        }),
      ),
    )
    const events = await eventsOf(h, tenant.appId, profile.profileId)
    const transactional = events.filter((e) => e.eventType !== 'access_level_updated')
    assert.deepEqual(
      transactional.map((e) => e.eventType),
      [
        'subscription_started',
        'subscription_renewal_cancelled',
        'subscription_refunded',
        'subscription_expired',
        'subscription_started',
      ],
    )
    assert.equal(transactional[2]?.payload.event_properties.cancellation_reason, 'upgraded')
    assert.equal(transactional[4]?.payload.event_properties.vendor_product_id, 'com.example.yearly')
  })

  it('downgrade at renewal: access_level_updated now, then expired + started for the new product', async () => {
    const { tenant, profile, first, originalId } = await started()
    at('2026-01-20T00:00:00Z')
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        renew_status: false,
        renew_status_changed_at: '2026-01-20T00:00:00Z',
      }),
    )
    at('2026-02-10T00:00:00Z')
    await ok(
      setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          store_product_id: 'com.example.weekly',
          store_transaction_id: uniqueTransactionId(),
          store_original_transaction_id: originalId,
          purchased_at: '2026-02-10T00:00:00Z',
          originally_purchased_at: '2026-01-10T00:00:00Z',
          expires_at: '2026-02-17T00:00:00Z',
          price: { country: 'US', currency: 'USD', value: 2.99 },
        }),
      ),
    )
    assert.deepEqual((await types(tenant, profile.profileId)).slice(2), [
      'subscription_renewal_cancelled',
      'access_level_updated',
      'subscription_expired',
      'access_level_updated',
      'subscription_started',
      'access_level_updated',
    ])
  })

  it('billing issue with grace: billing_issue_detected + entered_grace_period; recovery is a renewal', async () => {
    const { tenant, profile, first, originalId } = await started()
    at('2026-02-10T00:00:01Z')
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        billing_issue_detected_at: '2026-02-10T00:00:00Z',
        grace_period_expires_at: '2026-02-26T00:00:00Z',
      }),
    )
    assert.deepEqual((await types(tenant, profile.profileId)).slice(2), [
      'billing_issue_detected',
      'entered_grace_period',
      'access_level_updated',
    ])
    at('2026-02-12T00:00:00Z')
    await ok(
      setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          store_transaction_id: uniqueTransactionId(),
          store_original_transaction_id: originalId,
          purchased_at: '2026-02-12T00:00:00Z',
          originally_purchased_at: '2026-01-10T00:00:00Z',
          expires_at: '2026-03-12T00:00:00Z',
        }),
      ),
    )
    assert.deepEqual((await types(tenant, profile.profileId)).slice(5), [
      'subscription_renewed',
      'access_level_updated',
    ])
    at('2026-02-27T00:00:00Z')
    await runJobs()
    assert.equal(
      (await types(tenant, profile.profileId)).length,
      7,
      'the grace end of the old period is stale',
    )
  })

  it('billing issue that is never fixed: subscription_expired with billing_error at the grace end', async () => {
    const { tenant, profile, first } = await started()
    at('2026-02-10T00:00:01Z')
    await ok(
      setTransaction(tenant, profile.headers, {
        ...first,
        billing_issue_detected_at: '2026-02-10T00:00:00Z',
        grace_period_expires_at: '2026-02-26T00:00:00Z',
      }),
    )
    at('2026-02-20T00:00:00Z')
    const during = await ok(
      h.app.inject({
        method: 'GET',
        url: '/api/v2/server-side-api/profile/',
        headers: { authorization: `Api-Key ${tenant.secretKey}`, ...profile.headers },
      }),
    )
    const level = JSON.parse(during.body).data.access_levels[0]
    assert.equal(level.is_in_grace_period, true)
    assert.equal(level.expires_at, '2026-02-26T00:00:00.000000+00:00')
    at('2026-02-26T00:00:01Z')
    await runJobs()
    const events = await eventsOf(h, tenant.appId, profile.profileId)
    const expired = events.find((e) => e.eventType === 'subscription_expired')
    assert.equal(expired?.payload.event_properties.cancellation_reason, 'billing_error')
    assert.equal(expired?.payload.event_datetime, '2026-02-26T00:00:00.000000+00:00')
    assert.equal(events.at(-1)?.eventType, 'access_level_updated')
  })

  it('one-time purchase: non_subscription_purchase, then non_subscription_purchase_refunded', async () => {
    at('2026-01-10T00:00:00Z')
    const tenant = await h.createTenant()
    const profile = await newProfile(tenant)
    const body = oneTimeBody({ purchased_at: '2026-01-10T00:00:00Z' })
    await ok(setTransaction(tenant, profile.headers, body))
    await ok(
      setTransaction(tenant, profile.headers, {
        ...body,
        refunded_at: '2026-01-11T00:00:00Z',
        cancellation_reason: 'refund',
      }),
    )
    assert.deepEqual(await types(tenant, profile.profileId), [
      'non_subscription_purchase',
      'access_level_updated',
      'non_subscription_purchase_refunded',
      'access_level_updated',
    ])
  })

  it('family sharing: only access_level_updated', async () => {
    at('2026-01-10T00:00:00Z')
    const tenant = await h.createTenant()
    const profile = await newProfile(tenant)
    await ok(
      setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          is_family_shared: true,
          price: { country: 'US', currency: 'USD', value: 0 },
          purchased_at: '2026-01-10T00:00:00Z',
          originally_purchased_at: '2026-01-10T00:00:00Z',
          expires_at: '2026-02-10T00:00:00Z',
        }),
      ),
    )
    assert.deepEqual(await types(tenant, profile.profileId), ['access_level_updated'])
  })

  it('grant: access_level_updated with adapty_server_side_product; a future grant is told again when it starts', async () => {
    at('2026-01-10T00:00:00Z')
    const tenant = await h.createTenant()
    const profile = await newProfile(tenant)
    await ok(
      grant(tenant, profile.headers, { access_level_id: 'premium', starts_at: '2026-01-20T00:00:00Z' }),
    )
    const events = await eventsOf(h, tenant.appId, profile.profileId)
    assert.deepEqual(
      events.map((e) => e.eventType),
      ['access_level_updated'],
    )
    assert.equal(events[0]?.payload.event_properties.vendor_product_id, 'adapty_server_side_product')
    assert.equal(events[0]?.payload.event_properties.is_active, false)
    at('2026-01-20T00:00:01Z')
    await runJobs()
    const later = await eventsOf(h, tenant.appId, profile.profileId)
    assert.equal(later.length, 2)
    assert.equal(later[1]?.payload.event_datetime, '2026-01-20T00:00:00.000000+00:00')
  })

  it('scheduled revoke: access_level_updated now and when it takes effect; no event when a grant runs out', async () => {
    at('2026-01-10T00:00:00Z')
    const tenant = await h.createTenant()
    const profile = await newProfile(tenant)
    await ok(
      grant(tenant, profile.headers, { access_level_id: 'premium', expires_at: '2026-03-01T00:00:00Z' }),
    )
    await ok(
      revoke(tenant, profile.headers, { access_level_id: 'premium', revoke_at: '2026-02-01T00:00:00Z' }),
    )
    assert.equal((await types(tenant, profile.profileId)).length, 2)
    at('2026-02-01T00:00:01Z')
    await runJobs()
    assert.equal((await types(tenant, profile.profileId)).length, 3)
    at('2026-03-02T00:00:00Z')
    await runJobs()
    assert.equal((await types(tenant, profile.profileId)).length, 3)
  })
})

describe('sharing one store purchase between profiles (§5.5)', () => {
  async function shared(mode: 'enabled' | 'transfer' | 'disabled') {
    at('2026-01-10T00:00:00Z')
    const tenant = await h.createTenant()
    const settings = await h.admin({
      method: 'PATCH',
      url: `/admin/v1/apps/${tenant.appId}/settings`,
      payload: { sharing_mode: mode },
    })
    assert.equal(settings.statusCode, 200, settings.body)
    const a = await newProfile(tenant)
    const b = await newProfile(tenant)
    const body = subscriptionBody({
      purchased_at: '2026-01-10T00:00:00Z',
      originally_purchased_at: '2026-01-10T00:00:00Z',
      expires_at: '2026-02-10T00:00:00Z',
    })
    await ok(setTransaction(tenant, a.headers, body))
    const answer = await ok(setTransaction(tenant, b.headers, body))
    const levelsOf = async (headers: Record<string, string>) => {
      const got = await tenant.api({ method: 'GET', path: '/profile/', headers })
      return JSON.parse(got.body).data.access_levels as { expires_at: string | null }[]
    }
    return { tenant, a, b, answer: JSON.parse(answer.body).data, levelsOf }
  }

  it('enabled: both hold it; B gets access_level_updated listing A, transactional events stay on A', async () => {
    const { tenant, a, b, answer, levelsOf } = await shared('enabled')
    assert.equal(answer.access_levels.length, 1)
    assert.equal((await levelsOf(a.headers)).length, 1)
    assert.deepEqual(await types(tenant, b.profileId), ['access_level_updated'])
    assert.deepEqual(await types(tenant, a.profileId), ['subscription_started', 'access_level_updated'])
    const [bEvent] = await eventsOf(h, tenant.appId, b.profileId)
    assert.deepEqual(bEvent?.payload.profiles_sharing_access_level, [
      { profile_id: a.profileId, customer_user_id: a.customerUserId },
    ])
  })

  it('transfer: B gains it, A loses it; one access_level_updated each', async () => {
    const { tenant, a, b, answer, levelsOf } = await shared('transfer')
    assert.equal(answer.access_levels[0]?.expires_at, '2026-02-10T00:00:00.000000+00:00')
    const aLevels = await levelsOf(a.headers)
    assert.equal(aLevels[0]?.expires_at, '2026-01-10T00:00:00.000000+00:00', 'A lost it at the transfer')
    assert.deepEqual(await types(tenant, a.profileId), [
      'subscription_started',
      'access_level_updated',
      'access_level_updated',
    ])
    assert.deepEqual(await types(tenant, b.profileId), ['access_level_updated'])
    const [bEvent] = await eventsOf(h, tenant.appId, b.profileId)
    assert.equal(bEvent?.payload.profiles_sharing_access_level, null)
  })

  it('disabled: only the first profile keeps access', async () => {
    const { tenant, a, b, answer, levelsOf } = await shared('disabled')
    assert.deepEqual(answer.access_levels, [])
    assert.equal((await levelsOf(a.headers)).length, 1)
    assert.deepEqual(await types(tenant, b.profileId), [])
  })

  it('disabled: an anonymous profile still shares', async () => {
    at('2026-01-10T00:00:00Z')
    const tenant = await h.createTenant()
    await h.admin({
      method: 'PATCH',
      url: `/admin/v1/apps/${tenant.appId}/settings`,
      payload: { sharing_mode: 'disabled' },
    })
    const a = await newProfile(tenant)
    const anonymous = await anonymousProfile(h, tenant)
    const body = subscriptionBody({
      purchased_at: '2026-01-10T00:00:00Z',
      originally_purchased_at: '2026-01-10T00:00:00Z',
    })
    await ok(setTransaction(tenant, a.headers, body))
    const answer = await ok(setTransaction(tenant, anonymous.headers, body))
    assert.equal(JSON.parse(answer.body).data.access_levels.length, 1)
  })

  it('disabled: once the holder is deleted, the next profile claims the purchase', async () => {
    const { tenant, a, b, levelsOf } = await shared('disabled')
    const deleted = await tenant.api({ method: 'DELETE', path: '/profile/', headers: a.headers })
    assert.equal(deleted.statusCode, 204)
    assert.equal((await levelsOf(b.headers)).length, 0)
    const chain = await h.database.rawQuery<{ state: { storeOriginalTransactionId: string } }>(
      { name: 'test_chain_of_app', text: 'select state from purchase_chains where app_id = $1' },
      [tenant.appId],
    )
    const originalId = chain[0]?.state.storeOriginalTransactionId
    const renewal = subscriptionBody({
      store_transaction_id: uniqueTransactionId(),
      store_original_transaction_id: originalId,
      purchased_at: '2026-01-10T00:00:00Z',
      originally_purchased_at: '2026-01-10T00:00:00Z',
    })
    const answer = await ok(setTransaction(tenant, b.headers, renewal))
    assert.equal(JSON.parse(answer.body).data.access_levels.length, 1)
    assert.equal((await types(tenant, b.profileId))[0], 'subscription_renewed')
  })
})
