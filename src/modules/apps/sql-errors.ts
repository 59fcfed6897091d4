// PostgreSQL's errors arrive wrapped (drizzle's DrizzleQueryError has the driver's error as its cause), and
// the two drivers name the violated constraint differently: postgres.js `constraint_name`, PGlite `constraint`.

function* chain(error: unknown): Generator<Record<string, unknown>> {
  for (
    let current = error;
    current && typeof current === 'object';
    current = (current as { cause?: unknown }).cause
  )
    yield current as Record<string, unknown>
}

/** The SQLSTATE of the database error in `error`'s cause chain, if there is one. */
export function sqlStateOf(error: unknown): string | null {
  for (const link of chain(error)) {
    if (typeof link.code === 'string' && /^[0-9A-Z]{5}$/.test(link.code)) return link.code
  }
  return null
}

/** The name of the constraint the database error in `error`'s cause chain names, if any. */
export function constraintOf(error: unknown): string | null {
  for (const link of chain(error)) {
    const name = link.constraint_name ?? link.constraint
    if (typeof name === 'string') return name
  }
  return null
}

export const FOREIGN_KEY_VIOLATION = '23503'
export const UNIQUE_VIOLATION = '23505'
/** Two transactions waited on each other; PostgreSQL aborted one. Retrying it is safe. */
export const DEADLOCK_DETECTED = '40P01'
