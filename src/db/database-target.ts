import type { Config } from '../config.ts'
import type { DatabaseTarget } from './open-database.ts'

/** PostgreSQL when DATABASE_URL is set; otherwise the embedded PGlite directory under DATA_DIR. */
export function databaseTargetFrom(config: Config): DatabaseTarget {
  return config.DATABASE_URL
    ? { engine: 'postgres', url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE }
    : { engine: 'pglite', dataDir: config.DATA_DIR }
}
