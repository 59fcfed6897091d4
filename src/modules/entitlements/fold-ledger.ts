import { applyEntry, emptyWorld, type World } from './apply-entry.ts'
import type { LedgerEntry } from './entitlement-model.ts'
import { EMPTY_ENTITLEMENTS } from './entitlement-model.ts'

/**
 * The projection computed from scratch: every ledger entry of an app, in ledger order, applied to an empty
 * world. A profile enters the world with its first entry (profiles are created outside the ledger) and
 * leaves it with `profile_deleted`. The stored projection must always equal this.
 */
export function foldLedger(entries: Iterable<LedgerEntry>): World {
  const world = emptyWorld()
  const deleted = new Set<string>()
  for (const entry of entries) {
    if (entry.kind === 'profile_deleted') deleted.add(entry.profileId)
    else if (!deleted.has(entry.profileId) && !world.profiles.has(entry.profileId)) {
      world.profiles.set(entry.profileId, {
        id: entry.profileId,
        customerUserId: null,
        entitlements: EMPTY_ENTITLEMENTS,
        totalRevenueUsd: 0,
      })
    }
    applyEntry(world, entry)
  }
  return world
}
