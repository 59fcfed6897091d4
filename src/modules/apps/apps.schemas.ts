import { type Static, Type } from 'typebox'

const DateTime = Type.String({ format: 'date-time' })

export const AppIdParams = Type.Object({ app_id: Type.String({ description: 'The app id (UUID)' }) })

export const CreateAppBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'A name for people; need not be unique' }),
})

export const CreatedAppResponse = Type.Object({
  app_id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  secret_api_key: Type.String({ description: 'Shown once: only its hash is stored' }),
  public_api_key: Type.String({ description: 'For SDKs; refused by the server-side API' }),
  created_at: DateTime,
})

export const AppSummary = Type.Object({
  app_id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  created_at: DateTime,
})

export const ApiKeySummary = Type.Object({
  key_id: Type.String({ format: 'uuid' }),
  kind: Type.Union([Type.Literal('secret'), Type.Literal('public')]),
  hint: Type.String({ description: 'Prefix and last four characters; the key itself is never shown again' }),
  created_at: DateTime,
})

export const AppDetails = Type.Object({
  ...AppSummary.properties,
  rate_limit_per_minute: Type.Integer({ description: 'Requests per minute allowed to each secret key' }),
  api_keys: Type.Array(ApiKeySummary),
})

export const AppList = Type.Object({ data: Type.Array(AppSummary) })

export const RotatedKeyResponse = Type.Object({
  key_id: Type.String({ format: 'uuid' }),
  secret_api_key: Type.String({ description: 'Shown once; older keys keep working until deleted' }),
  created_at: DateTime,
})

export const KeyParams = Type.Object({ app_id: Type.String(), key_id: Type.String() })

const ACCESS_LEVEL_ID = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9._-]+$',
  description: 'Letters, digits, `-`, `.` and `_`',
})

export const CreateAccessLevelBody = Type.Object({ id: ACCESS_LEVEL_ID })

export const AccessLevelResponse = Type.Object({ id: Type.String(), created_at: DateTime })

export const AccessLevelList = Type.Object({ data: Type.Array(AccessLevelResponse) })

export const AccessLevelParams = Type.Object({ app_id: Type.String(), access_level_id: Type.String() })

export const SHARING_MODES = ['enabled', 'transfer', 'disabled'] as const
export type SharingMode = (typeof SHARING_MODES)[number]

const SharingModeSchema = (description: string) =>
  Type.Unsafe<SharingMode>({ type: 'string', enum: [...SHARING_MODES], description })

function MaskedSecret(description: string) {
  return Type.Unsafe<string | null>({
    type: ['string', 'null'],
    description: `${description}: its prefix and last four characters, or null when not set; never the secret`,
  })
}

const SHARING_MODE_HELP =
  '`enabled`: every profile holding the purchase gets its access; `transfer`: the profile that restored or ' +
  'bought it last takes it over; `disabled`: it stays with the first profile.'

export const AppSettingsResponse = Type.Object({
  rate_limit_per_minute: Type.Unsafe<number | null>({
    type: ['integer', 'null'],
    description: "This app's limit per secret key; null means the server default",
  }),
  effective_rate_limit_per_minute: Type.Integer({ description: 'The limit in force' }),
  sharing_mode: SharingModeSchema(
    `How production purchases are shared between profiles. ${SHARING_MODE_HELP}`,
  ),
  sandbox_sharing_mode: SharingModeSchema('The same for sandbox purchases'),
  exchange_rates: Type.Record(Type.String({ pattern: '^[A-Z]{3}$' }), Type.Number({ exclusiveMinimum: 0 }), {
    description: 'The table in force: US dollars per one unit of each currency, by ISO 4217 code',
  }),
  exchange_rates_source: Type.Unsafe<'bundled' | 'custom'>({
    type: 'string',
    enum: ['bundled', 'custom'],
    description: "`bundled`: Entitle's snapshot; `custom`: the app's own table (once changed)",
  }),
  exchange_rates_as_of: Type.Unsafe<string | null>({
    type: ['string', 'null'],
    format: 'date',
    description: 'The date of the bundled snapshot; null for a custom table',
  }),
  stripe_secret_key: MaskedSecret('Stripe secret (or restricted) API key'),
  stripe_webhook_secret: MaskedSecret('Signing secret of the Stripe webhook endpoint'),
  paddle_api_key: MaskedSecret('Paddle API key'),
})

const SecretInput = (description: string) =>
  Type.Optional(
    Type.Unsafe<string | null>({
      type: ['string', 'null'],
      minLength: 1,
      maxLength: 500,
      pattern: '^\\S+$',
      description: `${description}; write-only (answered masked), null removes it`,
    }),
  )

export const UpdateAppSettingsBody = Type.Object({
  stripe_secret_key: SecretInput('Stripe secret (or restricted) API key, `sk_…` or `rk_…`'),
  stripe_webhook_secret: SecretInput('Signing secret of the Stripe webhook endpoint, `whsec_…`'),
  paddle_api_key: SecretInput('Paddle API key'),
  rate_limit_per_minute: Type.Optional(
    Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 1, maximum: 1_000_000_000 }),
  ),
  sharing_mode: Type.Optional(SharingModeSchema(SHARING_MODE_HELP)),
  sandbox_sharing_mode: Type.Optional(SharingModeSchema('The same for sandbox purchases')),
  exchange_rates: Type.Optional(
    Type.Unsafe<Record<string, number | null> | null>({
      type: ['object', 'null'],
      maxProperties: 300,
      additionalProperties: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1_000_000_000 },
      description:
        "Merged into the app's table (the bundled snapshot the first time): keys are ISO 4217 codes (three " +
        'capital letters), values US dollars per unit; a null value removes the currency. `null` instead of ' +
        'an object returns to the bundled snapshot. USD is always 1.',
    }),
  ),
})

export type CreateAppBodyInput = Static<typeof CreateAppBody>
