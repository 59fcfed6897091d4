import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts'
import { schema } from './schema-all.ts'

/** The one database type repositories accept; both engines' drivers satisfy it. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url))

// Any constant works; it only has to be the same in every Entitle process sharing one PostgreSQL.
const MIGRATION_LOCK_KEY = 724_113_901

/**
 * A statement run as-is on the driver, for the few hot read paths where building the query with drizzle
 * costs more than the database round trip (bench: 44% of the server's time on GET profile). `name` makes it
 * a prepared statement on PostgreSQL, parsed once per connection.
 */
export interface PreparedStatement {
  name: string
  text: string
}

export type RawQuery = <Row>(statement: PreparedStatement, values: unknown[]) => Promise<Row[]>

export interface DatabaseHandle {
  db: Database
  rawQuery: RawQuery
  /**
   * One transaction of raw statements, for write paths that run many small statements per request. Commits
   * when `work` resolves, rolls back when it throws. Cast int8 columns in SQL: the drivers disagree on them.
   * `finalQuery` runs a statement and commits right behind it: on PostgreSQL both go out together, and BEGIN
   * goes out with the first statement, so a read-then-write transaction costs two round trips, not four.
   * Nothing may run after `finalQuery`.
   */
  rawTransaction<T>(work: (query: RawQuery, finalQuery: RawQuery) => Promise<T>): Promise<T>
  engine: 'pglite' | 'postgres'
  /** A short human description for the startup log (never the password). */
  description: string
  migrate(): Promise<void>
  ping(): Promise<boolean>
  close(): Promise<void>
}

export type DatabaseTarget =
  | { engine: 'postgres'; url: string; poolSize: number }
  | { engine: 'pglite'; dataDir: string }
  | { engine: 'pglite-memory' }

export async function openDatabase(target: DatabaseTarget): Promise<DatabaseHandle> {
  return target.engine === 'postgres' ? openPostgres(target.url, target.poolSize) : openPglite(target)
}

async function openPglite(target: { engine: 'pglite'; dataDir: string } | { engine: 'pglite-memory' }) {
  let lock: DataDirLock | undefined
  let client: PGlite
  let description: string
  if (target.engine === 'pglite') {
    const dataDir = resolve(target.dataDir)
    mkdirSync(dataDir, { recursive: true })
    lock = lockDataDir(dataDir)
    try {
      client = await PGlite.create(resolve(dataDir, 'pg'))
    } catch (error) {
      lock.release()
      throw error
    }
    description = `embedded PGlite in ${dataDir}`
  } else {
    client = await PGlite.create()
    description = 'embedded PGlite in memory'
  }
  const db = drizzlePglite(client, { schema }) as unknown as Database
  let closed = false
  return {
    db,
    rawQuery: async <Row>(statement: PreparedStatement, values: unknown[]) =>
      (await client.query<Row>(statement.text, values)).rows,
    rawTransaction: <T>(work: (query: RawQuery, finalQuery: RawQuery) => Promise<T>) =>
      client.transaction((tx) => {
        const query = async <Row>(statement: PreparedStatement, values: unknown[]) =>
          (await tx.query<Row>(statement.text, values)).rows
        // PGlite runs in this process: there is no round trip to save, the commit follows `work`.
        let finished = false
        const finalQuery = async <Row>(statement: PreparedStatement, values: unknown[]) => {
          if (finished) throw new Error('finalQuery ran twice in one transaction')
          finished = true
          return query<Row>(statement, values)
        }
        return work(query, finalQuery)
      }),
    engine: 'pglite' as const,
    description,
    // One process owns a PGlite directory (the lock above), so no migration lock is needed.
    migrate: () => migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_FOLDER }),
    ping: async () => {
      if (closed) return false
      try {
        await client.query('select 1')
        return true
      } catch {
        return false
      }
    },
    close: async () => {
      if (closed) return
      closed = true
      try {
        // fsync is off in PGlite; a checkpoint before closing leaves a directory that reopens cleanly.
        if (target.engine === 'pglite') await client.exec('CHECKPOINT')
        await client.close()
      } finally {
        lock?.release()
      }
    },
  }
}

async function openPostgres(url: string, poolSize: number): Promise<DatabaseHandle> {
  // postgres.js rather than pg: it pipelines queries on a connection and prepares statements once per
  // connection, which measured ~1.6x the requests per second of pg on GET profile (docs/operations.md).
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    connection: (await serverHasLz4(url)) ? { default_toast_compression: 'lz4' } : {},
  })
  const db = drizzlePostgres(client, { schema }) as unknown as Database
  let closed = false
  const parsed = new URL(url)
  return {
    db,
    // The driver's pending query is itself a promise: no wrapper, this runs on every GET profile.
    rawQuery: <Row>(statement: PreparedStatement, values: unknown[]) =>
      client.unsafe(statement.text, values as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      }) as unknown as Promise<Row[]>,
    rawTransaction: <T>(work: (query: RawQuery, finalQuery: RawQuery) => Promise<T>) =>
      pipelinedTransaction(client, work),
    engine: 'postgres',
    description: `PostgreSQL at ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
    migrate: async () => {
      // drizzle's migrate() takes no lock (drizzle#874). A session advisory lock on a client of its own, one
      // connection wide, makes concurrent starts wait for the first one instead of racing on the same DDL.
      const lockClient = postgres(url, { max: 1, onnotice: () => {} })
      try {
        await lockClient`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`
        await migratePostgres(drizzlePostgres(lockClient), { migrationsFolder: MIGRATIONS_FOLDER })
        await lockClient`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`
      } finally {
        await lockClient.end({ timeout: 5 })
      }
    },
    ping: async () => {
      if (closed) return false
      try {
        await client`select 1`
        return true
      } catch {
        return false
      }
    },
    close: async () => {
      if (closed) return
      closed = true
      await client.end({ timeout: 5 })
    },
  }
}

/**
 * Whether the server can compress with lz4 (PostgreSQL 14+ built with it, as the distributions' packages
 * are). Profile documents outgrow the 2 kB TOAST threshold, so every write compresses one and every read
 * decompresses it: lz4 did both in half the time of the default pglz. Asked once at startup, because a
 * connection that asks for a method the server lacks is refused.
 */
async function serverHasLz4(url: string): Promise<boolean> {
  const probe = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await probe<{ lz4: boolean }[]>`
      select 'lz4' = any(enumvals) as lz4 from pg_settings where name = 'default_toast_compression'`
    return row?.lz4 === true
  } finally {
    await probe.end({ timeout: 5 })
  }
}

/**
 * A transaction on a reserved connection whose BEGIN and COMMIT travel with the statements next to them.
 * postgres.js pipelines whatever is sent on one connection, and PostgreSQL runs it in order: a failed
 * statement turns the COMMIT behind it into a rollback (its command tag says so), which is reported as the
 * statement's error. Under a batch of set transactions this took two of the four round trips away.
 */
async function pipelinedTransaction<T>(
  client: postgres.Sql,
  work: (query: RawQuery, finalQuery: RawQuery) => Promise<T>,
): Promise<T> {
  const connection = await client.reserve()
  const run = <Row>(statement: PreparedStatement, values: unknown[]) =>
    connection.unsafe(statement.text, values as postgres.ParameterOrJSON<never>[], {
      prepare: true,
    }) as unknown as Promise<Row[]>
  let finished = false
  const begun = connection.unsafe('begin')
  // A failed BEGIN fails every statement queued behind it, and those failures reach `work`.
  begun.catch(() => {})
  const finalQuery = async <Row>(statement: PreparedStatement, values: unknown[]): Promise<Row[]> => {
    if (finished) throw new Error('finalQuery ran twice in one transaction')
    finished = true
    const [last, commit] = await Promise.allSettled([
      run<Row>(statement, values),
      connection.unsafe('commit'),
    ])
    if (last.status === 'rejected') throw last.reason
    if (commit.status === 'rejected') throw commit.reason
    if ((commit.value as unknown as { command: string }).command !== 'COMMIT') {
      throw new Error(`transaction ended with ${(commit.value as unknown as { command: string }).command}`)
    }
    return last.value
  }
  try {
    const result = await work(run, finalQuery)
    await begun
    if (!finished) {
      finished = true
      await connection.unsafe('commit')
    }
    return result
  } catch (error) {
    if (!finished) await connection.unsafe('rollback').catch(() => {})
    throw error
  } finally {
    connection.release()
  }
}
