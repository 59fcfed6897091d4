import { and, eq, sql } from 'drizzle-orm'
import type { DatabaseHandle } from '../../db/open-database.ts'
import { idempotencyKeys } from '../../db/schema.ts'

/** What a finished request answered: replayed byte for byte to a repeat of it. */
export interface StoredAnswer {
  status: number
  headers: Record<string, string>
  /** The serialized body; null when the answer had none (204, a blank 200). */
  body: string | null
}

export type IdempotencyRecord =
  | { state: 'running'; requestHash: string }
  | { state: 'done'; requestHash: string; answer: StoredAnswer }

/**
 * The entry a request owns while it runs. `lease` is its locked_until as an ISO timestamp with microseconds,
 * different for every claim: completing or releasing the entry checks it, so a request whose lease was taken
 * over by another one cannot overwrite the new owner's entry.
 */
export interface IdempotencyClaim {
  appId: string
  key: string
  lease: string
}

export interface ClaimRequest extends IdempotencyClaim {
  requestHash: string
  now: Date
  expiresAt: Date
}

/**
 * The SQL of Idempotency-Key handling. Every method is one short statement: none holds a transaction open
 * while the request it guards runs (PGlite has a single connection).
 */
export function createIdempotencyRepository({ db }: Pick<DatabaseHandle, 'db'>) {
  const ofKey = (appId: string, key: string) =>
    and(eq(idempotencyKeys.appId, appId), eq(idempotencyKeys.key, key))
  const ownedBy = (claim: IdempotencyClaim) =>
    and(
      ofKey(claim.appId, claim.key),
      eq(idempotencyKeys.state, 'running'),
      sql`${idempotencyKeys.lockedUntil} = ${claim.lease}::timestamptz`,
    )

  return {
    /**
     * Makes the key the caller's: a new entry, or one that may be taken over (expired, or still running with a
     * passed lease for the same request: its process died). False when another live entry holds the key.
     */
    async claim(request: ClaimRequest): Promise<boolean> {
      const now = request.now.toISOString()
      const rows = await db
        .insert(idempotencyKeys)
        .values({
          appId: request.appId,
          key: request.key,
          requestHash: request.requestHash,
          state: 'running',
          lockedUntil: sql`${request.lease}::timestamptz`,
          createdAt: request.now,
          expiresAt: request.expiresAt,
        })
        .onConflictDoUpdate({
          target: [idempotencyKeys.appId, idempotencyKeys.key],
          set: {
            requestHash: sql`excluded.request_hash`,
            state: 'running',
            lockedUntil: sql`excluded.locked_until`,
            responseStatus: null,
            responseHeaders: null,
            responseBody: null,
            createdAt: sql`excluded.created_at`,
            expiresAt: sql`excluded.expires_at`,
          },
          setWhere: sql`${idempotencyKeys.expiresAt} <= ${now}::timestamptz or (
            ${idempotencyKeys.state} = 'running' and ${idempotencyKeys.lockedUntil} <= ${now}::timestamptz
            and ${idempotencyKeys.requestHash} = excluded.request_hash)`,
        })
        .returning({ key: idempotencyKeys.key })
      return rows.length > 0
    },

    /** The live entry of a key, or null when there is none (never used, released, or expired at `now`). */
    async find(appId: string, key: string, now: Date): Promise<IdempotencyRecord | null> {
      const [row] = await db
        .select({
          state: idempotencyKeys.state,
          requestHash: idempotencyKeys.requestHash,
          status: idempotencyKeys.responseStatus,
          headers: idempotencyKeys.responseHeaders,
          body: idempotencyKeys.responseBody,
        })
        .from(idempotencyKeys)
        .where(and(ofKey(appId, key), sql`${idempotencyKeys.expiresAt} > ${now.toISOString()}::timestamptz`))
      if (!row) return null
      if (row.state === 'done' && row.status !== null) {
        return {
          state: 'done',
          requestHash: row.requestHash,
          answer: { status: row.status, headers: row.headers ?? {}, body: row.body },
        }
      }
      return { state: 'running', requestHash: row.requestHash }
    },

    /** Stores the answer of a claimed entry; false when the claim was lost (its lease was taken over). */
    async complete(claim: IdempotencyClaim, answer: StoredAnswer): Promise<boolean> {
      const rows = await db
        .update(idempotencyKeys)
        .set({
          state: 'done',
          responseStatus: answer.status,
          responseHeaders: answer.headers,
          responseBody: answer.body,
        })
        .where(ownedBy(claim))
        .returning({ key: idempotencyKeys.key })
      return rows.length > 0
    },

    /** Frees a claimed key without an answer, so that a retry runs again; false when the claim was lost. */
    async release(claim: IdempotencyClaim): Promise<boolean> {
      const rows = await db
        .delete(idempotencyKeys)
        .where(ownedBy(claim))
        .returning({ key: idempotencyKeys.key })
      return rows.length > 0
    },

    /** Deletes up to `limit` entries expired at `now`, of every app; answers how many. */
    async purgeExpired(now: Date, limit = 1000): Promise<number> {
      const rows = await db
        .delete(idempotencyKeys)
        .where(
          sql`ctid in (select ctid from ${idempotencyKeys}
            where ${idempotencyKeys.expiresAt} <= ${now.toISOString()}::timestamptz limit ${limit})`,
        )
        .returning({ key: idempotencyKeys.key })
      return rows.length
    },
  }
}

export type IdempotencyRepository = ReturnType<typeof createIdempotencyRepository>
