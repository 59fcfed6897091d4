import { spawn } from 'node:child_process'
import { type BenchApp, call, expectStatus, SET_TRANSACTION_PATH } from './bench-api.ts'
import { REPO_ROOT } from './child-servers.ts'
import type { LoadResult } from './load.ts'
import { deliveriesPerSecond, type Phase, type Receiver } from './webhook-receiver.ts'

/** The phases of the webhook-delivery scenario (see webhook-scenario.ts): backlog, latency, drain rounds. */

/** The worker's slots per process (DEFAULT_DELIVERY_SETTINGS.concurrency), given to the baseline too. */
export const IN_FLIGHT = 64
const BACKLOG_CONCURRENCY = 32
const BACKLOG_MAX_MS = 60_000
/** A round ends when everything arrived, nothing arrived for this long, or at ROUND_MAX_MS. */
const STALL_MS = 15_000
const ROUND_MAX_MS = 120_000
/** A first purchase writes subscription_started and access_level_updated. */
const EVENTS_PER_FIRST_PURCHASE = 2

export const round1 = (value: number) => Math.round(value * 10) / 10

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

export function loadResult(fields: Partial<LoadResult> & Pick<LoadResult, 'requestsPerSecond'>): LoadResult {
  return {
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    totalRequests: 0,
    durationSeconds: 0,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    statusCodes: {},
    problems: [],
    ...fields,
  }
}

export interface GeneratedRequest {
  headers?: Record<string, string>
  body: string
}

/** POSTs one set transaction; answers its store_transaction_id and the status. */
async function sendSetTransaction(baseUrl: string, app: BenchApp, generated: GeneratedRequest) {
  const response = await fetch(`${baseUrl}${SET_TRANSACTION_PATH}`, {
    method: 'POST',
    headers: {
      authorization: `Api-Key ${app.secretApiKey}`,
      'content-type': 'application/json',
      ...generated.headers,
    },
    body: generated.body,
    signal: AbortSignal.timeout(10_000),
  })
  const text = await response.text()
  const transactionId = (JSON.parse(generated.body) as { store_transaction_id: string }).store_transaction_id
  return { transactionId, status: response.status, text }
}

/** Writes up to `count` set transactions from `next` (and for at most a minute); every answer must be 200. */
export async function writeBacklog(
  baseUrl: string,
  app: BenchApp,
  next: () => GeneratedRequest,
  count: number,
): Promise<number> {
  const deadline = performance.now() + BACKLOG_MAX_MS
  let sent = 0
  const worker = async () => {
    while (sent < count && performance.now() < deadline) {
      sent += 1
      const answer = await sendSetTransaction(baseUrl, app, next())
      expectStatus(answer, [200], `POST ${SET_TRANSACTION_PATH}`)
    }
  }
  await Promise.all(Array.from({ length: BACKLOG_CONCURRENCY }, worker))
  return sent
}

export interface Template {
  eventId: string
  body: string
  eventType: string
}

export interface LatencyOutcome {
  /** Sorted: set-transaction answer to the first delivery of each of its events, in ms. */
  samplesMs: number[]
  requests: number
  statusCodes: Record<string, number>
  missing: number
  /** One real delivered body per event type, for the baseline to send. */
  templates: Template[]
  bodyBytes: number
}

/**
 * Sends `requests` (first purchases, one profile each) at `ratePerSecond` on a fixed schedule, not waiting
 * for answers (open loop), then waits for both events of each to be delivered.
 */
export async function measureLatency(
  baseUrl: string,
  app: BenchApp,
  receiver: Receiver,
  requests: GeneratedRequest[],
  ratePerSecond: number,
): Promise<LatencyOutcome> {
  const phase = receiver.phase({ keepBodies: true })
  const answeredAt = new Map<string, number>()
  const statusCodes: Record<string, number> = {}
  const started = performance.now()
  const pending: Promise<void>[] = []
  for (const [index, request] of requests.entries()) {
    const wait = started + (index * 1000) / ratePerSecond - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    pending.push(
      sendSetTransaction(baseUrl, app, request).then(
        ({ transactionId, status }) => {
          const at = performance.now()
          statusCodes[status] = (statusCodes[status] ?? 0) + 1
          if (status === 200) answeredAt.set(transactionId, at)
        },
        () => {
          statusCodes.error = (statusCodes.error ?? 0) + 1
        },
      ),
    )
  }
  await Promise.all(pending)
  const expected = answeredAt.size * EVENTS_PER_FIRST_PURCHASE
  await receiver.waitFor(phase, expected, { stallMs: 10_000, maxMs: 30_000 })
  receiver.endPhase()
  const samplesMs: number[] = []
  const templates = new Map<string, Template>()
  const seen = new Set<string>()
  let bodyBytes = 0
  for (const arrival of phase.arrivals) {
    if (seen.has(arrival.webhookId)) continue // a retry or a duplicate: only first attempts count
    seen.add(arrival.webhookId)
    const body = arrival.body ?? ''
    bodyBytes += Buffer.byteLength(body)
    const parsed = JSON.parse(body) as { event_type: string; event_properties?: { transaction_id?: string } }
    const answered = answeredAt.get(parsed.event_properties?.transaction_id ?? '')
    if (answered !== undefined) samplesMs.push(arrival.at - answered)
    if (!templates.has(parsed.event_type))
      templates.set(parsed.event_type, { eventId: arrival.webhookId, body, eventType: parsed.event_type })
  }
  samplesMs.sort((a, b) => a - b)
  return {
    samplesMs,
    requests: requests.length,
    statusCodes,
    missing: Math.max(0, expected - samplesMs.length),
    templates: [...templates.values()],
    bodyBytes: seen.size === 0 ? 0 : Math.round(bodyBytes / seen.size),
  }
}

export interface RoundOutcome {
  result: LoadResult
  detail: Record<string, unknown>
}

function roundOf(phase: Phase, expected: number, outcome: { reason: string }, extra: Partial<LoadResult>) {
  const problems = [...(extra.problems ?? [])]
  if (phase.count < expected)
    problems.push(`${phase.count} of ${expected} deliveries arrived (${outcome.reason})`)
  if (phase.count > phase.distinct.size)
    problems.push(`${phase.count - phase.distinct.size} duplicate deliveries`)
  return loadResult({
    ...extra,
    requestsPerSecond: Math.round(deliveriesPerSecond(phase)),
    totalRequests: phase.count,
    durationSeconds: phase.first === null || phase.last === null ? 0 : (phase.last - phase.first) / 1000,
    errors: (extra.errors ?? 0) + Math.max(0, expected - phase.count),
    timeouts: outcome.reason === 'complete' ? 0 : 1,
    problems,
  })
}

/** One product round: queue the backlog's events again and wait until the receiver has all of it. */
export async function productRound(
  baseUrl: string,
  adminToken: string,
  app: BenchApp,
  range: { from: Date; to: Date },
  receiver: Receiver,
): Promise<RoundOutcome & { queued: number }> {
  const phase = receiver.phase({ keepBodies: false })
  const asked = performance.now()
  const answer = await call(
    baseUrl,
    'POST',
    `/admin/v1/apps/${app.appId}/events/redeliver`,
    { authorization: `Bearer ${adminToken}` },
    { from: range.from.toISOString(), to: range.to.toISOString(), environment: 'production' },
  )
  expectStatus(answer, [202], 'POST /admin/v1/apps/{app_id}/events/redeliver')
  const queued = (JSON.parse(answer.text) as { queued: number }).queued
  const outcome = await receiver.waitFor(phase, queued, { stallMs: STALL_MS, maxMs: ROUND_MAX_MS })
  receiver.endPhase()
  const result = roundOf(phase, queued, outcome, {})
  return {
    queued,
    result,
    detail: {
      deliveriesPerSecond: result.requestsPerSecond,
      queued,
      delivered: phase.count,
      drainSeconds: round1(result.durationSeconds),
      redeliverToFirstArrivalMs: phase.first === null ? null : Math.round(phase.first - asked),
    },
  }
}

/** One baseline round: the bare sender child (bare-webhook-sender.ts) with `count` deliveries. */
export async function baselineRound(
  receiver: Receiver,
  count: number,
  templates: Template[],
): Promise<RoundOutcome> {
  const phase = receiver.phase({ keepBodies: false })
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-webhook-sender.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      BENCH_WEBHOOK_URL: receiver.url,
      BENCH_WEBHOOK_COUNT: String(count),
      BENCH_WEBHOOK_CONCURRENCY: String(IN_FLIGHT),
      BENCH_WEBHOOK_TEMPLATES: JSON.stringify(templates.map(({ eventId, body }) => ({ eventId, body }))),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // The bench never leaves a process behind, whatever happens to it.
  const killChild = () => child.kill('SIGKILL')
  process.once('exit', killChild)
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const outcome = await receiver.waitFor(phase, count, { stallMs: STALL_MS, maxMs: ROUND_MAX_MS })
  receiver.endPhase()
  const timer = setTimeout(killChild, 15_000)
  const code = await exited
  clearTimeout(timer)
  process.removeListener('exit', killChild)
  const problems: string[] = []
  let report = { non2xx: 0, errors: 0, p50Ms: Number.NaN, p99Ms: Number.NaN }
  try {
    report = JSON.parse(output.trim().split('\n').at(-1) ?? '') as typeof report
  } catch {
    problems.push(`the bare sender exited with ${code}: ${output.slice(-500)}`)
  }
  const result = roundOf(phase, count, outcome, {
    p50Ms: report.p50Ms,
    p99Ms: report.p99Ms,
    non2xx: report.non2xx,
    errors: report.errors,
    problems,
  })
  return {
    result,
    detail: {
      deliveriesPerSecond: result.requestsPerSecond,
      delivered: phase.count,
      drainSeconds: round1(result.durationSeconds),
      postP50Ms: report.p50Ms,
      postP99Ms: report.p99Ms,
    },
  }
}
