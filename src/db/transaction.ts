import type { Result } from '../platform/result.ts'
import type { Database } from './open-database.ts'

class Rollback<E> extends Error {
  constructor(readonly failure: { ok: false; error: E }) {
    super('rolled back')
  }
}

/**
 * Runs `work` in one database transaction that commits when it answers ok and rolls back when it answers a
 * failure, which is then returned as a value. Thrown errors roll back and propagate.
 */
export async function resultTransaction<T, E>(
  db: Database,
  work: (tx: Database) => Promise<Result<T, E>>,
): Promise<Result<T, E>> {
  try {
    return await db.transaction(async (tx) => {
      const result = await work(tx as unknown as Database)
      if (!result.ok) throw new Rollback(result)
      return result
    })
  } catch (error) {
    if (error instanceof Rollback) return error.failure as { ok: false; error: E }
    throw error
  }
}

/** True when `error` (or the error drizzle wrapped) is PostgreSQL's unique_violation. */
export function isUniqueViolation(error: unknown): boolean {
  for (let current = error; current; current = (current as { cause?: unknown }).cause) {
    if ((current as { code?: unknown }).code === '23505') return true
  }
  return false
}

const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300'])
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  // postgres.js's own codes for a connection that is gone
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
])
const UNAVAILABLE_MESSAGES = /PGlite is closed/i

/** True when `error` means the database cannot be reached right now, rather than a bug in a query. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error; current; current = (current as { cause?: unknown }).cause) {
    const code = (current as { code?: unknown }).code
    if (
      typeof code === 'string' &&
      (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_NODE_CODES.has(code))
    ) {
      return true
    }
    if (current instanceof Error && UNAVAILABLE_MESSAGES.test(current.message)) return true
  }
  return false
}
