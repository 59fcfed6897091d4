import { type Static, Type } from 'typebox'
import { NullableString } from '../../http/common-schemas.ts'

export const PLATFORMS = ['iOS', 'macOS', 'iPadOS', 'visionOS', 'Android', 'web'] as const

function NullableEnum<const T extends readonly (string | number)[]>(values: T, description: string) {
  const type = typeof values[0] === 'number' ? 'integer' : 'string'
  return Type.Unsafe<T[number] | null>({ type: [type, 'null'], enum: [...values, null], description })
}

/** Identification headers shared by every profile-scoped endpoint (decisions.md, "Identification"). */
export const IdentificationHeaders = Type.Object({
  'adapty-profile-id': Type.Optional(
    Type.String({
      format: 'uuid',
      description: 'The profile id. Takes precedence when both headers are sent.',
    }),
  ),
  'adapty-customer-user-id': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: 'Your own id of the user, unique per app.' }),
  ),
})

export const ProfileWriteHeaders = Type.Object({
  ...IdentificationHeaders.properties,
  'adapty-platform': Type.Optional(
    Type.Unsafe<(typeof PLATFORMS)[number]>({
      type: 'string',
      enum: [...PLATFORMS],
      description: 'Platform of the device described by installation_meta, when it does not name one.',
    }),
  ),
})

export const InstallationMetaSchema = Type.Object(
  {
    device_id: Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'Stable id of the device, made by the client.',
    }),
    device: Type.Optional(NullableString({ maxLength: 255 })),
    locale: Type.Optional(NullableString({ maxLength: 64 })),
    os: Type.Optional(NullableString({ maxLength: 255 })),
    platform: Type.Optional(NullableEnum(PLATFORMS, 'Platform of the device')),
    timezone: Type.Optional(NullableString({ maxLength: 64 })),
    user_agent: Type.Optional(NullableString({ maxLength: 1024 })),
    app_build: Type.Optional(NullableString({ maxLength: 64 })),
    app_version: Type.Optional(NullableString({ maxLength: 64 })),
    adapty_sdk_version: Type.Optional(NullableString({ maxLength: 64 })),
    idfa: Type.Optional(NullableString({ maxLength: 64 })),
    idfv: Type.Optional(NullableString({ maxLength: 64 })),
    advertising_id: Type.Optional(NullableString({ maxLength: 64 })),
    android_id: Type.Optional(NullableString({ maxLength: 64 })),
    android_app_set_id: Type.Optional(NullableString({ maxLength: 64 })),
  },
  { description: 'One device of the user; a user may have several.' },
)

export const CustomAttributeInputSchema = Type.Object({
  key: Type.String({
    minLength: 1,
    maxLength: 30,
    pattern: '^[A-Za-z0-9._-]+$',
    description: 'Up to 30 letters, digits, `-`, `.` and `_`.',
  }),
  value: Type.Unsafe<string | number | boolean | null>({
    type: ['string', 'number', 'boolean', 'null'],
    description:
      'A string of up to 50 characters or a number; booleans become 1.0 / 0.0; null or "" deletes the key.',
  }),
})

const COUNTRY = { minLength: 2, maxLength: 2, pattern: '^[A-Za-z]{2}$' }

export const ProfileRequestSchema = Type.Object(
  {
    first_name: Type.Optional(NullableString({ maxLength: 255 })),
    last_name: Type.Optional(NullableString({ maxLength: 255 })),
    gender: Type.Optional(NullableEnum(['f', 'm', 'o'] as const, 'f, m or o')),
    email: Type.Optional(NullableString({ format: 'email', maxLength: 254 })),
    phone_number: Type.Optional(NullableString({ maxLength: 64 })),
    birthday: Type.Optional(NullableString({ format: 'date', description: 'YYYY-MM-DD' })),
    ip_country: Type.Optional(NullableString({ ...COUNTRY, description: 'ISO 3166-1 alpha-2' })),
    ip_v4_address: Type.Optional(NullableString({ format: 'ipv4' })),
    store_country: Type.Optional(NullableString({ ...COUNTRY, description: 'ISO 3166-1 alpha-2' })),
    store: Type.Optional(
      NullableEnum(['app_store', 'play_store', 'stripe', 'adapty', 'paddle'] as const, 'Where the user buys'),
    ),
    store_account_token: Type.Optional(NullableString({ format: 'uuid' })),
    att_status: Type.Optional(NullableEnum([0, 1, 2, 3] as const, 'App Tracking Transparency status')),
    analytics_disabled: Type.Optional(Type.Unsafe<boolean | null>({ type: ['boolean', 'null'] })),
    custom_attributes: Type.Optional(
      Type.Array(CustomAttributeInputSchema, {
        minItems: 1,
        maxItems: 60,
        description: 'Merged into the stored attributes; at most 30 per profile.',
      }),
    ),
    installation_meta: Type.Optional(InstallationMetaSchema),
  },
  { description: 'Profile attributes. Every field is optional; fields not sent are left as they are.' },
)

export type ProfileRequest = Static<typeof ProfileRequestSchema>
export type InstallationMeta = Static<typeof InstallationMetaSchema>
export type IdentificationHeadersInput = Static<typeof IdentificationHeaders>
