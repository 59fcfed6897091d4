import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppsService } from '../apps/apps.service.ts'
import type { ProfileEntitlements } from '../entitlements/entitlement-model.ts'
import type { EntitlementsService, PurchaseFailure } from '../entitlements/entitlements.service.ts'
import { renderEntitlements } from '../entitlements/render-entitlements.ts'
import type { ProfilesRepository } from '../profiles/profiles.repository.ts'
import type { ProfilesService } from '../profiles/profiles.service.ts'
import { WEBHOOK_EVENT_TYPES } from '../webhooks/webhooks.service.ts'
import type { DashboardRepository, EventFilter } from './dashboard.repository.ts'
import type { DashboardRequestTools } from './dashboard.routes.tsx'
import { EventsPage } from './pages/events-page.tsx'
import type { FieldErrors } from './pages/layout.tsx'
import { ProfilePage, ProfilesPage } from './pages/profiles-page.tsx'

/** Finding profiles, a profile's whole story, granting and revoking from it, and the event feed. */

export interface DashboardProfilesDeps {
  tools: DashboardRequestTools
  apps: AppsService
  profiles: ProfilesService
  profilesRepository: ProfilesRepository
  entitlements: EntitlementsService
  dashboard: DashboardRepository
  clock: { now(): Date }
}

const HIDDEN = { schema: { hide: true } }
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const PAGE_SIZE = 50
const HISTORY_LIMIT = 100

const NOTICES: Record<string, { kind: 'success' | 'error'; text: string }> = {
  granted: { kind: 'success', text: 'Access level granted.' },
  revoked: { kind: 'success', text: 'Access level revoked.' },
  deleted: { kind: 'success', text: 'The profile was deleted.' },
}

/** A `datetime-local` value read as UTC; undefined when empty, null when unreadable. */
function utcInstant(value: string | undefined): string | null | undefined {
  const text = (value ?? '').trim()
  if (text === '') return undefined
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text)) return null
  const instant = new Date(`${text.length === 16 ? `${text}:00` : text}Z`)
  return Number.isNaN(instant.getTime()) ? null : instant.toISOString()
}

function failureErrors(failure: PurchaseFailure): FieldErrors | string {
  switch (failure.kind) {
    case 'paid_access_level_does_not_exist':
      return { access_level_id: 'This app has no such access level.' }
    case 'value_error':
      return { revoke_at: 'Must not be in the past; leave it empty to revoke now.' }
    case 'revocation_date_more_than_expiration_date':
      return { revoke_at: 'After the current expiry of the access level; grant it instead to extend access.' }
    case 'profile_paid_access_level_does_not_exist':
      return 'The profile does not hold this access level now.'
    default:
      return 'The profile no longer exists.'
  }
}

export function dashboardProfilesRoutes(deps: DashboardProfilesDeps) {
  const { tools } = deps
  const { context, notFound } = tools
  const params = (request: FastifyRequest) => request.params as { appId: string; profileId?: string }

  async function profilePage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { errors?: FieldErrors; notice?: { kind: 'success' | 'error'; text: string } } = {},
    status = 200,
  ) {
    const { appId, profileId = '' } = params(request)
    const found = await deps.apps.getApp(appId)
    if (!found.ok) return notFound(request, reply, 'app')
    const profile = UUID.test(profileId)
      ? await deps.profilesRepository.find(deps.profilesRepository.db, appId, { profileId })
      : null
    if (!profile) return notFound(request, reply, 'profile')
    const [levels, ledger, events] = await Promise.all([
      deps.apps.listAccessLevels(appId),
      deps.dashboard.profileLedger(appId, profile.id, HISTORY_LIMIT),
      deps.dashboard.profileEvents(appId, profile.id, HISTORY_LIMIT),
    ])
    const now = deps.clock.now()
    return tools.html(
      reply,
      <ProfilePage
        context={context(request)}
        data={{
          app: found.value.app,
          profile,
          entitlements: renderEntitlements(profile.entitlements as ProfileEntitlements, now),
          accessLevels: levels.ok ? levels.value : [],
          ledger,
          events,
          now,
        }}
        notice={extra.notice ?? NOTICES[(request.query as { notice?: string }).notice ?? '']}
        errors={extra.errors}
      />,
      status,
    )
  }

  /** A refused grant or revoke: the page again, with the reason next to its field or on top. */
  const refused = (request: FastifyRequest, reply: FastifyReply, failure: PurchaseFailure | FieldErrors) => {
    const explained = 'kind' in failure ? failureErrors(failure as PurchaseFailure) : failure
    if (typeof explained === 'string') {
      return profilePage(request, reply, { notice: { kind: 'error', text: explained } }, 400)
    }
    return profilePage(
      request,
      reply,
      { errors: explained, notice: { kind: 'error', text: 'Nothing was changed: see the fields below.' } },
      400,
    )
  }

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/dashboard/apps/:appId/profiles', HIDDEN, async (request, reply) => {
      const { appId } = params(request)
      const found = await deps.apps.getApp(appId)
      if (!found.ok) return notFound(request, reply, 'app')
      const query = String((request.query as { q?: string }).q ?? '').slice(0, 200)
      return tools.html(
        reply,
        <ProfilesPage
          context={context(request)}
          app={found.value.app}
          query={query}
          matches={await deps.dashboard.searchProfiles(appId, query)}
          notice={NOTICES[(request.query as { notice?: string }).notice ?? '']}
        />,
      )
    })

    app.get('/dashboard/apps/:appId/profiles/:profileId', HIDDEN, (request, reply) =>
      profilePage(request, reply),
    )

    app.post('/dashboard/apps/:appId/profiles/:profileId/grant', HIDDEN, async (request, reply) => {
      const { appId, profileId = '' } = params(request)
      const form = tools.form(request)
      const startsAt = utcInstant(form.starts_at)
      const expiresAt = utcInstant(form.expires_at)
      const errors: FieldErrors = {}
      if (startsAt === null) errors.starts_at = 'Give a date and time, or leave it empty.'
      if (expiresAt === null) errors.expires_at = 'Give a date and time, or leave it empty.'
      if (startsAt && expiresAt && expiresAt <= startsAt) errors.expires_at = 'Must be after the start.'
      if (!UUID.test(profileId)) return notFound(request, reply, 'profile')
      if (Object.keys(errors).length > 0) return refused(request, reply, errors)
      const granted = await deps.entitlements.grant(
        appId,
        { profileId },
        {
          accessLevelId: form.access_level_id ?? '',
          startsAt: startsAt ?? null,
          expiresAt: expiresAt ?? null,
        },
      )
      if (!granted.ok) return refused(request, reply, granted.error)
      return reply.redirect(`/dashboard/apps/${appId}/profiles/${profileId}?notice=granted`, 303)
    })

    app.post('/dashboard/apps/:appId/profiles/:profileId/revoke', HIDDEN, async (request, reply) => {
      const { appId, profileId = '' } = params(request)
      const form = tools.form(request)
      const revokeAt = utcInstant(form.revoke_at)
      if (!UUID.test(profileId)) return notFound(request, reply, 'profile')
      if (revokeAt === null)
        return refused(request, reply, { revoke_at: 'Give a date and time, or leave it empty.' })
      const revoked = await deps.entitlements.revoke(
        appId,
        { profileId },
        { accessLevelId: form.revoke_access_level_id ?? '', revokeAt: revokeAt ?? null },
      )
      if (!revoked.ok) return refused(request, reply, revoked.error)
      return reply.redirect(`/dashboard/apps/${appId}/profiles/${profileId}?notice=revoked`, 303)
    })

    app.post('/dashboard/apps/:appId/profiles/:profileId/delete', HIDDEN, async (request, reply) => {
      const { appId, profileId = '' } = params(request)
      if (!UUID.test(profileId)) return notFound(request, reply, 'profile')
      const deleted = await deps.profiles.delete(appId, { profileId })
      if (!deleted.ok) return notFound(request, reply, 'profile')
      return reply.redirect(`/dashboard/apps/${appId}/profiles?notice=deleted`, 303)
    })

    app.get('/dashboard/apps/:appId/events', HIDDEN, async (request, reply) => {
      const { appId } = params(request)
      const found = await deps.apps.getApp(appId)
      if (!found.ok) return notFound(request, reply, 'app')
      const query = request.query as Record<string, string | undefined>
      const before = /^\d{1,18}$/.test(query.before ?? '') ? BigInt(query.before as string) : 0n
      const filter: EventFilter = {
        eventType: (WEBHOOK_EVENT_TYPES as readonly string[]).includes(query.type ?? '')
          ? (query.type as string)
          : '',
        profileId: UUID.test(query.profile_id ?? '') ? (query.profile_id as string) : '',
        environment: ['Production', 'Sandbox'].includes(query.environment ?? '')
          ? (query.environment as string)
          : '',
        before,
      }
      const events = await deps.dashboard.eventsPage(appId, filter, PAGE_SIZE + 1)
      const page = events.slice(0, PAGE_SIZE)
      return tools.html(
        reply,
        <EventsPage
          context={context(request)}
          app={found.value.app}
          eventTypes={WEBHOOK_EVENT_TYPES}
          filter={filter}
          events={page}
          olderThan={events.length > PAGE_SIZE ? (page.at(-1)?.feedSeq ?? null) : null}
        />,
      )
    })
  }
}
