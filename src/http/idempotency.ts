import { randomInt } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onResponseHookHandler,
  onSendHookHandler,
  preHandlerHookHandler,
  RouteOptions,
} from 'fastify'
import { type TSchema, Type } from 'typebox'
import { AppError } from '../errors.ts'
import type {
  IdempotencyClaim,
  IdempotencyRepository,
  StoredAnswer,
} from '../modules/idempotency/idempotency.repository.ts'
import type { Clock } from '../platform/clock.ts'
import { sha256Hex } from '../platform/secrets.ts'
import { actorOf } from './api-key-auth.ts'
import { errorResponses, IDEMPOTENCY_ERRORS } from './common-schemas.ts'

/** The request header, as Fastify sees it (lower case); clients may send it in any case. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key'
/** Set to `true` on an answer that is the stored answer of an earlier request. */
export const REPLAYED_HEADER = 'idempotent-replayed'

/** How long an answer is kept; the key is free again afterwards. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000
/** How long a running request owns its key; after that (its process died) an identical request takes over. */
export const IDEMPOTENCY_LEASE_MS = 60_000
const PURGE_INTERVAL_MS = 60_000
const PURGE_BATCH = 1000
const PURGE_MAX_BATCHES = 100
/** Headers of the first answer that are part of what it said; replayed with the body. */
const STORED_HEADERS = ['content-type', 'content-language', 'location'] as const
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const KEY_PATTERN = /^[\x20-\x7E]{1,255}$/

const KEY_SCHEMA = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x20-\\x7E]+$',
  description:
    'Makes the write safe to retry: 1 to 255 printable ASCII characters, unique per request of this app. ' +
    'The first answer to a key (2xx or 4xx) is kept for 24 hours and a repeat of the same request with the ' +
    'same key gets it again, with `Idempotent-Replayed: true`, without running twice. The same key with ' +
    'another method, path, identification headers or body: 422 `idempotency_key_reused`. A repeat while ' +
    'the first is still running waits for its answer, then 409 `idempotency_in_flight` with Retry-After.',
})

export interface IdempotencyOptions {
  repository: IdempotencyRepository
  clock: Clock
  /** How long an identical request waits for a running first one before answering 409. */
  waitMs: number
}

type Outcome =
  | { kind: 'run'; claim: IdempotencyClaim }
  | { kind: 'replay'; answer: StoredAnswer }
  | { kind: 'reused' }
  | { kind: 'in_flight' }

/** A request that owns its key until its answer is stored. */
interface Running {
  claim: IdempotencyClaim
  requestHash: string
  slot: string
  /** Its stored answer, or null when it stored none (5xx, a failure, a lost lease). */
  finished: Promise<StoredAnswer | null>
  finish(answer: StoredAnswer | null): void
}

/**
 * Idempotency-Key support for every write route (POST, PUT, PATCH, DELETE) of the scope it is registered
 * in, after API key authentication. Adds to each such route, as it is declared:
 * - the optional `Idempotency-Key` header and the 409 / 422 answers, to its schema (validation and OpenAPI);
 * - a preHandler that claims the key (one statement, no transaction held while the handler runs), replays a
 *   stored answer, or refuses;
 * - an onSend hook that stores the answer (2xx and 4xx) or frees the key (5xx), so that a retry runs again.
 * Read routes get nothing and cost nothing.
 */
export function registerIdempotency(scope: FastifyInstance, options: IdempotencyOptions): void {
  const { repository, clock, waitMs } = options
  const owners = new WeakMap<FastifyRequest, Running>()
  /** Requests of this process that own a key, by app and key: identical requests wait on them, not poll. */
  const local = new Map<string, Running>()
  let nextPurgeMs = 0
  let purging: Promise<void> | undefined

  async function begin(appId: string, key: string, requestHash: string): Promise<Outcome> {
    const deadline = performance.now() + waitMs
    const slot = `${appId}\n${key}`
    let pause = 5
    for (;;) {
      const now = clock.now()
      const claim = { appId, key, lease: leaseFrom(now) }
      const expiresAt = new Date(now.getTime() + IDEMPOTENCY_RETENTION_MS)
      if (await repository.claim({ ...claim, requestHash, now, expiresAt })) return { kind: 'run', claim }
      const record = await repository.find(appId, key, now)
      const left = deadline - performance.now()
      // Freed between the two statements (its request failed): claim it again.
      if (!record) {
        if (left <= 0) return { kind: 'in_flight' }
        continue
      }
      if (record.requestHash !== requestHash) return { kind: 'reused' }
      if (record.state === 'done') return { kind: 'replay', answer: record.answer }
      if (left <= 0) return { kind: 'in_flight' }
      const owner = local.get(slot)
      if (owner) {
        // The owner runs in this process: its answer comes from memory, no query needed.
        const answer = await settledWithin(owner.finished, left)
        if (answer && owner.requestHash === requestHash) return { kind: 'replay', answer }
      } else {
        // The owner runs in another process: poll, backing off.
        await delay(Math.min(pause, left))
        pause = Math.min(pause * 2, 200)
      }
    }
  }

  function startRunning(claim: IdempotencyClaim, requestHash: string): Running {
    let finish = (_answer: StoredAnswer | null) => {}
    const finished = new Promise<StoredAnswer | null>((resolve) => {
      finish = resolve
    })
    const slot = `${claim.appId}\n${claim.key}`
    const running: Running = { claim, requestHash, slot, finished, finish }
    running.finish = (answer) => {
      if (local.get(slot) === running) local.delete(slot)
      finish(answer)
    }
    local.set(running.slot, running)
    return running
  }

  /** Expired keys are deleted at most once a minute per process, off the request's path. */
  function purgeIfDue(log: FastifyBaseLogger): void {
    const now = clock.now()
    if (purging || now.getTime() < nextPurgeMs) return
    nextPurgeMs = now.getTime() + PURGE_INTERVAL_MS
    purging = sweep(now)
      .then(
        (deleted) => {
          if (deleted > 0) log.debug({ deleted }, 'purged expired idempotency keys')
        },
        (error: unknown) => log.warn({ err: error }, 'purging expired idempotency keys failed'),
      )
      .finally(() => {
        purging = undefined
      })
  }

  /** Deletes expired keys in short batches, so that no statement holds many rows locked for long. */
  async function sweep(now: Date): Promise<number> {
    let deleted = 0
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch += 1) {
      const count = await repository.purgeExpired(now, PURGE_BATCH)
      deleted += count
      if (count < PURGE_BATCH) break
    }
    return deleted
  }

  function routeHooks(declaredHeaders: string[]) {
    const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
      const key = request.headers[IDEMPOTENCY_KEY_HEADER]
      if (key === undefined) return
      // The route's header schema refuses a bad key first; this keeps the rule true without it.
      if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
        throw new AppError('validation_error', 'Must be 1 to 255 printable ASCII characters.', {
          source: IDEMPOTENCY_KEY_HEADER,
        })
      }
      const hash = requestHash(request, declaredHeaders)
      const outcome = await begin(actorOf(request).appId, key, hash)
      switch (outcome.kind) {
        case 'run':
          owners.set(request, startRunning(outcome.claim, hash))
          purgeIfDue(request.log)
          return
        case 'replay':
          return replay(reply, outcome.answer)
        case 'reused':
          throw new AppError(
            'idempotency_key_reused',
            'This Idempotency-Key was already used with a different request.',
          )
        case 'in_flight':
          throw new AppError(
            'idempotency_in_flight',
            'A request with this Idempotency-Key is still being processed; retry shortly.',
            { headers: { 'retry-after': '1' } },
          )
      }
    }

    const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const running = owners.get(request)
      if (!running) return payload
      owners.delete(request)
      let stored: StoredAnswer | null = null
      try {
        // 5xx answers say nothing about the request (and bodies that are not text cannot be stored):
        // free the key so that a retry runs again.
        if (reply.statusCode >= 500 || (payload != null && typeof payload !== 'string')) {
          await repository.release(running.claim)
        } else {
          const answer = { status: reply.statusCode, headers: storedHeaders(reply), body: payload ?? null }
          if (await repository.complete(running.claim, answer)) stored = answer
          else request.log.warn('idempotency key lease was taken over; this answer is not stored')
        }
      } catch (error) {
        // The answer still goes out; the entry stays running until its lease passes.
        request.log.error({ err: error }, 'storing the answer of an Idempotency-Key request failed')
      } finally {
        running.finish(stored)
      }
      return payload
    }

    /** A request that ended without onSend (it should not happen) frees its key rather than keep it leased. */
    const onResponse = (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
      const running = owners.get(request)
      if (running) {
        owners.delete(request)
        repository
          .release(running.claim)
          .catch((error: unknown) => request.log.error({ err: error }, 'freeing an idempotency key failed'))
          .finally(() => running.finish(null))
      }
      done()
    }

    return { preHandler, onSend, onResponse }
  }

  scope.addHook('onRoute', (route: RouteOptions) => {
    const methods = ([] as string[]).concat(route.method)
    if (!methods.some((method) => WRITE_METHODS.has(method.toUpperCase()))) return
    const schema = (route.schema ?? {}) as Record<string, unknown> & {
      headers?: { type?: string; properties?: Record<string, TSchema> }
      response?: Record<string, unknown>
    }
    const headers = schema.headers ?? { type: 'object' }
    const declaredHeaders = Object.keys(headers.properties ?? {})
      .map((name) => name.toLowerCase())
      .filter((name) => name !== IDEMPOTENCY_KEY_HEADER)
      .sort()
    route.schema = {
      ...schema,
      headers: { ...headers, properties: { ...headers.properties, [IDEMPOTENCY_KEY_HEADER]: KEY_SCHEMA } },
      response: {
        ...errorResponses(route.config?.errorStyle ?? 'fields', IDEMPOTENCY_ERRORS),
        ...schema.response,
      },
    }
    const hooks = routeHooks(declaredHeaders)
    route.preHandler = [...asList(route.preHandler), hooks.preHandler as preHandlerHookHandler]
    route.onSend = [...asList(route.onSend), hooks.onSend as onSendHookHandler]
    route.onResponse = [...asList(route.onResponse), hooks.onResponse as onResponseHookHandler]
  })

  scope.addHook('onClose', async () => {
    await purging
  })
}

function asList<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return []
  return Array.isArray(hooks) ? hooks : [hooks]
}

function replay(reply: FastifyReply, answer: StoredAnswer): FastifyReply {
  reply.code(answer.status).headers(answer.headers).header(REPLAYED_HEADER, 'true')
  return answer.body === null ? reply.send() : reply.send(answer.body)
}

function storedHeaders(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of STORED_HEADERS) {
    const value = reply.getHeader(name)
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value)
  }
  return headers
}

/**
 * What makes two requests "the same": method, route, path and query parameters, the headers the route
 * declares (the identification headers select the profile) and the body, with object keys in sorted order so
 * that `{"a":1,"b":2}` and `{"b":2,"a":1}` are one request.
 */
export function requestHash(request: FastifyRequest, declaredHeaders: readonly string[]): string {
  const headers: Record<string, unknown> = {}
  for (const name of declaredHeaders) headers[name] = request.headers[name]
  return sha256Hex(
    canonicalJson([
      request.method,
      request.routeOptions.url ?? request.url.split('?')[0],
      request.params ?? null,
      request.query ?? null,
      headers,
      request.body ?? null,
    ]),
  )
}

/** JSON with object keys sorted at every level; undefined members are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`
  const record = value as Record<string, unknown>
  const members = Object.keys(record)
    .filter((name) => record[name] !== undefined)
    .sort()
    .map((name) => `${JSON.stringify(name)}:${canonicalJson(record[name])}`)
  return `{${members.join(',')}}`
}

/** A lease end as an ISO timestamp with random microseconds, so that no two claims share it. */
function leaseFrom(now: Date): string {
  const iso = new Date(now.getTime() + IDEMPOTENCY_LEASE_MS).toISOString()
  return `${iso.slice(0, -1)}${String(randomInt(1000)).padStart(3, '0')}Z`
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves when `promise` settles or after `ms`, whichever comes first, leaving no timer behind. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    promise.then((value) => {
      clearTimeout(timer)
      resolve(value)
    })
  })
}
