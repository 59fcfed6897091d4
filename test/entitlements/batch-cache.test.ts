import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { eq } from 'drizzle-orm'
import type { DatabaseHandle, PreparedStatement, RawQuery } from '../../src/db/open-database.ts'
import { ledgerEntries, storeTransactions } from '../../src/db/schema.ts'
import { createEntitlementsRepository } from '../../src/modules/entitlements/entitlements.repository.ts'
import { createEntitlementsService } from '../../src/modules/entitlements/entitlements.service.ts'
import { foldLedger } from '../../src/modules/entitlements/fold-ledger.ts'
import { createProjectionReader } from '../../src/modules/entitlements/projection-reader.ts'
import type { SetTransactionBodyInput } from '../../src/modules/purchases/purchase-request.schemas.ts'
import { normalizeTransaction } from '../../src/modules/purchases/transaction-rules.ts'
import { systemClock } from '../../src/platform/clock.ts'
import { systemIds } from '../../src/platform/ids.ts'
import { buildTestApp, ENGINE, type Tenant } from '../support/harness.ts'
import {
  createAccessLevel,
  createProduct,
  eventsOf,
  newProfile,
  setExchangeRates,
  subscriptionBody,
  uniqueTransactionId,
} from '../support/purchases.ts'

/**
 * A set-transaction batch whose rows this process wrote last skips its read: it is computed from the cache
 * and sent with a guard that the cached rows are still current. Each "process" below is an entitlements
 * service of its own (its own batcher and cache) on the same database; whatever changes a row behind a
 * cache's back makes the guard refuse, and the batch is read and written again, once.
 */

const h = await buildTestApp()
const reader = createProjectionReader(h.database)

/** An entitlements service of its own, as another process would have, counting the statements it runs. */
function startProcess(database: DatabaseHandle = h.database) {
  const statements: string[] = []
  const counting = (run: RawQuery): RawQuery =>
    (<Row>(statement: PreparedStatement, values: unknown[]) => {
      statements.push(statement.name)
      return run<Row>(statement, values)
    }) as RawQuery
  const service = createEntitlementsService({
    repo: createEntitlementsRepository({
      rawQuery: database.rawQuery,
      rawTransaction: (work) =>
        database.rawTransaction((query, finalQuery) => work(counting(query), counting(finalQuery))),
    }),
    clock: systemClock,
    ids: systemIds,
  })
  return { service, statements }
}

type Process = ReturnType<typeof startProcess>

async function write(writer: Process, tenant: Tenant, profileId: string, body: Record<string, unknown>) {
  const normalized = normalizeTransaction(body as unknown as SetTransactionBodyInput)
  assert.ok(normalized.ok, JSON.stringify(normalized))
  const result = await writer.service.setTransaction(tenant.appId, { profileId }, normalized.value)
  assert.ok(result.ok, JSON.stringify(result))
  return result.value
}

/** The subscription body of renewal `n` (0: the purchase) of the chain `original`, a month apart. */
function renewal(original: string, n: number, overrides: Record<string, unknown> = {}) {
  const start = Date.parse('2026-01-01T00:00:00Z')
  const month = 30 * 24 * 3600 * 1000
  return subscriptionBody({
    store_transaction_id: n === 0 ? original : uniqueTransactionId(),
    store_original_transaction_id: original,
    purchased_at: new Date(start + n * month).toISOString(),
    originally_purchased_at: new Date(start).toISOString(),
    expires_at: new Date(start + (n + 1) * month + 365 * 24 * 3600 * 1000).toISOString(),
    ...overrides,
  })
}

/** The app's stored transactions, optionally of one chain. */
async function storedTransactions(appId: string, chain?: string) {
  const rows = await h.database.db.select().from(storeTransactions).where(eq(storeTransactions.appId, appId))
  return chain === undefined ? rows : rows.filter((row) => row.storeOriginalTransactionId === chain)
}

async function ledgerCount(appId: string) {
  return (await h.database.db.select().from(ledgerEntries).where(eq(ledgerEntries.appId, appId))).length
}

/** The stored projection of the app equals the fold of its ledger (as the property test checks). */
async function assertProjectionIsTheFold(appId: string) {
  const folded = foldLedger(await reader.ledger(appId))
  const stored = await reader.projection(appId)
  for (const profile of stored.profiles) {
    assert.deepEqual(
      profile.entitlements,
      folded.profiles.get(profile.id)?.entitlements,
      `profile ${profile.id}`,
    )
  }
  assert.equal(stored.chains.length, folded.chains.size)
  assert.equal(stored.transactions.length, folded.transactions.size)
}

describe(`set transactions written from the batch cache (${ENGINE})`, () => {
  it('write a profile’s next transaction without reading it first', async () => {
    const tenant = await h.createTenant('cache-hit')
    const buyer = await newProfile(tenant)
    const a = startProcess()
    const original = uniqueTransactionId('chain')
    await write(a, tenant, buyer.profileId, renewal(original, 0))
    assert.ok(a.statements.includes('ent_load_batch'), 'the first write reads')
    a.statements.length = 0

    const body = renewal(original, 1)
    const renewed = await write(a, tenant, buyer.profileId, body)
    assert.deepEqual(a.statements, ['ent_lock_chains', 'ent_fresh_guard', 'ent_write_changes'])
    assert.equal(a.service.batchCacheStats().hits, 1)
    assert.equal(a.service.batchCacheStats().refused, 0)
    assert.equal(renewed.entitlements.chains[0]?.latest.storeTransactionId, body.store_transaction_id)
    const types = (await eventsOf(h, tenant.appId, buyer.profileId)).map((event) => event.eventType)
    assert.deepEqual(types, [
      'subscription_started',
      'access_level_updated',
      'subscription_renewed',
      'access_level_updated',
    ])
    await assertProjectionIsTheFold(tenant.appId)
  })

  it('read again, and write once, what another process changed since', async () => {
    const tenant = await h.createTenant('cache-other-process')
    const buyer = await newProfile(tenant)
    const [a, b] = [startProcess(), startProcess()]
    const original = uniqueTransactionId('chain')
    await write(a, tenant, buyer.profileId, renewal(original, 0))
    await write(b, tenant, buyer.profileId, renewal(original, 1))
    a.statements.length = 0
    const third = await write(a, tenant, buyer.profileId, renewal(original, 2))

    assert.equal(a.service.batchCacheStats().refused, 1, 'the guard refused the cached rows')
    assert.ok(a.statements.includes('ent_load_batch'), 'then the batch was read')
    assert.equal(third.entitlements.chains.length, 1)
    assert.equal((await storedTransactions(tenant.appId, original)).length, 3)
    assert.equal(await ledgerCount(tenant.appId), 3, 'no entry was written twice')
    const events = await eventsOf(h, tenant.appId, buyer.profileId)
    assert.deepEqual(
      events.map((event) => event.eventType),
      [
        'subscription_started',
        'access_level_updated',
        'subscription_renewed',
        'access_level_updated',
        'subscription_renewed',
        'access_level_updated',
      ],
    )
    assert.deepEqual(
      events.map((event) => event.profileSeq),
      [1, 2, 3, 4, 5, 6],
    )
    await assertProjectionIsTheFold(tenant.appId)
  })

  it('tell the profile as it is now, after a change through the profile API', async () => {
    const tenant = await h.createTenant('cache-profile-change')
    const buyer = await newProfile(tenant)
    const a = startProcess()
    const original = uniqueTransactionId('chain')
    await write(a, tenant, buyer.profileId, renewal(original, 0))
    const patched = await tenant.api({
      method: 'PATCH',
      path: '/profile/',
      headers: buyer.headers,
      body: { email: 'changed@example.com' },
    })
    assert.equal(patched.statusCode, 200, patched.body)
    await write(a, tenant, buyer.profileId, renewal(original, 1))
    assert.equal(a.service.batchCacheStats().refused, 1)
    const last = (await eventsOf(h, tenant.appId, buyer.profileId)).at(-1)
    assert.equal(last?.payload.email, 'changed@example.com')
  })

  it('follow a catalog change made after the rows were cached', async () => {
    const tenant = await h.createTenant('cache-catalog-change')
    const buyer = await newProfile(tenant)
    const a = startProcess()
    const original = uniqueTransactionId('chain')
    const first = await write(
      a,
      tenant,
      buyer.profileId,
      renewal(original, 0, { store_product_id: 'com.example.gold' }),
    )
    assert.equal(first.entitlements.chains[0]?.accessLevelId, 'premium')
    await createAccessLevel(h, tenant.appId, 'gold')
    await createProduct(h, tenant.appId, {
      product_id: 'gold_monthly',
      access_level_id: 'gold',
      type: 'subscription',
      period: 'P1M',
      store_products: [{ store: 'app_store', store_product_id: 'com.example.gold' }],
    })
    const second = await write(
      a,
      tenant,
      buyer.profileId,
      renewal(original, 1, { store_product_id: 'com.example.gold' }),
    )
    assert.ok(a.service.batchCacheStats().refused >= 1)
    assert.deepEqual(
      second.entitlements.chains.map((chain) => chain.accessLevelId),
      ['gold'],
    )
  })

  it('price a transaction at the exchange rate set after the rows were cached', async () => {
    const tenant = await h.createTenant('cache-settings-change')
    const buyer = await newProfile(tenant)
    const a = startProcess()
    const original = uniqueTransactionId('chain')
    await write(a, tenant, buyer.profileId, renewal(original, 0))
    await setExchangeRates(h, tenant.appId, { EUR: 2 })
    const renewed = renewal(original, 1, { price: { country: 'DE', currency: 'EUR', value: 10 } })
    await write(a, tenant, buyer.profileId, renewed)
    assert.equal(a.service.batchCacheStats().refused, 1)
    const stored = (await storedTransactions(tenant.appId)).find(
      (row) => row.storeTransactionId === renewed.store_transaction_id,
    )
    assert.equal(stored?.priceUsd, 20)
  })

  it('update in place a transaction another process stored, instead of adding it again', async () => {
    const tenant = await h.createTenant('cache-known-transaction')
    const buyer = await newProfile(tenant)
    const [a, b] = [startProcess(), startProcess()]
    await write(a, tenant, buyer.profileId, renewal(uniqueTransactionId('chain'), 0))
    const other = uniqueTransactionId('chain')
    const body = renewal(other, 0)
    await write(b, tenant, buyer.profileId, body)
    const cancelled = await write(a, tenant, buyer.profileId, { ...body, renew_status: false })
    assert.equal(a.service.batchCacheStats().refused, 1)
    assert.equal(cancelled.entitlements.chains.length, 2)
    assert.equal(
      cancelled.entitlements.chains.find((chain) => chain.latest.storeOriginalTransactionId === other)?.latest
        .renewStatus,
      false,
    )
    assert.equal(await ledgerCount(tenant.appId), 3)
    await assertProjectionIsTheFold(tenant.appId)
  })

  it('stay consistent when two processes renew the same chain at once', async () => {
    const tenant = await h.createTenant('cache-race')
    const buyer = await newProfile(tenant)
    const [a, b] = [startProcess(), startProcess()]
    const original = uniqueTransactionId('chain')
    await write(a, tenant, buyer.profileId, renewal(original, 0))
    await write(b, tenant, buyer.profileId, renewal(original, 1))
    for (let n = 2; n < 12; n += 2) {
      await Promise.all([
        write(a, tenant, buyer.profileId, renewal(original, n)),
        write(b, tenant, buyer.profileId, renewal(original, n + 1)),
      ])
    }
    assert.equal(await ledgerCount(tenant.appId), 12)
    const events = await eventsOf(h, tenant.appId, buyer.profileId)
    assert.deepEqual(
      events.map((event) => event.profileSeq),
      events.map((_, index) => index + 1),
    )
    const stored = await storedTransactions(tenant.appId)
    assert.equal(stored.length, 12)
    await assertProjectionIsTheFold(tenant.appId)
  })
})
