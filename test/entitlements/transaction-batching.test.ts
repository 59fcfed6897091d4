import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { DatabaseHandle } from '../../src/db/open-database.ts'
import { createEntitlementsRepository } from '../../src/modules/entitlements/entitlements.repository.ts'
import { createEntitlementsService } from '../../src/modules/entitlements/entitlements.service.ts'
import type { SetTransactionBodyInput } from '../../src/modules/purchases/purchase-request.schemas.ts'
import { normalizeTransaction } from '../../src/modules/purchases/transaction-rules.ts'
import { systemClock } from '../../src/platform/clock.ts'
import { systemIds } from '../../src/platform/ids.ts'
import { buildTestApp } from '../support/harness.ts'
import { newProfile, subscriptionBody } from '../support/purchases.ts'

/**
 * Set transactions that arrive together are written together: a burst submitted in one turn of the event
 * loop is one database transaction, not a first request alone followed by the rest.
 */

const h = await buildTestApp()

function countingTransactions(database: DatabaseHandle) {
  const counter = { transactions: 0 }
  const counted: Pick<DatabaseHandle, 'rawQuery' | 'rawTransaction'> = {
    rawQuery: database.rawQuery,
    rawTransaction: (work) => {
      counter.transactions += 1
      return database.rawTransaction(work)
    },
  }
  return { counter, counted }
}

describe('set transaction batches', () => {
  it('write a burst submitted in one turn of the event loop in one database transaction', async () => {
    const tenant = await h.createTenant('batching-burst')
    const buyers = await Promise.all(Array.from({ length: 6 }, () => newProfile(tenant)))
    const { counter, counted } = countingTransactions(h.database)
    const entitlements = createEntitlementsService({
      repo: createEntitlementsRepository(counted),
      clock: systemClock,
      ids: systemIds,
    })
    const results = await Promise.all(
      buyers.map((buyer) => {
        const normalized = normalizeTransaction(
          subscriptionBody({ expires_at: '2099-01-01T00:00:00Z' }) as unknown as SetTransactionBodyInput,
        )
        assert.ok(normalized.ok)
        return entitlements.setTransaction(tenant.appId, { profileId: buyer.profileId }, normalized.value)
      }),
    )
    for (const result of results) assert.ok(result.ok, JSON.stringify(result))
    assert.equal(counter.transactions, 1)
  })
})
