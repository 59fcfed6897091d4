import { availableParallelism } from 'node:os'
import type { Config } from '../config.ts'
import type { DatabaseTarget } from './open-database.ts'

/**
 * Connections per process when DATABASE_POOL_SIZE is unset. postgres.js pipelines queries on each
 * connection, so a few per core serve best: more PostgreSQL backends than cores only add context switches
 * (bench on 2 cores: 4 connections gave 14.3k GET profile/s, 10 gave 13.4k).
 */
export function defaultPoolSize(cores = availableParallelism()): number {
  return Math.max(4, 2 * cores)
}

/** PostgreSQL when DATABASE_URL is set; otherwise the embedded PGlite directory under DATA_DIR. */
export function databaseTargetFrom(config: Config): DatabaseTarget {
  return config.DATABASE_URL
    ? {
        engine: 'postgres',
        url: config.DATABASE_URL,
        poolSize: config.DATABASE_POOL_SIZE ?? defaultPoolSize(),
      }
    : { engine: 'pglite', dataDir: config.DATA_DIR }
}
