import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { fixedClock } from '../../src/platform/clock.ts'
import { buildTestApp, fieldsError, TEST_ADMIN_TOKEN, type Tenant } from '../support/harness.ts'
import {
  createAccessLevel,
  eventsOf,
  feedPage,
  grant,
  newProfile,
  oneTimeBody,
  setTransaction,
  subscriptionBody,
} from '../support/purchases.ts'

/** The admin event feed: GET /admin/v1/apps/{app_id}/events?profile_id=&after=&limit= */

const T0 = new Date('2026-01-10T00:00:00Z')
const clock = fixedClock(T0)
const h = await buildTestApp({ clock, ownDatabase: true })

const UNKNOWN_APP = '01a21078-ec05-739b-9285-2f77f33a7ea3'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/

interface FeedEvent {
  event_id: string
  profile_id: string
  profile_sequence: number
  event_type: string
  event_datetime: string
  environment: string
  created_at: string
  payload: Record<string, unknown> & { event_properties: Record<string, unknown> }
}

interface Feed {
  data: FeedEvent[]
  next_cursor: string | null
}

function page(response: LightMyRequestResponse): Feed {
  assert.equal(response.statusCode, 200, response.body)
  const body = response.json() as Feed
  assert.deepEqual(Object.keys(body).sort(), ['data', 'next_cursor'])
  return body
}

function expectError(response: LightMyRequestResponse, status: number, code: string, source: string | null) {
  assert.equal(response.statusCode, status, response.body)
  const body = fieldsError(response)
  assert.equal(body.error_code, code, response.body)
  assert.equal(body.status_code, status, response.body)
  assert.equal(body.errors.length, 1, response.body)
  assert.equal(body.errors[0]?.source, source, response.body)
  return body
}

function ok(response: LightMyRequestResponse) {
  assert.equal(response.statusCode, 200, response.body)
}

/**
 * An app with two profiles and five events, written in a known order. Expiries are far off so that no
 * scheduled job of this app falls due while other suites share the database.
 */
async function appWithEvents() {
  const tenant = await h.createTenant()
  await createAccessLevel(h, tenant.appId, 'sports')
  const alice = await newProfile(tenant)
  const bob = await newProfile(tenant)
  ok(await setTransaction(tenant, alice.headers, subscriptionBody({ expires_at: '2099-01-01T00:00:00Z' })))
  ok(await setTransaction(tenant, bob.headers, oneTimeBody({ environment: 'Sandbox' })))
  ok(await grant(tenant, alice.headers, { access_level_id: 'sports' }))
  const written: [string, string][] = [
    [alice.profileId, 'subscription_started'],
    [alice.profileId, 'access_level_updated'],
    [bob.profileId, 'non_subscription_purchase'],
    [bob.profileId, 'access_level_updated'],
    [alice.profileId, 'access_level_updated'],
  ]
  return { tenant, alice, bob, written }
}

async function readAll(tenant: Tenant, query: Record<string, string | number>, limit: number) {
  const pages: Feed[] = []
  let after: string | null = null
  for (let i = 0; i < 100; i++) {
    const current = page(await feedPage(h, tenant.appId, { ...query, limit, ...(after ? { after } : {}) }))
    pages.push(current)
    if (current.data.length === 0) break
    after = current.next_cursor
  }
  return pages
}

describe('GET /admin/v1/apps/{app_id}/events', () => {
  it('lists the events of the app in the order they were written', async () => {
    const { tenant, written } = await appWithEvents()
    const feed = page(await feedPage(h, tenant.appId))
    assert.deepEqual(
      feed.data.map((e) => [e.profile_id, e.event_type]),
      written,
    )
    assert.equal(typeof feed.next_cursor, 'string')
    // Another app's events are not here.
    const other = await appWithEvents()
    assert.deepEqual(
      page(await feedPage(h, tenant.appId)).data.map((e) => e.event_id),
      feed.data.map((e) => e.event_id),
    )
    assert.ok(
      page(await feedPage(h, other.tenant.appId)).data.every(
        (e) => !feed.data.some((f) => f.event_id === e.event_id),
      ),
    )
  })

  it('answers an empty page with next_cursor null for an app without events', async () => {
    const tenant = await h.createTenant()
    assert.deepEqual(page(await feedPage(h, tenant.appId)), { data: [], next_cursor: null })
  })

  it('pages with limit and next_cursor; a cursor stays valid while new events arrive', async () => {
    const { tenant, alice } = await appWithEvents()
    const all = page(await feedPage(h, tenant.appId)).data
    const pages = await readAll(tenant, {}, 2)
    assert.deepEqual(
      pages.map((p) => p.data.length),
      [2, 2, 1, 0],
    )
    assert.deepEqual(
      pages.flatMap((p) => p.data.map((e) => e.event_id)),
      all.map((e) => e.event_id),
    )
    // The last, empty page hands back the cursor it was given: a poller keeps it and asks again later.
    const last = pages.at(-1) as Feed
    const beforeLast = pages.at(-2) as Feed
    assert.equal(last.next_cursor, beforeLast.next_cursor)

    ok(await setTransaction(tenant, alice.headers, oneTimeBody()))
    const fresh = page(await feedPage(h, tenant.appId, { after: last.next_cursor as string }))
    assert.deepEqual(
      fresh.data.map((e) => [e.profile_id, e.event_type]),
      [
        [alice.profileId, 'non_subscription_purchase'],
        [alice.profileId, 'access_level_updated'],
      ],
    )
    assert.notEqual(fresh.next_cursor, last.next_cursor)
    // limit 1 reads one event at a time, in the same order.
    const single = await readAll(tenant, {}, 1)
    assert.deepEqual(
      single.flatMap((p) => p.data.map((e) => e.event_id)),
      [...all, ...fresh.data].map((e) => e.event_id),
    )
  })

  it('keeps write order and loses no event where the feed position gains a digit (regression)', async () => {
    // Positions are global: move the sequence forward to three short of the next power of ten, so that this
    // app's events run from 99…7 to 100…. Sorting the positions as text once skipped most of them.
    await h.database.rawQuery(
      {
        name: 'test_feed_seq_to_boundary',
        text: `select setval(pg_get_serial_sequence('events', 'feed_seq'),
                  (10::numeric ^ ceil(log(greatest(last_value, 1) + 4)))::bigint - 4)
                 from events_feed_seq_seq`,
      },
      [],
    )
    const tenant = await h.createTenant()
    const buyers = []
    for (let i = 0; i < 4; i++) buyers.push(await newProfile(tenant))
    for (const buyer of buyers) {
      ok(await setTransaction(tenant, buyer.headers, oneTimeBody()))
    }
    const written = buyers.flatMap((buyer) => [
      [buyer.profileId, 'non_subscription_purchase'],
      [buyer.profileId, 'access_level_updated'],
    ])
    const all = page(await feedPage(h, tenant.appId)).data
    assert.deepEqual(
      all.map((e) => [e.profile_id, e.event_type]),
      written,
    )
    for (const limit of [1, 3]) {
      const pages = await readAll(tenant, {}, limit)
      assert.deepEqual(
        pages.flatMap((p) => p.data.map((e) => e.event_id)),
        all.map((e) => e.event_id),
      )
    }
  })

  it('filters by profile_id, with paging', async () => {
    const { tenant, alice, bob, written } = await appWithEvents()
    for (const profile of [alice, bob]) {
      const expected = written.filter(([id]) => id === profile.profileId).map(([, type]) => type)
      const feed = page(await feedPage(h, tenant.appId, { profile_id: profile.profileId }))
      assert.deepEqual(
        feed.data.map((e) => e.event_type),
        expected,
      )
      assert.ok(feed.data.every((e) => e.profile_id === profile.profileId))
      const paged = await readAll(tenant, { profile_id: profile.profileId }, 1)
      assert.deepEqual(
        paged.flatMap((p) => p.data.map((e) => e.event_id)),
        feed.data.map((e) => e.event_id),
      )
      // An upper-case id is the same profile.
      const upper = page(await feedPage(h, tenant.appId, { profile_id: profile.profileId.toUpperCase() }))
      assert.deepEqual(upper.data, feed.data)
    }
    // A profile without events, or of another app: an empty page.
    const quiet = await newProfile(tenant)
    assert.deepEqual(page(await feedPage(h, tenant.appId, { profile_id: quiet.profileId })).data, [])
    const other = await appWithEvents()
    assert.deepEqual(page(await feedPage(h, tenant.appId, { profile_id: other.alice.profileId })).data, [])
  })

  it('gives every event a unique event_id and numbers each profile’s events 1..n', async () => {
    const { tenant, alice, bob } = await appWithEvents()
    ok(await setTransaction(tenant, bob.headers, subscriptionBody({ expires_at: '2099-01-01T00:00:00Z' })))
    const feed = page(await feedPage(h, tenant.appId)).data
    const ids = feed.map((e) => e.event_id)
    for (const id of ids) assert.match(id, UUID)
    assert.equal(new Set(ids).size, ids.length)
    for (const profile of [alice, bob]) {
      const sequence = feed.filter((e) => e.profile_id === profile.profileId).map((e) => e.profile_sequence)
      assert.deepEqual(
        sequence,
        sequence.map((_, i) => i + 1),
      )
    }
    // The feed agrees with the stored outbox.
    const stored = await eventsOf(h, tenant.appId, alice.profileId)
    assert.deepEqual(
      feed.filter((e) => e.profile_id === alice.profileId).map((e) => [e.profile_sequence, e.event_type]),
      stored.map((e) => [e.profileSeq, e.eventType]),
    )
  })

  it('carries the webhook body as payload: root fields and event_properties', async () => {
    const { tenant, alice, bob } = await appWithEvents()
    const feed = page(await feedPage(h, tenant.appId)).data
    for (const event of feed) {
      const owner = event.profile_id === alice.profileId ? alice : bob
      const { payload } = event
      for (const key of [
        'profile_id',
        'customer_user_id',
        'idfv',
        'idfa',
        'advertising_id',
        'profile_install_datetime',
        'user_agent',
        'email',
        'event_type',
        'event_datetime',
        'event_properties',
        'event_api_version',
        'profiles_sharing_access_level',
        'integration_ids',
      ]) {
        assert.ok(key in payload, `${event.event_type} payload lacks ${key}`)
      }
      assert.equal(payload.profile_id, event.profile_id)
      assert.equal(payload.customer_user_id, owner.customerUserId)
      assert.equal(payload.event_type, event.event_type)
      assert.equal(payload.event_datetime, event.event_datetime)
      assert.equal(payload.event_api_version, 1)
      assert.equal(typeof payload.event_properties, 'object')
      assert.equal(payload.event_properties.profile_event_id, event.event_id)
      assert.equal(payload.event_properties.profile_id, event.profile_id)
      assert.equal(payload.event_properties.environment, event.environment)
      assert.match(event.event_datetime, DATETIME)
      assert.match(event.created_at, DATETIME)
      assert.match(payload.profile_install_datetime as string, DATETIME)
    }
    // Business time: the purchase date for the purchase events, the moment of writing for access changes.
    const byType = (profileId: string, type: string) =>
      feed.find((e) => e.profile_id === profileId && e.event_type === type) as FeedEvent
    assert.equal(
      byType(alice.profileId, 'subscription_started').event_datetime,
      '2026-01-01T00:00:00.000000+00:00',
    )
    assert.equal(
      byType(alice.profileId, 'access_level_updated').event_datetime,
      '2026-01-10T00:00:00.000000+00:00',
    )
    assert.equal(byType(bob.profileId, 'non_subscription_purchase').environment, 'Sandbox')
    assert.equal(byType(alice.profileId, 'subscription_started').environment, 'Production')
  })

  it('answers 400 invalid_cursor at `after` for anything that is not a cursor it handed out', async () => {
    const { tenant } = await appWithEvents()
    const cursor = page(await feedPage(h, tenant.appId, { limit: 1 })).next_cursor as string
    for (const after of [
      'garbage!!',
      'not-a-cursor',
      Buffer.from('ev1:abc').toString('base64url'),
      Buffer.from('12').toString('base64url'),
      // Cut short by a character or two, or down to its prefix: the check part no longer matches.
      cursor.slice(0, -1),
      cursor.slice(0, -2),
      cursor.slice(0, 4),
      Buffer.from('ev1:1.AAAAAA').toString('base64url'),
      `${cursor}$`,
      'x'.repeat(200),
      '',
    ]) {
      const body = expectError(await feedPage(h, tenant.appId, { after }), 400, 'invalid_cursor', 'after')
      assert.deepEqual(body.errors[0]?.errors, ['This is not a cursor of the event feed.'], after)
    }
  })

  it('refuses a limit out of 1..1000 and a profile_id that is not a UUID', async () => {
    const { tenant } = await appWithEvents()
    for (const limit of [0, 1001, -1]) {
      expectError(await feedPage(h, tenant.appId, { limit }), 400, 'validation_error', 'limit')
    }
    expectError(await feedPage(h, tenant.appId, { limit: 'ten' }), 400, 'validation_error', 'limit')
    expectError(await feedPage(h, tenant.appId, { profile_id: 'bob' }), 400, 'validation_error', 'profile_id')
    assert.equal(page(await feedPage(h, tenant.appId, { limit: 1000 })).data.length, 5)
  })

  it('answers 404 app_not_found for an unknown app', async () => {
    for (const appId of [UNKNOWN_APP, 'nope']) {
      expectError(await feedPage(h, appId), 404, 'app_not_found', null)
      expectError(await feedPage(h, appId, { profile_id: UNKNOWN_APP, limit: 5 }), 404, 'app_not_found', null)
    }
  })

  it('answers 401 not_authenticated without the admin token', async () => {
    const { tenant } = await appWithEvents()
    const without = await h.app.inject({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}/events` })
    expectError(without, 401, 'not_authenticated', 'non_field_errors')
    for (const authorization of [
      `Bearer ${TEST_ADMIN_TOKEN}x`,
      `Api-Key ${tenant.secretKey}`,
      TEST_ADMIN_TOKEN,
    ]) {
      expectError(
        await feedPage(h, tenant.appId, {}, { authorization }),
        401,
        'not_authenticated',
        'non_field_errors',
      )
    }
    // Unknown apps do not tell themselves apart without the token either.
    const unknown = await h.app.inject({ method: 'GET', url: `/admin/v1/apps/${UNKNOWN_APP}/events` })
    expectError(unknown, 401, 'not_authenticated', 'non_field_errors')
  })
})
