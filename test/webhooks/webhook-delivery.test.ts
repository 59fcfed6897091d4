import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { RENEWAL_LEEWAY_MS } from '../../src/modules/entitlements/entitlements.service.ts'
import { verifySignature } from '../../src/modules/webhooks/webhook-signing.ts'
import { fixedClock } from '../../src/platform/clock.ts'
import { buildTestApp, fieldsError, type Tenant } from '../support/harness.ts'
import { eventsOf, newProfile, setTransaction, subscriptionBody } from '../support/purchases.ts'
import { type ReceivedRequest, startReceiver } from '../support/webhook-receiver.ts'

/** Delivery of the engine's events to a real recording receiver: payloads, signatures, retries, redelivery. */

const START = new Date(Math.floor(Date.now() / 1000) * 1000)
const clock = fixedClock(START)
const h = await buildTestApp({
  clock,
  env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_SECONDS: '0.5', WEBHOOK_RETRY_BASE_SECONDS: '60' },
  ownDatabase: true,
})
const receiver = await startReceiver()
after(() => receiver.close())
const deliver = () => h.services.webhooks.worker.deliverDue()
const MINUTE = 60_000
const DAY = 86_400_000

// The receiver's check, exactly as the README publishes it.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const snippet = /#### Verifying a delivery[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1]
assert.ok(snippet, 'README.md has the verification sample')
const snippetFile = join(mkdtempSync(join(tmpdir(), 'entitle-verify-')), 'verify.mjs')
writeFileSync(snippetFile, snippet)
const { verifyEntitleWebhook } = (await import(pathToFileURL(snippetFile).href)) as {
  verifyEntitleWebhook(
    secret: string,
    headers: Record<string, unknown>,
    body: string,
    tolerance?: number,
  ): boolean
}

const iso = (offsetMs: number) => new Date(clock.now().getTime() + offsetMs).toISOString()

/** A subscription bought an hour ago that runs for 30 days. */
function freshSubscription(overrides: Record<string, unknown> = {}) {
  return subscriptionBody({
    purchased_at: iso(-60 * MINUTE),
    originally_purchased_at: iso(-60 * MINUTE),
    expires_at: iso(30 * DAY),
    ...overrides,
  })
}

async function endpointFor(tenant: Tenant, body: Record<string, unknown> = {}, environment = 'production') {
  const response = await h.admin({
    method: 'PUT',
    url: `/admin/v1/apps/${tenant.appId}/webhooks/${environment}`,
    payload: { url: receiver.url, ...body },
  })
  assert.ok(response.statusCode === 201 || response.statusCode === 200, response.body)
  return response.json().signing_secret as string
}

async function deliveryLog(tenant: Tenant, query = '') {
  const response = await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}/deliveries?${query}` })
  assert.equal(response.statusCode, 200, response.body)
  return response.json() as {
    data: {
      delivery_id: string
      event_id: string
      event_type: string
      attempt: number
      attempted_at: string
      status_code: number | null
      response_body: string | null
      error: string | null
      succeeded: boolean
      delivery_status: string
      next_attempt_at: string | null
      latency_ms: number
    }[]
    next_cursor: string | null
  }
}

/** The deliveries of one profile that arrived since `from`, in arrival order. */
function deliveriesOf(profileId: string, from = 0): (ReceivedRequest & { json: Record<string, any> })[] {
  return receiver
    .deliveries()
    .slice(from)
    .map((request) => ({ ...request, json: JSON.parse(request.body) }))
    .filter((request) => request.json.profile_id === profileId)
}

describe('webhook delivery', () => {
  it('sends every event of a lifecycle with its stored payload, signed as the README says', async () => {
    const tenant = await h.createTenant()
    const secret = await endpointFor(tenant, { authorization: 'Basic cmVjZWl2ZXI6c2VjcmV0' })
    const buyer = await newProfile(tenant)
    const from = receiver.deliveries().length
    const first = freshSubscription()
    assert.equal((await setTransaction(tenant, buyer.headers, first)).statusCode, 200)
    const renewal = {
      ...first,
      store_transaction_id: `${first.store_transaction_id}-r1`,
      purchased_at: iso(0),
      expires_at: iso(31 * DAY),
    }
    assert.equal((await setTransaction(tenant, buyer.headers, renewal)).statusCode, 200)
    assert.equal(
      (await setTransaction(tenant, buyer.headers, { ...renewal, renew_status: false })).statusCode,
      200,
    )
    // The period ends without a renewal: the scheduler tells the expiry, and it is delivered too.
    clock.advance(31 * DAY + RENEWAL_LEEWAY_MS + MINUTE)
    await h.services.entitlements.runDueJobs()
    await deliver()

    const stored = await eventsOf(h, tenant.appId, buyer.profileId)
    assert.deepEqual(
      stored.map((event) => event.eventType),
      [
        'subscription_started',
        'access_level_updated',
        'subscription_renewed',
        'access_level_updated',
        'subscription_renewal_cancelled',
        'access_level_updated',
        'subscription_expired',
        'access_level_updated',
      ],
    )
    const received = deliveriesOf(buyer.profileId, from)
    assert.equal(received.length, stored.length)
    const byId = new Map(received.map((request) => [request.headers['webhook-id'], request]))
    for (const event of stored) {
      const eventId = event.payload.event_properties.profile_event_id as string
      const request = byId.get(eventId)
      assert.ok(request, `${event.eventType} ${eventId} was delivered`)
      assert.deepEqual(request.json, event.payload)
      assert.equal(request.json.event_api_version, 1)
      assert.equal(request.method, 'POST')
      assert.equal(request.path, '/hooks')
      assert.equal(request.headers['content-type'], 'application/json')
      assert.equal(request.headers.authorization, 'Basic cmVjZWl2ZXI6c2VjcmV0')
      assert.equal(
        request.headers['webhook-timestamp'],
        String(Math.floor(Number(request.headers['webhook-timestamp']))),
      )
      // The README's sample accepts it (timestamps come from the test clock: no tolerance check here) ...
      assert.ok(verifyEntitleWebhook(secret, request.headers, request.body, Number.POSITIVE_INFINITY))
      // ... and refuses a body changed by one character, or another secret.
      assert.equal(
        verifyEntitleWebhook(secret, request.headers, `${request.body} `, Number.POSITIVE_INFINITY),
        false,
      )
      assert.equal(
        verifyEntitleWebhook(
          `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
          request.headers,
          request.body,
          Number.POSITIVE_INFINITY,
        ),
        false,
      )
    }
    const started = byId.get(stored[0]?.payload.event_properties.profile_event_id as string)
    assert.equal(started?.json.customer_user_id, buyer.customerUserId)
    assert.equal(started?.json.event_properties.price_usd, 9.99)
    assert.equal(started?.json.event_properties.environment, 'Production')

    const log = await deliveryLog(tenant)
    assert.equal(log.data.length, stored.length)
    for (const attempt of log.data) {
      assert.equal(attempt.status_code, 200)
      assert.equal(attempt.succeeded, true)
      assert.equal(attempt.delivery_status, 'delivered')
      assert.equal(attempt.attempt, 1)
      assert.equal(attempt.response_body, '{}')
      assert.equal(attempt.error, null)
      assert.equal(attempt.next_attempt_at, null)
    }
  })

  it('sends only the enabled types, renamed, with user attributes and trial prices when asked', async () => {
    const tenant = await h.createTenant()
    await endpointFor(tenant, {
      events: ['trial_started', 'subscription_started'],
      event_names: { trial_started: 'trial_start' },
      send_user_attributes: true,
      send_trial_price: true,
    })
    const buyer = await newProfile(tenant)
    const update = await tenant.api({
      method: 'PATCH',
      path: '/profile/',
      headers: buyer.headers,
      body: {
        custom_attributes: [
          { key: 'plan_tier', value: 'gold' },
          { key: 'visits', value: 3 },
        ],
      },
    })
    assert.equal(update.statusCode, 200, `${update.statusCode} ${update.body}`)
    const from = receiver.deliveries().length
    // The set-transaction contract records a free trial at price 0; that is the price sent when asked.
    const trial = freshSubscription({
      price: { country: 'US', currency: 'USD', value: 0 },
      offer: { category: 'introductory', type: 'free_trial' },
      expires_at: iso(7 * DAY),
    })
    assert.equal((await setTransaction(tenant, buyer.headers, trial)).statusCode, 200)
    await deliver()
    const stored = await eventsOf(h, tenant.appId, buyer.profileId)
    assert.deepEqual(
      stored.map((event) => event.eventType),
      ['trial_started', 'access_level_updated'],
    )
    const received = deliveriesOf(buyer.profileId, from)
    assert.equal(received.length, 1, 'access_level_updated is not enabled')
    const body = received[0]?.json
    assert.equal(body?.event_type, 'trial_start')
    assert.deepEqual(body?.user_attributes, { plan_tier: 'gold', visits: 3 })
    assert.equal(body?.event_properties.price_local, 0)
    assert.equal(body?.event_properties.price_usd, 0)
    // The stored event and the feed keep Adapty's default: no trial price.
    assert.equal(stored[0]?.payload.event_properties.price_usd, null)
    assert.equal(stored[0]?.payload.user_attributes, undefined)
  })

  it('sends sandbox events to the sandbox endpoint only', async () => {
    const tenant = await h.createTenant()
    await endpointFor(tenant, {}, 'production')
    const buyer = await newProfile(tenant)
    const from = receiver.deliveries().length
    assert.equal(
      (await setTransaction(tenant, buyer.headers, freshSubscription({ environment: 'Sandbox' }))).statusCode,
      200,
    )
    await deliver()
    assert.equal(deliveriesOf(buyer.profileId, from).length, 0)
    assert.equal((await deliveryLog(tenant)).data.length, 0)

    await endpointFor(tenant, {}, 'sandbox')
    assert.equal(
      (await setTransaction(tenant, buyer.headers, freshSubscription({ environment: 'Sandbox' }))).statusCode,
      200,
    )
    await deliver()
    const received = deliveriesOf(buyer.profileId, from)
    assert.equal(received.length, 2)
    for (const request of received) assert.equal(request.json.event_properties.environment, 'Sandbox')
  })

  it('retries a 500 after the base delay with the same id and body, and stops at the first 2xx', async () => {
    const tenant = await h.createTenant()
    await endpointFor(tenant, { events: ['subscription_started'] })
    const buyer = await newProfile(tenant)
    const from = receiver.deliveries().length
    receiver.setFallback({ status: 500, body: '{"error":"down"}' })
    assert.equal((await setTransaction(tenant, buyer.headers, freshSubscription())).statusCode, 200)
    await deliver()
    receiver.setFallback({ status: 200, body: '{}' })
    let log = await deliveryLog(tenant)
    assert.equal(log.data.length, 1)
    assert.deepEqual(
      [
        log.data[0]?.status_code,
        log.data[0]?.succeeded,
        log.data[0]?.delivery_status,
        log.data[0]?.response_body,
      ],
      [500, false, 'pending', '{"error":"down"}'],
    )
    assert.equal(Date.parse(log.data[0]?.next_attempt_at ?? ''), clock.now().getTime() + MINUTE)

    // Not before the delay ...
    assert.equal(await deliver(), 0)
    clock.advance(MINUTE - 1000)
    assert.equal(await deliver(), 0)
    // ... and then once.
    clock.advance(1000)
    assert.equal(await deliver(), 1)
    const received = deliveriesOf(buyer.profileId, from)
    assert.equal(received.length, 2)
    assert.equal(received[1]?.headers['webhook-id'], received[0]?.headers['webhook-id'])
    assert.equal(received[1]?.body, received[0]?.body)
    log = await deliveryLog(tenant)
    assert.deepEqual(
      log.data.map((attempt) => [attempt.attempt, attempt.status_code, attempt.delivery_status]),
      [
        [1, 500, 'delivered'],
        [2, 200, 'delivered'],
      ],
    )
    clock.advance(DAY)
    assert.equal(await deliver(), 0)
  })

  it('counts a receiver that does not answer in time as failed and retries it', async () => {
    const tenant = await h.createTenant()
    await endpointFor(tenant, { events: ['subscription_started'] })
    const buyer = await newProfile(tenant)
    receiver.answerNext('hang')
    assert.equal((await setTransaction(tenant, buyer.headers, freshSubscription())).statusCode, 200)
    await deliver()
    let log = await deliveryLog(tenant)
    assert.equal(log.data[0]?.status_code, null)
    assert.match(log.data[0]?.error ?? '', /no answer within 500 ms/)
    assert.equal(log.data[0]?.delivery_status, 'pending')
    assert.ok((log.data[0]?.latency_ms ?? 0) >= 450)
    clock.advance(MINUTE)
    assert.equal(await deliver(), 1)
    log = await deliveryLog(tenant)
    assert.deepEqual(
      log.data.map((attempt) => [attempt.status_code, attempt.delivery_status]),
      [
        [null, 'delivered'],
        [200, 'delivered'],
      ],
    )
  })

  it('does not retry a 404 (Adapty: 200 to 404 ends a delivery)', async () => {
    const tenant = await h.createTenant()
    await endpointFor(tenant, { events: ['subscription_started'] })
    const buyer = await newProfile(tenant)
    receiver.answerNext({ status: 404, body: 'no such hook' })
    assert.equal((await setTransaction(tenant, buyer.headers, freshSubscription())).statusCode, 200)
    await deliver()
    clock.advance(DAY)
    assert.equal(await deliver(), 0)
    const log = await deliveryLog(tenant)
    assert.deepEqual(
      log.data.map((attempt) => [
        attempt.status_code,
        attempt.succeeded,
        attempt.delivery_status,
        attempt.response_body,
      ]),
      [[404, false, 'delivered', 'no such hook']],
    )
  })

  it('retries 9 times with doubling delays, then gives up', async () => {
    const tenant = await h.createTenant()
    await endpointFor(tenant, { events: ['subscription_started'] })
    const buyer = await newProfile(tenant)
    receiver.setFallback((request) =>
      JSON.parse(request.body).profile_id === buyer.profileId ? { status: 503 } : { status: 200, body: '{}' },
    )
    try {
      assert.equal((await setTransaction(tenant, buyer.headers, freshSubscription())).statusCode, 200)
      await deliver()
      for (let retry = 1; retry <= 12; retry += 1) {
        clock.advance(MINUTE * 2 ** (retry - 1))
        await deliver()
      }
    } finally {
      receiver.setFallback({ status: 200, body: '{}' })
    }
    const log = await deliveryLog(tenant)
    assert.equal(log.data.length, 10)
    const times = log.data.map((attempt) => Date.parse(attempt.attempted_at))
    const gaps = times.slice(1).map((time, index) => (time - (times[index] as number)) / MINUTE)
    assert.deepEqual(gaps, [1, 2, 4, 8, 16, 32, 64, 128, 256])
    assert.ok(log.data.every((attempt) => attempt.delivery_status === 'failed'))
    const failed = await deliveryLog(tenant, 'status=failed&limit=3')
    assert.equal(failed.data.length, 3)
    const rest = await deliveryLog(tenant, `status=failed&after=${failed.next_cursor}`)
    assert.deepEqual(
      rest.data.map((attempt) => attempt.attempt),
      [4, 5, 6, 7, 8, 9, 10],
    )
    assert.equal((await deliveryLog(tenant, 'status=succeeded')).data.length, 0)
  })

  it('redelivers an event, or every event of a time range, with the same webhook-id', async () => {
    const tenant = await h.createTenant()
    await endpointFor(tenant)
    const buyer = await newProfile(tenant)
    const from = receiver.deliveries().length
    // Ranges are of the moment events were written: the database's time, not the business clock.
    const written = new Date()
    assert.equal((await setTransaction(tenant, buyer.headers, freshSubscription())).statusCode, 200)
    await deliver()
    const [started] = deliveriesOf(buyer.profileId, from)
    const eventId = String(started?.headers['webhook-id'])

    const again = await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${tenant.appId}/events/${eventId}/redeliver`,
    })
    assert.equal(again.statusCode, 202, again.body)
    assert.match(again.json().delivery_id, /^[0-9a-f-]{36}$/)
    assert.equal(await deliver(), 1)
    const repeated = deliveriesOf(buyer.profileId, from)
    assert.equal(repeated.length, 3)
    assert.equal(repeated[2]?.headers['webhook-id'], eventId)
    assert.deepEqual(repeated[2]?.json, started?.json)
    assert.equal((await deliveryLog(tenant, `event_id=${eventId}`)).data.length, 2)

    const range = await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${tenant.appId}/events/redeliver`,
      payload: {
        from: new Date(written.getTime() - 1000).toISOString(),
        to: iso(1000),
        environment: 'production',
      },
    })
    assert.equal(range.statusCode, 202, range.body)
    assert.equal(range.json().queued, 2)
    assert.equal(await deliver(), 2)
    assert.equal(deliveriesOf(buyer.profileId, from).length, 5)

    const none = await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${tenant.appId}/events/redeliver`,
      payload: {
        from: new Date(Date.now() + DAY).toISOString(),
        to: new Date(Date.now() + 2 * DAY).toISOString(),
      },
    })
    assert.equal(none.json().queued, 0)
    const backwards = await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${tenant.appId}/events/redeliver`,
      payload: { from: iso(DAY), to: iso(0) },
    })
    assert.equal(fieldsError(backwards).error_code, 'validation_error')
    assert.equal(fieldsError(backwards).errors[0]?.source, 'to')
    const unknown = await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${tenant.appId}/events/01a21078-ec05-739b-9285-2f77f33a7ea3/redeliver`,
    })
    assert.equal(unknown.statusCode, 404)
    assert.equal(fieldsError(unknown).error_code, 'event_not_found')

    // Another app cannot redeliver it, or read its log.
    const other = await h.createTenant()
    const foreign = await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${other.appId}/events/${eventId}/redeliver`,
    })
    assert.equal(fieldsError(foreign).error_code, 'event_not_found')
    assert.equal((await deliveryLog(other, `event_id=${eventId}`)).data.length, 0)
  })

  it('answers webhook_not_found when redelivering an event whose environment has no endpoint', async () => {
    const tenant = await h.createTenant()
    const buyer = await newProfile(tenant)
    assert.equal((await setTransaction(tenant, buyer.headers, freshSubscription())).statusCode, 200)
    const [event] = await eventsOf(h, tenant.appId, buyer.profileId)
    const eventId = event?.payload.event_properties.profile_event_id as string
    const response = await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${tenant.appId}/events/${eventId}/redeliver`,
    })
    assert.equal(response.statusCode, 404)
    assert.equal(fieldsError(response).error_code, 'webhook_not_found')
  })

  it('cancels what is still due when the endpoint is removed', async () => {
    const tenant = await h.createTenant()
    await endpointFor(tenant, { events: ['subscription_started'] })
    const buyer = await newProfile(tenant)
    receiver.answerNext({ status: 500 })
    assert.equal((await setTransaction(tenant, buyer.headers, freshSubscription())).statusCode, 200)
    await deliver()
    assert.equal(
      (await h.admin({ method: 'DELETE', url: `/admin/v1/apps/${tenant.appId}/webhooks/production` }))
        .statusCode,
      204,
    )
    clock.advance(DAY)
    assert.equal(await deliver(), 0)
    assert.deepEqual(
      (await deliveryLog(tenant)).data.map((attempt) => attempt.delivery_status),
      ['cancelled'],
    )
  })

  it('signs with both secrets during a rotation overlap, then with the new one only', async () => {
    const tenant = await h.createTenant()
    const oldSecret = await endpointFor(tenant, { events: ['subscription_started'] })
    const rotated = await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${tenant.appId}/webhooks/production/rotate-secret`,
      payload: { overlap_seconds: 600 },
    })
    const newSecret = rotated.json().signing_secret as string
    const buyer = await newProfile(tenant)
    const from = receiver.deliveries().length
    assert.equal((await setTransaction(tenant, buyer.headers, freshSubscription())).statusCode, 200)
    await deliver()
    const [during] = deliveriesOf(buyer.profileId, from)
    assert.ok(during)
    const signatures = String(during.headers['webhook-signature']).split(' ')
    assert.equal(signatures.length, 2)
    const check = (secret: string, request: ReceivedRequest) =>
      verifySignature(
        secret,
        String(request.headers['webhook-id']),
        Number(request.headers['webhook-timestamp']),
        request.body,
        String(request.headers['webhook-signature']),
      )
    assert.ok(check(newSecret, during))
    assert.ok(check(oldSecret, during))

    clock.advance(601_000)
    assert.equal((await setTransaction(tenant, buyer.headers, freshSubscription())).statusCode, 200)
    await deliver()
    const later = deliveriesOf(buyer.profileId, from)[1]
    assert.ok(later)
    assert.equal(String(later.headers['webhook-signature']).split(' ').length, 1)
    assert.ok(check(newSecret, later))
    assert.equal(check(oldSecret, later), false)
  })

  it('refuses a delivery-log cursor it did not hand out', async () => {
    const tenant = await h.createTenant()
    const response = await h.admin({
      method: 'GET',
      url: `/admin/v1/apps/${tenant.appId}/deliveries?after=abc`,
    })
    assert.equal(response.statusCode, 400)
    assert.equal(fieldsError(response).error_code, 'invalid_cursor')
    assert.equal(fieldsError(response).errors[0]?.source, 'after')
    const status = await h.admin({
      method: 'GET',
      url: `/admin/v1/apps/${tenant.appId}/deliveries?status=maybe`,
    })
    assert.equal(fieldsError(status).error_code, 'validation_error')
  })
})

describe('the delivery worker', () => {
  it('is started right after a write commits, and a dead endpoint does not hold up other apps', async () => {
    const slowApp = await h.createTenant()
    const fastApp = await h.createTenant()
    await endpointFor(slowApp, { events: ['subscription_started'] })
    await endpointFor(fastApp, { events: ['subscription_started'] })
    const slowBuyers = await Promise.all(Array.from({ length: 24 }, () => newProfile(slowApp)))
    const slowIds = new Set(slowBuyers.map((buyer) => buyer.profileId))
    receiver.setFallback((request) =>
      slowIds.has(JSON.parse(request.body).profile_id) ? 'hang' : { status: 200, body: '{}' },
    )
    const worker = h.services.webhooks.worker
    worker.start()
    try {
      for (const buyer of slowBuyers) {
        assert.equal((await setTransaction(slowApp, buyer.headers, freshSubscription())).statusCode, 200)
      }
      const fastBuyer = await newProfile(fastApp)
      const from = receiver.deliveries().length
      const sent = Date.now()
      assert.equal((await setTransaction(fastApp, fastBuyer.headers, freshSubscription())).statusCode, 200)
      while (deliveriesOf(fastBuyer.profileId, from).length === 0) {
        assert.ok(Date.now() - sent < 2000, 'the other app was delivered within 2 s')
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      // Well before the hanging attempts time out (500 ms), and without waiting for a poll.
      assert.ok(Date.now() - sent < 250, `arrived after ${Date.now() - sent} ms`)
    } finally {
      await worker.stop()
      receiver.setFallback({ status: 200, body: '{}' })
    }
  })
})
