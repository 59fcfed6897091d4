import type { FastifyInstance, FastifyRequest } from 'fastify'
import { SHARING_MODES, type SharingMode } from '../apps/apps.schemas.ts'
import type { SettingsChanges } from '../apps/apps.service.ts'
import { effectiveExchangeRates } from '../apps/exchange-rates.ts'
import type { DashboardDeps, DashboardRequestTools, FormBody } from './dashboard.routes.tsx'
import { AppPage, type AppPageData, AppsPage, CREDENTIALS } from './pages/apps-page.tsx'
import type { FieldErrors } from './pages/layout.tsx'
import { OverviewPage } from './pages/overview-page.tsx'

/** Apps, their keys and their settings. */

const HIDDEN = { schema: { hide: true } }
const APP_NAME_MAX = 100

/** Outcomes told after a redirect, by code: the page never echoes text from the query string. */
const NOTICES: Record<string, { kind: 'success' | 'error'; text: string }> = {
  settings_saved: { kind: 'success', text: 'Settings saved.' },
  key_deleted: { kind: 'success', text: 'The key was deleted.' },
  last_secret_key: {
    kind: 'error',
    text: 'This is the last secret key of the app: issue a new one before deleting it.',
  },
  api_key_not_found: { kind: 'error', text: 'That key no longer exists.' },
}

/**
 * The exchange-rate changes a settings form asks for: undefined for none, null to return to the bundled
 * snapshot, else the entries to merge (a currency left out of the table is removed).
 */
function readRates(
  form: FormBody,
  stored: Record<string, number> | null,
  errors: FieldErrors,
): Record<string, number | null> | null | undefined {
  if (form.reset_exchange_rates === 'true') return null
  if (form.exchange_rates === undefined) return undefined
  const table: Record<string, number> = {}
  for (const [index, line] of form.exchange_rates.split(/\r?\n/).entries()) {
    const text = line.trim()
    if (text === '') continue
    const match = /^([A-Za-z]{3})\s*=\s*(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)$/.exec(text)
    const rate = Number(match?.[2])
    if (!match || !(rate > 0)) {
      errors.exchange_rates = `Line ${index + 1}: write CODE=rate, for example EUR=1.08.`
      return undefined
    }
    table[(match[1] as string).toUpperCase()] = rate
  }
  const current = effectiveExchangeRates(stored)
  const changes: Record<string, number | null> = {}
  for (const [currency, rate] of Object.entries(table))
    if (current[currency] !== rate) changes[currency] = rate
  for (const currency of Object.keys(current)) if (!(currency in table)) changes[currency] = null
  return Object.keys(changes).length === 0 ? undefined : changes
}

export const noticeFrom = (request: FastifyRequest, notices: typeof NOTICES) =>
  notices[(request.query as { notice?: string }).notice ?? '']

export function dashboardAppsRoutes(deps: DashboardDeps & { tools: DashboardRequestTools }) {
  const { tools } = deps
  const { context, notFound } = tools

  async function loadApp(appId: string): Promise<AppPageData | null> {
    const [found, settings, levels] = await Promise.all([
      deps.apps.getApp(appId),
      deps.apps.getSettings(appId),
      deps.apps.listAccessLevels(appId),
    ])
    if (!found.ok || !settings.ok || !levels.ok) return null
    return {
      app: found.value.app,
      keys: found.value.keys,
      settings: settings.value,
      accessLevels: levels.value,
      defaultRateLimitPerMinute: deps.defaultRateLimitPerMinute,
    }
  }

  const appIdOf = (request: FastifyRequest) => (request.params as { appId: string }).appId

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/dashboard/apps', HIDDEN, async (request, reply) =>
      tools.html(reply, <AppsPage context={context(request)} apps={await deps.apps.listApps()} />),
    )

    app.post('/dashboard/apps', HIDDEN, async (request, reply) => {
      const name = (tools.form(request).name ?? '').trim()
      const problem =
        name === ''
          ? 'Give the app a name.'
          : name.length > APP_NAME_MAX
            ? `At most ${APP_NAME_MAX} characters.`
            : null
      if (problem) {
        return tools.html(
          reply,
          <AppsPage
            context={context(request)}
            apps={await deps.apps.listApps()}
            errors={{ name: problem }}
            name={name}
          />,
          400,
        )
      }
      const created = await deps.apps.createApp(name)
      const data = await loadApp(created.app.id)
      if (!data) return notFound(request, reply)
      return tools.html(
        reply,
        <AppPage
          context={context(request)}
          data={data}
          notice={{ kind: 'success', text: `Created the app ${name}, with the access level premium.` }}
          newSecret={{ label: 'Secret API key:', value: created.secretApiKey }}
        />,
        201,
      )
    })

    app.get('/dashboard/apps/:appId/keys', HIDDEN, async (request, reply) => {
      const data = await loadApp(appIdOf(request))
      if (!data) return notFound(request, reply)
      return tools.html(
        reply,
        <AppPage context={context(request)} data={data} notice={noticeFrom(request, NOTICES)} />,
      )
    })

    app.get('/dashboard/apps/:appId', HIDDEN, async (request, reply) => {
      const days = (request.query as { days?: string }).days === '90' ? 90 : 30
      const [found, stats] = await Promise.all([
        deps.apps.getApp(appIdOf(request)),
        deps.stats.overview(appIdOf(request), days),
      ])
      if (!found.ok || !stats.ok) return notFound(request, reply)
      return tools.html(
        reply,
        <OverviewPage context={context(request)} app={found.value.app} stats={stats.value} />,
      )
    })

    app.post('/dashboard/apps/:appId/keys', HIDDEN, async (request, reply) => {
      const issued = await deps.apps.rotateSecretKey(appIdOf(request))
      const data = issued.ok ? await loadApp(appIdOf(request)) : null
      if (!issued.ok || !data) return notFound(request, reply)
      return tools.html(
        reply,
        <AppPage
          context={context(request)}
          data={data}
          notice={{
            kind: 'success',
            text: 'Issued a new secret key. The other keys keep working until you delete them.',
          }}
          newSecret={{ label: 'New secret API key:', value: issued.value.secretApiKey }}
        />,
        201,
      )
    })

    app.post('/dashboard/apps/:appId/keys/:keyId/delete', HIDDEN, async (request, reply) => {
      const { appId, keyId } = request.params as { appId: string; keyId: string }
      const deleted = await deps.apps.deleteKey(appId, keyId)
      if (!deleted.ok && deleted.error === 'app_not_found') return notFound(request, reply)
      const notice = deleted.ok ? 'key_deleted' : deleted.error
      return reply.redirect(`/dashboard/apps/${appId}/keys?notice=${notice}`, 303)
    })

    app.post('/dashboard/apps/:appId/settings', HIDDEN, async (request, reply) => {
      const appId = appIdOf(request)
      const form = tools.form(request)
      const errors: FieldErrors = {}
      const mode = (field: string): SharingMode | undefined => {
        const value = form[field]
        if (value === undefined) return undefined
        if (SHARING_MODES.includes(value as SharingMode)) return value as SharingMode
        errors[field] = `Choose one of ${SHARING_MODES.join(', ')}.`
        return undefined
      }
      const sharingMode = mode('sharing_mode')
      const sandboxSharingMode = mode('sandbox_sharing_mode')
      const limitText = (form.rate_limit_per_minute ?? '').trim()
      const limit = limitText === '' ? null : Number(limitText)
      if (limit !== null && (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000_000)) {
        errors.rate_limit_per_minute =
          'A whole number from 1 to 1,000,000,000, or empty for the server default.'
      }
      const current = await deps.apps.getSettings(appId)
      if (!current.ok) return notFound(request, reply)
      const rates = readRates(form, current.value.exchangeRates, errors)
      const credentials: SettingsChanges['credentials'] = {}
      for (const [field, name] of CREDENTIALS) {
        const value = (form[name] ?? '').trim()
        if (form[`remove_${name}`] === 'true') credentials[field] = null
        else if (value !== '') {
          if (/\s/.test(value) || value.length > 500) errors[name] = 'One word of at most 500 characters.'
          else credentials[field] = value
        }
      }
      if (Object.keys(errors).length === 0) {
        const saved = await deps.apps.updateSettings(appId, {
          ...(sharingMode ? { sharingMode } : {}),
          ...(sandboxSharingMode ? { sandboxSharingMode } : {}),
          rateLimitPerMinute: limit,
          ...(rates === undefined ? {} : { exchangeRates: rates }),
          credentials,
        })
        if (saved.ok) return reply.redirect(`/dashboard/apps/${appId}/keys?notice=settings_saved`, 303)
        if (saved.error === 'app_not_found') return notFound(request, reply)
        errors[saved.error.source.startsWith('exchange_rates') ? 'exchange_rates' : saved.error.source] =
          saved.error.message
      }
      const data = await loadApp(appId)
      if (!data) return notFound(request, reply)
      return tools.html(
        reply,
        <AppPage
          context={context(request)}
          data={data}
          errors={errors}
          notice={{ kind: 'error', text: 'The settings were not saved: see the fields below.' }}
        />,
        400,
      )
    })
  }
}
