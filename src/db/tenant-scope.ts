import { type SQL, sql } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'

/**
 * The tenant test for a row looked up by its own primary key.
 *
 * `app_id IS NOT DISTINCT FROM $n` means `app_id = $n` for a NOT NULL column, but no index can serve it, so
 * the planner finds the row by its key and checks the app on that one row. With `=`, a table without
 * statistics (a new install before autovacuum's first ANALYZE, or a restored dump: PostgreSQL 15 restores
 * none) made the planner guess one row per app and walk every profile of the app through the
 * (app_id, customer_user_id) index, evaluating the id test on each: a batch of set transactions on an
 * app of 200 profiles read 600 of them and parsed its id list 200 times.
 */
export const sameAppSql = (column: string, parameter: string): string =>
  `${column} is not distinct from ${parameter}`

/** `sameAppSql` for the query builder. */
export const sameApp = (column: PgColumn, appId: string): SQL => sql`${column} is not distinct from ${appId}`
