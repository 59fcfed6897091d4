import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, type ErrorStyle } from '../errors.ts'
import type { AppsRepository, KeyOwner } from '../modules/apps/apps.repository.ts'
import type { Clock } from '../platform/clock.ts'
import { secretsEqual, sha256Hex } from '../platform/secrets.ts'
import { styleOf } from './error-handler.ts'
import type { RateLimiter } from './rate-limiter.ts'

/** Who is calling the server-side API: always one app, derived from the key and never from input. */
export interface Actor {
  appId: string
  keyId: string
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor
  }
}

export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new Error('route is not behind API key authentication')
  return request.actor
}

const CACHE_TTL_MS = 10_000
const CACHE_MAX_ENTRIES = 10_000

/**
 * Resolves `Api-Key` credentials with a short in-process cache, so that most requests cost no database
 * round trip. Deleting a key in this process evicts its app at once; other processes see it within the TTL.
 */
export function createKeyResolver(repo: Pick<AppsRepository, 'findKeyOwnerByHash'>) {
  const cache = new Map<string, { owner: KeyOwner; expiresMs: number }>()
  return {
    /** The owner of a key hash when the cache knows it; undefined sends the caller to lookup(). */
    cached(hash: string, nowMs: number): KeyOwner | undefined {
      const entry = cache.get(hash)
      return entry && entry.expiresMs > nowMs ? entry.owner : undefined
    },

    async lookup(hash: string, nowMs: number): Promise<KeyOwner | null> {
      const owner = await repo.findKeyOwnerByHash(hash)
      if (!owner) {
        cache.delete(hash)
        return null
      }
      // The row was found by its hash; comparing again in constant time costs nothing and keeps the rule
      // "secrets are compared timing-safe" true even if lookup ever moves off an exact index.
      if (!secretsEqual(owner.keyHash, hash)) return null
      if (cache.size >= CACHE_MAX_ENTRIES) cache.clear()
      cache.set(hash, { owner, expiresMs: nowMs + CACHE_TTL_MS })
      return owner
    },

    forgetApp(appId: string): void {
      for (const [hash, entry] of cache) if (entry.owner.appId === appId) cache.delete(hash)
    },
  }
}

export type KeyResolver = ReturnType<typeof createKeyResolver>

const MISSING = 'Authentication credentials were not provided.'
const WRONG = 'Invalid API key.'

function authFailure(style: ErrorStyle, message: string): AppError {
  return style === 'flat'
    ? new AppError('unauthorized', message)
    : new AppError('not_authenticated', message, { source: 'non_field_errors' })
}

function extractKey(header: string | undefined): string | null {
  if (!header) return null
  const match = /^\s*Api-Key\s+(\S+)\s*$/i.exec(header)
  return match?.[1] ?? null
}

/**
 * onRequest hook for the server-side API: runs before the body is read, so unauthenticated and
 * rate-limited callers cost no parsing. Callback-style so that a cached key, the common case, costs no
 * promise: this runs on every request.
 */
export function apiKeyAuthHook(deps: {
  resolver: KeyResolver
  limiter: RateLimiter
  clock: Clock
  defaultRateLimitPerMinute: number
}) {
  /** Lets the request in as `owner`, or answers why not. */
  function admit(request: FastifyRequest, owner: KeyOwner | null, nowMs: number): AppError | undefined {
    // Public keys belong in the SDK; they never open the server-side API.
    if (owner?.kind !== 'secret') return authFailure(styleOf(request), WRONG)
    const retryAfter = deps.limiter.take(
      owner.keyId,
      owner.rateLimitPerMinute ?? deps.defaultRateLimitPerMinute,
      nowMs,
    )
    if (retryAfter > 0) {
      return new AppError(
        'rate_limited',
        `Request was throttled. Expected available in ${retryAfter} seconds.`,
        {
          source: null,
          headers: { 'retry-after': String(retryAfter) },
        },
      )
    }
    request.actor = { appId: owner.appId, keyId: owner.keyId }
    return undefined
  }

  return (request: FastifyRequest, _reply: FastifyReply, done: (error?: FastifyError) => void): void => {
    const header = request.headers.authorization
    const key = extractKey(header)
    if (!key || key.length > 200) {
      done(authFailure(styleOf(request), header ? WRONG : MISSING) as unknown as FastifyError)
      return
    }
    const nowMs = deps.clock.now().getTime()
    const hash = sha256Hex(key)
    const cached = deps.resolver.cached(hash, nowMs)
    if (cached) {
      done(admit(request, cached, nowMs) as FastifyError | undefined)
      return
    }
    deps.resolver.lookup(hash, nowMs).then(
      (owner) => done(admit(request, owner, nowMs) as FastifyError | undefined),
      (error: FastifyError) => done(error),
    )
  }
}
