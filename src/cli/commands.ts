import type { ValidateFunction } from 'ajv'
import { validationFailure, validatorCompiler } from '../http/validation.ts'
import { SHARING_MODES, type SharingMode } from '../modules/apps/apps.schemas.ts'
import type { SettingsChanges } from '../modules/apps/apps.service.ts'
import {
  accessLevelView,
  appDetailsView,
  appSummaryView,
  createdAppView,
  issuedKeyView,
  settingsView,
} from '../modules/apps/apps.views.ts'
import { newProductFrom } from '../modules/catalog/catalog.routes.ts'
import { CreateProductBody, type CreateProductInput } from '../modules/catalog/catalog.schemas.ts'
import { type ProductView, productView } from '../modules/catalog/catalog.views.ts'
import { type Command, done, failed, need, UsageError } from './command-support.ts'
import { WEBHOOK_COMMANDS, WEBHOOK_USAGE } from './webhooks-commands.ts'

const createProductValidator = validatorCompiler({
  schema: CreateProductBody,
  method: 'POST',
  url: '',
  httpPart: 'body',
}) as ValidateFunction

/** Which part of the command line a body field of a product comes from. */
function productOption(source: string | null): string {
  const field = source?.split('.')[0]
  switch (field) {
    case 'product_id':
      return 'PRODUCT_ID'
    case 'access_level_id':
      return '--access-level'
    case 'type':
      return '--type'
    case 'period':
      return '--period'
    case 'store_products':
      return '--store-product'
    default:
      return 'product'
  }
}

/** `STORE:STORE_PRODUCT_ID`; the store id has no colon, the store product id may have some. */
function storeProductArgument(value: string): { store: string; store_product_id: string } {
  const colon = value.indexOf(':')
  if (colon <= 0 || colon === value.length - 1)
    throw new UsageError(
      `--store-product ${value}: expected STORE:STORE_PRODUCT_ID, e.g. app_store:com.example.pro`,
    )
  return { store: value.slice(0, colon), store_product_id: value.slice(colon + 1) }
}

function productLine(product: ProductView): string {
  const stores = product.store_products.map((item) => `${item.store}:${item.store_product_id}`).join(', ')
  return [
    product.product_id,
    product.type,
    product.period ?? '-',
    `grants ${product.access_level_id}`,
    stores || 'no store products',
  ].join('  ')
}

function sharingModeOption(value: string | undefined, option: string): SharingMode | undefined {
  if (value === undefined) return undefined
  if (!(SHARING_MODES as readonly string[]).includes(value))
    throw new UsageError(`${option} must be one of: ${SHARING_MODES.join(', ')}`)
  return value as SharingMode
}

function settingsText(view: ReturnType<typeof settingsView>): string {
  const currencies = Object.keys(view.exchange_rates).length
  return [
    `Rate limit: ${view.effective_rate_limit_per_minute} requests per minute per secret key${view.rate_limit_per_minute === null ? ' (server default)' : ''}.`,
    `Sharing mode: ${view.sharing_mode}; sandbox sharing mode: ${view.sandbox_sharing_mode}.`,
    view.exchange_rates_source === 'bundled'
      ? `Exchange rates: the bundled snapshot of ${view.exchange_rates_as_of} (${currencies} currencies).`
      : `Exchange rates: the app's own table (${currencies} currencies).`,
  ].join('\n')
}

/** Operator commands, keyed by "group action"; the same services as the admin API. */
export const COMMANDS: Record<string, Command> = {
  'apps create': async (services, _config, input) => {
    const created = await services.apps.createApp(need(input.name, '--name'))
    return done(
      createdAppView(created),
      [
        `Created app "${created.app.name}" (app_id ${created.app.id}) with the access level premium.`,
        `Secret API key (shown once): ${created.secretApiKey}`,
        `Public SDK key: ${created.publicApiKey}`,
      ].join('\n'),
    )
  },

  'apps list': async (services) => {
    const apps = (await services.apps.listApps()).map(appSummaryView)
    return done({ data: apps }, apps.map((app) => `${app.app_id}  ${app.name}`).join('\n') || 'No apps.')
  },

  'apps get': async (services, config, input) => {
    const result = await services.apps.getApp(need(input.positionals[0], 'APP_ID'))
    if (!result.ok) return failed(result.error)
    const view = appDetailsView(result.value.app, result.value.keys, config.DEFAULT_RATE_LIMIT_PER_MINUTE)
    const keys = view.api_keys.map((key) => `  ${key.key_id}  ${key.kind.padEnd(6)}  ${key.hint}`)
    return done(
      view,
      [
        `${view.app_id}  ${view.name}`,
        `rate limit: ${view.rate_limit_per_minute}/min`,
        'keys:',
        ...keys,
      ].join('\n'),
    )
  },

  'keys rotate': async (services, _config, input) => {
    const result = await services.apps.rotateSecretKey(need(input.positionals[0], 'APP_ID'))
    if (!result.ok) return failed(result.error)
    const view = issuedKeyView(result.value)
    return done(
      view,
      `New secret API key (shown once; older keys keep working until deleted): ${view.secret_api_key}\nkey_id ${view.key_id}`,
    )
  },

  'keys delete': async (services, _config, input) => {
    const result = await services.apps.deleteKey(
      need(input.positionals[0], 'APP_ID'),
      need(input.positionals[1], 'KEY_ID'),
    )
    if (!result.ok) return failed(result.error)
    return done({ deleted: true, key_id: result.value.id }, `Deleted key ${result.value.id}.`)
  },

  'access-levels add': async (services, _config, input) => {
    const id = need(input.positionals[1], 'ACCESS_LEVEL_ID')
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new UsageError('ACCESS_LEVEL_ID: up to 64 letters, digits, -, . and _')
    const result = await services.apps.addAccessLevel(need(input.positionals[0], 'APP_ID'), id)
    if (!result.ok) return failed(result.error)
    return done(accessLevelView(result.value), `Added access level ${id}.`)
  },

  'access-levels list': async (services, _config, input) => {
    const result = await services.apps.listAccessLevels(need(input.positionals[0], 'APP_ID'))
    if (!result.ok) return failed(result.error)
    const levels = result.value.map(accessLevelView)
    return done({ data: levels }, levels.map((level) => level.id).join('\n'))
  },

  'access-levels delete': async (services, _config, input) => {
    const id = need(input.positionals[1], 'ACCESS_LEVEL_ID')
    const result = await services.apps.deleteAccessLevel(need(input.positionals[0], 'APP_ID'), id)
    if (!result.ok) return failed(result.error)
    return done({ deleted: true, id }, `Deleted access level ${id}.`)
  },

  'products add': async (services, _config, input) => {
    const appId = need(input.positionals[0], 'APP_ID')
    const body: Record<string, unknown> = {
      product_id: need(input.positionals[1], 'PRODUCT_ID'),
      access_level_id: need(input.accessLevel, '--access-level'),
      type: need(input.type, '--type (subscription, one_time or consumable)'),
      store_products: (input.storeProducts ?? []).map(storeProductArgument),
    }
    if (input.period !== undefined) body.period = input.period
    if (!createProductValidator(body)) {
      const invalid = validationFailure(createProductValidator.errors ?? [])
      throw new UsageError(`${productOption(invalid.source)}: ${invalid.message}`)
    }
    const result = await services.catalog.createProduct(appId, newProductFrom(body as CreateProductInput))
    if (!result.ok) return failed(result.error)
    const view = productView(result.value)
    return done(view, `Added product ${productLine(view)}`)
  },

  'products list': async (services, _config, input) => {
    const result = await services.catalog.listProducts(need(input.positionals[0], 'APP_ID'))
    if (!result.ok) return failed(result.error)
    const products = result.value.map(productView)
    return done({ data: products }, products.map(productLine).join('\n') || 'No products.')
  },

  'products get': async (services, _config, input) => {
    const result = await services.catalog.getProduct(
      need(input.positionals[0], 'APP_ID'),
      need(input.positionals[1], 'PRODUCT_ID'),
    )
    if (!result.ok) return failed(result.error)
    const view = productView(result.value)
    return done(view, productLine(view))
  },

  'products delete': async (services, _config, input) => {
    const productId = need(input.positionals[1], 'PRODUCT_ID')
    const result = await services.catalog.deleteProduct(need(input.positionals[0], 'APP_ID'), productId)
    if (!result.ok) return failed(result.error)
    return done({ deleted: true, product_id: productId }, `Deleted product ${productId}.`)
  },

  'settings get': async (services, config, input) => {
    const result = await services.apps.getSettings(need(input.positionals[0], 'APP_ID'))
    if (!result.ok) return failed(result.error)
    const view = settingsView(result.value, config.DEFAULT_RATE_LIMIT_PER_MINUTE)
    return done(view, settingsText(view))
  },

  'settings set': async (services, config, input) => {
    const appId = need(input.positionals[0], 'APP_ID')
    const changes: SettingsChanges = {}
    if (input.rateLimit !== undefined) {
      const raw = input.rateLimit
      const rateLimitPerMinute = raw === 'default' ? null : Number(raw)
      if (rateLimitPerMinute !== null && !(Number.isInteger(rateLimitPerMinute) && rateLimitPerMinute >= 1)) {
        throw new UsageError('--rate-limit must be a whole number of requests per minute, or "default"')
      }
      changes.rateLimitPerMinute = rateLimitPerMinute
    }
    const sharingMode = sharingModeOption(input.sharingMode, '--sharing-mode')
    if (sharingMode) changes.sharingMode = sharingMode
    const sandboxSharingMode = sharingModeOption(input.sandboxSharingMode, '--sandbox-sharing-mode')
    if (sandboxSharingMode) changes.sandboxSharingMode = sandboxSharingMode
    if (Object.keys(changes).length === 0)
      throw new UsageError('settings set needs --rate-limit, --sharing-mode or --sandbox-sharing-mode')
    const result = await services.apps.updateSettings(appId, changes)
    if (!result.ok) return failed(result.error)
    const view = settingsView(result.value, config.DEFAULT_RATE_LIMIT_PER_MINUTE)
    return done(view, settingsText(view))
  },

  'admin-token rotate': async (services) => {
    const token = await services.operator.rotateAdminToken()
    return done({ admin_token: token }, `New admin token (shown once; the old one no longer works): ${token}`)
  },

  ...WEBHOOK_COMMANDS,
}

export const USAGE = `Usage: entitle <command> [options]   (from a checkout: npm run entitle -- <command>)

  serve                                  start the server (what npm start runs)
  migrate                                apply database migrations and exit
  apps create --name NAME                create an app; prints its keys once
  apps list                              list apps
  apps get APP_ID                        show an app with its key ids and hints
  keys rotate APP_ID                     issue a new secret key (old keys keep working)
  keys delete APP_ID KEY_ID              delete a key
  access-levels add APP_ID ID            add an access level
  access-levels list APP_ID              list access levels
  access-levels delete APP_ID ID         delete an access level (not premium)
  products add APP_ID PRODUCT_ID --access-level ID --type TYPE [--period P] [--store-product STORE:ID]...
                                         add a product: TYPE subscription (needs --period P1W, P1M, P3M,
                                         P6M or P1Y), one_time or consumable; --store-product repeats
  products list APP_ID                   list products
  products get APP_ID PRODUCT_ID         show a product
  products delete APP_ID PRODUCT_ID      delete a product
  settings get APP_ID                    show rate limit, sharing modes and exchange rates
  settings set APP_ID [--rate-limit N] [--sharing-mode M] [--sandbox-sharing-mode M]
                                         requests per minute per secret key ("default" to reset);
                                         sharing of purchases between profiles: enabled, transfer, disabled
${WEBHOOK_USAGE}
  admin-token rotate                     replace the admin token; prints the new one once

Options:
  --json                                 print JSON (the admin API's shapes) instead of text
  --help                                 show this help

The commands use the database the server uses (DATABASE_URL, or DATA_DIR for embedded PGlite).
An embedded directory can be open in one process only: stop the server first, or use the admin API.`
