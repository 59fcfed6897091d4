import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../../platform/clock.ts'
import type { AppsService } from '../apps/apps.service.ts'
import type { CatalogService } from '../catalog/catalog.service.ts'
import type { OperatorService } from '../operator/operator.service.ts'
import type { StatsService } from '../stats/stats.service.ts'
import { dashboardAppsRoutes } from './dashboard-apps.routes.tsx'
import { dashboardCatalogRoutes } from './dashboard-catalog.routes.tsx'
import { type DashboardProfilesDeps, dashboardProfilesRoutes } from './dashboard-profiles.routes.tsx'
import {
  cookieHeader,
  createDashboardSessions,
  type DashboardSession,
  parseCookies,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  SIGN_IN_COOKIE,
  sameSecret,
} from './dashboard-session.ts'
import { type DashboardStripeDeps, dashboardStripeRoutes } from './dashboard-stripe.routes.tsx'
import { type DashboardWebhooksDeps, dashboardWebhooksRoutes } from './dashboard-webhooks.routes.tsx'
import { renderPage } from './pages/layout.tsx'
import { MessagePage, SignInPage } from './pages/sign-in-page.tsx'

/**
 * The admin dashboard at /dashboard: server-rendered pages over the same services as the admin API. Forms
 * post url-encoded bodies (parsed only inside this scope) and every post carries the session's CSRF token.
 */

export interface DashboardDeps
  extends Omit<DashboardProfilesDeps, 'tools'>,
    Omit<DashboardWebhooksDeps, 'tools'>,
    Omit<DashboardStripeDeps, 'tools'> {
  operator: OperatorService
  apps: AppsService
  catalog: CatalogService
  stats: StatsService
  clock: Clock
  defaultRateLimitPerMinute: number
}

export type FormBody = Record<string, string>

export interface DashboardRequestTools {
  session(request: FastifyRequest): DashboardSession
  html(reply: FastifyReply, page: preact.VNode, status?: number): FastifyReply
  /** What every page needs from the session: its CSRF token for the forms. */
  context(request: FastifyRequest): { csrfToken: string }
  /** The 404 page, naming what was not found. */
  notFound(request: FastifyRequest, reply: FastifyReply, what?: string): FastifyReply
  form(request: FastifyRequest): FormBody
  /** Every value sent for a field (checkbox groups). */
  formList(request: FastifyRequest, field: string): string[]
}

const ASSETS: Record<string, { type: string; body: string }> = Object.fromEntries(
  [
    ['dashboard.css', 'text/css; charset=utf-8'],
    ['dashboard.js', 'text/javascript; charset=utf-8'],
  ].map(([name, type]) => [
    name,
    { type: type as string, body: readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8') },
  ]),
)

const PUBLIC_PATHS = new Set(['/dashboard/sign-in'])
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
}

class FormError extends Error {}

/** Every value of each field, for checkbox groups; the body itself holds each field's first value. */
const ALL_VALUES = Symbol('all form values')

function parseForm(text: string): FormBody {
  const body: FormBody & { [ALL_VALUES]?: Map<string, string[]> } = {}
  const all = new Map<string, string[]>()
  for (const [key, raw] of new URLSearchParams(text)) {
    if (key.includes('\u0000') || raw.includes('\u0000')) throw new FormError('Text may not contain NUL.')
    const value = raw.toWellFormed()
    if (!(key in body)) body[key] = value
    all.set(key, [...(all.get(key) ?? []), value])
  }
  Object.defineProperty(body, ALL_VALUES, { value: all, enumerable: false })
  return body
}

export function dashboardRoutes(deps: DashboardDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const sessions = createDashboardSessions({
      signingKey: () => deps.operator.sessionSigningKey(),
      clock: deps.clock,
    })
    const sessionOf = new WeakMap<FastifyRequest, DashboardSession>()
    const secure = (request: FastifyRequest) => request.protocol === 'https'

    const tools: DashboardRequestTools = {
      session(request) {
        const session = sessionOf.get(request)
        if (!session) throw new Error('dashboard route reached without a session')
        return session
      },
      html(reply, page, status = 200) {
        return reply
          .code(status)
          .headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' })
          .type('text/html; charset=utf-8')
          .send(renderPage(page))
      },
      context(request) {
        return { csrfToken: tools.session(request).csrfToken }
      },
      notFound(request, reply, what = 'app') {
        return tools.html(
          reply,
          <MessagePage
            title="Not found"
            message={`There is no such ${what}.`}
            csrfToken={sessionOf.get(request)?.csrfToken ?? null}
          />,
          404,
        )
      },
      form(request) {
        return (request.body ?? {}) as FormBody
      },
      formList(request, field) {
        const body = request.body as { [ALL_VALUES]?: Map<string, string[]> } | undefined
        return body?.[ALL_VALUES]?.get(field) ?? []
      },
    }

    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => {
        try {
          done(null, parseForm(typeof body === 'string' ? body : body.toString('utf8')))
        } catch (error) {
          done(error as Error, undefined)
        }
      },
    )

    app.setErrorHandler((error, request, reply) => {
      const status = error instanceof FormError ? 400 : ((error as { statusCode?: number }).statusCode ?? 500)
      if (status >= 500) request.log.error({ err: error }, 'dashboard request failed')
      const message =
        status >= 500
          ? 'Something went wrong on the server; it has been logged.'
          : error instanceof FormError
            ? error.message
            : 'The request could not be read.'
      return tools.html(
        reply,
        <MessagePage
          title="Something went wrong"
          message={message}
          csrfToken={sessionOf.get(request)?.csrfToken ?? null}
        />,
        status < 400 ? 500 : status,
      )
    })

    // Every page but sign-in and the assets needs a session; a form also needs the session's CSRF token.
    app.addHook('preHandler', async (request, reply) => {
      const path = request.url.split('?')[0] as string
      if (PUBLIC_PATHS.has(path) || path.startsWith('/dashboard/assets/')) return
      const session = await sessions.verify(parseCookies(request.headers.cookie).get(SESSION_COOKIE))
      if (!session) return reply.redirect('/dashboard/sign-in', 303)
      sessionOf.set(request, session)
      if (request.method === 'POST' && !sameSecret(tools.form(request)._csrf ?? '', session.csrfToken)) {
        return tools.html(
          reply,
          <MessagePage
            title="Form expired"
            message="This form could not be verified (it may be from an earlier session). Reload the page and try again."
            csrfToken={session.csrfToken}
          />,
          403,
        )
      }
    })

    app.get('/dashboard/assets/:name', { schema: { hide: true } }, async (request, reply) => {
      const asset = ASSETS[(request.params as { name: string }).name]
      if (!asset)
        return tools.html(
          reply,
          <MessagePage title="Not found" message="No such file." csrfToken={null} />,
          404,
        )
      return reply
        .headers({ 'x-content-type-options': 'nosniff', 'cache-control': 'public, max-age=300' })
        .type(asset.type)
        .send(asset.body)
    })

    app.get('/dashboard', { schema: { hide: true } }, async (_request, reply) =>
      reply.redirect('/dashboard/apps', 303),
    )

    app.get('/dashboard/sign-in', { schema: { hide: true } }, async (request, reply) => {
      const token = randomBytes(18).toString('base64url')
      reply.header(
        'set-cookie',
        cookieHeader(SIGN_IN_COOKIE, token, { maxAgeSeconds: 3600, secure: secure(request) }),
      )
      const query = request.query as { signed_out?: string }
      return tools.html(
        reply,
        <SignInPage signInToken={token} failed={false} signedOut={query.signed_out === '1'} />,
      )
    })

    app.post('/dashboard/sign-in', { schema: { hide: true } }, async (request, reply) => {
      const form = tools.form(request)
      const expected = parseCookies(request.headers.cookie).get(SIGN_IN_COOKIE) ?? ''
      const token = form.admin_token ?? ''
      const valid =
        expected !== '' &&
        sameSecret(form._csrf ?? '', expected) &&
        token.length > 0 &&
        token.length <= 200 &&
        (await deps.operator.verifyAdminToken(token.trim()))
      const issued = valid ? await sessions.issue() : null
      if (!issued) {
        // One message for every cause: nothing tells which part was wrong.
        const fresh = randomBytes(18).toString('base64url')
        reply.header(
          'set-cookie',
          cookieHeader(SIGN_IN_COOKIE, fresh, { maxAgeSeconds: 3600, secure: secure(request) }),
        )
        return tools.html(reply, <SignInPage signInToken={fresh} failed />, 401)
      }
      reply.header('set-cookie', [
        cookieHeader(SESSION_COOKIE, issued.value, {
          maxAgeSeconds: SESSION_TTL_MS / 1000,
          secure: secure(request),
        }),
        cookieHeader(SIGN_IN_COOKIE, '', { maxAgeSeconds: 0, secure: secure(request) }),
      ])
      return reply.redirect('/dashboard/apps', 303)
    })

    app.post('/dashboard/sign-out', { schema: { hide: true } }, async (request, reply) => {
      reply.header(
        'set-cookie',
        cookieHeader(SESSION_COOKIE, '', { maxAgeSeconds: 0, secure: secure(request) }),
      )
      return reply.redirect('/dashboard/sign-in?signed_out=1', 303)
    })

    await app.register(dashboardAppsRoutes({ ...deps, tools }))
    await app.register(dashboardCatalogRoutes({ ...deps, tools }))
    await app.register(dashboardProfilesRoutes({ ...deps, tools }))
    await app.register(dashboardWebhooksRoutes({ ...deps, tools }))
    await app.register(dashboardStripeRoutes({ ...deps, tools }))
  }
}
