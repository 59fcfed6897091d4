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

export const AppSettingsResponse = Type.Object({
  rate_limit_per_minute: Type.Unsafe<number | null>({
    type: ['integer', 'null'],
    description: "This app's limit per secret key; null means the server default",
  }),
  effective_rate_limit_per_minute: Type.Integer({ description: 'The limit in force' }),
})

export const UpdateAppSettingsBody = Type.Object({
  rate_limit_per_minute: Type.Optional(
    Type.Unsafe<number | null>({ type: ['integer', 'null'], minimum: 1, maximum: 1_000_000_000 }),
  ),
})

export type CreateAppBodyInput = Static<typeof CreateAppBody>
