import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SQL } from '../../src/modules/entitlements/entitlements.statements.ts'
import { buildTestApp } from '../support/harness.ts'
import { newProfile, setTransaction, subscriptionBody } from '../support/purchases.ts'
import { type PlanNode, planNodes, planRoot } from '../support/query-plan.ts'

/**
 * What a batch of set transactions reads must not grow with the app. The planner, holding statistics taken
 * while the tables were near empty, ran the batch's lookups of chains and transactions as scans of every row
 * the app had, so each batch cost more than the one before (the bench's PostgreSQL time per request doubled
 * within a minute). EXPLAIN ANALYZE of the load for one key counts the rows each table gave.
 */

// A database of its own: the planner's view of a shared one depends on what other files wrote.
const h = await buildTestApp({ ownDatabase: true })

function rowsByRelation(root: PlanNode): Map<string, number> {
  const into = new Map<string, number>()
  for (const node of planNodes(root)) {
    const relation = node['Relation Name']
    // A scan's rows; the update itself (ModifyTable) names its table too.
    if (relation && node['Node Type'] !== 'ModifyTable') {
      const rows = (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1)
      into.set(relation, (into.get(relation) ?? 0) + rows)
    }
  }
  return into
}

describe('the load of a set-transaction batch', () => {
  it('reads the rows of its own keys, not the app’s chains, transactions and profiles', async () => {
    const tenant = await h.createTenant('batch-load-plan')
    const buyers = await Promise.all(Array.from({ length: 20 }, () => newProfile(tenant)))
    const originals: string[] = []
    for (let round = 0; round < 10; round += 1) {
      await Promise.all(
        buyers.map(async (buyer) => {
          const body = subscriptionBody()
          originals.push(body.store_original_transaction_id as string)
          const answer = await setTransaction(tenant, buyer.headers, body)
          assert.equal(answer.statusCode, 200, answer.body)
        }),
      )
    }

    const buyer = buyers[0] as (typeof buyers)[number]
    const renewed = originals[0] as string
    const keys = [
      { store: 'app_store', original: renewed, txn: `${renewed}-renewal`, product: 'com.example.monthly' },
    ]
    const rows = await rowsRead(SQL.loadBatch.text, [
      tenant.appId,
      JSON.stringify(keys),
      buyer.profileId,
      '[]',
    ])

    // One chain, no stored transaction (the renewal is new), one profile; the app holds 200 of each chain
    // and transaction and 20 profiles.
    assert.ok((rows.get('purchase_chains') ?? 0) <= 1, `purchase_chains rows: ${rows.get('purchase_chains')}`)
    assert.ok(
      (rows.get('store_transactions') ?? 0) <= 1,
      `store_transactions rows: ${rows.get('store_transactions')}`,
    )
    assert.ok((rows.get('profiles') ?? 0) <= 2, `profiles rows: ${rows.get('profiles')}`)
  })

  it('is written back by primary key: the profile update reads the batch’s profiles only', async () => {
    const tenant = await h.createTenant('batch-write-plan')
    const buyers = await Promise.all(Array.from({ length: 40 }, () => newProfile(tenant)))
    const buyer = buyers[0] as (typeof buyers)[number]
    const profiles = [{ id: buyer.profileId, total_revenue_usd: 0, event_seq: 0 }]
    const entitlements = JSON.stringify({ chains: [], purchases: [], grants: [] })
    const at = new Date().toISOString()
    const lists = ['[]', '[]', '[]', JSON.stringify(profiles), '[]', '[]']
    const documents = ['', '', '', entitlements, '']
    const written = [...lists, at, '', buyer.profileId, ...documents]
    const rows = await rowsRead(SQL.writeChanges.text, [tenant.appId, ...written], { rollBack: true })
    assert.ok((rows.get('profiles') ?? 0) <= 1, `profiles rows: ${rows.get('profiles')}`)
  })
})

/** Rows given by each table while running `text` under EXPLAIN ANALYZE; a write is rolled back after. */
async function rowsRead(text: string, values: unknown[], options: { rollBack?: boolean } = {}) {
  const explain = { name: '', text: `explain (analyze, format json) ${text}` }
  let plan: unknown
  const rollBack = new Error('roll back')
  await h.database
    .rawTransaction(async (query) => {
      const [row] = await query<{ 'QUERY PLAN': unknown }>(explain, values)
      plan = row?.['QUERY PLAN']
      if (options.rollBack) throw rollBack
    })
    .catch((error: unknown) => {
      if (error !== rollBack) throw error
    })
  return rowsByRelation(planRoot(plan))
}
