import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { databaseTargetFrom } from '../../src/db/database-target.ts'
import { type DatabaseHandle, openDatabase } from '../../src/db/open-database.ts'
import { createEventRollupRepository } from '../../src/modules/stats/event-rollup.repository.ts'
import { createEventRollup, type RollupSettings } from '../../src/modules/stats/event-rollup.ts'
import { fixedClock } from '../../src/platform/clock.ts'
import { buildTestApp, ENGINE, type Tenant } from '../support/harness.ts'
import { newProfile, setTransaction, subscriptionBody } from '../support/purchases.ts'

/**
 * The stats rollup worker against the overview: whatever the worker has done, the figures equal a count
 * of the events from scratch. The worker rolls up every app of its database, so this file has one of its own.
 */

const h = await buildTestApp({ ownDatabase: true })
const DAY = 86_400_000
const LAG = 60_000
const NOW = Date.now()
const iso = (offset: number) => new Date(NOW + offset).toISOString()
// The worker's clock only decides when a checkpoint is due; the app's requests keep the real one.
const clock = fixedClock(new Date(NOW))
type Query = DatabaseHandle['rawQuery']

const sut = (settings: Partial<RollupSettings> = {}, database: DatabaseHandle = h.database) =>
  createEventRollup({
    repo: createEventRollupRepository(database),
    clock,
    settings: { lagMs: LAG, ...settings },
  })

/** Runs rounds until nothing more is due now (a batch smaller than the backlog asks for another round). */
async function drain(rollup: ReturnType<typeof sut>) {
  while (await rollup.runOnce()) {}
}

/** Rounds that take a checkpoint and, once the lag has passed, fold it: everything written so far rolled up. */
async function rollUpEverything(rollup = sut()) {
  await drain(rollup)
  clock.advance(LAG + 1)
  await drain(rollup)
}

interface SeedEvent {
  type: string
  at: string
  environment?: string
}

/** Events written straight into the outbox (each with a profile of its own), in the order given. */
async function insertEvents(appId: string, rows: SeedEvent[], query: Query = h.database.rawQuery) {
  await query(
    {
      name: 'test_insert_events',
      text: `insert into events (id, app_id, profile_id, profile_seq, event_type, event_datetime, environment, payload)
             select gen_random_uuid(), $1, gen_random_uuid(), 1, x.type, x.at, x.environment, '{}'::json
               from json_to_recordset($2::text::json) as x(type text, at timestamptz, environment text, n int)
              order by x.n`,
    },
    [appId, JSON.stringify(rows.map((row, n) => ({ environment: 'Production', ...row, n })))],
  )
}

const TYPES = [
  'subscription_started',
  'trial_started',
  'subscription_refunded',
  'non_subscription_purchase_refunded',
  'subscription_renewed',
  'access_level_updated',
]

/** `count` events spread over the last 120 days and every type, a fifth of them in Sandbox. */
function spread(count: number, salt: number): SeedEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    type: TYPES[(i * 7 + salt) % TYPES.length] as string,
    at: iso(-(((i * 37 + salt * 11) % 120) * DAY + ((i * 13) % 24) * 3_600_000)),
    environment: i % 5 === 0 ? 'Sandbox' : 'Production',
  }))
}

async function rollupState(appId: string) {
  const [row] = await h.database.rawQuery<{ rolled_up_to: string; checkpoint_seq: string | null }>(
    {
      name: 'test_rollup_state',
      text: `select rolled_up_to::text as rolled_up_to, checkpoint_seq::text as checkpoint_seq
               from event_rollup_state where app_id = $1`,
    },
    [appId],
  )
  return { rolledUpTo: Number(row?.rolled_up_to ?? 0), checkpoint: row?.checkpoint_seq ?? null }
}

/** How many of the app's events the counters hold, and how many events the watermark says they hold. */
async function rolledUpTotals(appId: string) {
  const [row] = await h.database.rawQuery<{ counted: number; events: number }>(
    {
      name: 'test_rollup_totals',
      text: `select (select coalesce(sum(count), 0) from event_day_counts where app_id = $1)::int as counted,
                    (select count(*) from events e where e.app_id = $1 and e.feed_seq <= coalesce(
                       (select rolled_up_to from event_rollup_state s where s.app_id = $1), 0))::int as events`,
    },
    [appId],
  )
  return row ?? { counted: -1, events: -2 }
}

/** Asserts the overview's event figures equal a count of the period's events from scratch. */
async function assertExact(appId: string, days: 30 | 90) {
  const response = await h.admin({ method: 'GET', url: `/admin/v1/apps/${appId}/stats?days=${days}` })
  assert.equal(response.statusCode, 200, response.body)
  const stats = response.json()
  const first = `${stats.daily[0].date}T00:00:00Z`
  const end = new Date(Date.parse(`${stats.daily.at(-1).date}T00:00:00Z`) + DAY).toISOString()
  const rows = await h.database.rawQuery<{ day: string; event_type: string; count: number }>(
    {
      name: 'test_scratch_counts',
      text: `select (event_datetime at time zone 'UTC')::date::text as day, event_type, count(*)::int as count
               from events
              where app_id = $1 and environment = 'Production'
                and event_datetime >= $2::timestamptz and event_datetime < $3::timestamptz
              group by 1, 2`,
    },
    [appId, first, end],
  )
  const byType: Record<string, number> = {}
  const perDay = new Map<string, [number, number, number]>()
  for (const row of rows) {
    byType[row.event_type] = (byType[row.event_type] ?? 0) + Number(row.count)
    const day = perDay.get(row.day) ?? [0, 0, 0]
    if (row.event_type === 'subscription_started') day[0] += Number(row.count)
    if (row.event_type === 'trial_started') day[1] += Number(row.count)
    if (row.event_type.endsWith('_refunded')) day[2] += Number(row.count)
    perDay.set(row.day, day)
  }
  assert.deepEqual(
    stats.events_by_type,
    Object.fromEntries(Object.entries(byType).sort(([a], [b]) => (a < b ? -1 : 1))),
  )
  assert.deepEqual(
    stats.daily.map((day: Record<string, number>) => [day.new_subscriptions, day.new_trials, day.refunds]),
    stats.daily.map((day: { date: string }) => perDay.get(day.date) ?? [0, 0, 0]),
  )
  return stats
}

describe('stats rollup worker', () => {
  it('gives the figures of a count from scratch at every point of its progress', async () => {
    const tenant = await h.createTenant('rollup-fold')
    await insertEvents(tenant.appId, spread(60, 1))
    const rollup = sut({ batchSize: 15 })

    // First round: a checkpoint only; nothing is counted before the lag has passed.
    assert.equal(await rollup.runOnce(), false)
    assert.equal((await rollupState(tenant.appId)).rolledUpTo, 0)
    assert.notEqual((await rollupState(tenant.appId)).checkpoint, null)
    await insertEvents(tenant.appId, spread(25, 2))
    clock.advance(LAG - 1000)
    await drain(rollup)
    assert.equal((await rollupState(tenant.appId)).rolledUpTo, 0)
    await assertExact(tenant.appId, 90)

    // Past the lag: one batch of 15 folded, the rest of the checkpoint still due.
    clock.advance(1001)
    assert.equal(await rollup.runOnce(), true)
    const partWay = await rolledUpTotals(tenant.appId)
    assert.deepEqual(partWay, { counted: 15, events: 15 })
    await assertExact(tenant.appId, 90)
    await assertExact(tenant.appId, 30)

    // The first checkpoint's 60 folded; the 25 written after it wait for the next one.
    await drain(rollup)
    assert.deepEqual(await rolledUpTotals(tenant.appId), { counted: 60, events: 60 })
    await assertExact(tenant.appId, 90)

    clock.advance(LAG + 1)
    await drain(rollup)
    assert.deepEqual(await rolledUpTotals(tenant.appId), { counted: 85, events: 85 })
    assert.equal((await rollupState(tenant.appId)).checkpoint, null)
    await assertExact(tenant.appId, 90)
    await assertExact(tenant.appId, 30)
  })

  it('counts events written late with an earlier event_datetime in their own day', async () => {
    const tenant = await h.createTenant('rollup-backdated')
    await insertEvents(tenant.appId, spread(30, 3))
    await rollUpEverything()
    const before = await assertExact(tenant.appId, 90)

    // As a Stripe import does: today's write, 40 days old by its business time.
    const buyer = await newProfile(tenant)
    const purchased = await setTransaction(
      tenant,
      buyer.headers,
      subscriptionBody({
        purchased_at: iso(-40 * DAY),
        originally_purchased_at: iso(-40 * DAY),
        expires_at: iso(-10 * DAY),
      }),
    )
    assert.equal(purchased.statusCode, 200, purchased.body)
    await insertEvents(tenant.appId, [
      { type: 'trial_started', at: iso(-75 * DAY) },
      { type: 'trial_started', at: iso(-200 * DAY) },
    ])
    const day40 = iso(-40 * DAY).slice(0, 10)
    const newOn = (stats: { daily: { date: string; new_subscriptions: number }[] }, date: string) =>
      stats.daily.find((day) => day.date === date)?.new_subscriptions ?? 0

    // Still past the watermark (counted live), then rolled up: the same day either way.
    for (const rolledUp of [false, true]) {
      if (rolledUp) await rollUpEverything()
      const stats = await assertExact(tenant.appId, 90)
      assert.equal(newOn(stats, day40), newOn(before, day40) + 1)
      assert.equal(stats.events_by_type.trial_started, (before.events_by_type.trial_started ?? 0) + 1)
      assert.equal(newOn(await assertExact(tenant.appId, 30), day40), 0)
    }
    const totals = await rolledUpTotals(tenant.appId)
    assert.equal(totals.counted, totals.events)
  })

  it('lets two workers share the apps without counting an event twice', async () => {
    const tenants: Tenant[] = []
    for (let i = 0; i < 3; i++) {
      const tenant = await h.createTenant(`rollup-pair-${i}`)
      await insertEvents(tenant.appId, spread(40, 10 + i))
      tenants.push(tenant)
    }
    const one = sut({ batchSize: 7 })
    const other = sut({ batchSize: 7 }, await secondDatabase())
    const both = async () => {
      while (
        (await Promise.all([one.runOnce(), other.runOnce(), one.runOnce(), other.runOnce()])).some(Boolean)
      ) {}
    }
    await both()
    clock.advance(LAG + 1)
    await both()
    for (const tenant of tenants) {
      assert.deepEqual(await rolledUpTotals(tenant.appId), { counted: 40, events: 40 })
      await assertExact(tenant.appId, 90)
    }
  })

  it('skips an app whose state another worker holds', { skip: ENGINE === 'pglite' }, async () => {
    const tenant = await h.createTenant('rollup-claimed')
    await insertEvents(tenant.appId, spread(20, 5))
    await drain(sut())
    clock.advance(LAG + 1)
    const holder = createEventRollupRepository(await secondDatabase())
    const held = await holder.withClaim(tenant.appId, async () => {
      // The row is locked by this transaction: the worker neither waits for it nor folds its events.
      await drain(sut())
      return rolledUpTotals(tenant.appId)
    })
    assert.deepEqual(held?.value, { counted: 0, events: 0 })
    await drain(sut())
    assert.deepEqual(await rolledUpTotals(tenant.appId), { counted: 20, events: 20 })
    await assertExact(tenant.appId, 90)
  })

  it('counts an event whose transaction commits after a later event, once the lag has passed', {
    skip: ENGINE === 'pglite',
  }, async () => {
    const tenant = await h.createTenant('rollup-late-commit')
    const writer = await secondDatabase()
    const rollup = sut()
    await writer.rawTransaction(async (query) => {
      // This event takes its feed_seq now and becomes visible only at commit, after a later one.
      await insertEvents(tenant.appId, [{ type: 'subscription_started', at: iso(-DAY) }], query)
      await insertEvents(tenant.appId, [{ type: 'trial_started', at: iso(-DAY) }])
      await drain(rollup)
      clock.advance(LAG / 2)
      await drain(rollup)
      assert.equal((await rollupState(tenant.appId)).rolledUpTo, 0)
    })
    clock.advance(LAG / 2 + 1)
    await drain(rollup)
    assert.deepEqual(await rolledUpTotals(tenant.appId), { counted: 2, events: 2 })
    const stats = await assertExact(tenant.appId, 30)
    assert.deepEqual(stats.events_by_type, { subscription_started: 1, trial_started: 1 })
  })
})

/** Another process's connections to the same database (PGlite has one connection: the same handle). */
async function secondDatabase(): Promise<DatabaseHandle> {
  if (ENGINE === 'pglite') return h.database
  const database = await openDatabase(databaseTargetFrom(h.config))
  after(() => database.close())
  return database
}
