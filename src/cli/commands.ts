import type { Config } from '../config.ts'
import { type AppsFailure, FAILURE_MESSAGES } from '../modules/apps/apps.routes.ts'
import {
  accessLevelView,
  appDetailsView,
  appSummaryView,
  createdAppView,
  issuedKeyView,
  settingsView,
} from '../modules/apps/apps.views.ts'
import type { Result } from '../platform/result.ts'
import type { Services } from '../services.ts'

export class UsageError extends Error {}

/** What a command answers: the JSON the admin API would give, and the lines a person reads. */
export interface CommandOutput {
  json: unknown
  text: string
}

export type CommandOutcome = Result<CommandOutput, { message: string }>

export interface CommandInput {
  positionals: string[]
  name?: string
  rateLimit?: string
}

type Command = (services: Services, config: Config, input: CommandInput) => Promise<CommandOutcome>

function need(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`missing ${what}`)
  return value
}

function done(json: unknown, text: string): CommandOutcome {
  return { ok: true, value: { json, text } }
}

function failed(code: AppsFailure): CommandOutcome {
  return { ok: false, error: { message: `${code}: ${FAILURE_MESSAGES[code]}` } }
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

  'settings set': async (services, config, input) => {
    const raw = need(input.rateLimit, '--rate-limit (a number, or "default")')
    const rateLimitPerMinute = raw === 'default' ? null : Number(raw)
    if (rateLimitPerMinute !== null && !(Number.isInteger(rateLimitPerMinute) && rateLimitPerMinute >= 1)) {
      throw new UsageError('--rate-limit must be a whole number of requests per minute, or "default"')
    }
    const result = await services.apps.updateSettings(need(input.positionals[0], 'APP_ID'), {
      rateLimitPerMinute,
    })
    if (!result.ok) return failed(result.error)
    const view = settingsView(result.value, config.DEFAULT_RATE_LIMIT_PER_MINUTE)
    return done(
      view,
      `Rate limit: ${view.effective_rate_limit_per_minute} requests per minute per secret key.`,
    )
  },

  'admin-token rotate': async (services) => {
    const token = await services.operator.rotateAdminToken()
    return done({ admin_token: token }, `New admin token (shown once; the old one no longer works): ${token}`)
  },
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
  settings set APP_ID --rate-limit N     requests per minute per secret key ("default" to reset)
  admin-token rotate                     replace the admin token; prints the new one once

Options:
  --json                                 print JSON (the admin API's shapes) instead of text
  --help                                 show this help

The commands use the database the server uses (DATABASE_URL, or DATA_DIR for embedded PGlite).
An embedded directory can be open in one process only: stop the server first, or use the admin API.`
