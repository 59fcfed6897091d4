import type { Result } from '../../platform/result.ts'
import type { Identification } from '../profiles/profile-identity.ts'
import type { NormalizedTransaction } from '../purchases/transaction-rules.ts'
import type { BatchDeps, BatchFailure, Pending } from './apply-batch.ts'
import { createBatchCache } from './batch-cache.ts'
import { inFlightKeys, writeBatch } from './batch-writes.ts'
import type { LockedProfile } from './entitlements.repository.ts'

export type { BatchFailure } from './apply-batch.ts'

/**
 * Set transactions are written in batches: requests that arrive while a batch is being written wait for the
 * next one, which locks all their chains, reads all their rows in one round trip, applies them one after
 * the other in arrival order, and writes every change in one statement and one commit. Under load this is
 * what lets a write cost a fraction of a round trip; alone, a request is a batch of one. When every row a
 * batch needs is one this process wrote last, the read is skipped: the batch is computed from the cache's
 * copies and sent with a guard that they are current (batch-writes.ts, batch-cache.ts).
 *
 * A batch starts once the requests read from the sockets in the same turn of the event loop have all been
 * submitted (setImmediate), not with the first of them: started at once, the first request of a burst went
 * alone, took a database connection and a commit of its own, and left the rest of the burst to the next
 * batch (batches of one alternating with large ones; about a tenth fewer set transactions per second).
 */

const MAX_BATCH = 64
const MAX_BATCHES_IN_FLIGHT = 2

export function createTransactionBatcher(deps: BatchDeps) {
  const cache = createBatchCache()
  const busy = inFlightKeys()
  const queue: Pending[] = []
  let inFlight = 0
  let idle: (() => void)[] = []
  let pumpScheduled = false

  function pumpSoon(): void {
    if (pumpScheduled) return
    pumpScheduled = true
    setImmediate(() => {
      pumpScheduled = false
      pump()
    })
  }

  function pump(): void {
    while (inFlight < MAX_BATCHES_IN_FLIGHT && queue.length > 0) {
      // One app per batch: every statement is scoped by app.
      const appId = (queue[0] as Pending).appId
      const batch: Pending[] = []
      for (let i = 0; i < queue.length && batch.length < MAX_BATCH; ) {
        const pending = queue[i] as Pending
        if (pending.appId === appId) {
          const members = pending.group ? queue.filter((other) => other.group === pending.group) : [pending]
          batch.push(...members)
          for (const member of members) queue.splice(queue.indexOf(member), 1)
        } else i += 1
      }
      inFlight += 1
      void runBatch(appId, batch).finally(() => {
        inFlight -= 1
        pump()
        if (inFlight === 0 && queue.length === 0) {
          for (const wake of idle) wake()
          idle = []
        }
      })
    }
  }

  async function runBatch(appId: string, batch: Pending[]): Promise<void> {
    try {
      const results = await writeBatch(deps, appId, batch, cache, busy)
      for (const [index, pending] of batch.entries()) {
        pending.resolve(results[index] as Result<LockedProfile, BatchFailure>)
      }
    } catch (error) {
      const units: Pending[][] = []
      for (const pending of batch) {
        const last = units.at(-1)
        if (last && pending.group !== undefined && last[0]?.group === pending.group) last.push(pending)
        else units.push([pending])
      }
      if (units.length === 1) {
        for (const pending of batch) pending.reject(error)
        return
      }
      // One request's trouble (a deadlock, a bad row) must not fail the others: each (a group whole) is
      // tried alone.
      for (const unit of units) {
        try {
          const results = await writeBatch(deps, appId, unit, cache, busy)
          for (const [index, pending] of unit.entries()) {
            pending.resolve(results[index] as Result<LockedProfile, BatchFailure>)
          }
        } catch (single) {
          for (const pending of unit) pending.reject(single)
        }
      }
    }
  }

  return {
    /** How often batches were written from the cache (hits), read first (misses), or refused by the guard. */
    cacheStats: () => cache.stats(),

    /** Resolves once every submitted transaction is written: the server waits for it before closing the database. */
    drain(): Promise<void> {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve()
      return new Promise((resolve) => idle.push(resolve))
    },

    submit(appId: string, identification: Identification, txn: NormalizedTransaction) {
      return new Promise<Result<LockedProfile, BatchFailure>>((resolve, reject) => {
        queue.push({ appId, identification, txn, resolve, reject })
        pumpSoon()
      })
    },

    /** Several transactions written in one batch, in this order (an import of a store's history). */
    submitGroup(appId: string, identification: Identification, txns: NormalizedTransaction[]) {
      const group = {}
      const results = txns.map(
        (txn) =>
          new Promise<Result<LockedProfile, BatchFailure>>((resolve, reject) => {
            queue.push({ appId, identification, txn, group, resolve, reject })
          }),
      )
      pumpSoon()
      return Promise.all(results)
    },
  }
}
