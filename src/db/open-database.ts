import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'drizzle-orm'
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres'
import { migrate as migratePostgres } from 'drizzle-orm/node-postgres/migrator'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import pg from 'pg'
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts'
import { schema } from './schema.ts'

/** The one database type repositories accept; both engines' drivers satisfy it. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url))

// Any constant works; it only has to be the same in every Entitle process sharing one PostgreSQL.
const MIGRATION_LOCK_KEY = 724_113_901

export interface DatabaseHandle {
  db: Database
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
  const pool = new pg.Pool({ connectionString: url, max: poolSize })
  // An idle client that errors (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {})
  const db = drizzlePostgres(pool, { schema }) as unknown as Database
  let closed = false
  const parsed = new URL(url)
  return {
    db,
    engine: 'postgres',
    description: `PostgreSQL at ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
    migrate: async () => {
      // drizzle's migrate() takes no lock (drizzle#874); a session advisory lock on a dedicated client makes
      // concurrent starts wait for the first one to finish instead of racing on the same DDL.
      const lockClient = await pool.connect()
      try {
        await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
        await migratePostgres(drizzlePostgres(lockClient), { migrationsFolder: MIGRATIONS_FOLDER })
      } finally {
        await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {})
        lockClient.release()
      }
    },
    ping: async () => {
      if (closed) return false
      try {
        await db.execute(sql`select 1`)
        return true
      } catch {
        return false
      }
    },
    close: async () => {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}
