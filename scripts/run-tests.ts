/**
 * The test command (`npm test`): runs every test/**\/*.test.ts file with node:test through tsx. With
 * DATABASE_URL set, the same suite runs against that PostgreSQL database, which is emptied first.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import postgres from 'postgres'

function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return findTests(path)
    return name.endsWith('.test.ts') ? [path] : []
  })
}

async function resetPostgres(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} })
  try {
    await client.unsafe(
      'drop schema if exists public cascade; drop schema if exists drizzle cascade; create schema public;',
    )
  } finally {
    await client.end()
  }
}

const root = join(import.meta.dirname, '..')
const filter = process.argv.slice(2)
const files = findTests(join(root, 'test'))
  .map((file) => relative(root, file))
  .filter((file) => filter.length === 0 || filter.some((part) => file.includes(part)))
  .sort()

if (process.env.DATABASE_URL) await resetPostgres(process.env.DATABASE_URL)
process.stdout.write(
  `Running ${files.length} test files on ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite'}\n`,
)

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: process.env },
)
process.exit(result.status ?? 1)
