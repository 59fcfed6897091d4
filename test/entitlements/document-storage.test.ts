import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp, ENGINE } from '../support/harness.ts'
import { newProfile, setTransaction, subscriptionBody } from '../support/purchases.ts'

/**
 * How the documents of a set transaction are stored: each arrives whole and unchanged in its row (they are
 * sent apart from their rows' small fields, joined by a separator), and on a PostgreSQL that has lz4 the
 * profile document, past the TOAST threshold, is compressed with it.
 */

const h = await buildTestApp()

interface Stored {
  entry: unknown
  record: unknown
  state: unknown
  entitlements: unknown
  payloads: unknown[]
  compression: string | null
}

async function stored(appId: string, profileId: string, original: string): Promise<Stored> {
  const statement = {
    name: '',
    text: `select
       (select entry from ledger_entries where app_id = $1 and profile_id = $2 order by recorded_at desc limit 1)
         as entry,
       (select record from store_transactions where app_id = $1 and store_transaction_id = $3) as record,
       (select state from purchase_chains where app_id = $1 and store_original_transaction_id = $3) as state,
       p.entitlements, pg_column_compression(p.entitlements) as compression,
       (select json_agg(payload order by profile_seq) from events where app_id = $1 and profile_id = $2)
         as payloads
       from profiles p where p.app_id = $1 and p.id = $2`,
  }
  const [row] = await h.database.rawQuery<Stored>(statement, [appId, profileId, original])
  assert.ok(row)
  return row
}

describe('the documents of a set transaction', () => {
  it('are stored whole, with quotes, backslashes, control characters and non-Latin text intact', async () => {
    const tenant = await h.createTenant('document-storage')
    const buyer = await newProfile(tenant)
    const awkward = 'q"uote\\slash\u0001\u001e\u001f é 中文 🎉'
    const body = subscriptionBody({
      store_product_id: `product ${awkward}`,
      variation_id: awkward,
      expires_at: '2099-01-01T00:00:00Z',
    })
    const answer = await setTransaction(tenant, buyer.headers, body)
    assert.equal(answer.statusCode, 200, answer.body)

    const row = await stored(tenant.appId, buyer.profileId, body.store_original_transaction_id as string)
    const asObject = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value)
    const entry = asObject(row.entry) as { transaction: { storeProductId: string; variationId: string } }
    assert.equal(entry.transaction.storeProductId, `product ${awkward}`)
    assert.equal(entry.transaction.variationId, awkward)
    assert.equal((asObject(row.record) as { variationId: string }).variationId, awkward)
    assert.equal((asObject(row.state) as { latest: { variationId: string } }).latest.variationId, awkward)
    const entitlements = asObject(row.entitlements) as { chains: { latest: { variationId: string } }[] }
    assert.equal(entitlements.chains[0]?.latest.variationId, awkward)
    const payloads = asObject(row.payloads) as { event_type?: string }[]
    assert.ok(payloads.length >= 2, JSON.stringify(payloads))
    assert.ok(JSON.stringify(payloads).includes(JSON.stringify(awkward).slice(1, -1)))
  })

  it('compresses a large profile document with lz4 where PostgreSQL offers it', async (t) => {
    if (ENGINE !== 'postgres') return t.skip('PGlite keeps its default compression')
    const [server] = await h.database.rawQuery<{ lz4: boolean }>(
      {
        name: '',
        text: `select 'lz4' = any(enumvals) as lz4 from pg_settings where name = 'default_toast_compression'`,
      },
      [],
    )
    if (!server?.lz4) return t.skip('this PostgreSQL was built without lz4')
    const tenant = await h.createTenant('document-compression')
    const buyer = await newProfile(tenant)
    let body: Record<string, unknown> = {}
    // Enough chains for a profile document well past the 2 kB TOAST threshold.
    for (let chain = 0; chain < 6; chain += 1) {
      body = subscriptionBody({ expires_at: '2099-01-01T00:00:00Z' })
      const answer = await setTransaction(tenant, buyer.headers, body)
      assert.equal(answer.statusCode, 200, answer.body)
    }
    const row = await stored(tenant.appId, buyer.profileId, body.store_original_transaction_id as string)
    assert.equal(row.compression, 'lz4')
  })
})
