import type { AccessLevelRow, ApiKeyRow, AppRow } from './apps.repository.ts'
import type { AppSettings, CreatedApp, IssuedKey } from './apps.service.ts'
import { BUNDLED_EXCHANGE_RATES_AS_OF, effectiveExchangeRates } from './exchange-rates.ts'

// The JSON shapes of the admin API, shared by its routes and the CLI's --json output.

export const appSummaryView = (app: AppRow) => ({
  app_id: app.id,
  name: app.name,
  created_at: app.createdAt.toISOString(),
})

export const createdAppView = (created: CreatedApp) => ({
  ...appSummaryView(created.app),
  secret_api_key: created.secretApiKey,
  public_api_key: created.publicApiKey,
})

export const keySummaryView = (key: ApiKeyRow) => ({
  key_id: key.id,
  kind: key.kind,
  hint: key.hint,
  created_at: key.createdAt.toISOString(),
})

export const appDetailsView = (app: AppRow, keys: ApiKeyRow[], defaultRateLimitPerMinute: number) => ({
  ...appSummaryView(app),
  rate_limit_per_minute: app.rateLimitPerMinute ?? defaultRateLimitPerMinute,
  api_keys: keys.map(keySummaryView),
})

export const issuedKeyView = (issued: IssuedKey) => ({
  key_id: issued.key.id,
  secret_api_key: issued.secretApiKey,
  created_at: issued.key.createdAt.toISOString(),
})

export const accessLevelView = (row: AccessLevelRow) => ({
  id: row.id,
  created_at: row.createdAt.toISOString(),
})

/** A secret as the admin API shows it: its prefix and last four characters (`sk_test_…abcd`), or null. */
export function maskedSecret(secret: string | null): string | null {
  if (secret === null) return null
  // The kind of key (`sk_test_`, `whsec_`, `pdl_live_apikey_`): lower-case words, each followed by `_`.
  const prefix = /^(?:[a-z]+_){1,3}/.exec(secret)?.[0] ?? ''
  // Too short to give four characters away.
  return secret.length - prefix.length >= 12 ? `${prefix}…${secret.slice(-4)}` : `${prefix}…`
}

export const settingsView = (settings: AppSettings, defaultRateLimitPerMinute: number) => ({
  rate_limit_per_minute: settings.rateLimitPerMinute,
  effective_rate_limit_per_minute: settings.rateLimitPerMinute ?? defaultRateLimitPerMinute,
  sharing_mode: settings.sharingMode,
  sandbox_sharing_mode: settings.sandboxSharingMode,
  exchange_rates: { ...effectiveExchangeRates(settings.exchangeRates) },
  exchange_rates_source: settings.exchangeRates ? ('custom' as const) : ('bundled' as const),
  exchange_rates_as_of: settings.exchangeRates ? null : BUNDLED_EXCHANGE_RATES_AS_OF,
  stripe_secret_key: maskedSecret(settings.credentials.stripeSecretKey),
  stripe_webhook_secret: maskedSecret(settings.credentials.stripeWebhookSecret),
  paddle_api_key: maskedSecret(settings.credentials.paddleApiKey),
})
