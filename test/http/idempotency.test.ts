import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { and, count, eq, sql } from 'drizzle-orm'
import type { LightMyRequestResponse } from 'fastify'
import { idempotencyKeys, profiles } from '../../src/db/schema.ts'
import { IDEMPOTENCY_LEASE_MS, IDEMPOTENCY_RETENTION_MS } from '../../src/http/idempotency.ts'
import type { Clock } from '../../src/platform/clock.ts'
import {
  API,
  type ApiRequest,
  buildTestApp,
  ENGINE,
  fieldsError,
  type Tenant,
  type TestApp,
  uniqueUserId,
} from '../support/harness.ts'

const h = await buildTestApp()
/**
 * An app that waits only 100 ms for a running first request, with a clock that the expiry and lease tests
 * move forward.
 */
let offsetMs = 0
const movableClock: Clock = { now: () => new Date(Date.now() + offsetMs) }
const timed = await buildTestApp({ clock: movableClock, env: { IDEMPOTENCY_WAIT_MS: '100' } })

const PROFILE = '/profile/'
const REFUND_SAVER = '/purchase/profile/refund-saver/settings/'

let keyCounter = 0
function newKey(): string {
  keyCounter += 1
  return `key-${process.pid}-${Date.now().toString(36)}-${keyCounter}`
}

function withKey(request: ApiRequest, key: string): ApiRequest {
  return { ...request, headers: { ...request.headers, 'idempotency-key': key } }
}

function assertSameAnswer(replayed: LightMyRequestResponse, first: LightMyRequestResponse): void {
  assert.equal(replayed.statusCode, first.statusCode)
  assert.equal(replayed.body, first.body)
  assert.equal(replayed.headers['content-type'], first.headers['content-type'])
  assert.equal(replayed.headers['idempotent-replayed'], 'true')
  assert.equal(first.headers['idempotent-replayed'], undefined)
}

/** Counts the database transactions the app opens (every profile and Refund Saver write opens one). */
function countTransactions(app: TestApp): { count(): number; restore(): void } {
  const db = app.database.db as unknown as { transaction: (...args: unknown[]) => unknown }
  const original = db.transaction
  let transactions = 0
  db.transaction = function (this: unknown, ...args: unknown[]) {
    transactions += 1
    return original.apply(this, args)
  }
  return {
    count: () => transactions,
    restore: () => {
      db.transaction = original
    },
  }
}

/**
 * Holds every call of `services.refundSaver.set` until `open()`: a first request that is still running, in a
 * controlled way and on both engines (no database lock is held, so PGlite keeps answering).
 */
function holdRefundSaverSet(app: TestApp) {
  const service = app.services.refundSaver
  const original = service.set
  let calls = 0
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  let arrive = () => {}
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve
  })
  service.set = async (...args: Parameters<typeof original>) => {
    calls += 1
    arrive()
    await opened
    return original(...args)
  }
  return {
    arrived,
    open,
    calls: () => calls,
    restore: () => {
      service.set = original
    },
  }
}

async function storedKey(app: TestApp, appId: string, key: string) {
  const [row] = await app.database.db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.appId, appId), eq(idempotencyKeys.key, key)))
  return row ?? null
}

/** Moves the keys of an app `ms` into the past, as if they had been used that long ago. */
async function ageKeys(app: TestApp, appId: string, ms: number): Promise<void> {
  const by = sql`${ms} * interval '1 millisecond'`
  await app.database.db
    .update(idempotencyKeys)
    .set({
      createdAt: sql`${idempotencyKeys.createdAt} - ${by}`,
      lockedUntil: sql`${idempotencyKeys.lockedUntil} - ${by}`,
      expiresAt: sql`${idempotencyKeys.expiresAt} - ${by}`,
    })
    .where(eq(idempotencyKeys.appId, appId))
}

async function createProfile(tenant: Tenant): Promise<string> {
  const userId = uniqueUserId()
  const created = await tenant.api({
    method: 'POST',
    path: PROFILE,
    headers: { 'adapty-customer-user-id': userId },
  })
  assert.equal(created.statusCode, 200, created.body)
  return userId
}

describe('Idempotency-Key: replay', () => {
  it('answers a repeat with the stored status, body and content type, without running the write again', async () => {
    const tenant = await h.createTenant()
    const userId = await createProfile(tenant)
    const key = newKey()
    const request = withKey(
      {
        method: 'PATCH',
        path: PROFILE,
        headers: { 'adapty-customer-user-id': userId },
        body: { custom_attributes: [{ key: 'plan', value: 'pro' }] },
      },
      key,
    )
    const first = await tenant.api(request)
    assert.equal(first.statusCode, 200, first.body)

    // The profile changes in between; the repeat still gets the first answer and changes nothing.
    const other = await tenant.api({
      method: 'PATCH',
      path: PROFILE,
      headers: { 'adapty-customer-user-id': userId },
      body: { custom_attributes: [{ key: 'plan', value: 'free' }] },
    })
    assert.equal(other.statusCode, 200)
    const transactions = countTransactions(h)
    try {
      const replayed = await tenant.api(request)
      assertSameAnswer(replayed, first)
      assert.deepEqual(replayed.json().data.custom_attributes, [{ key: 'plan', value: 'pro' }])
      assert.equal(transactions.count(), 0)
    } finally {
      transactions.restore()
    }
    const now = await tenant.api({
      method: 'GET',
      path: PROFILE,
      headers: { 'adapty-customer-user-id': userId },
    })
    assert.deepEqual(now.json().data.custom_attributes, [{ key: 'plan', value: 'free' }])
    const row = await storedKey(h, tenant.appId, key)
    assert.ok(row)
    assert.equal(row.state, 'done')
    assert.equal(row.responseStatus, 200)
    assert.equal(row.expiresAt.getTime() - row.createdAt.getTime(), IDEMPOTENCY_RETENTION_MS)
  })

  it('replays answers without a body (204 delete) and in the flat envelope routes', async () => {
    const tenant = await h.createTenant()
    const userId = await createProfile(tenant)
    const settings = withKey(
      {
        method: 'POST',
        path: REFUND_SAVER,
        headers: { 'adapty-customer-user-id': userId },
        body: { consent: true },
      },
      newKey(),
    )
    const first = await tenant.api(settings)
    assert.equal(first.statusCode, 200, first.body)
    assertSameAnswer(await tenant.api(settings), first)

    const remove = withKey(
      { method: 'DELETE', path: PROFILE, headers: { 'adapty-customer-user-id': userId } },
      newKey(),
    )
    const deleted = await tenant.api(remove)
    assert.equal(deleted.statusCode, 204)
    const again = await tenant.api(remove)
    assertSameAnswer(again, deleted)
    assert.equal(again.body, '')
  })

  it('treats bodies that differ only in key order as the same request (canonical hash)', async () => {
    const tenant = await h.createTenant()
    const userId = uniqueUserId()
    const key = newKey()
    const headers = { 'adapty-customer-user-id': userId, 'idempotency-key': key }
    const first = await tenant.api({
      method: 'POST',
      path: PROFILE,
      headers,
      body: { first_name: 'Jane', installation_meta: { device_id: 'd1', os: 'iOS 17' }, last_name: 'Doe' },
    })
    assert.equal(first.statusCode, 200, first.body)
    const reordered = await tenant.api({
      method: 'POST',
      path: PROFILE,
      headers,
      body: { last_name: 'Doe', installation_meta: { os: 'iOS 17', device_id: 'd1' }, first_name: 'Jane' },
    })
    assertSameAnswer(reordered, first)
  })

  it('replays a 4xx answer', async () => {
    const tenant = await h.createTenant()
    const request = withKey(
      {
        method: 'POST',
        path: PROFILE,
        headers: { 'adapty-profile-id': '01a2107b-7fde-7f17-a4e5-f995be03c8de' },
      },
      newKey(),
    )
    const first = await tenant.api(request)
    assert.equal(first.statusCode, 404)
    assert.equal(fieldsError(first).error_code, 'profile_does_not_exist')
    assertSameAnswer(await tenant.api(request), first)
  })

  it('does not store a 5xx answer: the key is freed and a retry runs again', async () => {
    const tenant = await h.createTenant()
    const userId = await createProfile(tenant)
    const request = withKey(
      {
        method: 'POST',
        path: REFUND_SAVER,
        headers: { 'adapty-customer-user-id': userId },
        body: { custom_preference: 'grant' },
      },
      newKey(),
    )
    const service = h.services.refundSaver
    const original = service.set
    const failures = [
      new Error('boom'),
      Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }),
    ]
    service.set = async (...args: Parameters<typeof original>) => {
      const failure = failures.shift()
      if (failure) throw failure
      return original(...args)
    }
    try {
      const crashed = await tenant.api(request)
      assert.equal(crashed.statusCode, 500)
      const unavailable = await tenant.api(request)
      assert.equal(unavailable.statusCode, 503, 'the 500 was not replayed')
      assert.equal(unavailable.headers['idempotent-replayed'], undefined)
      const retried = await tenant.api(request)
      assert.equal(retried.statusCode, 200, retried.body)
      assert.equal(retried.headers['idempotent-replayed'], undefined)
      assert.equal(retried.json().settings.custom_preference, 'grant')
      assertSameAnswer(await tenant.api(request), retried)
    } finally {
      service.set = original
    }
  })
})

describe('Idempotency-Key: another request with the same key', () => {
  it('answers 422 idempotency_key_reused for another body, identification header, method or path', async () => {
    const tenant = await h.createTenant()
    const userId = await createProfile(tenant)
    const otherUserId = await createProfile(tenant)
    const key = newKey()
    const request = withKey(
      {
        method: 'PATCH',
        path: PROFILE,
        headers: { 'adapty-customer-user-id': userId },
        body: { first_name: 'Jane' },
      },
      key,
    )
    assert.equal((await tenant.api(request)).statusCode, 200)

    const variants: ApiRequest[] = [
      { ...request, body: { first_name: 'John' } },
      { ...request, body: {} },
      { ...request, headers: { ...request.headers, 'adapty-customer-user-id': otherUserId } },
      { ...request, method: 'POST' },
    ]
    for (const variant of variants) {
      const refused = await tenant.api(variant)
      assert.equal(refused.statusCode, 422, `${variant.method} ${JSON.stringify(variant.body)}`)
      assert.deepEqual(fieldsError(refused), {
        errors: [
          { source: null, errors: ['This Idempotency-Key was already used with a different request.'] },
        ],
        error_code: 'idempotency_key_reused',
        status_code: 422,
      })
    }
    // On a route with the flat envelope.
    const flat = await tenant.api({
      method: 'POST',
      path: REFUND_SAVER,
      headers: { 'adapty-customer-user-id': userId, 'idempotency-key': key },
      body: { consent: true },
    })
    assert.equal(flat.statusCode, 422)
    assert.deepEqual(flat.json(), {
      errors: ['This Idempotency-Key was already used with a different request.'],
      error_code: 'idempotency_key_reused',
      status_code: 422,
    })
    // The original request still replays.
    assert.equal((await tenant.api(request)).headers['idempotent-replayed'], 'true')
  })

  it('scopes keys per app: the same key in two apps is two independent keys', async () => {
    const first = await h.createTenant('app-one')
    const second = await h.createTenant('app-two')
    const key = newKey()
    const one = await first.api({
      method: 'POST',
      path: PROFILE,
      headers: { 'adapty-customer-user-id': uniqueUserId(), 'idempotency-key': key },
    })
    const two = await second.api({
      method: 'POST',
      path: PROFILE,
      headers: { 'adapty-customer-user-id': uniqueUserId(), 'idempotency-key': key },
      body: { first_name: 'Other' },
    })
    assert.equal(one.statusCode, 200)
    assert.equal(two.statusCode, 200, two.body)
    assert.equal(two.headers['idempotent-replayed'], undefined)
    assert.equal(one.json().data.app_id, first.appId)
    assert.equal(two.json().data.app_id, second.appId)
    assert.ok(await storedKey(h, first.appId, key))
    assert.ok(await storedKey(h, second.appId, key))
  })
})

describe('Idempotency-Key: concurrent requests', () => {
  it('runs 50 concurrent identical creates with one key once and gives all 50 the same answer', async () => {
    const tenant = await h.createTenant()
    const userId = uniqueUserId()
    const request = withKey(
      {
        method: 'POST',
        path: PROFILE,
        headers: { 'adapty-customer-user-id': userId },
        body: { first_name: 'Jane', custom_attributes: [{ key: 'plan', value: 'pro' }] },
      },
      newKey(),
    )
    const transactions = countTransactions(h)
    let answers: LightMyRequestResponse[]
    try {
      answers = await Promise.all(Array.from({ length: 50 }, () => tenant.api(request)))
    } finally {
      transactions.restore()
    }
    assert.equal(transactions.count(), 1, 'one write transaction for 50 requests')
    const first = answers.find((answer) => answer.headers['idempotent-replayed'] === undefined)
    assert.ok(first)
    assert.equal(first.statusCode, 200, first.body)
    assert.equal(answers.filter((answer) => answer.headers['idempotent-replayed'] === 'true').length, 49)
    for (const answer of answers) {
      assert.equal(answer.statusCode, 200)
      assert.equal(answer.body, first.body)
    }
    const [profileCount] = await h.database.db
      .select({ n: count() })
      .from(profiles)
      .where(eq(profiles.appId, tenant.appId))
    assert.equal(profileCount?.n, 1)
  })

  it('without identification headers create is a 400 (it never makes a profile); 50 concurrent ones with one key get one stored answer', async () => {
    const tenant = await h.createTenant()
    const request = withKey({ method: 'POST', path: PROFILE, body: { first_name: 'Jane' } }, newKey())
    const answers = await Promise.all(Array.from({ length: 50 }, () => tenant.api(request)))
    const first = answers[0]
    assert.ok(first)
    assert.equal(first.statusCode, 400)
    assert.equal(fieldsError(first).errors[0]?.source, 'non_field_errors')
    for (const answer of answers) {
      assert.equal(answer.statusCode, 400)
      assert.equal(answer.body, first.body)
    }
    assert.equal(answers.filter((answer) => answer.headers['idempotent-replayed'] === undefined).length, 1)
    const [profileCount] = await h.database.db
      .select({ n: count() })
      .from(profiles)
      .where(eq(profiles.appId, tenant.appId))
    assert.equal(profileCount?.n, 0)
  })

  it('lets an identical request wait for the running first one and replay its answer', async () => {
    const tenant = await h.createTenant()
    const userId = await createProfile(tenant)
    const request = withKey(
      {
        method: 'POST',
        path: REFUND_SAVER,
        headers: { 'adapty-customer-user-id': userId },
        body: { consent: true },
      },
      newKey(),
    )
    const held = holdRefundSaverSet(h)
    try {
      const first = tenant.api(request)
      await held.arrived
      const second = tenant.api(request)
      await sleep(50)
      held.open()
      const [firstAnswer, secondAnswer] = await Promise.all([first, second])
      assert.equal(firstAnswer.statusCode, 200, firstAnswer.body)
      assertSameAnswer(secondAnswer, firstAnswer)
      assert.equal(held.calls(), 1)
    } finally {
      held.restore()
    }
  })
  it('makes a request in another process wait for the first one by polling, then replay its answer', {
    skip:
      ENGINE === 'pglite'
        ? 'two processes share a database only on PostgreSQL; each PGlite test app has its own'
        : false,
  }, async () => {
    // `timed` and `h` are two app instances on one PostgreSQL database: two Entitle processes.
    const tenant = await timed.createTenant()
    const userId = uniqueUserId()
    const created = await tenant.api({
      method: 'POST',
      path: PROFILE,
      headers: { 'adapty-customer-user-id': userId },
    })
    assert.equal(created.statusCode, 200)
    const request = withKey(
      {
        method: 'POST',
        path: REFUND_SAVER,
        headers: { 'adapty-customer-user-id': userId },
        body: { consent: true, custom_preference: 'grant' },
      },
      newKey(),
    )
    const held = holdRefundSaverSet(timed)
    try {
      const first = tenant.api(request)
      await held.arrived
      const elsewhere = h.app.inject({
        method: 'POST',
        url: `${API}${REFUND_SAVER}`,
        headers: { authorization: `Api-Key ${tenant.secretKey}`, ...request.headers },
        payload: request.body as object,
      })
      await sleep(150)
      held.open()
      const [firstAnswer, elsewhereAnswer] = await Promise.all([first, elsewhere])
      assert.equal(firstAnswer.statusCode, 200, firstAnswer.body)
      assertSameAnswer(elsewhereAnswer, firstAnswer)
      assert.equal(held.calls(), 1)
    } finally {
      held.open()
      held.restore()
    }
  })
})

describe('Idempotency-Key: a first request still running past the wait bound', () => {
  it('answers 409 idempotency_in_flight with Retry-After, and 422 at once for another body', async () => {
    const tenant = await timed.createTenant()
    const userId = uniqueUserId()
    assert.equal(
      (await tenant.api({ method: 'POST', path: PROFILE, headers: { 'adapty-customer-user-id': userId } }))
        .statusCode,
      200,
    )
    const request = withKey(
      {
        method: 'POST',
        path: REFUND_SAVER,
        headers: { 'adapty-customer-user-id': userId },
        body: { consent: true },
      },
      newKey(),
    )
    const held = holdRefundSaverSet(timed)
    try {
      const first = tenant.api(request)
      await held.arrived

      const startedMs = Date.now()
      const busy = await tenant.api(request)
      assert.ok(Date.now() - startedMs >= 90, 'it waited for the bound first')
      assert.equal(busy.statusCode, 409)
      assert.equal(busy.headers['retry-after'], '1')
      assert.deepEqual(busy.json(), {
        errors: ['A request with this Idempotency-Key is still being processed; retry shortly.'],
        error_code: 'idempotency_in_flight',
        status_code: 409,
      })

      const other = await tenant.api({ ...request, body: { consent: false } })
      assert.equal(other.statusCode, 422)
      assert.equal(other.json().error_code, 'idempotency_key_reused')

      held.open()
      const firstAnswer = await first
      assert.equal(firstAnswer.statusCode, 200, firstAnswer.body)
      assertSameAnswer(await tenant.api(request), firstAnswer)
      assert.equal(held.calls(), 1)
    } finally {
      held.open()
      held.restore()
    }
  })
})

describe('Idempotency-Key: expiry and lease', () => {
  it('frees a key after 24 hours and purges expired keys', async () => {
    const tenant = await timed.createTenant()
    const userId = uniqueUserId()
    const key = newKey()
    const staleKey = newKey()
    const headers = { 'adapty-customer-user-id': userId, 'idempotency-key': key }
    const first = await tenant.api({ method: 'POST', path: PROFILE, headers, body: { first_name: 'A' } })
    assert.equal(first.statusCode, 200)
    const stale = await tenant.api({
      method: 'POST',
      path: PROFILE,
      headers: { ...headers, 'idempotency-key': staleKey },
    })
    assert.equal(stale.statusCode, 200)

    // The keys are made older rather than the clock moved a day: on a PostgreSQL shared with other test
    // files, a clock a day ahead would sweep their keys too.
    await ageKeys(timed, tenant.appId, IDEMPOTENCY_RETENTION_MS - 60_000)
    const stillKept = await tenant.api({ method: 'POST', path: PROFILE, headers, body: { first_name: 'B' } })
    assert.equal(stillKept.statusCode, 422, 'kept for 24 hours')

    await ageKeys(timed, tenant.appId, 120_000)
    // A minute later, so that this process's sweep is due again.
    offsetMs += 61_000
    const reused = await tenant.api({ method: 'POST', path: PROFILE, headers, body: { first_name: 'B' } })
    assert.equal(reused.statusCode, 200, reused.body)
    assert.equal(reused.headers['idempotent-replayed'], undefined)
    const row = await storedKey(timed, tenant.appId, key)
    assert.ok(row)
    assert.ok(row.expiresAt.getTime() > movableClock.now().getTime() + IDEMPOTENCY_RETENTION_MS - 60_000)

    // The sweep runs off the request's path, at most once a minute per process.
    const deadline = Date.now() + 5000
    while ((await storedKey(timed, tenant.appId, staleKey)) && Date.now() < deadline) await sleep(20)
    assert.equal(await storedKey(timed, tenant.appId, staleKey), null, 'the expired key was purged')
    assert.ok(await storedKey(timed, tenant.appId, key), 'the live key was kept')
  })

  it('lets an identical request take over a key whose first request outlived its lease', async () => {
    const tenant = await timed.createTenant()
    const userId = uniqueUserId()
    assert.equal(
      (await tenant.api({ method: 'POST', path: PROFILE, headers: { 'adapty-customer-user-id': userId } }))
        .statusCode,
      200,
    )
    const request = withKey(
      {
        method: 'POST',
        path: REFUND_SAVER,
        headers: { 'adapty-customer-user-id': userId },
        body: { custom_preference: 'decline' },
      },
      newKey(),
    )
    const held = holdRefundSaverSet(timed)
    try {
      const first = tenant.api(request)
      await held.arrived
      // As if the first request's process had died: its lease passes.
      offsetMs += IDEMPOTENCY_LEASE_MS + 1000
      const otherBody = await tenant.api({ ...request, body: { custom_preference: 'grant' } })
      assert.equal(otherBody.statusCode, 422, 'only the same request may take over')
      const takeover = tenant.api(request)
      while (held.calls() < 2) await sleep(5)
      held.open()
      const [firstAnswer, takeoverAnswer] = await Promise.all([first, takeover])
      assert.equal(firstAnswer.statusCode, 200)
      assert.equal(takeoverAnswer.statusCode, 200)
      assert.equal(takeoverAnswer.headers['idempotent-replayed'], undefined)
      const replayed = await tenant.api(request)
      assertSameAnswer(replayed, takeoverAnswer)
      assert.equal(held.calls(), 2)
    } finally {
      held.open()
      held.restore()
    }
  })
})

describe('Idempotency-Key: validation and scope', () => {
  it('refuses a key that is blank, longer than 255 characters or not printable ASCII with 400', async () => {
    const tenant = await h.createTenant()
    const userId = await createProfile(tenant)
    const cases: [string, string][] = [
      ['', 'This field may not be blank.'],
      ['k'.repeat(256), 'Ensure this field has no more than 255 characters.'],
      ['clé', 'Contains characters that are not allowed.'],
    ]
    for (const [key, message] of cases) {
      const refused = await tenant.api({
        method: 'PATCH',
        path: PROFILE,
        headers: { 'adapty-customer-user-id': userId, 'idempotency-key': key },
        body: { first_name: 'Jane' },
      })
      assert.equal(refused.statusCode, 400, key)
      assert.deepEqual(fieldsError(refused), {
        errors: [{ source: 'idempotency-key', errors: [message] }],
        error_code: 'validation_error',
        status_code: 400,
      })
    }
    const flat = await tenant.api({
      method: 'POST',
      path: REFUND_SAVER,
      headers: { 'adapty-customer-user-id': userId, 'idempotency-key': '' },
      body: { consent: true },
    })
    assert.equal(flat.statusCode, 400)
    assert.deepEqual(flat.json().errors, ['idempotency-key: This field may not be blank.'])
    // The longest and the widest valid keys.
    for (const key of ['k'.repeat(255), ' !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~']) {
      const accepted = await tenant.api({
        method: 'PATCH',
        path: PROFILE,
        headers: { 'adapty-customer-user-id': userId, 'idempotency-key': key },
        body: { first_name: 'Jane' },
      })
      assert.equal(accepted.statusCode, 200, accepted.body)
    }
  })

  it('ignores the header on GET requests, whatever its value', async () => {
    const tenant = await h.createTenant()
    const userId = await createProfile(tenant)
    const key = newKey()
    const write = await tenant.api({
      method: 'PATCH',
      path: PROFILE,
      headers: { 'adapty-customer-user-id': userId, 'idempotency-key': key },
      body: { custom_attributes: [{ key: 'plan', value: 'pro' }] },
    })
    assert.equal(write.statusCode, 200)
    for (const value of [key, 'k'.repeat(300), '']) {
      const read = await tenant.api({
        method: 'GET',
        path: PROFILE,
        headers: { 'adapty-customer-user-id': userId, 'idempotency-key': value },
      })
      assert.equal(read.statusCode, 200, read.body)
      assert.equal(read.headers['idempotent-replayed'], undefined)
    }
  })

  it('changes nothing for writes without the header: each one runs', async () => {
    const tenant = await h.createTenant()
    const request: ApiRequest = {
      method: 'POST',
      path: PROFILE,
      headers: { 'adapty-customer-user-id': uniqueUserId() },
    }
    const transactions = countTransactions(h)
    try {
      const first = await tenant.api(request)
      const second = await tenant.api(request)
      assert.equal(first.statusCode, 200)
      assert.equal(second.statusCode, 200)
      assert.equal(second.headers['idempotent-replayed'], undefined)
      assert.equal(transactions.count(), 2)
    } finally {
      transactions.restore()
    }
    const [stored] = await h.database.db
      .select({ n: count() })
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.appId, tenant.appId))
    assert.equal(stored?.n, 0)
  })

  it('documents the header and the 409 and 422 answers on every server-side write, and only there', async () => {
    const document = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>
      >
    }
    let writes = 0
    for (const [path, operations] of Object.entries(document.paths)) {
      if (!path.startsWith('/api/v2/server-side-api/')) continue
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`
        const documented = (operation.parameters ?? []).some(
          (parameter) => parameter.in === 'header' && parameter.name === 'idempotency-key',
        )
        if (['post', 'put', 'patch', 'delete'].includes(method)) {
          writes += 1
          assert.ok(documented, `${where} does not document Idempotency-Key`)
          for (const status of ['409', '422'])
            assert.ok(status in operation.responses, `${where} does not declare ${status}`)
        } else {
          assert.ok(!documented, `${where} documents Idempotency-Key`)
        }
      }
    }
    assert.ok(writes >= 5, `only ${writes} server-side writes found`)
  })
})
