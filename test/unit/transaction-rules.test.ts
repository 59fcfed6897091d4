import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ErrorObject } from 'ajv'
import fc from 'fast-check'
import { AppError } from '../../src/errors.ts'
import { validationFailure, validatorCompiler } from '../../src/http/validation.ts'
import {
  GrantAccessLevelBody,
  type OneTimePurchaseInput,
  RevokeAccessLevelBody,
  SetTransactionBody,
  type SubscriptionInput,
} from '../../src/modules/purchases/purchase-request.schemas.ts'
import {
  normalizeGrant,
  normalizeRevoke,
  normalizeTransaction,
  parseInstant,
  type RuleViolation,
  type SetTransactionBodyInput,
} from '../../src/modules/purchases/transaction-rules.ts'

const PURCHASED = '2024-03-01T10:00:00.000Z'
/** PURCHASED moved by `ms` milliseconds. */
const at = (ms: number) => new Date(Date.parse(PURCHASED) + ms).toISOString()
const DAY = 86_400_000

function subscription(overrides: Record<string, unknown> = {}): SubscriptionInput {
  return {
    purchase_type: 'subscription',
    store: 'app_store',
    store_product_id: 'monthly',
    store_transaction_id: 't-2',
    store_original_transaction_id: 't-1',
    price: { country: 'US', currency: 'USD', value: 9.99 },
    purchased_at: PURCHASED,
    originally_purchased_at: at(-30 * DAY),
    expires_at: at(30 * DAY),
    renew_status: true,
    ...overrides,
  } as SubscriptionInput
}

function oneTime(overrides: Record<string, unknown> = {}): OneTimePurchaseInput {
  return {
    purchase_type: 'one_time_purchase',
    store: 'play_store',
    store_product_id: 'lifetime',
    store_transaction_id: 'GPA.1',
    store_original_transaction_id: 'GPA.1',
    price: { country: 'DE', currency: 'EUR', value: 49 },
    purchased_at: PURCHASED,
    ...overrides,
  } as OneTimePurchaseInput
}

function violationOf(body: SetTransactionBodyInput): RuleViolation {
  const result = normalizeTransaction(body)
  assert.ok(!result.ok, 'expected a rule violation')
  return result.error
}

function accepts(body: SetTransactionBodyInput) {
  const result = normalizeTransaction(body)
  assert.ok(result.ok, result.ok ? '' : `unexpected ${result.error.code}: ${result.error.message}`)
  return result.value
}

function assertViolation(body: SetTransactionBodyInput, code: string, source: string) {
  const error = violationOf(body)
  assert.equal(error.code, code)
  assert.equal(error.source, source)
  assert.ok(error.message.length > 0)
}

describe('normalizeTransaction: rules', () => {
  it('store_transaction_id_error: a one-time purchase needs the transaction id equal to the original id', () => {
    assertViolation(
      oneTime({ store_transaction_id: 'GPA.2', store_original_transaction_id: 'GPA.1' }),
      'store_transaction_id_error',
      'store_transaction_id',
    )
    accepts(oneTime({ store_transaction_id: 'GPA.1', store_original_transaction_id: 'GPA.1' }))
    // A renewal of a subscription has its own transaction id.
    accepts(subscription({ store_transaction_id: 't-2', store_original_transaction_id: 't-1' }))
  })

  it('one_time_purchase_trial_error: a one-time purchase cannot be a free trial', () => {
    const price = { country: 'DE', currency: 'EUR', value: 0 }
    assertViolation(
      oneTime({ price, offer: { category: 'introductory', type: 'free_trial', id: null } }),
      'one_time_purchase_trial_error',
      'offer.type',
    )
    accepts(oneTime({ price, offer: { category: 'introductory', type: 'pay_up_front', id: null } }))
    accepts(subscription({ price, offer: { category: 'introductory', type: 'free_trial', id: null } }))
  })

  it('missing_offer_id: every offer category but introductory needs an id', () => {
    for (const category of ['promotional', 'offer_code', 'win_back']) {
      assertViolation(
        subscription({ offer: { category, type: 'pay_as_you_go', id: null } }),
        'missing_offer_id',
        'offer.category',
      )
      assertViolation(
        subscription({ offer: { category, type: 'pay_as_you_go' } }),
        'missing_offer_id',
        'offer.category',
      )
      assertViolation(
        subscription({ offer: { category, type: 'pay_as_you_go', id: '' } }),
        'missing_offer_id',
        'offer.category',
      )
      accepts(subscription({ offer: { category, type: 'pay_as_you_go', id: 'spring' } }))
    }
    accepts(subscription({ offer: { category: 'introductory', type: 'pay_as_you_go', id: null } }))
    accepts(subscription({ offer: { category: 'introductory', type: 'pay_as_you_go' } }))
    accepts(subscription({ offer: null }))
  })

  it('free_trial_price_error: a free trial costs 0', () => {
    const offer = { category: 'introductory', type: 'free_trial', id: null }
    assertViolation(
      subscription({ offer, price: { country: 'US', currency: 'USD', value: 0.01 } }),
      'free_trial_price_error',
      'offer.type',
    )
    accepts(subscription({ offer, price: { country: 'US', currency: 'USD', value: 0 } }))
  })

  it('family_share_price_error: a family-shared purchase costs 0', () => {
    assertViolation(
      subscription({ is_family_shared: true, price: { country: 'US', currency: 'USD', value: 0.01 } }),
      'family_share_price_error',
      'is_family_shared',
    )
    accepts(subscription({ is_family_shared: true, price: { country: 'US', currency: 'USD', value: 0 } }))
    accepts(subscription({ is_family_shared: false, price: { country: 'US', currency: 'USD', value: 5 } }))
  })

  it('refund_fields_error: refunded_at and cancellation_reason refund come together, both ways', () => {
    assertViolation(subscription({ refunded_at: at(DAY) }), 'refund_fields_error', 'refunded_at')
    assertViolation(
      subscription({ refunded_at: at(DAY), cancellation_reason: 'voluntarily_cancelled' }),
      'refund_fields_error',
      'refunded_at',
    )
    assertViolation(subscription({ cancellation_reason: 'refund' }), 'refund_fields_error', 'refunded_at')
    assertViolation(
      subscription({ cancellation_reason: 'refund', refunded_at: null }),
      'refund_fields_error',
      'refunded_at',
    )
    accepts(subscription({ refunded_at: at(DAY), cancellation_reason: 'refund' }))
    accepts(oneTime({ refunded_at: at(DAY), cancellation_reason: 'refund' }))
    accepts(subscription({ refunded_at: null, cancellation_reason: 'voluntarily_cancelled' }))
  })

  it('refund_date_error: refunded_at is later than purchased_at', () => {
    const reason = { cancellation_reason: 'refund' }
    assertViolation(subscription({ ...reason, refunded_at: PURCHASED }), 'refund_date_error', 'refunded_at')
    assertViolation(oneTime({ ...reason, refunded_at: at(-1) }), 'refund_date_error', 'refunded_at')
    accepts(subscription({ ...reason, refunded_at: at(1) }))
  })

  it('originally_purchased_date_error: originally_purchased_at is not later than purchased_at', () => {
    assertViolation(
      subscription({ originally_purchased_at: at(1) }),
      'originally_purchased_date_error',
      'originally_purchased_at',
    )
    accepts(subscription({ originally_purchased_at: PURCHASED }))
  })

  it('expires_date_error: expires_at is later than purchased_at; null means no end', () => {
    assertViolation(subscription({ expires_at: PURCHASED }), 'expires_date_error', 'expires_at')
    assertViolation(subscription({ expires_at: at(-DAY) }), 'expires_date_error', 'expires_at')
    accepts(subscription({ expires_at: at(1) }))
    assert.equal(accepts(subscription({ expires_at: null })).expiresAt, null)
  })

  it('renew_status_changed_date_error: renew_status_changed_at is later than purchased_at', () => {
    assertViolation(
      subscription({ renew_status_changed_at: PURCHASED }),
      'renew_status_changed_date_error',
      'renew_status_changed_at',
    )
    accepts(subscription({ renew_status: false, renew_status_changed_at: at(1) }))
  })

  it('billing_issue_detected_at_date_comparison_error: billing_issue_detected_at is later than purchased_at', () => {
    assertViolation(
      subscription({ billing_issue_detected_at: PURCHASED }),
      'billing_issue_detected_at_date_comparison_error',
      'billing_issue_detected_at',
    )
    accepts(subscription({ billing_issue_detected_at: at(1) }))
  })

  it('grace_period_billing_error: a grace period needs billing_issue_detected_at', () => {
    assertViolation(
      subscription({ grace_period_expires_at: at(35 * DAY) }),
      'grace_period_billing_error',
      'billing_issue_detected_at',
    )
    assertViolation(
      subscription({ grace_period_expires_at: at(35 * DAY), billing_issue_detected_at: null }),
      'grace_period_billing_error',
      'billing_issue_detected_at',
    )
    accepts(subscription({ grace_period_expires_at: at(35 * DAY), billing_issue_detected_at: at(30 * DAY) }))
  })

  it('grace_period_expires_date_error: the grace period ends no earlier than expires_at', () => {
    const billing = { billing_issue_detected_at: at(29 * DAY) }
    assertViolation(
      subscription({ ...billing, grace_period_expires_at: at(30 * DAY - 1) }),
      'grace_period_expires_date_error',
      'grace_period_expires_at',
    )
    accepts(subscription({ ...billing, grace_period_expires_at: at(30 * DAY) }))
    // Without an end there is nothing to compare the grace period with.
    accepts(subscription({ ...billing, expires_at: null, grace_period_expires_at: at(DAY) }))
  })

  it('ignores subscription-only fields sent with a one-time purchase', () => {
    const body = {
      ...oneTime(),
      expires_at: at(-DAY),
      originally_purchased_at: at(DAY),
      renew_status: true,
      grace_period_expires_at: at(DAY),
    } as OneTimePurchaseInput
    const value = accepts(body)
    assert.equal(value.expiresAt, null)
    assert.equal(value.gracePeriodExpiresAt, null)
    assert.equal(value.renewStatus, false)
  })

  it('reports the first failing rule in the documented order', () => {
    // Each body breaks the rule named and every rule after it that it can; the first one wins.
    const refund = { refunded_at: at(-1), cancellation_reason: 'refund' }
    const late = {
      originally_purchased_at: at(1),
      expires_at: PURCHASED,
      renew_status_changed_at: PURCHASED,
      billing_issue_detected_at: PURCHASED,
      grace_period_expires_at: at(-1),
    }
    const cases: [SetTransactionBodyInput, string][] = [
      [
        oneTime({
          store_original_transaction_id: 'other',
          is_family_shared: true,
          offer: { category: 'promotional', type: 'free_trial', id: null },
          ...refund,
        }),
        'store_transaction_id_error',
      ],
      [
        oneTime({
          is_family_shared: true,
          offer: { category: 'promotional', type: 'free_trial', id: null },
          ...refund,
        }),
        'one_time_purchase_trial_error',
      ],
      [
        subscription({
          is_family_shared: true,
          offer: { category: 'promotional', type: 'free_trial', id: null },
          ...refund,
          ...late,
        }),
        'missing_offer_id',
      ],
      [
        subscription({
          is_family_shared: true,
          offer: { category: 'promotional', type: 'free_trial', id: 'x' },
          ...refund,
          ...late,
        }),
        'free_trial_price_error',
      ],
      [subscription({ is_family_shared: true, refunded_at: at(-1), ...late }), 'family_share_price_error'],
      [subscription({ refunded_at: at(-1), ...late }), 'refund_fields_error'],
      [subscription({ ...refund, ...late }), 'refund_date_error'],
      [subscription({ ...late }), 'originally_purchased_date_error'],
      [subscription({ ...late, originally_purchased_at: PURCHASED }), 'expires_date_error'],
      [
        subscription({ ...late, originally_purchased_at: PURCHASED, expires_at: at(DAY) }),
        'renew_status_changed_date_error',
      ],
      [
        subscription({
          ...late,
          originally_purchased_at: PURCHASED,
          expires_at: at(DAY),
          renew_status_changed_at: null,
        }),
        'billing_issue_detected_at_date_comparison_error',
      ],
      [
        subscription({
          ...late,
          originally_purchased_at: PURCHASED,
          expires_at: at(DAY),
          renew_status_changed_at: null,
          billing_issue_detected_at: null,
        }),
        'grace_period_billing_error',
      ],
      [
        subscription({
          ...late,
          originally_purchased_at: PURCHASED,
          expires_at: at(DAY),
          renew_status_changed_at: null,
          billing_issue_detected_at: at(1),
        }),
        'grace_period_expires_date_error',
      ],
    ]
    for (const [body, code] of cases) assert.equal(violationOf(body).code, code)
  })
})

describe('normalizeTransaction: normalization', () => {
  it('fills the defaults and upper-cases currency and country', () => {
    const value = accepts(subscription({ price: { country: 'us', currency: 'usd', value: 4.99 } }))
    assert.deepEqual(value, {
      purchaseType: 'subscription',
      store: 'app_store',
      environment: 'Production',
      storeProductId: 'monthly',
      storeTransactionId: 't-2',
      storeOriginalTransactionId: 't-1',
      isFamilyShared: false,
      price: { country: 'US', currency: 'USD', value: 4.99 },
      purchasedAt: PURCHASED,
      variationId: null,
      offer: null,
      refundedAt: null,
      cancellationReason: null,
      originallyPurchasedAt: at(-30 * DAY),
      expiresAt: at(30 * DAY),
      renewStatus: true,
      renewStatusChangedAt: null,
      billingIssueDetectedAt: null,
      gracePeriodExpiresAt: null,
    })
  })

  it('keeps what was sent', () => {
    const value = accepts(
      subscription({
        environment: 'Sandbox',
        variation_id: 'var-1',
        offer: { category: 'promotional', type: 'pay_up_front', id: 'spring' },
        renew_status: false,
        renew_status_changed_at: at(DAY),
        billing_issue_detected_at: at(29 * DAY),
        grace_period_expires_at: at(36 * DAY),
        cancellation_reason: 'billing_error',
      }),
    )
    assert.equal(value.environment, 'Sandbox')
    assert.equal(value.variationId, 'var-1')
    assert.deepEqual(value.offer, { category: 'promotional', type: 'pay_up_front', id: 'spring' })
    assert.equal(value.renewStatus, false)
    assert.equal(value.renewStatusChangedAt, at(DAY))
    assert.equal(value.billingIssueDetectedAt, at(29 * DAY))
    assert.equal(value.gracePeriodExpiresAt, at(36 * DAY))
    assert.equal(value.cancellationReason, 'billing_error')
  })

  it('gives a one-time purchase its subscription fields: originally = purchased, no end, no renewal', () => {
    const value = accepts(
      oneTime({
        environment: 'Sandbox',
        is_family_shared: true,
        price: { country: 'de', currency: 'eur', value: 0 },
      }),
    )
    assert.equal(value.purchaseType, 'one_time_purchase')
    assert.equal(value.originallyPurchasedAt, PURCHASED)
    assert.equal(value.expiresAt, null)
    assert.equal(value.renewStatus, false)
    assert.equal(value.isFamilyShared, true)
    assert.deepEqual(value.price, { country: 'DE', currency: 'EUR', value: 0 })
  })

  it('turns every accepted date-time form into one UTC instant', () => {
    const forms = [
      '2024-03-01T10:00:00Z',
      '2024-03-01T10:00:00z',
      '2024-03-01T10:00:00+00:00',
      '2024-03-01T10:00:00+0000',
      '2024-03-01T10:00:00.000000+0000',
      '2024-03-01T10:00:00.000+00:00',
      '2024-03-01 10:00:00+0000',
      '2024-03-01t10:00:00Z',
      '2024-03-01T15:30:00+05:30',
      '2024-03-01T15:30:00+0530',
      '2024-03-01T15:00:00+05',
      '2024-03-01T06:30:00-03:30',
    ]
    for (const form of forms) {
      assert.equal(
        accepts(subscription({ purchased_at: form, originally_purchased_at: form })).purchasedAt,
        PURCHASED,
        form,
      )
    }
  })

  it('keeps milliseconds and drops the digits past them', () => {
    const value = accepts(subscription({ purchased_at: '2024-03-01T10:00:00.517975+0000' }))
    assert.equal(value.purchasedAt, '2024-03-01T10:00:00.517Z')
    assert.equal(parseInstant('2024-03-01T10:00:00.5Z'), Date.parse('2024-03-01T10:00:00.500Z'))
  })

  it('reads a leap second as the first moment of the next minute', () => {
    assert.equal(parseInstant('2016-12-31T23:59:60Z'), Date.parse('2017-01-01T00:00:00Z'))
    assert.equal(parseInstant('2016-12-31T18:59:60-05:00'), Date.parse('2017-01-01T00:00:00Z'))
  })

  it('compares instants, not texts: the same moment in two offsets is equal', () => {
    assertViolation(
      subscription({ expires_at: '2024-03-01T11:00:00+01:00' }),
      'expires_date_error',
      'expires_at',
    )
    accepts(subscription({ expires_at: '2024-03-01T11:00:00.001+01:00' }))
  })

  it('answers validation_error at the field for a date-time it cannot read', () => {
    assert.deepEqual(normalizeTransaction(subscription({ expires_at: 'soon' })), {
      ok: false,
      error: { code: 'validation_error', source: 'expires_at', message: 'Must be a valid date-time.' },
    })
    assert.equal(parseInstant('2024-03-01T10:00:00'), null)
    assert.equal(parseInstant('2024-02-30T10:00:00Z'), null)
  })

  it('refuses instants outside the years 1 to 9999 in UTC, which the database cannot store', () => {
    assert.equal(parseInstant('0000-12-31T10:00:00Z'), null)
    assert.equal(parseInstant('0001-01-01T00:30:00+01:00'), null)
    assert.equal(parseInstant('0001-01-01T00:00:00Z'), Date.parse('0001-01-01T00:00:00Z'))
    assert.equal(parseInstant('9999-12-31T23:59:59.999Z'), Date.parse('9999-12-31T23:59:59.999Z'))
    assert.equal(parseInstant('9999-12-31T23:30:00-01:00'), null)
    assert.equal(
      violationOf(subscription({ originally_purchased_at: '0000-01-01T00:00:00Z' })).source,
      'originally_purchased_at',
    )
  })

  it('reads every date-time that the schema accepts', () => {
    const validate = bodyValidator({ type: 'string', format: 'date-time' })
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'))
    const text = fc
      .tuple(
        fc.integer({ min: 2, max: 9998 }).map((n) => String(n).padStart(4, '0')),
        two(12),
        two(31),
        fc.constantFrom('T', 't', ' '),
        two(23),
        two(59),
        two(60),
        fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }),
        fc.oneof(
          fc.constantFrom('Z', 'z'),
          fc
            .tuple(fc.constantFrom('+', '-'), two(23), fc.constantFrom(':', ''), fc.option(two(59)))
            .map(([sign, hours, colon, minutes]) =>
              minutes === null ? `${sign}${hours}` : `${sign}${hours}${colon}${minutes}`,
            ),
        ),
      )
      .map(
        ([y, mo, d, sep, h, mi, s, frac, zone]) =>
          `${y}-${mo}-${d}${sep}${h}:${mi}:${s}${frac ? `.${frac}` : ''}${zone}`,
      )
    fc.assert(
      fc.property(text, (candidate) => {
        if (validate(candidate)) assert.notEqual(parseInstant(candidate), null, candidate)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('normalizeGrant and normalizeRevoke', () => {
  it('makes absent and null dates null', () => {
    assert.deepEqual(normalizeGrant({ access_level_id: 'premium' }), {
      accessLevelId: 'premium',
      startsAt: null,
      expiresAt: null,
    })
    assert.deepEqual(normalizeGrant({ access_level_id: 'premium', starts_at: null, expires_at: null }), {
      accessLevelId: 'premium',
      startsAt: null,
      expiresAt: null,
    })
    assert.deepEqual(normalizeRevoke({ access_level_id: 'premium' }), {
      accessLevelId: 'premium',
      revokeAt: null,
    })
    assert.deepEqual(normalizeRevoke({ access_level_id: 'premium', revoke_at: null }), {
      accessLevelId: 'premium',
      revokeAt: null,
    })
  })

  it('normalizes the dates', () => {
    assert.deepEqual(
      normalizeGrant({
        access_level_id: 'sports',
        starts_at: '2030-01-01T00:00:00.000000+0000',
        expires_at: '2020-01-01T02:00:00+02:00',
      }),
      {
        accessLevelId: 'sports',
        startsAt: '2030-01-01T00:00:00.000Z',
        expiresAt: '2020-01-01T00:00:00.000Z',
      },
    )
    assert.deepEqual(normalizeRevoke({ access_level_id: 'premium', revoke_at: '2030-01-01 00:00:00+0000' }), {
      accessLevelId: 'premium',
      revokeAt: '2030-01-01T00:00:00.000Z',
    })
  })

  it('throws validation_error at the field for a date-time it cannot read', () => {
    assert.throws(
      () => normalizeRevoke({ access_level_id: 'premium', revoke_at: 'tomorrow' }),
      (error: unknown) =>
        error instanceof AppError && error.code === 'validation_error' && error.source === 'revoke_at',
    )
    assert.throws(
      () => normalizeGrant({ access_level_id: 'premium', starts_at: 'now' }),
      (error: unknown) => error instanceof AppError && error.source === 'starts_at',
    )
  })
})

function bodyValidator(schema: object) {
  const validate = validatorCompiler({ schema, httpPart: 'body', method: 'POST', url: '/' }) as unknown as {
    (data: unknown): boolean
    errors?: ErrorObject[] | null
  }
  return validate
}

/** `[source, message]` of the validation_error the route would answer, or null when the body passes. */
function schemaFailure(schema: object, body: unknown): [string | null, string] | null {
  const validate = bodyValidator(schema)
  if (validate(body)) return null
  const error = validationFailure(validate.errors ?? [])
  assert.equal(error.code, 'validation_error')
  return [error.source, error.message]
}

const sourceOf = (schema: object, body: unknown) => schemaFailure(schema, body)?.[0] ?? null
const without = (body: object, key: string) =>
  Object.fromEntries(Object.entries(body).filter(([name]) => name !== key))

describe('SetTransactionBody schema', () => {
  const schema = SetTransactionBody as object

  it('accepts both shapes, with +0000, and lets unknown fields through', () => {
    assert.equal(schemaFailure(schema, subscription()), null)
    assert.equal(schemaFailure(schema, oneTime()), null)
    assert.equal(
      schemaFailure(
        schema,
        subscription({
          purchased_at: '2024-03-01T10:00:00.000000+0000',
          originally_purchased_at: '2024-02-01T10:00:00+0000',
          expires_at: null,
          store_base_plan_id: 'monthly-base',
          offer: { category: 'win_back', type: 'unknown', id: 'w' },
          refunded_at: null,
          cancellation_reason: null,
          variation_id: null,
        }),
      ),
      null,
    )
  })

  it('fills environment and is_family_shared', () => {
    const body: Record<string, unknown> = { ...oneTime() }
    assert.ok(bodyValidator(schema)(body))
    assert.equal(body.environment, 'Production')
    assert.equal(body.is_family_shared, false)
  })

  it('points a missing or unknown purchase_type at purchase_type', () => {
    assert.deepEqual(schemaFailure(schema, without(subscription(), 'purchase_type')), [
      'purchase_type',
      'This field is required.',
    ])
    assert.equal(sourceOf(schema, { ...subscription(), purchase_type: 'lifetime' }), 'purchase_type')
    assert.equal(sourceOf(schema, { ...subscription(), purchase_type: 1 }), 'purchase_type')
    assert.equal(sourceOf(schema, { purchase_type: null }), 'purchase_type')
  })

  it('points other failures at their own field', () => {
    assert.deepEqual(schemaFailure(schema, without(subscription(), 'expires_at')), [
      'expires_at',
      'This field is required.',
    ])
    assert.equal(sourceOf(schema, without(subscription(), 'renew_status')), 'renew_status')
    assert.equal(
      sourceOf(schema, without(subscription(), 'originally_purchased_at')),
      'originally_purchased_at',
    )
    assert.equal(
      sourceOf(schema, without(oneTime(), 'store_original_transaction_id')),
      'store_original_transaction_id',
    )
    assert.equal(sourceOf(schema, subscription({ price: { country: 'US', currency: 'USD' } })), 'price.value')
    assert.equal(
      sourceOf(schema, oneTime({ price: { country: 'US', currency: 'USD', value: -1 } })),
      'price.value',
    )
    assert.equal(
      sourceOf(schema, oneTime({ price: { country: 'US', currency: 'USD', value: '1' } })),
      'price.value',
    )
    assert.equal(
      sourceOf(schema, oneTime({ price: { country: 'USA', currency: 'USD', value: 1 } })),
      'price.country',
    )
    assert.equal(
      sourceOf(schema, oneTime({ price: { country: 'US', currency: 'US', value: 1 } })),
      'price.currency',
    )
    assert.deepEqual(schemaFailure(schema, subscription({ store_transaction_id: 'x'.repeat(51) })), [
      'store_transaction_id',
      'Ensure this field has no more than 50 characters.',
    ])
    assert.equal(sourceOf(schema, subscription({ store_transaction_id: 'x'.repeat(50) })), null)
    assert.equal(
      sourceOf(schema, subscription({ cancellation_reason: 'changed_mind' })),
      'cancellation_reason',
    )
    assert.equal(sourceOf(schema, subscription({ environment: 'production' })), 'environment')
    assert.equal(
      sourceOf(schema, subscription({ offer: { category: 'seasonal', type: 'free_trial' } })),
      'offer.category',
    )
    assert.equal(
      sourceOf(schema, subscription({ offer: { category: 'promotional', type: 'trial' } })),
      'offer.type',
    )
    assert.equal(sourceOf(schema, subscription({ offer: { type: 'free_trial' } })), 'offer.category')
    assert.deepEqual(schemaFailure(schema, subscription({ offer: 'intro' })), [
      'offer',
      'Must be object or null.',
    ])
    assert.deepEqual(schemaFailure(schema, subscription({ purchased_at: '2024-03-01T10:00:00' })), [
      'purchased_at',
      'Must be a valid date-time.',
    ])
    assert.equal(
      sourceOf(schema, subscription({ grace_period_expires_at: 'later' })),
      'grace_period_expires_at',
    )
    assert.equal(sourceOf(schema, subscription({ renew_status: 'true' })), 'renew_status')
    assert.equal(sourceOf(schema, oneTime({ is_family_shared: 'yes' })), 'is_family_shared')
    assert.equal(sourceOf(schema, oneTime({ store: '' })), 'store')
  })

  it('does not ask a one-time purchase for subscription fields', () => {
    assert.equal(sourceOf(schema, oneTime()), null)
    assert.equal(sourceOf(schema, oneTime({ expires_at: 'not checked' })), null)
  })

  it('answers a body that is not an object at non_field_errors', () => {
    assert.deepEqual(schemaFailure(schema, []), ['non_field_errors', 'Expected a JSON object.'])
  })
})

describe('GrantAccessLevelBody and RevokeAccessLevelBody schemas', () => {
  const grant = GrantAccessLevelBody as object
  const revoke = RevokeAccessLevelBody as object

  it('accepts the documented bodies', () => {
    assert.equal(schemaFailure(grant, { access_level_id: 'premium' }), null)
    assert.equal(
      schemaFailure(grant, {
        access_level_id: 'premium',
        starts_at: '2030-01-01T00:00:00.000000+0000',
        expires_at: null,
        unknown: 1,
      }),
      null,
    )
    assert.equal(schemaFailure(revoke, { access_level_id: 'premium' }), null)
    assert.equal(schemaFailure(revoke, { access_level_id: 'premium', revoke_at: null }), null)
    assert.equal(
      schemaFailure(revoke, { access_level_id: 'premium', revoke_at: '2030-01-01T00:00:00+0000' }),
      null,
    )
  })

  it('points failures at the field', () => {
    assert.deepEqual(schemaFailure(grant, {}), ['access_level_id', 'This field is required.'])
    assert.deepEqual(schemaFailure(grant, { access_level_id: '' }), [
      'access_level_id',
      'This field may not be blank.',
    ])
    assert.equal(sourceOf(grant, { access_level_id: 'premium', starts_at: 'today' }), 'starts_at')
    assert.equal(sourceOf(grant, { access_level_id: 'premium', expires_at: 5 }), 'expires_at')
    assert.deepEqual(schemaFailure(revoke, {}), ['access_level_id', 'This field is required.'])
    assert.equal(sourceOf(revoke, { access_level_id: 'premium', revoke_at: '2030-01-01' }), 'revoke_at')
    assert.deepEqual(schemaFailure(revoke, 'premium'), ['non_field_errors', 'Expected a JSON object.'])
  })
})
