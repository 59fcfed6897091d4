import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, type Socket, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { createBenchApp } from './bench-api.ts'
import { freePort, REPO_ROOT } from './child-servers.ts'
import { runLoad } from './load.ts'
import { cpuTicks, postgresPids, TICKS_PER_SECOND, totalTicks } from './process-cpu.ts'
import { SCENARIOS } from './scenarios.ts'

/**
 * Where a set transaction's time goes, on PostgreSQL (not part of `npm run bench`):
 *
 *   npx tsx bench/profile-set-transaction.ts
 *
 * Starts Entitle on a scratch database (created and dropped here) behind a counting TCP proxy, then
 * 1. sends set transactions one at a time and counts, per request, the statements the server runs
 *    (Execute and simple Query messages) with the time each waited for PostgreSQL, the round trips it waits
 *    for (message bursts sent while no answer was pending), the rows and WAL bytes it adds (WAL by table and
 *    index when pg_walinspect is available), and the WAL of one single-row INSERT for scale;
 * 2. runs the bench's set-transaction load for BENCH_PROFILE_SECONDS (default 10) with the server under
 *    `node --cpu-prof`, samples how the CPU is shared between Entitle, PostgreSQL and this process, and
 *    prints the functions and packages that take the server's CPU time. With KEEP_PROFILE=1 the
 *    .cpuprofile files are kept (their directory is printed) for a closer look, in Chrome's DevTools say.
 */

const BASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 10)
const DATABASE = `entitle_bench_profile_${process.pid}`

function log(line: string): void {
  process.stdout.write(`${line}\n`)
}

interface StatementStats {
  executions: number
  /** Time from sending the flight the statement was in to its ReadyForQuery, split between its statements. */
  waitMs: number
}

/**
 * Counts PostgreSQL protocol messages from the client, per connection, without changing a byte: statements
 * (Execute, simple Query) by text, and flights (messages sent while no answer was pending, i.e. round trips
 * the server waited for) with the time until PostgreSQL answered them.
 */
class CountingProxy {
  statements = 0
  flights = 0
  parses = 0
  waitMs = 0
  byStatement = new Map<string, StatementStats>()
  private server = createServer((client) => this.accept(client))

  constructor(private target: { host: string; port: number }) {}

  listen(port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', () => resolve()))
  }

  close(): void {
    this.server.close()
  }

  private accept(client: Socket): void {
    const upstream = tcpConnect(this.target.port, this.target.host)
    // No Nagle on either leg: a pipelined burst held back for an ACK would add delays the driver never sees.
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    const texts = new Map<string, string>()
    let started = false
    let pending = 0
    let flight: { startedAt: number; names: string[] } | null = null
    let boundName = ''
    let buffered = Buffer.alloc(0)
    let serverBuffered = Buffer.alloc(0)
    const cstring = (data: Buffer, offset: number): [string, number] => {
      const end = data.indexOf(0, offset)
      return [data.toString('utf8', offset, end), end + 1]
    }
    const shorten = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 90)
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk)
      buffered = Buffer.concat([buffered, chunk])
      for (;;) {
        if (!started) {
          if (buffered.length < 4) break
          const length = buffered.readInt32BE(0)
          if (buffered.length < length) break
          buffered = buffered.subarray(length)
          started = true
          continue
        }
        if (buffered.length < 5) break
        const type = String.fromCharCode(buffered[0] as number)
        const length = buffered.readInt32BE(1)
        if (buffered.length < 1 + length) break
        const message = buffered.subarray(5, 1 + length)
        buffered = buffered.subarray(1 + length)
        if (type === 'P') {
          this.parses += 1
          const [name, next] = cstring(message, 0)
          texts.set(name, shorten(cstring(message, next)[0]))
        } else if (type === 'B') {
          const [, next] = cstring(message, 0)
          const [name] = cstring(message, next)
          boundName = texts.get(name) ?? name
        }
        if (type === 'E' || type === 'Q') {
          const text = type === 'Q' ? shorten(cstring(message, 0)[0]) : boundName
          this.statements += 1
          if (pending === 0 && flight === null) {
            flight = { startedAt: performance.now(), names: [] }
            this.flights += 1
          }
          flight?.names.push(text)
        }
        if (type === 'S' || type === 'Q') pending += 1
      }
    })
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk)
      serverBuffered = Buffer.concat([serverBuffered, chunk])
      for (;;) {
        if (serverBuffered.length < 5) break
        const type = String.fromCharCode(serverBuffered[0] as number)
        const length = serverBuffered.readInt32BE(1)
        if (serverBuffered.length < 1 + length) break
        serverBuffered = serverBuffered.subarray(1 + length)
        if (type !== 'Z') continue
        pending = Math.max(0, pending - 1)
        if (pending === 0 && flight) {
          const elapsed = performance.now() - flight.startedAt
          this.waitMs += elapsed
          for (const name of flight.names) {
            const stats = this.byStatement.get(name) ?? { executions: 0, waitMs: 0 }
            stats.executions += 1
            stats.waitMs += elapsed / flight.names.length
            this.byStatement.set(name, stats)
          }
          flight = null
        }
      }
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end)
    upstream.on('error', end)
    client.on('close', end)
    upstream.on('close', end)
  }
}

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

/** Monotonic microseconds, the clock V8 stamps profile samples with (CLOCK_MONOTONIC on Linux). */
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n)

/** Self time by function and by package of a .cpuprofile, for the samples between `from` and `to`. */
function summariseProfile(path: string, from: number, to: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as {
    nodes: ProfileNode[]
    startTime: number
    samples: number[]
    timeDeltas: number[]
  }
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfMicros = new Map<number, number>()
  let at = profile.startTime
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0
    at += delta
    if (at < from || at > to) return
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta)
  })
  const byFunction = new Map<string, number>()
  const byPackage = new Map<string, number>()
  let total = 0
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)?.callFrame
    if (!frame) continue
    total += micros
    const url = frame.url.replace(`file://${REPO_ROOT}`, '')
    const where = url === '' ? '' : ` ${url}:${frame.lineNumber + 1}`
    const name = `${frame.functionName || '(anonymous)'}${where}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros)
    const pkg =
      url === ''
        ? frame.functionName.startsWith('(')
          ? frame.functionName
          : '(native)'
        : url.startsWith('node:')
          ? 'node internals'
          : (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? url.split('/').slice(0, 4).join('/'))
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros)
  }
  const top = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, micros]) => `  ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`)
  log(
    `\nEntitle's CPU profile during the load (${(total / 1e6).toFixed(1)} s sampled), self time by package or file:`,
  )
  for (const line of top(byPackage, 20)) log(line)
  log('\nself time by function:')
  for (const line of top(byFunction, 30)) log(line)
}

/** The current WAL insert position. */
async function walPosition(sql: postgres.Sql): Promise<string> {
  const [row] = await sql.unsafe<{ at: string }[]>('select pg_current_wal_insert_lsn()::text as at')
  return row?.at ?? '0/0'
}

async function walBytesBetween(sql: postgres.Sql, from: string, to: string): Promise<number> {
  const [row] = await sql.unsafe<{ bytes: string }[]>(
    'select pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::text as bytes',
    [from, to],
  )
  return Number(row?.bytes ?? 0)
}

/**
 * WAL between two positions by the table or index it was written for (the first block a record names;
 * TOAST shown under its table), when the pg_walinspect extension can be installed in the scratch database.
 */
async function walByRelation(sql: postgres.Sql, from: string, to: string, per: number): Promise<string[]> {
  try {
    await sql.unsafe('create extension if not exists pg_walinspect')
  } catch (error) {
    return [`(no WAL breakdown: ${(error as Error).message})`]
  }
  const rows = await sql.unsafe<{ what: string; records: string; bytes: string }[]>(
    `with r as (
       select record_length, resource_manager, record_type,
              (regexp_match(block_ref, 'rel \\d+/\\d+/(\\d+)'))[1]::oid as filenode
         from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
     )
     select coalesce(owner.relname || ' (toast)', c.relname, '(' || r.resource_manager || ')') || ': ' ||
              string_agg(distinct r.record_type, ', ') as what,
            count(*)::text as records, sum(r.record_length)::text as bytes
       from r
       left join pg_class c on c.relfilenode = r.filenode and r.filenode <> 0
       left join pg_class owner on owner.reltoastrelid = c.oid
      group by coalesce(owner.relname || ' (toast)', c.relname, '(' || r.resource_manager || ')')
      order by sum(r.record_length) desc
      limit 16`,
    [from, to],
  )
  return rows.map(
    (row) =>
      `    ${String(Math.round(Number(row.bytes) / per)).padStart(6)} bytes in` +
      ` ${(Number(row.records) / per).toFixed(1)} records  ${row.what}`,
  )
}

/** Rows of every table of the public schema (exact counts; the scratch database is small). */
async function rowCounts(sql: postgres.Sql): Promise<Map<string, number>> {
  const tables = await sql.unsafe<{ name: string }[]>(
    "select tablename as name from pg_tables where schemaname = 'public' order by 1",
  )
  const counts = new Map<string, number>()
  for (const { name } of tables) {
    const [row] = await sql.unsafe<{ count: string }[]>(`select count(*)::text as count from "${name}"`)
    counts.set(name, Number(row?.count ?? 0))
  }
  return counts
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Scratch databases of earlier runs that were stopped before they could drop their own. */
async function dropAbandonedDatabases(admin: postgres.Sql): Promise<void> {
  const rows = await admin<{ datname: string }[]>`
    select datname from pg_database where datname like 'entitle_bench_profile_%'`
  for (const { datname } of rows) {
    const pid = Number(datname.slice('entitle_bench_profile_'.length))
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) {
      await admin.unsafe(`drop database if exists ${datname} with (force)`)
    }
  }
}

async function main(): Promise<void> {
  const admin = postgres(BASE_URL, { max: 1, onnotice: () => {} })
  await dropAbandonedDatabases(admin)
  await admin.unsafe(`drop database if exists ${DATABASE}`)
  await admin.unsafe(`create database ${DATABASE}`)
  const target = new URL(BASE_URL)
  const proxyPort = await freePort()
  const proxy = new CountingProxy({ host: target.hostname, port: Number(target.port || 5432) })
  await proxy.listen(proxyPort)
  const databaseUrl = `postgres://${target.username}${target.password ? `:${target.password}` : ''}@127.0.0.1:${proxyPort}/${DATABASE}`
  const window = { from: 0, to: Number.MAX_SAFE_INTEGER }
  let scratch: postgres.Sql | undefined
  const profileDir = mkdtempSync(join(tmpdir(), 'entitle-cpu-prof-'))
  const port = await freePort()
  const adminToken = randomBytes(24).toString('base64url')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    PORT: String(port),
    HOST: '127.0.0.1',
  }
  delete env.DATA_DIR
  const child: ChildProcess = spawn(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--import', 'tsx', 'src/main.ts', 'serve'],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] },
  )
  // Whatever ends this script (a closed pipe such as `| head`, Ctrl-C) must not leave the server running.
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const baseUrl = `http://127.0.0.1:${port}`
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        if ((await fetch(`${baseUrl}/health`)).status === 200) break
      } catch {}
      if (attempt > 300) throw new Error('Entitle did not start')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    scratch = postgres(`${BASE_URL.replace(/\/[^/]*$/, '')}/${DATABASE}`, { max: 1, onnotice: () => {} })
    const app = await createBenchApp(baseUrl, adminToken)
    const scenario = SCENARIOS.find((candidate) => candidate.id === 'set-transaction')
    if (!scenario || !('prepare' in scenario)) throw new Error('no set-transaction scenario')
    const prepared = await scenario.prepare(baseUrl, app)
    const { request } = prepared
    const next = request.next as NonNullable<typeof request.next>

    // 1. One at a time: what one request costs in statements and round trips.
    const sequential = 200
    const before = { statements: proxy.statements, flights: proxy.flights, waitMs: proxy.waitMs }
    proxy.byStatement.clear()
    const rowsBefore = await rowCounts(scratch)
    const walBefore = await walPosition(scratch)
    const started = performance.now()
    for (let index = 0; index < sequential; index++) {
      const generated = next()
      const response = await fetch(`${baseUrl}${request.path}`, {
        method: 'POST',
        headers: { ...request.headers, ...generated.headers },
        body: generated.body,
      })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`set transaction answered ${response.status}`)
    }
    const elapsedMs = performance.now() - started
    const walAfter = await walPosition(scratch)
    const walBytes = await walBytesBetween(scratch, walBefore, walAfter)
    const rowsAfter = await rowCounts(scratch)
    log(
      `\n${sequential} set transactions one at a time: ${(elapsedMs / sequential).toFixed(2)} ms each, of which` +
        ` ${((proxy.waitMs - before.waitMs) / sequential).toFixed(2)} ms waiting for PostgreSQL;` +
        ` per request ${((proxy.statements - before.statements) / sequential).toFixed(1)} statements` +
        ` in ${((proxy.flights - before.flights) / sequential).toFixed(1)} sequential round trips:`,
    )
    for (const [text, stats] of [...proxy.byStatement.entries()].sort((a, b) => b[1].waitMs - a[1].waitMs)) {
      log(
        `  ${(stats.executions / sequential).toFixed(2)} x ${(stats.waitMs / stats.executions).toFixed(3)} ms  ${text}`,
      )
    }
    const grown = [...rowsAfter.entries()]
      .map(([table, count]) => [table, (count - (rowsBefore.get(table) ?? 0)) / sequential] as const)
      .filter(([, perRequest]) => perRequest > 0)
      .map(([table, perRequest]) => `${table} +${perRequest.toFixed(2)}`)
    log(
      `  WAL written: ${Math.round(walBytes / sequential)} bytes per request (whole cluster: keep it otherwise idle);` +
        ` rows per request: ${grown.join(', ')}; by relation:`,
    )
    for (const line of await walByRelation(scratch, walBefore, walAfter, sequential)) log(line)
    // The bench's baseline, for scale: the same body as one row of a scratch table, one statement each.
    await scratch.unsafe(
      'create table bench_single_row (store_transaction_id text primary key, customer_user_id text, body jsonb not null, created_at timestamptz not null default now())',
    )
    const insertWalBefore = await walPosition(scratch)
    for (let index = 0; index < sequential; index++) {
      const generated = next()
      await scratch.unsafe(
        'insert into bench_single_row (store_transaction_id, customer_user_id, body) values ($1, $2, $3::text::jsonb)',
        [`single-${index}`, generated.headers?.['adapty-customer-user-id'] ?? null, generated.body],
        { prepare: true },
      )
    }
    log(
      `  for scale, the bench's baseline (one single-row INSERT of the same body): ` +
        `${Math.round((await walBytesBetween(scratch, insertWalBefore, await walPosition(scratch))) / sequential)}` +
        ' bytes of WAL per request',
    )

    // 2. Under load, with the CPU profiler on.
    const pgPids = postgresPids()
    const ticks = {
      entitle: cpuTicks(child.pid ?? -1),
      postgres: totalTicks(pgPids),
      self: process.cpuUsage(),
    }
    const loadStarted = performance.now()
    window.from = monotonicMicros()
    const countedBefore = proxy.statements
    const result = await runLoad(baseUrl, request, {
      connections: 50,
      durationSeconds: SECONDS,
      maxRequests: 5_000_000,
    })
    window.to = monotonicMicros()
    const wallSeconds = (performance.now() - loadStarted) / 1000
    const hz = TICKS_PER_SECOND
    const entitleCpu = (cpuTicks(child.pid ?? -1) - ticks.entitle) / hz / wallSeconds
    const postgresCpu = (totalTicks(pgPids) - ticks.postgres) / hz / wallSeconds
    const selfUsage = process.cpuUsage(ticks.self)
    const selfCpu = (selfUsage.user + selfUsage.system) / 1e6 / wallSeconds
    log(
      `\nunder load (50 connections, ${SECONDS} s): ${result.requestsPerSecond} req/s, p50 ${result.p50Ms} ms,` +
        ` p99 ${result.p99Ms} ms, ${result.non2xx} non-2xx, ${result.errors} errors;` +
        ` ${((proxy.statements - countedBefore) / Math.max(1, result.totalRequests)).toFixed(1)} statements per request`,
    )
    log(
      `CPU used (cores): Entitle ${entitleCpu.toFixed(2)}, PostgreSQL (all backends) ${postgresCpu.toFixed(2)},` +
        ` load generator and proxy ${selfCpu.toFixed(2)}`,
    )
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
    proxy.close()
    await scratch?.end({ timeout: 1 })
    await admin.unsafe(`drop database if exists ${DATABASE} with (force)`).catch(() => {})
    await admin.end({ timeout: 1 })
  }
  try {
    // tsx's loader thread writes a profile of its own; the main thread's is the big one.
    const [main] = readdirSync(profileDir)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(profileDir, name))
      .sort((a, b) => statSync(b).size - statSync(a).size)
    if (main) summariseProfile(main, window.from, window.to)
    else log('no CPU profile was written')
  } finally {
    if (!process.env.KEEP_PROFILE) rmSync(profileDir, { recursive: true, force: true })
    else log(`profile kept in ${profileDir}`)
  }
}

// Exit (and so stop the server, above) on Ctrl-C, a kill, or a reader of the output that went away.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130))
process.stdout.on('error', () => process.exit(1))

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
