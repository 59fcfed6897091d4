import { type Static, Type } from 'typebox'
import { NullableString } from '../../http/common-schemas.ts'

/** Adapty's sixteen integration identifier keys; never rename one, they are the wire contract. */
export const INTEGRATION_KEYS = [
  'adjust_device_id',
  'airbridge_device_id',
  'amplitude_device_id',
  'amplitude_user_id',
  'appmetrica_device_id',
  'appmetrica_profile_id',
  'appsflyer_id',
  'branch_id',
  'facebook_anonymous_id',
  'firebase_app_instance_id',
  'mixpanel_user_id',
  'one_signal_player_id',
  'one_signal_subscription_id',
  'posthog_distinct_user_id',
  'pushwoosh_hwid',
  'tenjin_analytics_installation_id',
] as const

export type IntegrationKey = (typeof INTEGRATION_KEYS)[number]

const requestProperties = Object.fromEntries(
  INTEGRATION_KEYS.map((key) => [key, Type.Optional(NullableString({ maxLength: 255 }))]),
) as Record<IntegrationKey, ReturnType<typeof Type.Optional<ReturnType<typeof NullableString>>>>

const responseProperties = Object.fromEntries(
  INTEGRATION_KEYS.map((key) => [key, NullableString()]),
) as Record<IntegrationKey, ReturnType<typeof NullableString>>

export const IntegrationIdentifiersRequestSchema = Type.Object(requestProperties, {
  description: 'At least one key. A value sets the identifier, null clears it, keys not sent are kept.',
})

export const IntegrationIdentifiersResponseSchema = Type.Object(responseProperties, {
  description: 'All sixteen identifiers of the profile; null where unset.',
})

export type IntegrationIdentifiersRequest = Partial<Record<IntegrationKey, string | null>>
export type IntegrationIdentifiersResponse = Static<typeof IntegrationIdentifiersResponseSchema>
