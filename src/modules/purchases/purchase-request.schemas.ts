import { type Static, type TSchema, Type } from 'typebox'
import { NullableString } from '../../http/common-schemas.ts'

/**
 * Request bodies of the purchase endpoints: set transaction, grant and revoke access level.
 *
 * Date-times use the stock `date-time` format of ajv-formats, which already takes `Z`, `+00:00`, `+0000`
 * and any number of fractional digits; transaction-rules.ts turns every accepted form into one instant.
 * Unknown fields are ignored, as everywhere in the API.
 */

export const PURCHASE_TYPES = ['one_time_purchase', 'subscription'] as const
export const ENVIRONMENTS = ['Production', 'Sandbox'] as const
export const OFFER_CATEGORIES = ['introductory', 'promotional', 'offer_code', 'win_back'] as const
export const OFFER_TYPES = ['free_trial', 'pay_as_you_go', 'pay_up_front', 'unknown'] as const
export const CANCELLATION_REASONS = [
  'billing_error',
  'cancelled_by_developer',
  'new_subscription_replace',
  'price_increase',
  'product_was_not_available',
  'refund',
  'unknown',
  'upgraded',
  'voluntarily_cancelled',
  'adapty_revoked',
] as const

// An `enum` keyword (not a union of literals) so that a wrong value reads "Must be one of: …" at its path.
function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

function NullableEnum<const T extends readonly string[]>(values: T, description: string) {
  return Type.Unsafe<T[number] | null>({ type: ['string', 'null'], enum: [...values, null], description })
}

const DateTime = (description: string) => Type.String({ format: 'date-time', description })
const NullableDateTime = (description: string) => NullableString({ format: 'date-time', description })

/** A nullable object as one type list, so that `offer: 5` reads "Must be object or null." at `offer`. */
function NullableObject<T extends TSchema>(schema: T, description: string) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: ['object', 'null'], description })
}

export const PriceSchema = Type.Object(
  {
    country: Type.String({
      minLength: 2,
      maxLength: 2,
      pattern: '^[A-Za-z]{2}$',
      description: 'ISO 3166-1 alpha-2 country of the store account',
    }),
    currency: Type.String({
      minLength: 3,
      maxLength: 3,
      pattern: '^[A-Za-z]{3}$',
      description: 'ISO 4217 currency code',
    }),
    value: Type.Number({ minimum: 0, description: 'Amount paid, in `currency`; 0 for a free trial' }),
  },
  { description: 'What the user paid for this transaction' },
)

export const OfferInputSchema = Type.Object({
  category: StringEnum(OFFER_CATEGORIES, { description: 'Kind of offer' }),
  type: StringEnum(OFFER_TYPES, { description: 'How the offer is paid' }),
  id: Type.Optional(
    NullableString({ description: 'Store offer id; required unless the category is introductory' }),
  ),
})

/** Fields both purchase types share, `purchase_type` aside. */
const transactionFields = {
  store: Type.String({
    minLength: 1,
    description: '`app_store`, `play_store`, `stripe`, `paddle`, or the Store ID of a custom store',
  }),
  environment: Type.Optional(
    StringEnum(ENVIRONMENTS, { default: 'Production', description: 'Store environment' }),
  ),
  store_product_id: Type.String({ minLength: 1, description: 'Product id in the store' }),
  store_transaction_id: Type.String({
    minLength: 1,
    maxLength: 50,
    description: 'Id of this transaction in the store; at most 50 characters (hash longer ids)',
  }),
  store_original_transaction_id: Type.String({
    minLength: 1,
    description:
      'Id of the first transaction of the chain; equal to store_transaction_id for a one-time purchase',
  }),
  is_family_shared: Type.Optional(
    Type.Boolean({
      default: false,
      description: 'Bought through family sharing; price.value must then be 0',
    }),
  ),
  price: PriceSchema,
  purchased_at: DateTime('When this transaction was made'),
  variation_id: Type.Optional(NullableString({ description: 'Paywall variation the purchase came from' })),
  offer: Type.Optional(NullableObject(OfferInputSchema, 'Offer applied to this transaction')),
  refunded_at: Type.Optional(
    NullableDateTime('When the transaction was refunded; needs cancellation_reason refund'),
  ),
  cancellation_reason: Type.Optional(NullableEnum(CANCELLATION_REASONS, 'Why the purchase ended')),
}

export const OneTimePurchaseBody = Type.Object(
  {
    purchase_type: StringEnum(['one_time_purchase'] as const, { description: 'Selects this shape' }),
    ...transactionFields,
  },
  { title: 'OneTimePurchase', description: 'A purchase that does not renew (consumable or lifetime).' },
)

export const SubscriptionBody = Type.Object(
  {
    purchase_type: StringEnum(['subscription'] as const, { description: 'Selects this shape' }),
    ...transactionFields,
    originally_purchased_at: DateTime('When the first transaction of the chain was made'),
    expires_at: NullableDateTime('End of the period bought by this transaction; null means no end'),
    renew_status: Type.Boolean({ description: 'Whether the subscription renews automatically' }),
    renew_status_changed_at: Type.Optional(NullableDateTime('When auto-renewal was last turned on or off')),
    billing_issue_detected_at: Type.Optional(NullableDateTime('When the store reported a billing issue')),
    grace_period_expires_at: Type.Optional(
      NullableDateTime('End of the grace period; needs billing_issue_detected_at'),
    ),
  },
  { title: 'Subscription', description: 'One period of an auto-renewable subscription.' },
)

export type OneTimePurchaseInput = Static<typeof OneTimePurchaseBody>
export type SubscriptionInput = Static<typeof SubscriptionBody>
export type SetTransactionBodyInput = OneTimePurchaseInput | SubscriptionInput

const whenPurchaseType = (value: (typeof PURCHASE_TYPES)[number]) => ({
  required: ['purchase_type'],
  properties: { purchase_type: { const: value } },
})

/**
 * The set-transaction body: `purchase_type` picks one of two shapes. Not a `oneOf`: Ajv would report the
 * failures of the shape that was not meant first. Each shape is applied only when `purchase_type` names it
 * (`if`/`then`), so a wrong field is reported at its own path, and a missing or unknown `purchase_type`
 * fails the outer `required`/`enum` at `purchase_type`.
 */
export const SetTransactionBody = Type.Unsafe<SetTransactionBodyInput>({
  type: 'object',
  title: 'Transaction',
  description:
    'A store transaction. `purchase_type` selects the shape: `one_time_purchase` (OneTimePurchase) or ' +
    '`subscription` (Subscription, which adds the period and renewal fields).',
  required: ['purchase_type'],
  properties: {
    purchase_type: StringEnum(PURCHASE_TYPES, { description: 'Selects the shape of the rest of the body' }),
  },
  allOf: [
    // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, in a schema nobody awaits
    { if: whenPurchaseType('one_time_purchase'), then: OneTimePurchaseBody },
    // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, in a schema nobody awaits
    { if: whenPurchaseType('subscription'), then: SubscriptionBody },
  ],
})

export const GrantAccessLevelBody = Type.Object({
  access_level_id: Type.String({ minLength: 1, description: 'An access level of the app, e.g. `premium`' }),
  starts_at: Type.Optional(NullableDateTime('When access starts; may be in the future. Null or absent: now')),
  expires_at: Type.Optional(NullableDateTime('When access ends; may be in the past. Null or absent: never')),
})

export const RevokeAccessLevelBody = Type.Object({
  access_level_id: Type.String({ minLength: 1, description: 'An access level the profile holds' }),
  revoke_at: Type.Optional(
    NullableDateTime('When access ends: not in the past, not after the current expiry. Null or absent: now'),
  ),
})

export type GrantAccessLevelBodyInput = Static<typeof GrantAccessLevelBody>
export type RevokeAccessLevelBodyInput = Static<typeof RevokeAccessLevelBody>
