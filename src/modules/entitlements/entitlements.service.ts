import type { RawQuery } from '../../db/open-database.ts'
import type { Clock } from '../../platform/clock.ts'
import type { IdGenerator } from '../../platform/ids.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import { checkMatches, type Identification, lookupKey } from '../profiles/profile-identity.ts'
import type { GrantRequest, NormalizedTransaction, RevokeRequest } from '../purchases/transaction-rules.ts'
import { applyEntry, chainEndEvents, type EventDraft, type World } from './apply-entry.ts'
import {
  type ChainState,
  chainKeyOf,
  type GrantEntry,
  type LedgerEntry,
  type RevokeEntry,
} from './entitlement-model.ts'
import type {
  ChainRow,
  EntitlementsRepository,
  JobRow,
  LockedProfile,
  NewJob,
} from './entitlements.repository.ts'
import { buildEvent } from './event-payloads.ts'
import { chainAccessEnd, grantEnd } from './render-entitlements.ts'
import { checkRevoke, type RevokeFailure } from './revoke-rules.ts'
import { type BatchFailure, createTransactionBatcher } from './transaction-batches.ts'

export type PurchaseFailure =
  | BatchFailure
  | { kind: 'paid_access_level_does_not_exist'; accessLevelId: string }
  | RevokeFailure

/** What the purchase routes answer with: the profile as it is after the write. */
export type PurchasedProfile = LockedProfile

export interface EntitlementsServiceDeps {
  repo: EntitlementsRepository
  clock: Clock
  ids: IdGenerator
}

export const CHAIN_END_JOB = 'chain_end'
export const GRANT_START_JOB = 'grant_start'
export const REVOKE_JOB = 'revoke'

/**
 * Stores report a renewal around the moment the period ends, sometimes a little after it. An auto-renewing
 * subscription is told expired only when no renewal has come this long after its end; the event still
 * carries the end as its business time. Access itself (expires_at) is never stretched by this.
 */
export const RENEWAL_LEEWAY_MS = 60 * 60 * 1000

export function endEventsDueAt(chain: ChainState, end: string): string {
  const txn = chain.latest
  const expectsRenewal = txn.renewStatus && txn.billingIssueDetectedAt === null && txn.refundedAt === null
  return expectsRenewal ? new Date(Date.parse(end) + RENEWAL_LEEWAY_MS).toISOString() : end
}

export function createEntitlementsService({ repo, clock, ids }: EntitlementsServiceDeps) {
  /** The locked profiles as the reducer's world; callers add the chains they loaded. */
  function worldOf(profiles: Map<string, LockedProfile>): World {
    return { chains: new Map(), transactions: new Map(), profiles: new Map(profiles) }
  }

  /**
   * Turns drafts into stored events: numbered per profile, with the payload built from the state after the
   * change, and each profile's `profiles_sharing_access_level` from the chain's holders.
   */
  function buildEvents(
    drafts: EventDraft[],
    profiles: Map<string, LockedProfile>,
    world: World,
    at: string,
  ): (ReturnType<typeof buildEvent> & { profileSeq: number })[] {
    const built: (ReturnType<typeof buildEvent> & { profileSeq: number })[] = []
    for (const draft of drafts) {
      const profile = profiles.get(draft.profileId)
      if (!profile) continue
      profile.eventSeq += 1
      const chain = draft.transaction ? world.chains.get(draft.transaction.chainKey) : undefined
      const sharingChain =
        chain ??
        [...world.chains.values()].find(
          (candidate) =>
            candidate.holders.includes(profile.id) && candidate.product.accessLevelId === draft.accessLevelId,
        )
      const others = (sharingChain?.holders ?? []).filter((id) => id !== profile.id && profiles.has(id))
      const sharing =
        others.length > 0
          ? others.map((id) => ({
              profile_id: id,
              customer_user_id: profiles.get(id)?.customerUserId ?? null,
            }))
          : null
      const event = buildEvent(draft, { id: ids.uuid(), at, profile, sharing })
      built.push({
        id: event.id,
        profileId: event.profileId,
        eventType: event.eventType,
        eventDatetime: event.eventDatetime,
        environment: event.environment,
        payload: event.payload,
        profileSeq: profile.eventSeq,
      })
    }
    return built
  }

  /** Builds the events and writes every change of one write in one statement. */
  async function persist(
    query: RawQuery,
    appId: string,
    write: {
      entry: LedgerEntry | null
      world: World
      profiles: Map<string, LockedProfile>
      drafts: EventDraft[]
      jobs?: NewJob[]
      chain?: ChainRow
      doneJobId?: string
      at: string
    },
  ): Promise<void> {
    const events = buildEvents(write.drafts, write.profiles, write.world, write.at)
    await repo.writeChanges(query, appId, {
      entries: write.entry ? [write.entry] : [],
      chains: write.chain ? [write.chain] : [],
      transactions: [],
      profiles: [...write.profiles.values()].filter((profile) => write.world.profiles.has(profile.id)),
      events,
      jobs: write.jobs ?? [],
      doneJobIds: write.doneJobId ? [write.doneJobId] : [],
      at: write.at,
    })
  }

  function chainJobs(
    world: World,
    chainKey: string,
    chain: ChainState,
    row: ChainRow,
    now: string,
  ): { drafts: EventDraft[]; jobs: NewJob[] } {
    const end = chainAccessEnd(chain)
    if (end === null || chain.latest.refundedAt !== null || row.endEventsWrittenFor === end) {
      return { drafts: [], jobs: [] }
    }
    const due = endEventsDueAt(chain, end)
    if (due <= now) {
      row.endEventsWrittenFor = end
      return { drafts: chainEndEvents(world, chainKey, chain, end), jobs: [] }
    }
    const parent = chain.holders[0]
    if (parent === undefined) return { drafts: [], jobs: [] }
    const subject = JSON.stringify([chain.store, chain.storeOriginalTransactionId])
    return {
      drafts: [],
      jobs: [{ id: ids.uuid(), profileId: parent, kind: CHAIN_END_JOB, subject, dueAt: due }],
    }
  }

  /**
   * Grant and revoke: one profile, one ledger entry, and a job for the moment the entry takes effect when
   * that is later than now.
   */
  function writeProfileEntry(
    appId: string,
    identification: Identification,
    now: string,
    build: (
      profile: LockedProfile,
    ) => Result<
      { entry: GrantEntry | RevokeEntry; effectiveAt: { kind: string; at: string } },
      PurchaseFailure
    >,
  ): Promise<Result<PurchasedProfile, PurchaseFailure>> {
    return repo.transaction(async (query) => {
      const target = checkMatches(
        identification,
        await repo.lockIdentifiedProfile(query, appId, lookupKey(identification)),
      )
      if (!target.ok) return fail({ kind: target.error })
      const profile = target.value
      const profiles = new Map([[profile.id, profile]])
      const built = build(profile)
      if (!built.ok) return built
      const { entry, effectiveAt } = built.value
      const world = worldOf(profiles)
      const drafts = applyEntry(world, entry)
      const jobs: NewJob[] =
        effectiveAt.at > now
          ? [
              {
                id: ids.uuid(),
                profileId: profile.id,
                kind: effectiveAt.kind,
                subject: entry.accessLevelId,
                dueAt: effectiveAt.at,
              },
            ]
          : []
      await persist(query, appId, { entry, world, profiles, drafts, jobs, at: now })
      return ok(profile)
    })
  }

  const batcher = createTransactionBatcher({ repo, clock, ids, chainJobs, buildEvents })

  return {
    /** Waits for set transactions still being written (shutdown). */
    drain: () => batcher.drain(),

    /** Batches written from the cache, with a read first, and refused by the guard (batch-cache.ts). */
    batchCacheStats: () => batcher.cacheStats(),

    /** Written in a batch with the set transactions that arrive meanwhile (transaction-batches.ts). */
    async setTransaction(
      appId: string,
      identification: Identification,
      txn: NormalizedTransaction,
    ): Promise<Result<PurchasedProfile, PurchaseFailure>> {
      return batcher.submit(appId, identification, txn)
    },

    /**
     * Set transaction for a store's history, oldest first, in one batch: one database transaction, and an
     * end that a later transaction of the same chain followed in time is no expiry. One result per transaction.
     */
    async setTransactions(
      appId: string,
      identification: Identification,
      txns: NormalizedTransaction[],
    ): Promise<Result<PurchasedProfile, PurchaseFailure>[]> {
      return batcher.submitGroup(appId, identification, txns)
    },

    async grant(
      appId: string,
      identification: Identification,
      request: GrantRequest,
    ): Promise<Result<PurchasedProfile, PurchaseFailure>> {
      const now = clock.now().toISOString()
      if (!(await repo.accessLevelExists(appId, request.accessLevelId))) {
        return fail({ kind: 'paid_access_level_does_not_exist', accessLevelId: request.accessLevelId })
      }
      const startsAt = request.startsAt ?? now
      return writeProfileEntry(appId, identification, now, (profile) =>
        ok({
          entry: {
            kind: 'grant',
            id: ids.uuid(),
            profileId: profile.id,
            recordedAt: now,
            accessLevelId: request.accessLevelId,
            startsAt,
            expiresAt: request.expiresAt,
          },
          effectiveAt: { kind: GRANT_START_JOB, at: startsAt },
        }),
      )
    },

    async revoke(
      appId: string,
      identification: Identification,
      request: RevokeRequest,
    ): Promise<Result<PurchasedProfile, PurchaseFailure>> {
      const now = clock.now().toISOString()
      if (!(await repo.accessLevelExists(appId, request.accessLevelId))) {
        return fail({ kind: 'paid_access_level_does_not_exist', accessLevelId: request.accessLevelId })
      }
      if (request.revokeAt !== null && request.revokeAt < now) return fail({ kind: 'value_error' })
      const revokeAt = request.revokeAt ?? now
      return writeProfileEntry(appId, identification, now, (profile) => {
        const allowed = checkRevoke(profile.entitlements, profile.id, request.accessLevelId, revokeAt, now)
        if (!allowed.ok) return allowed
        return ok({
          entry: {
            kind: 'revoke',
            id: ids.uuid(),
            profileId: profile.id,
            recordedAt: now,
            accessLevelId: request.accessLevelId,
            revokeAt,
          },
          effectiveAt: { kind: REVOKE_JOB, at: revokeAt },
        })
      })
    },

    /**
     * Runs jobs that have fallen due, one per transaction, and answers how many ran. Safe with any number of
     * processes: a job is claimed with FOR UPDATE SKIP LOCKED, and a chain being written right now is left
     * for the next round rather than waited for.
     */
    async runDueJobs(limit = 100): Promise<number> {
      let ran = 0
      while (ran < limit) {
        const now = clock.now().toISOString()
        const outcome = await repo.transaction(async (query) => {
          const job = await repo.claimDueJob(query, now)
          if (!job) return 'idle' as const
          return (await runJob(query, job)) ? ('ran' as const) : ('busy' as const)
        })
        if (outcome !== 'ran') break
        ran += 1
      }
      return ran
    },
  }

  /** Writes the events of one due job; false when its chain is being written and it should wait a round. */
  async function runJob(query: RawQuery, job: JobRow): Promise<boolean> {
    if (job.kind === CHAIN_END_JOB) {
      const [store, originalId] = JSON.parse(job.subject) as [string, string]
      if (!(await repo.tryLockChain(query, job.appId, store, originalId))) return false
      const chainRow = await repo.chain(query, job.appId, store, originalId)
      const chain = chainRow?.state
      const end = chain ? chainAccessEnd(chain) : null
      // No end any more, or already told: nothing left to do.
      if (!chainRow || !chain || end === null || chainRow.endEventsWrittenFor === end)
        return dropJob(query, job)
      const due = endEventsDueAt(chain, end)
      if (due !== job.dueAt) {
        // A renewal moved the end later and left the job here (writes move it only earlier): follow the end.
        if (due > job.dueAt && chain.latest.refundedAt === null) {
          await repo.moveJob(query, job.appId, job.id, due)
          return true
        }
        return dropJob(query, job)
      }
      const profiles = await repo.lockProfiles(query, job.appId, chain.holders)
      const world = worldOf(profiles)
      const chainKey = chainKeyOf(store, originalId)
      world.chains.set(chainKey, chain)
      const drafts = chainEndEvents(world, chainKey, chain, end)
      await persist(query, job.appId, {
        entry: null,
        world,
        profiles,
        drafts,
        chain: { state: chain, endEventsWrittenFor: end },
        doneJobId: job.id,
        at: clock.now().toISOString(),
      })
      return true
    }
    // A request may hold the profile while it moves this very job: never wait for it here.
    const profile = await repo.tryLockProfile(query, job.appId, job.profileId)
    if (profile === 'busy') return false
    if (!profile) return dropJob(query, job)
    const profiles = new Map([[profile.id, profile]])
    const accessLevelId = job.subject
    const due =
      job.kind === GRANT_START_JOB
        ? profile.entitlements.grants.some(
            (g) => g.accessLevelId === accessLevelId && g.startsAt === job.dueAt,
          )
        : profile.entitlements.grants.some(
            (g) => g.accessLevelId === accessLevelId && grantEnd(g) === job.dueAt,
          ) ||
          [...profile.entitlements.chains, ...profile.entitlements.purchases].some(
            (c) => c.accessLevelId === accessLevelId && c.revokedAt === job.dueAt,
          )
    if (!due) return dropJob(query, job)
    const drafts: EventDraft[] = [
      { profileId: profile.id, eventType: 'access_level_updated', eventDatetime: job.dueAt, accessLevelId },
    ]
    await persist(query, job.appId, {
      entry: null,
      world: worldOf(profiles),
      profiles,
      drafts,
      doneJobId: job.id,
      at: job.dueAt,
    })
    return true
  }

  /** A job the state no longer calls for: removed without a word. */
  async function dropJob(query: RawQuery, job: JobRow): Promise<true> {
    await repo.writeChanges(query, job.appId, {
      entries: [],
      chains: [],
      transactions: [],
      profiles: [],
      events: [],
      jobs: [],
      doneJobIds: [job.id],
      at: clock.now().toISOString(),
    })
    return true
  }
}

export type EntitlementsService = ReturnType<typeof createEntitlementsService>
