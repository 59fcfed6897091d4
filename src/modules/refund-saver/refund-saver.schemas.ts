import { type Static, Type } from 'typebox'

export const REFUND_PREFERENCES = ['grant', 'no_preference', 'decline'] as const
export type RefundPreference = (typeof REFUND_PREFERENCES)[number]

export const RefundSaverSettingsRequestSchema = Type.Object(
  {
    custom_preference: Type.Optional(
      Type.Unsafe<RefundPreference | null>({
        type: ['string', 'null'],
        enum: [...REFUND_PREFERENCES, null],
        description:
          'grant: approve each refund request; no_preference: no recommendation; decline: decline each',
      }),
    ),
    consent: Type.Optional(
      Type.Unsafe<boolean | null>({
        type: ['boolean', 'null'],
        description: 'Whether the user consented to share their data with Apple',
      }),
    ),
  },
  { description: 'At least one of the two, not null. A field sent as null or not sent is left as it is.' },
)

export const RefundSaverSettingsResponseSchema = Type.Object({
  profile_id: Type.String({ format: 'uuid' }),
  settings: Type.Object({
    consent: Type.Boolean({ description: 'false until the user consents' }),
    custom_preference: Type.Unsafe<RefundPreference>({
      type: 'string',
      enum: [...REFUND_PREFERENCES],
      description: 'no_preference until set: the app-wide default applies',
    }),
  }),
})

export type RefundSaverSettingsRequest = Static<typeof RefundSaverSettingsRequestSchema>
export type RefundSaverSettingsResponse = Static<typeof RefundSaverSettingsResponseSchema>
