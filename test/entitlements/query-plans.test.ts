import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import postgres from 'postgres'
import type { PreparedStatement } from '../../src/db/open-database.ts'
import { SQL } from '../../src/modules/entitlements/entitlements.statements.ts'
import { VIEW_BY_ID } from '../../src/modules/profiles/profiles.repository.ts'
import { SQL as STRIPE_IMPORT_SQL } from '../../src/modules/stripe/stripe-imports.repository.ts'
import { SQL as WEBHOOK_SQL } from '../../src/modules/webhooks/webhooks.statements.ts'
import { buildTestApp, ENGINE } from '../support/harness.ts'
import { planNodes, planRoot } from '../support/query-plan.ts'

/**
 * Rows looked up by their id (profiles, events, scheduled jobs, Stripe imports) are found through the
 * primary key even when the table has no statistics yet (a new install before autovacuum's first ANALYZE,
 * or a restored dump). The plans checked are the generic ones a prepared statement settles on. With
 * `app_id = $1`, the planner guessed one row per app and walked all of the app's rows through an index
 * that starts with app_id: all of its profiles for every batch of set transactions.
 */

const h = await buildTestApp({ ownDatabase: true })
const tenant = await h.createTenant('query-plans')
const ROWS = 300

// One connection, so that the setting and the prepared statements below stay with it.
const session: (text: string) => Promise<Record<string, unknown>[]> = h.config.DATABASE_URL
  ? (() => {
      const client = postgres(h.config.DATABASE_URL, { max: 1, onnotice: () => {} })
      after(() => client.end({ timeout: 1 }))
      return (text: string) => client.unsafe(text) as unknown as Promise<Record<string, unknown>[]>
    })()
  : (text: string) => h.database.rawQuery<Record<string, unknown>>({ name: '', text }, [])

const TABLES = ['profiles', 'events', 'scheduled_jobs', 'stripe_imports']
for (const table of TABLES) await session(`alter table ${table} set (autovacuum_enabled = off)`)
const app = `'${tenant.appId}'`
const series = `generate_series(1, ${ROWS}) n`
await session(
  `insert into profiles (id, app_id, customer_user_id, segment_hash, created_at, updated_at)
   select gen_random_uuid(), ${app}, 'plan-' || n, 'x', now(), now() from ${series}`,
)
await session(
  `insert into events (id, app_id, profile_id, profile_seq, event_type, event_datetime, environment, payload)
   select gen_random_uuid(), ${app}, gen_random_uuid(), n, 'subscription_started', now(), 'Production', '{}'
     from ${series}`,
)
await session(
  `insert into scheduled_jobs (id, app_id, profile_id, kind, subject, due_at)
   select gen_random_uuid(), ${app}, gen_random_uuid(), 'chain_end', 'plan-' || n, now() from ${series}`,
)
await session(
  `insert into stripe_imports (id, app_id, customer_user_id, tokens, status, results, created_at)
   select gen_random_uuid(), ${app}, 'plan-' || n, '[]', 'done', '[]', now() from ${series}`,
)
await session('set plan_cache_mode = force_generic_plan')
const analyzed = await session(
  `select relname from pg_stat_user_tables
    where relname in (${TABLES.map((table) => `'${table}'`).join(', ')})
      and coalesce(last_analyze, last_autoanalyze) is not null`,
)

/** The id every lookup asks for: no row has it, and the plan does not depend on that. */
const id = "'01a24515-9021-7798-abc7-b6d134b78712'"

/** Every scan that reads the table, with how it finds its rows. */
async function scansOf(table: string, statement: PreparedStatement, literals: string[]): Promise<string[]> {
  const name = `plan_${statement.name}`
  await session(`prepare ${name} as ${statement.text}`)
  try {
    const [row] = await session(`explain (format json) execute ${name}(${literals.join(', ')})`)
    const scans: string[] = []
    for (const node of planNodes(planRoot(row?.['QUERY PLAN']))) {
      const onTable = node['Relation Name'] === table || node['Index Name']?.startsWith(`${table}_`) === true
      const kind = node['Node Type']
      if (onTable && !['Bitmap Heap Scan', 'LockRows', 'ModifyTable'].includes(kind)) {
        scans.push(`${kind} ${node['Index Name'] ?? ''} ${node['Index Cond'] ?? ''}`.trim())
      }
    }
    return scans
  } finally {
    await session(`deallocate ${name}`)
  }
}

/** The scan that walks an app's rows: an index scan bounded by the app alone, whose cost grows with it. */
const walksTheApp = (scan: string) => / \w+ \(?\(?app_id = \$1(::uuid)?\)?\)?$/.test(scan)
/** A scan that fetches the rows it names: by primary key, or a profile by customer user id within the app. */
const byKey = (table: string) => (scan: string) =>
  new RegExp(`${table}_pkey .*\\bid = `).test(scan) ||
  /profiles_app_customer_user_id_key .*customer_user_id = /.test(scan)

describe(`profile lookups on a table without statistics (${ENGINE})`, () => {
  it('the tables under test have never been analyzed', () => {
    assert.deepEqual([...analyzed], [])
  })

  // The batch's UPDATE joins its rows to profiles: without statistics a table this small is read whole (no
  // index by app); once analyzed, or large, through the primary key. Every other lookup is by key always.
  const cases: [string, PreparedStatement, string[], 'by key' | 'not by app'][] = [
    [
      'a batch of set transactions reads and locks its profiles',
      SQL.loadBatch,
      [app, '\'[{"store":"s","original":"o","txn":"t","product":"p"}]\'', id, '\'["u"]\''],
      'by key',
    ],
    [
      'a batch of set transactions writes its profiles',
      SQL.writeChanges,
      [app, ...Array(6).fill("'[]'"), "'2026-01-01T00:00:00Z'", "''", id, ...Array(5).fill("''")],
      'not by app',
    ],
    ['the scheduler locks the holders of a chain', SQL.lockProfiles, [app, id], 'by key'],
    ['a grant locks its profile', SQL.lockProfileById, [app, id], 'by key'],
    ['the scheduler tries the lock of a profile', SQL.tryLockProfile, [app, id], 'by key'],
    ['GET profile by profile id', VIEW_BY_ID, [app, id], 'by key'],
  ]
  for (const [title, statement, literals, expected] of cases) {
    it(`${title}: ${expected === 'by key' ? 'each profile by its key' : "without walking the app's profiles"}`, async () => {
      const scans = await scansOf('profiles', statement, literals)
      assert.ok(scans.length > 0, 'the statement reads profiles')
      assert.deepEqual(scans.filter(walksTheApp), [], `no scan walks the app's profiles: ${scans.join('; ')}`)
      if (expected === 'by key') {
        assert.deepEqual(
          scans.filter((scan) => !byKey('profiles')(scan)),
          [],
          `every scan finds its profiles by key: ${scans.join('; ')}`,
        )
      }
    })
  }
})

describe(`other rows looked up by id on tables without statistics (${ENGINE})`, () => {
  const at = "'2026-01-01T00:00:00Z'"
  const cases: [string, string, PreparedStatement, string[]][] = [
    ['the scheduler moves a chain-end job', 'scheduled_jobs', SQL.moveJob, [app, id, at]],
    ['an event is redelivered', 'events', WEBHOOK_SQL.redeliver, [app, id, at]],
    ['a redelivery checks that its event exists', 'events', WEBHOOK_SQL.eventExists, [app, id]],
    ['a Stripe import is read', 'stripe_imports', STRIPE_IMPORT_SQL.get, [app, id]],
  ]
  for (const [title, table, statement, literals] of cases) {
    it(`${title}: by its key`, async () => {
      const scans = await scansOf(table, statement, literals)
      assert.ok(scans.length > 0, `the statement reads ${table}`)
      assert.deepEqual(
        scans.filter((scan) => walksTheApp(scan) || !byKey(table)(scan)),
        [],
        `every scan of ${table} finds its row by key: ${scans.join('; ')}`,
      )
    })
  }
})
