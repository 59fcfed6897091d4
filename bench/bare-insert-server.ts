import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import Fastify from 'fastify'
import postgres from 'postgres'
import { defaultPoolSize } from '../src/db/database-target.ts'

/**
 * The baseline for write scenarios of `npm run bench`: a Fastify server with no plugins, hooks or schemas
 * whose route parses the JSON body it receives and INSERTs one row into a scratch table, then sends a fixed
 * answer. It uses the driver Entitle uses for the engine (postgres.js with the same pool size and prepared
 * statements, or PGlite in a directory of its own: a PGlite data directory cannot be shared between
 * processes), so the ratio to it isolates what Entitle adds on top of one durable single-row write.
 *
 * Env: PORT, HOST, BENCH_BARE_PATH (the route, POST), BENCH_BARE_BODY (the exact answer text),
 * BENCH_BARE_TABLE (the scratch table: created here, dropped on SIGTERM; the bench drops it too in case this
 * process is killed), and either DATABASE_URL (PostgreSQL) or DATA_DIR (a fresh PGlite directory).
 */
const body = process.env.BENCH_BARE_BODY
const path = process.env.BENCH_BARE_PATH
const table = process.env.BENCH_BARE_TABLE
const databaseUrl = process.env.DATABASE_URL
const dataDir = process.env.DATA_DIR
if (!body || !path || !table || !/^[a-z_][a-z0-9_]*$/.test(table) || !(databaseUrl || dataDir)) {
  process.stderr.write(
    'bare-insert-server: BENCH_BARE_BODY, BENCH_BARE_PATH, BENCH_BARE_TABLE ([a-z0-9_]) and DATABASE_URL or DATA_DIR are required\n',
  )
  process.exit(2)
}

interface Store {
  query(text: string, values: unknown[]): Promise<unknown>
  close(): Promise<void>
}

async function openStore(): Promise<Store> {
  if (databaseUrl) {
    // Entitle's pool size: DATABASE_POOL_SIZE when the caller's shell sets it (the bench passes it on to both
    // children), otherwise the same default.
    const poolSize = Number(process.env.DATABASE_POOL_SIZE) || defaultPoolSize()
    const client = postgres(databaseUrl, { max: poolSize, onnotice: () => {} })
    return {
      // As Entitle's rawQuery: the text is sent as a named prepared statement, parsed once per connection.
      query: (text, values) =>
        client.unsafe(text, values as postgres.ParameterOrJSON<never>[], { prepare: true }),
      close: () => client.end({ timeout: 5 }),
    }
  }
  const { PGlite } = await import('@electric-sql/pglite')
  const directory = resolve(dataDir as string)
  mkdirSync(directory, { recursive: true })
  const client = await PGlite.create(resolve(directory, 'pg'))
  return { query: (text, values) => client.query(text, values), close: () => client.close() }
}

const store = await openStore()
await store.query(
  `create table if not exists ${table} (
     store_transaction_id text primary key,
     customer_user_id text,
     body jsonb not null,
     created_at timestamptz not null default now()
   )`,
  [],
)
const INSERT = `insert into ${table} (store_transaction_id, customer_user_id, body) values ($1, $2, $3::text::jsonb)`

const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true } })

app.post(path, async (request, reply) => {
  const payload = request.body as { store_transaction_id?: unknown } | null
  const header = request.headers['adapty-customer-user-id']
  await store.query(INSERT, [
    String(payload?.store_transaction_id ?? ''),
    typeof header === 'string' ? header : null,
    JSON.stringify(payload),
  ])
  return reply.type('application/json; charset=utf-8').send(body)
})
app.get('/health', async () => ({ status: 'ok' }))

const shutdown = () => {
  app
    .close()
    .then(() => store.query(`drop table if exists ${table}`, []))
    .then(() => store.close())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    )
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' })
