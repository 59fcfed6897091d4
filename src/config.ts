import { type Static, Type } from 'typebox'
import { Value } from 'typebox/value'

/**
 * Every environment variable Entitle reads, in one schema. README.md's configuration table mirrors it;
 * test/docs/readme.test.ts keeps the two in step.
 */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'HTTP port' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface to bind' }),
  DATA_DIR: Type.String({
    minLength: 1,
    default: './data',
    description: 'Embedded PGlite data directory (used when DATABASE_URL is unset)',
  }),
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      description: 'PostgreSQL connection string; when set, PGlite is not used',
    }),
  ),
  DATABASE_POOL_SIZE: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 200,
      description: 'PostgreSQL connections per process; unset: twice the CPU cores, at least 4',
    }),
  ),
  ADMIN_TOKEN: Type.Optional(
    Type.String({ minLength: 16, description: 'Bearer token for the admin API (at least 16 characters)' }),
  ),
  LOG_LEVEL: Type.Union(
    [
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent'),
    ],
    { default: 'info', description: 'pino log level' },
  ),
  BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 50 * 1024 * 1024,
    default: 1024 * 1024,
    description: 'Largest request body accepted; larger bodies get 413',
  }),
  DEFAULT_RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    default: 40000,
    description: 'Requests per minute per secret key for apps that set no limit of their own',
  }),
  IDEMPOTENCY_WAIT_MS: Type.Integer({
    minimum: 0,
    maximum: 60000,
    default: 5000,
    description:
      'How long a repeat of a still-running Idempotency-Key request waits for its answer before 409 (ms)',
  }),
  WEBHOOK_RETRY_BASE_SECONDS: Type.Number({
    exclusiveMinimum: 0,
    maximum: 86400,
    default: 60,
    description: 'Delay before the first webhook retry; each later retry waits twice as long (seconds)',
  }),
  WEBHOOK_TIMEOUT_SECONDS: Type.Number({
    exclusiveMinimum: 0,
    maximum: 60,
    default: 10,
    description: 'How long a webhook attempt waits for the answer before it counts as failed (seconds)',
  }),
  WEBHOOK_ALLOW_PRIVATE: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'false',
    description:
      'Allow webhook URLs on loopback, private, link-local and metadata addresses (only for trusted setups)',
  }),
  STRIPE_API_URL: Type.String({
    pattern: '^https?://[^/]+/?$',
    default: 'https://api.stripe.com',
    description: "Origin of Stripe's API (the SDK's host, port and protocol)",
  }),
  PADDLE_API_URL: Type.String({
    pattern: '^https?://[^/]+/?$',
    default: 'https://api.paddle.com',
    description: "Origin of Paddle's API",
  }),
  STORE_API_TIMEOUT_SECONDS: Type.Number({
    exclusiveMinimum: 0,
    maximum: 120,
    default: 20,
    description: 'How long one request to Stripe or Paddle may take before the import fails (seconds)',
  }),
  STATS_ROLLUP_LAG_SECONDS: Type.Number({
    minimum: 1,
    maximum: 3600,
    default: 60,
    description:
      'How old the newest events must be before the stats rollup counts them; longer than any write transaction (seconds)',
  }),
})

export type Config = Readonly<Static<typeof ConfigSchema>>

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] }

const INTEGER_KEYS = new Set([
  'PORT',
  'DATABASE_POOL_SIZE',
  'BODY_LIMIT_BYTES',
  'DEFAULT_RATE_LIMIT_PER_MINUTE',
  'IDEMPOTENCY_WAIT_MS',
])

const NUMBER_KEYS = new Set([
  'WEBHOOK_RETRY_BASE_SECONDS',
  'WEBHOOK_TIMEOUT_SECONDS',
  'STORE_API_TIMEOUT_SECONDS',
  'STATS_ROLLUP_LAG_SECONDS',
])

/** Reads the known variables from `env`; unknown variables are ignored, empty strings count as unset. */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key]
    if (value === undefined || value === '') continue
    // Value.Convert would turn "8080abc" into NaN-ish garbage silently; only plain integers convert.
    const trimmed = value.trim()
    raw[key] =
      (INTEGER_KEYS.has(key) && /^\d+$/.test(trimmed)) ||
      (NUMBER_KEYS.has(key) && /^\d+(\.\d+)?$/.test(trimmed))
        ? Number(trimmed)
        : value
  }
  const withDefaults = Value.Default(ConfigSchema, raw)
  if (Value.Check(ConfigSchema, withDefaults)) {
    return { ok: true, config: Object.freeze(withDefaults as Static<typeof ConfigSchema>) }
  }
  const problems = new Map<string, string>()
  for (const error of Value.Errors(ConfigSchema, withDefaults)) {
    const name = error.instancePath.replace(/^\//, '') || 'environment'
    if (!problems.has(name)) {
      const property = (
        ConfigSchema.properties as Record<string, { description?: string; anyOf?: { const?: unknown }[] }>
      )[name]
      const choices = property?.anyOf?.map((option) => option.const)
      const message = choices ? `must be one of ${choices.join(', ')}` : error.message
      const shown = name === 'ADMIN_TOKEN' || name === 'DATABASE_URL' ? '(hidden)' : JSON.stringify(raw[name])
      const description = property?.description ? ` (${property.description})` : ''
      problems.set(name, `${name}=${shown} is invalid: ${message}${description}`)
    }
  }
  return { ok: false, problems: [...problems.values()] }
}
