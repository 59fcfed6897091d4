import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { startBaseline } from './baselines.ts'
import { createBenchApp, SET_TRANSACTION_MIX } from './bench-api.ts'
import { REPO_ROOT, rssMiB, type ServerChild, startServer, stopAllServers } from './child-servers.ts'
import { type LoadOptions, type LoadResult, type RequestSpec, runLoad, summarise } from './load.ts'
import {
  type EngineResult,
  resultsTable,
  type ScenarioResult,
  summaryLine,
  targetText,
  verdictOf,
  writeJson,
} from './report.ts'
import {
  type Engine,
  type LoadScenario,
  type PreparedScenario,
  SCENARIOS,
  type Scenario,
} from './scenarios.ts'

/**
 * `npm run bench`: each scenario against its baseline, on PostgreSQL and on embedded PGlite. The baselines
 * are a bare Fastify route sending the same bytes (reads), a bare Fastify route doing one single-row INSERT
 * into the same database engine (writes), or another request to the same server (cost growth). Servers run
 * as child processes on 127.0.0.1 while autocannon runs here; on a small machine they share the CPUs, which
 * is why only the ratio to a baseline measured in the same run is comparable between machines, not the raw
 * req/s.
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
  durationSeconds: intFromEnv('BENCH_DURATION_SECONDS', 5, 1),
  warmupSeconds: intFromEnv('BENCH_WARMUP_SECONDS', 2, 0),
  connections: intFromEnv('BENCH_CONNECTIONS', 50, 1),
  rounds: intFromEnv('BENCH_ROUNDS', 3, 1),
  // Far above what two cores can serve in one round; it only stops a runaway if something is misconfigured.
  maxRequestsPerRun: intFromEnv('BENCH_MAX_REQUESTS', 5_000_000, 1),
}

function listFromEnv<T extends string>(name: string, known: readonly T[]): T[] {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return [...known]
  const wanted = raw.split(',').map((item) => item.trim())
  const unknown = wanted.filter((item) => !known.includes(item as T))
  if (unknown.length > 0)
    throw new Error(`${name}: unknown ${unknown.join(', ')}; known: ${known.join(', ')}`)
  return known.filter((item) => wanted.includes(item))
}

/** BENCH_SCENARIOS / BENCH_ENGINES (comma lists) narrow a run while working on one path; default: all. */
const SELECTED_SCENARIOS = listFromEnv(
  'BENCH_SCENARIOS',
  SCENARIOS.map((scenario) => scenario.id),
).map((id) => SCENARIOS.find((scenario) => scenario.id === id) as Scenario)
const SELECTED_ENGINES = listFromEnv<Engine>('BENCH_ENGINES', ['postgres', 'pglite'])
const POSTGRES_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
// A narrowed run (BENCH_SCENARIOS, BENCH_ENGINES) goes to a file of its own: latest.json is always a full run.
const RESULTS_PATH = join(
  REPO_ROOT,
  'bench-results',
  SELECTED_SCENARIOS.length === SCENARIOS.length && SELECTED_ENGINES.length === 2
    ? 'latest.json'
    : 'partial.json',
)
const ENTITLE_MAIN = 'src/main.ts'

const cleanups: Array<() => void | Promise<void>> = []

function log(line: string): void {
  process.stdout.write(`${line}\n`)
}

/** Roughly how long the whole run takes, so the watchdog can stop a hung run without cutting a slow one. */
function estimatedSeconds(): number {
  // + setup: starting the baseline, and seeding (1,000 transactions for the growth scenario) on the slower engine.
  const perScenario = 2 * options.warmupSeconds + 2 * options.rounds * options.durationSeconds + 8
  return SELECTED_ENGINES.length * (10 + SELECTED_SCENARIOS.length * perScenario)
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

/**
 * A database of the run's own on the server of `url`, dropped at the end: every run starts from the same
 * empty tables (rows left by earlier runs would change what is measured), and the bench never touches the
 * database the test suite uses.
 */
async function createScratchDatabase(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `entitle_bench_${process.pid}_${Date.now().toString(36)}`
  const client = postgres(url, { max: 1, onnotice: () => {} })
  await client.unsafe(`create database ${name}`)
  let dropped = false
  const scratchUrl = new URL(url)
  scratchUrl.pathname = `/${name}`
  return {
    url: scratchUrl.toString(),
    drop: async () => {
      if (dropped) return
      dropped = true
      try {
        await client.unsafe(`drop database if exists ${name} with (force)`)
      } finally {
        await client.end({ timeout: 1 })
      }
    },
  }
}

async function measure(baseUrl: string, request: RequestSpec, load: LoadOptions): Promise<LoadResult> {
  const result = await runLoad(baseUrl, request, load)
  for (const problem of result.problems) log(`  !! ${baseUrl}: ${problem}`)
  return result
}

async function runScenario(
  engine: Engine,
  databaseEnv: Record<string, string>,
  server: ServerChild,
  scenario: LoadScenario,
  prepared: PreparedScenario,
) {
  const notes: string[] = []
  if (prepared.note) {
    notes.push(prepared.note)
    log(`  ${scenario.label}: ${prepared.note}`)
  }
  const baseline = await startBaseline(cleanups, engine, databaseEnv, server, prepared)
  try {
    const load = {
      connections: options.connections,
      durationSeconds: options.durationSeconds,
      maxRequests: options.maxRequestsPerRun,
    }
    if (options.warmupSeconds > 0) {
      // JIT, connection pools and PostgreSQL's caches settle before anything counts.
      const warmup = { ...load, durationSeconds: options.warmupSeconds }
      await runLoad(server.baseUrl, prepared.request, warmup)
      await runLoad(baseline.baseUrl, baseline.request, warmup)
    }
    const productRounds: LoadResult[] = []
    const baselineRounds: LoadResult[] = []
    for (let round = 0; round < options.rounds; round++) {
      // Interleaved, and alternating who goes first, so a drift in the machine (thermal, a neighbour,
      // PostgreSQL's autovacuum) lands on both sides instead of biasing the ratio.
      const productFirst = round % 2 === 0
      if (productFirst) productRounds.push(await measure(server.baseUrl, prepared.request, load))
      baselineRounds.push(await measure(baseline.baseUrl, baseline.request, load))
      if (!productFirst) productRounds.push(await measure(server.baseUrl, prepared.request, load))
      const last = productRounds.length - 1
      log(
        `  round ${round + 1}/${options.rounds}: ${scenario.label} ${productRounds[last]?.requestsPerSecond} req/s,` +
          ` ${scenario.baselineLabel} ${baselineRounds[last]?.requestsPerSecond} req/s`,
      )
    }
    if (prepared.describeLoad) {
      const line = prepared.describeLoad()
      notes.push(line)
      log(`  ${line}`)
    }
    const product = summarise(productRounds)
    const baselineSummary = summarise(baselineRounds)
    const ratio = product.requestsPerSecond / baselineSummary.requestsPerSecond
    const result: ScenarioResult = {
      scenario: scenario.id,
      label: scenario.label,
      baselineLabel: scenario.baselineLabel,
      target: scenario.target,
      bodyBytes: Buffer.byteLength(prepared.referenceBody),
      baselineBodyBytes: Buffer.byteLength(prepared.baseline.referenceBody),
      product,
      baseline: baselineSummary,
      ratio,
      roundRatios: productRounds.map(
        (round, index) =>
          Math.round((round.requestsPerSecond / (baselineRounds[index]?.requestsPerSecond ?? 1)) * 1000) /
          1000,
      ),
      productRounds,
      baselineRounds,
      verdict: verdictOf(engine, scenario.target, product, baselineSummary, ratio),
      notes,
    }
    log(summaryLine(engine, result))
    if (result.verdict === 'INVALID')
      log(
        `  !! ${engine} ${scenario.label}: ${[...product.problems, ...baselineSummary.problems].join('; ')}`,
      )
    return { result, bareRssMiB: baseline.pid === null ? null : rssMiB(baseline.pid) }
  } finally {
    await baseline.stop()
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
      env: {
        ...databaseEnv,
        // What the selected scenarios need (webhook delivery: WEBHOOK_ALLOW_PRIVATE for its 127.0.0.1 receiver).
        ...Object.assign({}, ...SELECTED_SCENARIOS.map((scenario) => scenario.serverEnv ?? {})),
        ADMIN_TOKEN: adminToken,
        LOG_LEVEL: 'warn',
      },
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
    for (const scenario of SELECTED_SCENARIOS) {
      if ('measure' in scenario) {
        const result = await scenario.measure({
          engine,
          baseUrl: server.baseUrl,
          adminToken,
          rounds: options.rounds,
          log,
          databaseUrl: databaseEnv.DATABASE_URL,
        })
        log(summaryLine(engine, result))
        scenarios.push(result)
        continue
      }
      const prepared = await scenario.prepare(server.baseUrl, app)
      const outcome = await runScenario(engine, databaseEnv, server, scenario, prepared)
      scenarios.push(outcome.result)
      // The read baseline's (no database) is the one worth comparing Entitle's memory with.
      if (prepared.baseline.kind === 'bare-body') bareRssMiB = outcome.bareRssMiB
    }
    const serverRssMiB = rssMiB(server.pid)
    log(
      `   memory after load: Entitle (${engine}) RSS ${serverRssMiB ?? '?'} MiB` +
        (bareRssMiB === null ? '' : `, bare Fastify RSS ${bareRssMiB} MiB`),
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
      ` (+${options.warmupSeconds} s warm-up) per target, scenarios: ${SELECTED_SCENARIOS.map((s) => s.label).join(', ')}.` +
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

  if (SELECTED_ENGINES.includes('postgres')) {
    const unreachable = await postgresProblem(POSTGRES_URL)
    if (unreachable) {
      log(
        `\n== postgres: SKIPPED, cannot reach ${POSTGRES_URL.replace(/(\/\/[^:@/]*):[^@/]*@/, '$1:***@')}: ${unreachable}`,
      )
      engines.push({ engine: 'postgres', status: 'skipped', reason: 'PostgreSQL unreachable', scenarios: [] })
    } else {
      const scratch = await createScratchDatabase(POSTGRES_URL)
      cleanups.push(scratch.drop)
      try {
        engines.push(await runEngine('postgres', { DATABASE_URL: scratch.url }))
      } finally {
        await scratch.drop()
      }
    }
  }

  if (SELECTED_ENGINES.includes('pglite')) {
    const dataDir = mkdtempSync(join(tmpdir(), 'entitle-bench-'))
    const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true })
    cleanups.push(removeDataDir)
    try {
      engines.push(await runEngine('pglite', { DATA_DIR: dataDir }))
    } finally {
      removeDataDir()
    }
  }

  log(`\n${resultsTable(engines)}`)
  log(`Targets, at ${options.connections} connections:`)
  for (const scenario of SELECTED_SCENARIOS) {
    const judged = scenario.target.judgedEngines
      .map((engine) => (engine === 'postgres' ? 'PostgreSQL' : 'PGlite'))
      .join(' and ')
    log(
      `  ${scenario.label} vs ${scenario.baselineLabel}: ${targetText(scenario.target)} (judged on ${judged})`,
    )
  }
  writeJson(RESULTS_PATH, {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    loadAverageBefore: busyBefore,
    loadAverageAfter: loadavg()[0],
    options,
    scenarios: SELECTED_SCENARIOS.map((scenario) => scenario.id),
    targets: Object.fromEntries(SELECTED_SCENARIOS.map((scenario) => [scenario.id, scenario.target])),
    setTransactionMix: SET_TRANSACTION_MIX,
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
      await cleanup()
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
