import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { REPO_ROOT, rssMiB, type ServerChild, startServer, stopAllServers } from './child-servers.ts'
import { type LoadOptions, type LoadResult, type RequestSpec, runLoad, summarise } from './load.ts'
import {
  type EngineResult,
  resultsTable,
  type ScenarioResult,
  summaryLine,
  TARGET,
  verdictOf,
  writeJson,
} from './report.ts'
import { createBenchApp, type PreparedScenario, SCENARIOS, type Scenario } from './scenarios.ts'

/**
 * `npm run bench`: each scenario against a bare Fastify route sending the same bytes, on PostgreSQL and on
 * embedded PGlite. Both servers run as child processes on 127.0.0.1 while autocannon runs here; on a small
 * machine they share the CPUs, which is why only the ratio to a baseline measured in the same run is
 * comparable between machines, not the raw req/s.
 */

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`)
  return value
}

const options = {
  durationSeconds: intFromEnv('BENCH_DURATION_SECONDS', 8, 1),
  warmupSeconds: intFromEnv('BENCH_WARMUP_SECONDS', 2, 0),
  connections: intFromEnv('BENCH_CONNECTIONS', 50, 1),
  rounds: intFromEnv('BENCH_ROUNDS', 3, 1),
  // Far above what two cores can serve in one round; it only stops a runaway if something is misconfigured.
  maxRequestsPerRun: intFromEnv('BENCH_MAX_REQUESTS', 5_000_000, 1),
}
const POSTGRES_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const RESULTS_PATH = join(REPO_ROOT, 'bench-results', 'latest.json')
const ENTITLE_MAIN = 'src/main.ts'
const BARE_SERVER = 'bench/bare-server.ts'

const cleanups: Array<() => void> = []

function log(line: string): void {
  process.stdout.write(`${line}\n`)
}

/** Roughly how long the whole run takes, so the watchdog can stop a hung run without cutting a slow one. */
function estimatedSeconds(): number {
  const perScenario = 2 * options.warmupSeconds + 2 * options.rounds * options.durationSeconds + 10
  return 2 * (15 + SCENARIOS.length * perScenario)
}

async function postgresProblem(url: string): Promise<string | null> {
  const client = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await client`select 1`
    return null
  } catch (error) {
    return (error as Error).message || String(error)
  } finally {
    await client.end({ timeout: 1 }).catch(() => {})
  }
}

async function expectSameBody(bare: ServerChild, prepared: PreparedScenario): Promise<void> {
  const { request, referenceBody } = prepared
  const response = await fetch(`${bare.baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    signal: AbortSignal.timeout(5_000),
  })
  const text = await response.text()
  if (response.status !== 200 || text !== referenceBody) {
    throw new Error(
      `bare server answered ${response.status} with ${text.length} chars, not the reference body`,
    )
  }
}

async function measure(baseUrl: string, request: RequestSpec, load: LoadOptions): Promise<LoadResult> {
  const result = await runLoad(baseUrl, request, load)
  for (const problem of result.problems) log(`  !! ${baseUrl}: ${problem}`)
  return result
}

async function runScenario(
  engine: string,
  server: ServerChild,
  scenario: Scenario,
  prepared: PreparedScenario,
) {
  const bodyBytes = Buffer.byteLength(prepared.referenceBody)
  const bare = await startServer({
    name: 'bare fastify',
    script: BARE_SERVER,
    env: { BENCH_BARE_BODY: prepared.referenceBody, BENCH_BARE_PATH: prepared.request.path },
  })
  try {
    await expectSameBody(bare, prepared)
    const load = {
      connections: options.connections,
      durationSeconds: options.durationSeconds,
      maxRequests: options.maxRequestsPerRun,
    }
    if (options.warmupSeconds > 0) {
      // JIT, connection pools and PostgreSQL's caches settle before anything counts.
      const warmup = { ...load, durationSeconds: options.warmupSeconds }
      await runLoad(server.baseUrl, prepared.request, warmup)
      await runLoad(bare.baseUrl, prepared.request, warmup)
    }
    const productRounds: LoadResult[] = []
    const bareRounds: LoadResult[] = []
    for (let round = 0; round < options.rounds; round++) {
      // Interleaved, and alternating who goes first, so a drift in the machine (thermal, a neighbour,
      // PostgreSQL's autovacuum) lands on both sides instead of biasing the ratio.
      const productFirst = round % 2 === 0
      if (productFirst) productRounds.push(await measure(server.baseUrl, prepared.request, load))
      bareRounds.push(await measure(bare.baseUrl, prepared.request, load))
      if (!productFirst) productRounds.push(await measure(server.baseUrl, prepared.request, load))
      const last = productRounds.length - 1
      log(
        `  round ${round + 1}/${options.rounds}: ${scenario.label} ${productRounds[last]?.requestsPerSecond} req/s,` +
          ` bare ${bareRounds[last]?.requestsPerSecond} req/s`,
      )
    }
    const product = summarise(productRounds)
    const bareSummary = summarise(bareRounds)
    const ratio = product.requestsPerSecond / bareSummary.requestsPerSecond
    const result: ScenarioResult = {
      scenario: scenario.id,
      label: scenario.label,
      bodyBytes,
      product,
      bare: bareSummary,
      ratio,
      roundRatios: productRounds.map(
        (round, index) =>
          Math.round((round.requestsPerSecond / (bareRounds[index]?.requestsPerSecond ?? 1)) * 1000) / 1000,
      ),
      productRounds,
      bareRounds,
      verdict: verdictOf(engine === 'postgres' ? 'postgres' : 'pglite', product, bareSummary, ratio),
    }
    log(summaryLine(engine, result))
    if (result.verdict === 'INVALID')
      log(`  !! ${engine} ${scenario.label}: ${[...product.problems, ...bareSummary.problems].join('; ')}`)
    return { result, bareRssMiB: rssMiB(bare.pid) }
  } finally {
    await bare.stop()
  }
}

async function runEngine(
  engine: EngineResult['engine'],
  databaseEnv: Record<string, string>,
): Promise<EngineResult> {
  const adminToken = randomBytes(24).toString('base64url') // 32 characters
  log(`\n== ${engine}: starting Entitle`)
  let server: ServerChild
  try {
    server = await startServer({
      name: `entitle (${engine})`,
      script: ENTITLE_MAIN,
      args: ['serve'],
      env: { ...databaseEnv, ADMIN_TOKEN: adminToken, LOG_LEVEL: 'warn' },
    })
  } catch (error) {
    // The message carries the child's output; the other engine still gets its turn.
    log(`!! ${engine} did not start: ${(error as Error).message}`)
    return { engine, status: 'failed', reason: 'server did not start', scenarios: [] }
  }
  try {
    log(`   pid ${server.pid} on ${server.baseUrl}, RSS after start ${rssMiB(server.pid) ?? '?'} MiB`)
    const app = await createBenchApp(server.baseUrl, adminToken)
    const scenarios: ScenarioResult[] = []
    let bareRssMiB: number | null = null
    for (const scenario of SCENARIOS) {
      const prepared = await scenario.prepare(server.baseUrl, app)
      const outcome = await runScenario(engine, server, scenario, prepared)
      scenarios.push(outcome.result)
      bareRssMiB = outcome.bareRssMiB
    }
    const serverRssMiB = rssMiB(server.pid)
    log(
      `   memory after load: Entitle (${engine}) RSS ${serverRssMiB ?? '?'} MiB, bare Fastify RSS ${bareRssMiB ?? '?'} MiB`,
    )
    return { engine, status: 'measured', serverRssMiB, bareRssMiB, scenarios }
  } catch (error) {
    const reason = (error as Error).message
    log(`!! ${engine} failed: ${reason}\n--- server output (tail) ---\n${server.output()}`)
    return { engine, status: 'failed', reason: reason.split('\n')[0], scenarios: [] }
  } finally {
    await server.stop()
  }
}

async function main(): Promise<number> {
  const startedAt = new Date()
  log(
    `Entitle bench: ${options.connections} connections, ${options.rounds} interleaved rounds of ${options.durationSeconds} s` +
      ` (+${options.warmupSeconds} s warm-up) per target, scenarios: ${SCENARIOS.map((s) => s.label).join(', ')}.` +
      ` ${availableParallelism()} CPUs shared by load generator and servers. About ${Math.ceil(estimatedSeconds() / 60)} min.`,
  )
  // Anything else running (a test suite, a build) takes CPU from both sides unevenly; say so up front.
  const [busyBefore = 0] = loadavg()
  if (busyBefore > availableParallelism() / 2) {
    log(
      `Note: load average is ${busyBefore.toFixed(1)} before starting; other work on this machine skews results.`,
    )
  }
  const engines: EngineResult[] = []

  const unreachable = await postgresProblem(POSTGRES_URL)
  if (unreachable) {
    log(
      `\n== postgres: SKIPPED, cannot reach ${POSTGRES_URL.replace(/(\/\/[^:@/]*):[^@/]*@/, '$1:***@')}: ${unreachable}`,
    )
    engines.push({ engine: 'postgres', status: 'skipped', reason: 'PostgreSQL unreachable', scenarios: [] })
  } else {
    engines.push(await runEngine('postgres', { DATABASE_URL: POSTGRES_URL }))
  }

  const dataDir = mkdtempSync(join(tmpdir(), 'entitle-bench-'))
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true })
  cleanups.push(removeDataDir)
  try {
    engines.push(await runEngine('pglite', { DATA_DIR: dataDir }))
  } finally {
    removeDataDir()
  }

  log(`\n${resultsTable(engines)}`)
  log(
    `Targets (PostgreSQL, ${options.connections} connections): ratio >= ${TARGET.minRatio}, p99 < ${TARGET.maxP99Ms} ms.`,
  )
  writeJson(RESULTS_PATH, {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    loadAverageBefore: busyBefore,
    loadAverageAfter: loadavg()[0],
    options,
    target: TARGET,
    engines,
  })
  log(`Results written to ${RESULTS_PATH}`)
  const broken = engines.some(
    (engine) => engine.status === 'failed' || engine.scenarios.some((result) => result.verdict === 'INVALID'),
  )
  return broken ? 1 : 0
}

async function shutdown(code: number): Promise<never> {
  await stopAllServers()
  for (const cleanup of cleanups) {
    try {
      cleanup()
    } catch {}
  }
  process.exit(code)
}

process.once('SIGINT', () => {
  log('\nInterrupted: stopping servers.')
  void shutdown(130)
})
process.once('SIGTERM', () => void shutdown(143))
// A hung server or load run must not keep the bench alive forever.
const watchdog = setTimeout(
  () => {
    log(`\n!! bench exceeded ${2 * estimatedSeconds() + 60} s: stopping.`)
    void shutdown(1)
  },
  (2 * estimatedSeconds() + 60) * 1000,
)
watchdog.unref()

main().then(
  (code) => shutdown(code),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    return shutdown(1)
  },
)
