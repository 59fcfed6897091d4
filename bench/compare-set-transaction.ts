import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { type BaselineSide, startBaseline } from './baselines.ts'
import { createBenchApp } from './bench-api.ts'
import { startServer, stopAllServers } from './child-servers.ts'
import { type RequestSpec, runLoad } from './load.ts'
import { cpuTicks, machineTicks, postgresPids, TICKS_PER_SECOND, totalTicks } from './process-cpu.ts'
import { SCENARIOS } from './scenarios.ts'

/**
 * Compares variants of Entitle under the bench's set-transaction load on PostgreSQL (not part of
 * `npm run bench`), for telling a real change from the machine's drift:
 *
 *   COMPARE_VARIANTS='A=1;A=2;BARE' npx tsx bench/compare-set-transaction.ts
 *
 * Each variant is a set of environment variables for one Entitle server (its own scratch database); the
 * pseudo-variable CHECKOUT=<directory> runs that variant from another checkout (a `git worktree` of an
 * earlier commit, with its own node_modules) instead of this one, to compare code rather than settings;
 * BARE is the bench's baseline (the bare Fastify + one-row INSERT server, started as `npm run bench` starts
 * it). All servers run at once and take turns, round after round (COMPARE_ROUNDS, default 10, of COMPARE_SECONDS, default 4), alternating the
 * order, so that a slow minute of the machine falls on every variant. Printed per variant: medians of req/s,
 * of the ratio to BARE within each round, and of CPU milliseconds per request of the server, of PostgreSQL
 * (every backend) and of the load generator, and the machine's idle share. CPU per request moves less with
 * the machine than req/s does; the load generator's column shows how much the machine itself moved.
 */

const BASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const ROUNDS = Number(process.env.COMPARE_ROUNDS ?? 10)
const SECONDS = Number(process.env.COMPARE_SECONDS ?? 4)
const BARE = 'BARE'
const VARIANTS = (process.env.COMPARE_VARIANTS ?? 'BASE=1;BARE').split(';').filter(Boolean)
const CONNECTIONS = 50

interface Round {
  requestsPerSecond: number
  serverMs: number
  postgresMs: number
  loadMs: number
  idle: number
}

interface Target {
  variant: string
  pid: number
  baseUrl: string
  request: RequestSpec
  rounds: Round[]
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

function variantEnv(variant: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const pair of variant.split(/\s+/).filter(Boolean)) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new Error(`a variant is NAME=value pairs separated by spaces, not "${pair}"`)
    env[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return env
}

async function measure(target: Target): Promise<Round> {
  const pids = postgresPids()
  const before = {
    server: cpuTicks(target.pid),
    postgres: totalTicks(pids),
    machine: machineTicks(),
    self: process.cpuUsage(),
  }
  const result = await runLoad(target.baseUrl, target.request, {
    connections: CONNECTIONS,
    durationSeconds: SECONDS,
    maxRequests: 5_000_000,
  })
  const count = Math.max(1, result.totalRequests)
  const machine = machineTicks()
  const self = process.cpuUsage(before.self)
  const msPerRequest = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND / count
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${target.variant}: ${result.non2xx} non-2xx answers, ${result.errors} errors`)
  return {
    requestsPerSecond: result.requestsPerSecond,
    serverMs: msPerRequest(cpuTicks(target.pid) - before.server),
    postgresMs: msPerRequest(totalTicks(pids) - before.postgres),
    loadMs: (self.user + self.system) / 1000 / count,
    idle: (machine.idle - before.machine.idle) / Math.max(1, machine.total - before.machine.total),
  }
}

async function main(): Promise<void> {
  const scenario = SCENARIOS.find((candidate) => candidate.id === 'set-transaction')
  if (!scenario || !('prepare' in scenario)) throw new Error('the bench has no set-transaction scenario')
  const variants = VARIANTS.filter((variant) => variant !== BARE)
  if (variants.length === 0) throw new Error('COMPARE_VARIANTS needs at least one Entitle variant')
  const admin = postgres(BASE_URL, { max: 1, onnotice: () => {} })
  const databases: string[] = []
  const cleanups: Array<() => void> = []
  const targets: Target[] = []
  let baseline: BaselineSide | undefined
  try {
    for (const [index, variant] of variants.entries()) {
      const database = `entitle_compare_${process.pid}_${index}`
      await admin.unsafe(`create database ${database}`)
      databases.push(database)
      const databaseEnv = { DATABASE_URL: `${BASE_URL.replace(/\/[^/]*$/, '')}/${database}` }
      const adminToken = randomBytes(24).toString('base64url')
      const { CHECKOUT: checkout, ...env } = variantEnv(variant)
      const server = await startServer({
        name: `Entitle (${variant})`,
        script: 'src/main.ts',
        args: ['serve'],
        ...(checkout ? { cwd: checkout } : {}),
        env: {
          ...scenario.serverEnv,
          ...env,
          ...databaseEnv,
          ADMIN_TOKEN: adminToken,
          LOG_LEVEL: 'warn',
        },
      })
      const prepared = await scenario.prepare(
        server.baseUrl,
        await createBenchApp(server.baseUrl, adminToken),
      )
      targets.push({
        variant,
        pid: server.pid,
        baseUrl: server.baseUrl,
        request: prepared.request,
        rounds: [],
      })
      // The bench's own baseline, as `npm run bench` starts it: beside the first variant, in its database.
      if (index === 0 && VARIANTS.includes(BARE)) {
        baseline = await startBaseline(cleanups, 'postgres', databaseEnv, server, prepared)
        targets.push({
          variant: BARE,
          pid: baseline.pid ?? -1,
          baseUrl: baseline.baseUrl,
          request: baseline.request,
          rounds: [],
        })
      }
    }
    for (const target of targets) {
      await runLoad(target.baseUrl, target.request, {
        connections: CONNECTIONS,
        durationSeconds: 2,
        maxRequests: 5_000_000,
      })
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse()
      for (const target of order) target.rounds.push(await measure(target))
      process.stdout.write(`round ${round + 1}/${ROUNDS} done\n`)
    }
    const bare = targets.find((target) => target.variant === BARE)
    for (const target of targets) {
      const ratios = bare
        ? target.rounds.map(
            (round, index) => round.requestsPerSecond / (bare.rounds[index]?.requestsPerSecond ?? 1),
          )
        : []
      const pick = (field: keyof Round) => median(target.rounds.map((round) => round[field]))
      process.stdout.write(
        `${target.variant}: ${pick('requestsPerSecond')} req/s` +
          (bare
            ? `, ratio ${median(ratios).toFixed(3)} (rounds ${ratios.map((r) => r.toFixed(2)).join(' ')})`
            : '') +
          `; CPU ms per request: server ${pick('serverMs').toFixed(3)}, PostgreSQL ${pick('postgresMs').toFixed(3)},` +
          ` load generator ${pick('loadMs').toFixed(3)}; machine idle ${(pick('idle') * 100).toFixed(0)}%\n`,
      )
    }
  } finally {
    await baseline?.stop()
    await stopAllServers()
    for (const cleanup of cleanups) cleanup()
    for (const database of databases) {
      await admin.unsafe(`drop database if exists ${database} with (force)`).catch(() => {})
    }
    await admin.end({ timeout: 1 })
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    void stopAllServers().finally(() => process.exit(130))
  })
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
