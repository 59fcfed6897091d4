import { type Static, Type } from 'typebox'
import { NullableString } from '../../http/common-schemas.ts'

const DateTime = (description: string) => Type.String({ format: 'date-time', description })
const NullableDateTime = (description: string) => NullableString({ format: 'date-time', description })

export const OfferSchema = Type.Object({
  category: Type.String({ description: 'introductory, promotional, offer_code, win_back or online' }),
  type: Type.String({ description: 'free_trial, pay_as_you_go, pay_up_front or unknown' }),
  id: NullableString({ description: 'Store offer id' }),
})

const NullableOffer = Type.Union([OfferSchema, Type.Null()])

export const AccessLevelSchema = Type.Object({
  access_level_id: Type.String(),
  store: Type.String(),
  store_product_id: Type.String(),
  store_base_plan_id: NullableString(),
  store_transaction_id: Type.String(),
  store_original_transaction_id: Type.String(),
  offer: NullableOffer,
  starts_at: NullableDateTime('When access starts; may be in the future'),
  purchased_at: DateTime('Purchase time'),
  originally_purchased_at: DateTime('First purchase of the chain'),
  expires_at: NullableDateTime('End of access; null means lifetime'),
  renewal_cancelled_at: NullableDateTime('When auto-renewal was turned off'),
  billing_issue_detected_at: NullableDateTime('When a billing issue was detected'),
  is_in_grace_period: Type.Boolean(),
  cancellation_reason: NullableString(),
})

export const SubscriptionSchema = Type.Object({
  store: Type.String(),
  store_product_id: Type.String(),
  store_base_plan_id: NullableString(),
  store_transaction_id: Type.String(),
  store_original_transaction_id: Type.String(),
  offer: NullableOffer,
  environment: Type.String({ description: 'Sandbox or Production' }),
  purchased_at: DateTime('Purchase time'),
  originally_purchased_at: DateTime('First purchase of the chain'),
  expires_at: NullableDateTime('End of the current period'),
  renewal_cancelled_at: NullableDateTime('When auto-renewal was turned off'),
  billing_issue_detected_at: NullableDateTime('When a billing issue was detected'),
  is_in_grace_period: Type.Boolean(),
  cancellation_reason: NullableString(),
})

export const NonSubscriptionSchema = Type.Object({
  purchase_id: Type.String({ format: 'uuid' }),
  store: Type.String(),
  store_product_id: Type.String(),
  store_base_plan_id: NullableString(),
  store_transaction_id: Type.String(),
  store_original_transaction_id: Type.String(),
  purchased_at: DateTime('Purchase time'),
  environment: Type.String({ description: 'Sandbox or Production' }),
  is_refund: Type.Boolean(),
  is_consumable: Type.Boolean(),
})

export const CustomAttributeSchema = Type.Object({
  key: Type.String(),
  // A type list rather than anyOf: the serializer switches on typeof instead of running a validator per value.
  value: Type.Unsafe<string | number>({ type: ['string', 'number'] }),
})

export const ProfileSchema = Type.Object({
  app_id: Type.String({ format: 'uuid' }),
  profile_id: Type.String({ format: 'uuid' }),
  customer_user_id: NullableString(),
  total_revenue_usd: Type.Number({ description: 'Revenue of the profile in USD, net of refunds' }),
  segment_hash: Type.String({ description: '16 hex characters; changes when segment inputs change' }),
  timestamp: Type.Integer({ description: 'Response time, epoch milliseconds' }),
  custom_attributes: Type.Array(CustomAttributeSchema),
  access_levels: Type.Array(AccessLevelSchema),
  subscriptions: Type.Array(SubscriptionSchema),
  non_subscriptions: Type.Array(NonSubscriptionSchema),
})

export const ProfileResponseSchema = Type.Object({ data: ProfileSchema })

export type WireProfile = Static<typeof ProfileSchema>
export type WireAccessLevel = Static<typeof AccessLevelSchema>
export type WireSubscription = Static<typeof SubscriptionSchema>
export type WireNonSubscription = Static<typeof NonSubscriptionSchema>
