import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { fixedClock } from '../../src/platform/clock.ts'
import { API, buildTestApp, fieldsError, type Tenant, uniqueUserId } from '../support/harness.ts'
import {
  createAccessLevel,
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
 * Every documented error of the purchase endpoints (set transaction, grant, revoke access level) through
 * HTTP, with the whole envelope: status, error_code, source and message (docs/errors.md, "Purchase codes").
 */

const T0 = new Date('2026-01-10T00:00:00Z')
const clock = fixedClock(T0)
const h = await buildTestApp({ clock })

beforeEach(() => clock.set(T0))

const SET_TRANSACTION = '/purchase/set/transaction/'
const GRANT = '/purchase/profile/grant/access-level/'
const REVOKE = '/purchase/profile/revoke/access-level/'

/** The three purchase endpoints with a body each accepts. */
const ENDPOINTS = [
  { name: 'set transaction', path: SET_TRANSACTION, body: () => subscriptionBody() },
  { name: 'grant', path: GRANT, body: () => ({ access_level_id: 'premium' }) },
  { name: 'revoke', path: REVOKE, body: () => ({ access_level_id: 'premium' }) },
] as const

const IDENTIFICATION_REQUIRED =
  'Either the adapty-profile-id or the adapty-customer-user-id header is required.'
const UNKNOWN_PROFILE_ID = '01a21078-ec05-739b-9285-2f77f33a7ea3'

/** Asserts the exact `fields` envelope with one error. */
function expectError(
  response: LightMyRequestResponse,
  status: number,
  code: string,
  source: string | null,
  message?: string,
) {
  assert.equal(response.statusCode, status, response.body)
  const body = fieldsError(response)
  assert.deepEqual(Object.keys(body).sort(), ['error_code', 'errors', 'status_code'], response.body)
  assert.equal(body.error_code, code, response.body)
  assert.equal(body.status_code, status, response.body)
  assert.equal(body.errors.length, 1, response.body)
  assert.equal(body.errors[0]?.source, source, response.body)
  assert.equal(body.errors[0]?.errors.length, 1, response.body)
  if (message !== undefined) assert.equal(body.errors[0]?.errors[0], message, response.body)
  else assert.ok((body.errors[0]?.errors[0] ?? '').length > 0, response.body)
}

async function tenantWithProfile() {
  const tenant = await h.createTenant()
  const profile = await newProfile(tenant)
  return { tenant, profile }
}

const post = (tenant: Tenant, path: string, headers: Record<string, string>, body: unknown) =>
  tenant.api({ method: 'POST', path, headers, body })

interface RuleCase {
  name: string
  body: () => Record<string, unknown>
  code: string
  source: string
  message: string
}

const REFUND_WITHOUT_REASON =
  'refunded_at is set, so cancellation_reason must be refund: the two are sent together or not at all.'
const REASON_WITHOUT_REFUND =
  'cancellation_reason is refund, so refunded_at is required: the two are sent together or not at all.'
const missingOfferId = (category: string) =>
  `An offer of category ${category} needs offer.id; only introductory offers may go without one.`

/** The 13 rules of set transaction (and their variants), each breaking exactly one rule. */
const RULE_CASES: RuleCase[] = [
  {
    name: 'a one-time purchase whose store_transaction_id differs from the original',
    body: () => oneTimeBody({ store_original_transaction_id: uniqueTransactionId('other') }),
    code: 'store_transaction_id_error',
    source: 'store_transaction_id',
    message:
      'For a one-time purchase, store_transaction_id must be the same as store_original_transaction_id.',
  },
  {
    name: 'a one-time purchase that is a free trial',
    body: () =>
      oneTimeBody({
        offer: { category: 'introductory', type: 'free_trial' },
        price: { country: 'US', currency: 'USD', value: 0 },
      }),
    code: 'one_time_purchase_trial_error',
    source: 'offer.type',
    message: 'A one-time purchase cannot be a free trial: offer.type free_trial is for subscriptions only.',
  },
  ...(['promotional', 'offer_code', 'win_back'] as const).map((category) => ({
    name: `a ${category} offer without offer.id`,
    body: () => subscriptionBody({ offer: { category, type: 'pay_as_you_go' } }),
    code: 'missing_offer_id',
    source: 'offer.category',
    message: missingOfferId(category),
  })),
  {
    name: 'a promotional offer with offer.id null',
    body: () => subscriptionBody({ offer: { category: 'promotional', type: 'pay_up_front', id: null } }),
    code: 'missing_offer_id',
    source: 'offer.category',
    message: missingOfferId('promotional'),
  },
  {
    name: 'a promotional offer with an empty offer.id',
    body: () => subscriptionBody({ offer: { category: 'promotional', type: 'pay_up_front', id: '' } }),
    code: 'missing_offer_id',
    source: 'offer.category',
    message: missingOfferId('promotional'),
  },
  {
    name: 'a free trial that costs something',
    body: () => subscriptionBody({ offer: { category: 'introductory', type: 'free_trial' } }),
    code: 'free_trial_price_error',
    source: 'offer.type',
    message: 'A free trial (offer.type free_trial) must have price.value 0.',
  },
  {
    name: 'a family-shared purchase that costs something',
    body: () => subscriptionBody({ is_family_shared: true }),
    code: 'family_share_price_error',
    source: 'is_family_shared',
    message: 'A family-shared purchase (is_family_shared true) must have price.value 0.',
  },
  {
    name: 'refunded_at without cancellation_reason',
    body: () => subscriptionBody({ refunded_at: '2026-01-05T00:00:00Z' }),
    code: 'refund_fields_error',
    source: 'refunded_at',
    message: REFUND_WITHOUT_REASON,
  },
  {
    name: 'refunded_at with another cancellation_reason',
    body: () =>
      subscriptionBody({ refunded_at: '2026-01-05T00:00:00Z', cancellation_reason: 'voluntarily_cancelled' }),
    code: 'refund_fields_error',
    source: 'refunded_at',
    message: REFUND_WITHOUT_REASON,
  },
  {
    name: 'cancellation_reason refund without refunded_at',
    body: () => subscriptionBody({ cancellation_reason: 'refund' }),
    code: 'refund_fields_error',
    source: 'refunded_at',
    message: REASON_WITHOUT_REFUND,
  },
  {
    name: 'cancellation_reason refund with refunded_at null',
    body: () => subscriptionBody({ cancellation_reason: 'refund', refunded_at: null }),
    code: 'refund_fields_error',
    source: 'refunded_at',
    message: REASON_WITHOUT_REFUND,
  },
  {
    name: 'a one-time purchase with cancellation_reason refund and no refunded_at',
    body: () => oneTimeBody({ cancellation_reason: 'refund' }),
    code: 'refund_fields_error',
    source: 'refunded_at',
    message: REASON_WITHOUT_REFUND,
  },
  {
    name: 'refunded_at at the purchase instant',
    body: () => subscriptionBody({ refunded_at: '2026-01-01T00:00:00Z', cancellation_reason: 'refund' }),
    code: 'refund_date_error',
    source: 'refunded_at',
    message: 'refunded_at must be later than purchased_at.',
  },
  {
    name: 'refunded_at before the purchase (one-time purchase)',
    body: () => oneTimeBody({ refunded_at: '2025-12-31T23:59:59Z', cancellation_reason: 'refund' }),
    code: 'refund_date_error',
    source: 'refunded_at',
    message: 'refunded_at must be later than purchased_at.',
  },
  {
    name: 'originally_purchased_at after purchased_at',
    body: () => subscriptionBody({ originally_purchased_at: '2026-01-01T00:00:00.001Z' }),
    code: 'originally_purchased_date_error',
    source: 'originally_purchased_at',
    message: 'originally_purchased_at must be earlier than or the same as purchased_at.',
  },
  {
    name: 'expires_at at the purchase instant, written with another offset',
    body: () => subscriptionBody({ expires_at: '2026-01-01T05:30:00+05:30' }),
    code: 'expires_date_error',
    source: 'expires_at',
    message: 'expires_at must be later than purchased_at.',
  },
  {
    name: 'expires_at before purchased_at',
    body: () => subscriptionBody({ expires_at: '2025-12-01T00:00:00+0000' }),
    code: 'expires_date_error',
    source: 'expires_at',
    message: 'expires_at must be later than purchased_at.',
  },
  {
    name: 'renew_status_changed_at at the purchase instant',
    body: () => subscriptionBody({ renew_status: false, renew_status_changed_at: '2026-01-01T00:00:00Z' }),
    code: 'renew_status_changed_date_error',
    source: 'renew_status_changed_at',
    message: 'renew_status_changed_at must be later than purchased_at.',
  },
  {
    name: 'billing_issue_detected_at before purchased_at',
    body: () => subscriptionBody({ billing_issue_detected_at: '2025-12-31T00:00:00Z' }),
    code: 'billing_issue_detected_at_date_comparison_error',
    source: 'billing_issue_detected_at',
    message: 'billing_issue_detected_at must be later than purchased_at.',
  },
  {
    name: 'grace_period_expires_at without billing_issue_detected_at',
    body: () => subscriptionBody({ grace_period_expires_at: '2026-02-10T00:00:00Z' }),
    code: 'grace_period_billing_error',
    source: 'billing_issue_detected_at',
    message:
      'grace_period_expires_at is set, so billing_issue_detected_at is required: a grace period follows a billing issue.',
  },
  {
    name: 'grace_period_expires_at with billing_issue_detected_at null',
    body: () =>
      subscriptionBody({ grace_period_expires_at: '2026-02-10T00:00:00Z', billing_issue_detected_at: null }),
    code: 'grace_period_billing_error',
    source: 'billing_issue_detected_at',
    message:
      'grace_period_expires_at is set, so billing_issue_detected_at is required: a grace period follows a billing issue.',
  },
  {
    name: 'grace_period_expires_at before expires_at',
    body: () =>
      subscriptionBody({
        billing_issue_detected_at: '2026-01-20T00:00:00Z',
        grace_period_expires_at: '2026-01-31T23:59:59Z',
      }),
    code: 'grace_period_expires_date_error',
    source: 'grace_period_expires_at',
    message: 'grace_period_expires_at must be later than or the same as expires_at.',
  },
]

describe('set transaction: the 13 rules', () => {
  it('covers every documented rule code', () => {
    const codes = new Set(RULE_CASES.map((c) => c.code))
    assert.deepEqual([...codes].sort(), [
      'billing_issue_detected_at_date_comparison_error',
      'expires_date_error',
      'family_share_price_error',
      'free_trial_price_error',
      'grace_period_billing_error',
      'grace_period_expires_date_error',
      'missing_offer_id',
      'one_time_purchase_trial_error',
      'originally_purchased_date_error',
      'refund_date_error',
      'refund_fields_error',
      'renew_status_changed_date_error',
      'store_transaction_id_error',
    ])
  })

  for (const rule of RULE_CASES) {
    it(`${rule.code}: ${rule.name}`, async () => {
      const { tenant, profile } = await tenantWithProfile()
      const response = await setTransaction(tenant, profile.headers, rule.body())
      expectError(response, 400, rule.code, rule.source, rule.message)
    })
  }

  it('answers the first rule that fails, in the documented order', async () => {
    const { tenant, profile } = await tenantWithProfile()
    // Rules 1 and 2 broken: 1 wins.
    expectError(
      await setTransaction(
        tenant,
        profile.headers,
        oneTimeBody({
          store_original_transaction_id: 'someone-else',
          offer: { category: 'introductory', type: 'free_trial' },
        }),
      ),
      400,
      'store_transaction_id_error',
      'store_transaction_id',
    )
    // Rules 3 and 4 broken: 3 wins.
    expectError(
      await setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({ offer: { category: 'promotional', type: 'free_trial' } }),
      ),
      400,
      'missing_offer_id',
      'offer.category',
    )
    // Rules 9 and 13 broken: 9 wins.
    expectError(
      await setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({
          expires_at: '2025-12-01T00:00:00Z',
          grace_period_expires_at: '2025-11-01T00:00:00Z',
          billing_issue_detected_at: '2026-01-02T00:00:00Z',
        }),
      ),
      400,
      'expires_date_error',
      'expires_at',
    )
  })

  it('accepts the boundaries the rules allow', async () => {
    const { tenant, profile } = await tenantWithProfile()
    const accepted = [
      // An introductory offer may go without an id.
      subscriptionBody({ offer: { category: 'introductory', type: 'pay_as_you_go' } }),
      subscriptionBody({ offer: { category: 'introductory', type: 'pay_as_you_go', id: null } }),
      // A free trial and a family-shared purchase at price 0.
      subscriptionBody({
        offer: { category: 'introductory', type: 'free_trial' },
        price: { country: 'US', currency: 'USD', value: 0 },
      }),
      subscriptionBody({ is_family_shared: true, price: { country: 'US', currency: 'USD', value: 0 } }),
      // originally_purchased_at equal to purchased_at (same instant, other offset).
      subscriptionBody({ originally_purchased_at: '2026-01-01T01:00:00+01:00' }),
      // The grace period may end exactly at expires_at; with expires_at null it is not compared.
      subscriptionBody({
        billing_issue_detected_at: '2026-01-20T00:00:00Z',
        grace_period_expires_at: '2026-02-01T00:00:00Z',
      }),
      subscriptionBody({
        expires_at: null,
        billing_issue_detected_at: '2026-01-20T00:00:00Z',
        grace_period_expires_at: '2026-01-25T00:00:00Z',
      }),
      // A one-time purchase ignores the subscription-only fields, even when they break the rules.
      oneTimeBody({
        expires_at: '2020-01-01T00:00:00Z',
        originally_purchased_at: '2030-01-01T00:00:00Z',
        renew_status_changed_at: '2020-01-01T00:00:00Z',
        billing_issue_detected_at: '2020-01-01T00:00:00Z',
        grace_period_expires_at: '2020-01-01T00:00:00Z',
      }),
    ]
    for (const body of accepted) {
      const response = await setTransaction(tenant, profile.headers, body)
      assert.equal(response.statusCode, 200, `${JSON.stringify(body)}\n${response.body}`)
    }
  })
})

describe('set transaction: schema errors', () => {
  it('refuses a 51-character store_transaction_id with validation_error and takes 50', async () => {
    const { tenant, profile } = await tenantWithProfile()
    const long = 'x'.repeat(51)
    const response = await setTransaction(
      tenant,
      profile.headers,
      subscriptionBody({ store_transaction_id: long, store_original_transaction_id: long }),
    )
    expectError(
      response,
      400,
      'validation_error',
      'store_transaction_id',
      'Ensure this field has no more than 50 characters.',
    )
    const fifty = `${uniqueTransactionId()}-`.padEnd(50, 'y')
    assert.equal(fifty.length, 50)
    const ok = await setTransaction(
      tenant,
      profile.headers,
      oneTimeBody({ store_transaction_id: fifty, store_original_transaction_id: fifty }),
    )
    assert.equal(ok.statusCode, 200, ok.body)
  })

  it('refuses an unknown or missing purchase_type at purchase_type', async () => {
    const { tenant, profile } = await tenantWithProfile()
    expectError(
      await setTransaction(tenant, profile.headers, subscriptionBody({ purchase_type: 'lifetime' })),
      400,
      'validation_error',
      'purchase_type',
      'Must be one of: "one_time_purchase", "subscription".',
    )
    const { purchase_type: _, ...withoutType } = subscriptionBody()
    expectError(
      await setTransaction(tenant, profile.headers, withoutType),
      400,
      'validation_error',
      'purchase_type',
      'This field is required.',
    )
  })

  it('names the field of the shape purchase_type selects', async () => {
    const { tenant, profile } = await tenantWithProfile()
    const { expires_at: _, ...withoutExpiry } = subscriptionBody()
    expectError(
      await setTransaction(tenant, profile.headers, withoutExpiry),
      400,
      'validation_error',
      'expires_at',
      'This field is required.',
    )
    expectError(
      await setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({ price: { country: 'US', currency: 'USD' } }),
      ),
      400,
      'validation_error',
      'price.value',
      'This field is required.',
    )
    expectError(
      await setTransaction(
        tenant,
        profile.headers,
        subscriptionBody({ purchased_at: '2026-01-01T00:00:00' }),
      ),
      400,
      'validation_error',
      'purchased_at',
    )
  })
})

describe('identification on the purchase endpoints', () => {
  for (const endpoint of ENDPOINTS) {
    it(`${endpoint.name}: neither header is 400 validation_error at non_field_errors`, async () => {
      const tenant = await h.createTenant()
      expectError(
        await post(tenant, endpoint.path, {}, endpoint.body()),
        400,
        'validation_error',
        'non_field_errors',
        IDENTIFICATION_REQUIRED,
      )
    })

    it(`${endpoint.name}: an unknown profile is 400 profile_does_not_exist at non_field_errors`, async () => {
      const tenant = await h.createTenant()
      const identifications: Record<string, string>[] = [
        { 'adapty-profile-id': UNKNOWN_PROFILE_ID },
        { 'adapty-customer-user-id': uniqueUserId('nobody') },
        { 'adapty-profile-id': UNKNOWN_PROFILE_ID, 'adapty-customer-user-id': uniqueUserId('nobody') },
      ]
      for (const headers of identifications) {
        expectError(
          await post(tenant, endpoint.path, headers, endpoint.body()),
          400,
          'profile_does_not_exist',
          'non_field_errors',
          'Profile not found',
        )
      }
    })

    it(`${endpoint.name}: a profile of another app is unknown here`, async () => {
      const { profile } = await tenantWithProfile()
      const other = await h.createTenant()
      for (const headers of [
        profile.headers,
        { 'adapty-customer-user-id': profile.customerUserId as string },
      ]) {
        expectError(
          await post(other, endpoint.path, headers, endpoint.body()),
          400,
          'profile_does_not_exist',
          'non_field_errors',
          'Profile not found',
        )
      }
    })

    it(`${endpoint.name}: a deleted profile is unknown`, async () => {
      const { tenant, profile } = await tenantWithProfile()
      const deleted = await tenant.api({ method: 'DELETE', path: '/profile/', headers: profile.headers })
      assert.equal(deleted.statusCode, 204, deleted.body)
      expectError(
        await post(tenant, endpoint.path, profile.headers, endpoint.body()),
        400,
        'profile_does_not_exist',
        'non_field_errors',
        'Profile not found',
      )
    })

    it(`${endpoint.name}: a customer user id that is not the profile's is 400 validation_error`, async () => {
      const { tenant, profile } = await tenantWithProfile()
      const other = await newProfile(tenant)
      expectError(
        await post(
          tenant,
          endpoint.path,
          { ...profile.headers, 'adapty-customer-user-id': other.customerUserId as string },
          endpoint.body(),
        ),
        400,
        'validation_error',
        'adapty-customer-user-id',
        'Does not match the customer user id of the profile given by adapty-profile-id.',
      )
    })

    it(`${endpoint.name}: a profile id that is not a UUID is 400 validation_error at the header`, async () => {
      const tenant = await h.createTenant()
      expectError(
        await post(tenant, endpoint.path, { 'adapty-profile-id': 'not-a-uuid' }, endpoint.body()),
        400,
        'validation_error',
        'adapty-profile-id',
      )
    })

    it(`${endpoint.name}: no key, a wrong key or the public key is 401 not_authenticated`, async () => {
      const { tenant, profile } = await tenantWithProfile()
      const without = await h.app.inject({
        method: 'POST',
        url: `${API}${endpoint.path}`,
        headers: profile.headers,
        payload: endpoint.body() as InjectOptions['payload'],
      })
      expectError(
        without,
        401,
        'not_authenticated',
        'non_field_errors',
        'Authentication credentials were not provided.',
      )
      for (const authorization of [
        `Api-Key ${tenant.secretKey}x`,
        `Api-Key ${tenant.publicKey}`,
        `Bearer ${tenant.secretKey}`,
      ]) {
        expectError(
          await post(tenant, endpoint.path, { ...profile.headers, authorization }, endpoint.body()),
          401,
          'not_authenticated',
          'non_field_errors',
          'Invalid API key.',
        )
      }
    })
  }
})

describe('grant and revoke: access level errors', () => {
  for (const [name, send] of [
    ['grant', grant],
    ['revoke', revoke],
  ] as const) {
    it(`${name}: an access level the app does not have is 400 paid_access_level_does_not_exist`, async () => {
      const { tenant, profile } = await tenantWithProfile()
      expectError(
        await send(tenant, profile.headers, { access_level_id: 'gold' }),
        400,
        'paid_access_level_does_not_exist',
        'non_field_errors',
        'This app has no access level `gold`.',
      )
      // Access levels are per app: another app's `sports` is unknown here.
      const other = await h.createTenant()
      await createAccessLevel(h, other.appId, 'sports')
      expectError(
        await send(tenant, profile.headers, { access_level_id: 'sports' }),
        400,
        'paid_access_level_does_not_exist',
        'non_field_errors',
        'This app has no access level `sports`.',
      )
    })
  }

  it('revoke of a level the profile never had is 400 profile_paid_access_level_does_not_exist', async () => {
    const { tenant, profile } = await tenantWithProfile()
    await createAccessLevel(h, tenant.appId, 'sports')
    // It holds premium, not sports.
    assert.equal((await grant(tenant, profile.headers, { access_level_id: 'premium' })).statusCode, 200)
    expectError(
      await revoke(tenant, profile.headers, { access_level_id: 'sports' }),
      400,
      'profile_paid_access_level_does_not_exist',
      'non_field_errors',
      `Profile \`${profile.profileId}\` does not hold the access level \`sports\` now.`,
    )
    const fresh = await newProfile(tenant)
    expectError(
      await revoke(tenant, fresh.headers, { access_level_id: 'premium' }),
      400,
      'profile_paid_access_level_does_not_exist',
      'non_field_errors',
      `Profile \`${fresh.profileId}\` does not hold the access level \`premium\` now.`,
    )
  })

  it('revoke of a level the profile only held in the past is 400 profile_paid_access_level_does_not_exist', async () => {
    const { tenant } = await tenantWithProfile()
    const message = (id: string) => `Profile \`${id}\` does not hold the access level \`premium\` now.`

    // An expired subscription.
    const expiredSubscription = await newProfile(tenant)
    const bought = await setTransaction(
      tenant,
      expiredSubscription.headers,
      subscriptionBody({ expires_at: '2026-01-05T00:00:00Z' }),
    )
    assert.equal(bought.statusCode, 200, bought.body)
    expectError(
      await revoke(tenant, expiredSubscription.headers, { access_level_id: 'premium' }),
      400,
      'profile_paid_access_level_does_not_exist',
      'non_field_errors',
      message(expiredSubscription.profileId),
    )

    // An expired grant.
    const expiredGrant = await newProfile(tenant)
    const granted = await grant(tenant, expiredGrant.headers, {
      access_level_id: 'premium',
      starts_at: '2025-12-01T00:00:00Z',
      expires_at: '2026-01-05T00:00:00Z',
    })
    assert.equal(granted.statusCode, 200, granted.body)
    expectError(
      await revoke(tenant, expiredGrant.headers, { access_level_id: 'premium' }),
      400,
      'profile_paid_access_level_does_not_exist',
      'non_field_errors',
      message(expiredGrant.profileId),
    )

    // A level already revoked.
    const revoked = await newProfile(tenant)
    assert.equal((await grant(tenant, revoked.headers, { access_level_id: 'premium' })).statusCode, 200)
    assert.equal((await revoke(tenant, revoked.headers, { access_level_id: 'premium' })).statusCode, 200)
    expectError(
      await revoke(tenant, revoked.headers, { access_level_id: 'premium' }),
      400,
      'profile_paid_access_level_does_not_exist',
      'non_field_errors',
      message(revoked.profileId),
    )

    // A grant that ran out while the clock moved on.
    const ranOut = await newProfile(tenant)
    const shortGrant = await grant(tenant, ranOut.headers, {
      access_level_id: 'premium',
      expires_at: '2026-01-11T00:00:00Z',
    })
    assert.equal(shortGrant.statusCode, 200, shortGrant.body)
    clock.set(new Date('2026-01-12T00:00:00Z'))
    expectError(
      await revoke(tenant, ranOut.headers, { access_level_id: 'premium' }),
      400,
      'profile_paid_access_level_does_not_exist',
      'non_field_errors',
      message(ranOut.profileId),
    )
  })

  it('revoke_at in the past is 400 value_error at revoke_at', async () => {
    const { tenant, profile } = await tenantWithProfile()
    assert.equal((await grant(tenant, profile.headers, { access_level_id: 'premium' })).statusCode, 200)
    for (const revokeAt of [
      '2026-01-09T23:59:59.999Z',
      '2026-01-10T00:59:59+01:00',
      '2020-01-01T00:00:00Z',
    ]) {
      expectError(
        await revoke(tenant, profile.headers, { access_level_id: 'premium', revoke_at: revokeAt }),
        400,
        'value_error',
        'revoke_at',
        'revoke_at must not be in the past; send null to revoke now.',
      )
    }
  })

  it('revoke_at after the current expiry is 400 revocation_date_more_than_expiration_date', async () => {
    const { tenant, profile } = await tenantWithProfile()
    assert.equal(
      (
        await grant(tenant, profile.headers, {
          access_level_id: 'premium',
          expires_at: '2026-03-01T00:00:00Z',
        })
      ).statusCode,
      200,
    )
    expectError(
      await revoke(tenant, profile.headers, {
        access_level_id: 'premium',
        revoke_at: '2026-04-01T12:30:45Z',
      }),
      400,
      'revocation_date_more_than_expiration_date',
      'revoke_at',
      'revoke_at (2026-04-01 12:30:45+00:00) is after the current expiry of the access level ' +
        '(2026-03-01 00:00:00+00:00); use a grant to extend access.',
    )

    // The same for a store subscription: its expiry is the period end.
    const subscriber = await newProfile(tenant)
    const bought = await setTransaction(tenant, subscriber.headers, subscriptionBody())
    assert.equal(bought.statusCode, 200, bought.body)
    expectError(
      await revoke(tenant, subscriber.headers, {
        access_level_id: 'premium',
        revoke_at: '2026-02-01T00:00:00.001Z',
      }),
      400,
      'revocation_date_more_than_expiration_date',
      'revoke_at',
      'revoke_at (2026-02-01 00:00:00+00:00) is after the current expiry of the access level ' +
        '(2026-02-01 00:00:00+00:00); use a grant to extend access.',
    )
    // Exactly at the expiry is not later: accepted.
    const atExpiry = await revoke(tenant, subscriber.headers, {
      access_level_id: 'premium',
      revoke_at: '2026-02-01T00:00:00Z',
    })
    assert.equal(atExpiry.statusCode, 200, atExpiry.body)
  })
})

describe('a refused request leaves no trace', () => {
  it('writes no ledger row, no event, no job and leaves the profile as it was', async () => {
    const tenant = await h.createTenant()
    await createAccessLevel(h, tenant.appId, 'sports')
    const profile = await newProfile(tenant)
    const other = await newProfile(tenant)
    // Far-off expiries: no expiry job of this app falls due while the suite runs, whatever the clock.
    const held = subscriptionBody({ expires_at: '2099-01-01T00:00:00Z' })
    assert.equal((await setTransaction(tenant, profile.headers, held)).statusCode, 200)
    assert.equal(
      (
        await grant(tenant, profile.headers, {
          access_level_id: 'premium',
          expires_at: '2099-06-01T00:00:00Z',
        })
      ).statusCode,
      200,
    )
    const before = await traceOf(h, tenant.appId, profile.profileId)
    assert.ok(before.ledgerEntries >= 2 && before.events >= 2, JSON.stringify(before))

    const mismatch = { ...profile.headers, 'adapty-customer-user-id': other.customerUserId as string }
    const refused: [string, () => Promise<LightMyRequestResponse>][] = [
      ...RULE_CASES.map(
        (rule) =>
          [rule.code, () => setTransaction(tenant, profile.headers, rule.body())] as [
            string,
            () => Promise<LightMyRequestResponse>,
          ],
      ),
      // An update of the held transaction that breaks a rule leaves the stored one as it was.
      [
        'update breaking a rule',
        () => setTransaction(tenant, profile.headers, { ...held, cancellation_reason: 'refund' }),
      ],
      [
        'update breaking the schema',
        () => setTransaction(tenant, profile.headers, { ...held, store_transaction_id: 'x'.repeat(51) }),
      ],
      [
        'bad purchase_type',
        () => setTransaction(tenant, profile.headers, { ...held, purchase_type: 'gift' }),
      ],
      ['no identification', () => setTransaction(tenant, {}, subscriptionBody())],
      ['mismatch (set)', () => setTransaction(tenant, mismatch, subscriptionBody())],
      ['mismatch (grant)', () => grant(tenant, mismatch, { access_level_id: 'sports' })],
      ['mismatch (revoke)', () => revoke(tenant, mismatch, { access_level_id: 'premium' })],
      ['unknown level (grant)', () => grant(tenant, profile.headers, { access_level_id: 'gold' })],
      ['unknown level (revoke)', () => revoke(tenant, profile.headers, { access_level_id: 'gold' })],
      ['level not held', () => revoke(tenant, profile.headers, { access_level_id: 'sports' })],
      [
        'revoke_at in the past',
        () =>
          revoke(tenant, profile.headers, { access_level_id: 'premium', revoke_at: '2026-01-01T00:00:00Z' }),
      ],
      [
        'revoke_at after expiry',
        () =>
          revoke(tenant, profile.headers, { access_level_id: 'premium', revoke_at: '2100-01-01T00:00:00Z' }),
      ],
      [
        'grant with a bad date',
        () => grant(tenant, profile.headers, { access_level_id: 'premium', expires_at: 'tomorrow' }),
      ],
      [
        'no key',
        () =>
          h.app.inject({
            method: 'POST',
            url: `${API}${SET_TRANSACTION}`,
            headers: profile.headers,
            payload: subscriptionBody(),
          }),
      ],
      [
        'wrong key',
        () =>
          grant(tenant, { ...profile.headers, authorization: 'Api-Key nope' }, { access_level_id: 'sports' }),
      ],
    ]
    for (const [name, send] of refused) {
      const response = await send()
      assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${name}: ${response.body}`)
      assert.deepEqual(await traceOf(h, tenant.appId, profile.profileId), before, `${name} left a trace`)
    }

    // Unknown profiles: nothing is written for anyone, and no profile is created.
    const ghosts: Record<string, string>[] = [
      { 'adapty-profile-id': UNKNOWN_PROFILE_ID },
      { 'adapty-customer-user-id': uniqueUserId('ghost') },
    ]
    for (const headers of ghosts) {
      for (const send of [
        () => setTransaction(tenant, headers, subscriptionBody()),
        () => grant(tenant, headers, { access_level_id: 'premium' }),
        () => revoke(tenant, headers, { access_level_id: 'premium' }),
      ]) {
        const response = await send()
        assert.equal(response.statusCode, 400, response.body)
        assert.deepEqual(await traceOf(h, tenant.appId, profile.profileId), before)
      }
      const found = await tenant.api({ method: 'GET', path: '/profile/', headers })
      assert.equal(found.statusCode, 404, found.body)
    }

    // The profile still answers exactly what it answered before the refusals.
    const after = await tenant.api({ method: 'GET', path: '/profile/', headers: profile.headers })
    assert.equal(after.statusCode, 200)
    assert.equal(after.json().data.subscriptions.length, 1)
    assert.equal(after.json().data.subscriptions[0].store_transaction_id, held.store_transaction_id)
    assert.equal(after.json().data.subscriptions[0].cancellation_reason, null)
  })
})
