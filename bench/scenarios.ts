import {
  type BenchApp,
  call,
  createProfiles,
  expectStatus,
  forEachConcurrently,
  MINUTE_MS,
  PROFILE_PATH,
  SET_TRANSACTION_MIX,
  SET_TRANSACTION_PATH,
  setTransactionStream,
  streamTag,
  subscriptionBody,
} from './bench-api.ts'
import { dashboardPages } from './dashboard-scenario.ts'
import type { RequestSpec } from './load.ts'
import type { ScenarioResult } from './report.ts'
import { webhookDelivery } from './webhook-scenario.ts'

export type Engine = 'postgres' | 'pglite'

/** What a scenario's ratio is read against, and on which engines it is judged (others are reported). */
export interface ScenarioTarget {
  /** Product req/s ÷ baseline req/s, both medians of the same interleaved rounds. */
  minRatio: number
  /** When set, the product's median p99 must also stay under it. */
  maxP99Ms?: number
  /** What that p99 is of, when not the requests' own latency (printed with the target). */
  p99Of?: string
  judgedEngines: Engine[]
}

/**
 * What the product is compared with, measured in the same run:
 * - `bare-body`: a bare Fastify route (bench/bare-server.ts) sending the same response bytes, no database;
 * - `bare-insert`: a bare Fastify route (bench/bare-insert-server.ts) receiving the same kind of request and
 *   inserting one row into a scratch table of the same database engine, then sending `referenceBody`;
 * - `same-server`: another request to the same Entitle server (cost growth: big profile vs small one).
 */
export type Baseline =
  | { kind: 'bare-body'; referenceBody: string }
  | { kind: 'bare-insert'; request: RequestSpec; referenceBody: string }
  | { kind: 'same-server'; request: RequestSpec; referenceBody: string }

/** A scenario's request, the real response body it answers, and the baseline it is compared with. */
export interface PreparedScenario {
  request: RequestSpec
  /** A real answer to `request` (for a write: one of them), whose size the report gives. */
  referenceBody: string
  baseline: Baseline
  /** One line on what the setup did (seeded rows, how long it took), printed before the rounds. */
  note?: string
  /** One line on what the load sent, printed after the rounds (for generated requests). */
  describeLoad?: () => string
}

interface ScenarioBase {
  /** Stable key for bench-results/latest.json. */
  id: string
  /** What the printed lines call it. */
  label: string
  /** What the printed lines call its baseline. */
  baselineLabel: string
  target: ScenarioTarget
  /** Settings the Entitle server needs for this scenario, added to its environment when it is selected. */
  serverEnv?: Record<string, string>
}

/** An autocannon load against Entitle, then the same against its baseline, in interleaved rounds (run.ts). */
export interface LoadScenario extends ScenarioBase {
  prepare(baseUrl: string, app: BenchApp): Promise<PreparedScenario>
}

/** What a scenario that does its own measuring gets from the runner. */
export interface MeasureContext {
  engine: Engine
  baseUrl: string
  /** For setting up an app of its own, so what it configures never touches the other scenarios. */
  adminToken: string
  rounds: number
  log(line: string): void
  /** The PostgreSQL database the server uses, for scenarios that seed with SQL; absent on PGlite. */
  databaseUrl?: string
}

/** A scenario that is not a request load (webhook delivery): it measures both sides itself. */
export interface MeasuredScenario extends ScenarioBase {
  measure(context: MeasureContext): Promise<ScenarioResult>
}

export type Scenario = LoadScenario | MeasuredScenario

/** The server-side API's most frequent call: read one profile with its access levels. */
const getProfile: LoadScenario = {
  id: 'get-profile',
  label: 'GET profile',
  baselineLabel: 'bare Fastify, same body',
  target: { minRatio: 0.25, maxP99Ms: 10, judgedEngines: ['postgres'] },
  async prepare(baseUrl, app) {
    const headers = {
      authorization: `Api-Key ${app.secretApiKey}`,
      'adapty-customer-user-id': 'bench-user',
    }
    const path = PROFILE_PATH
    const created = await call(baseUrl, 'POST', path, headers, {
      custom_attributes: [
        { key: 'plan', value: 'gold' },
        { key: 'level', value: 3 },
      ],
    })
    // 200 is what the API answers today (create is idempotent); 201 would be just as good for the bench.
    expectStatus(created, [200, 201], `POST ${path}`)
    const read = await call(baseUrl, 'GET', path, headers)
    expectStatus(read, [200], `GET ${path}`)
    return {
      request: { method: 'GET', path, headers },
      referenceBody: read.text,
      baseline: { kind: 'bare-body', referenceBody: read.text },
    }
  },
}

/**
 * The write path: POST set/transaction over 200 profiles, against one INSERT of one row into the same
 * database. The profiles are made (and given their first chain) through the API first; the load then sends
 * a new store_transaction_id every time.
 */
const setTransaction: LoadScenario = {
  id: 'set-transaction',
  label: 'POST set transaction',
  baselineLabel: 'bare Fastify + 1-row INSERT',
  target: { minRatio: 0.35, judgedEngines: ['postgres'] },
  async prepare(baseUrl, app) {
    const auth = { authorization: `Api-Key ${app.secretApiKey}` }
    const setupStarted = performance.now()
    const tag = streamTag()
    const customerUserIds = Array.from(
      { length: SET_TRANSACTION_MIX.profiles },
      (_, index) => `bench-buyer-${tag}-${index}`,
    )
    await createProfiles(baseUrl, app, customerUserIds)
    const chainStart = Date.now() - 30 * 24 * 60 * MINUTE_MS
    const stream = setTransactionStream(customerUserIds, chainStart)
    const headers = { ...auth, 'content-type': 'application/json' }
    // One pass over the profiles through the same generator: every profile holds a chain before the load,
    // and every answer must be 200 or the numbers would mean nothing.
    let referenceBody = ''
    const firstPass = Array.from({ length: customerUserIds.length }, () => stream.next())
    await forEachConcurrently(firstPass.length, 8, async (index) => {
      const generated = firstPass[index] as ReturnType<typeof stream.next>
      const answer = await call(
        baseUrl,
        'POST',
        SET_TRANSACTION_PATH,
        { ...auth, ...generated.headers },
        JSON.parse(generated.body),
      )
      expectStatus(answer, [200], `POST ${SET_TRANSACTION_PATH}`)
      referenceBody = answer.text
    })
    const baselineStream = setTransactionStream(customerUserIds, chainStart)
    const setupSeconds = (performance.now() - setupStarted) / 1000
    return {
      request: { method: 'POST', path: SET_TRANSACTION_PATH, headers, next: stream.next },
      referenceBody,
      baseline: {
        kind: 'bare-insert',
        request: { method: 'POST', path: SET_TRANSACTION_PATH, headers, next: baselineStream.next },
        referenceBody,
      },
      note:
        `${customerUserIds.length} profiles created and given a chain each in ${setupSeconds.toFixed(1)} s;` +
        ` the load renews their chains, a new chain every ${SET_TRANSACTION_MIX.newChainEvery}th request to a` +
        ` profile up to ${SET_TRANSACTION_MIX.maxChainsPerProfile} chains`,
      describeLoad: stream.describe,
    }
  },
}

export const HISTORY_TRANSACTIONS = 1_000

/**
 * GET profile of a profile with a long history (1,000 renewals of one subscription chain, written through
 * the API) against GET profile of a profile with a single transaction, both on the same server: what a
 * profile's history costs its reads.
 */
const getProfileGrowth: LoadScenario = {
  id: 'get-profile-growth',
  label: `GET profile, ${HISTORY_TRANSACTIONS.toLocaleString('en-US')} transactions`,
  baselineLabel: 'GET profile, 1 transaction, same server',
  target: { minRatio: 0.8, judgedEngines: ['postgres', 'pglite'] },
  async prepare(baseUrl, app) {
    const auth = { authorization: `Api-Key ${app.secretApiKey}` }
    const setupStarted = performance.now()
    const tag = streamTag()
    const chainStart = Date.now() - 30 * 24 * 60 * MINUTE_MS
    const seed = async (key: string, transactions: number) => {
      const customerUserId = `bench-${key}-${tag}`
      const headers = { ...auth, 'adapty-customer-user-id': customerUserId }
      expectStatus(await call(baseUrl, 'POST', PROFILE_PATH, headers), [200, 201], `POST ${PROFILE_PATH}`)
      const originalId = `${key}${tag}-0`
      // The first purchase alone, then the renewals a few at a time (they queue on the chain's lock anyway).
      const write = async (renewal: number) => {
        const transactionId = renewal === 0 ? originalId : `${key}${tag}-${renewal}`
        const answer = await call(
          baseUrl,
          'POST',
          SET_TRANSACTION_PATH,
          headers,
          subscriptionBody(transactionId, originalId, renewal, chainStart),
        )
        expectStatus(answer, [200], `POST ${SET_TRANSACTION_PATH}`)
      }
      await write(0)
      await forEachConcurrently(transactions - 1, 4, (index) => write(index + 1))
      const read = await call(baseUrl, 'GET', PROFILE_PATH, headers)
      expectStatus(read, [200], `GET ${PROFILE_PATH}`)
      // Every transaction adds its price to the profile's revenue: proof that all of them were recorded.
      const revenue = (JSON.parse(read.text) as { data?: { total_revenue_usd?: number } }).data
        ?.total_revenue_usd
      const expected = Math.round(transactions * 9.99 * 100) / 100
      if (typeof revenue !== 'number' || Math.abs(revenue - expected) > 0.01) {
        throw new Error(
          `setup failed: ${customerUserId} has total_revenue_usd ${revenue} after ${transactions} transactions, expected ${expected}`,
        )
      }
      return { request: { method: 'GET' as const, path: PROFILE_PATH, headers }, body: read.text }
    }
    const big = await seed('history', HISTORY_TRANSACTIONS)
    const small = await seed('single', 1)
    const setupSeconds = (performance.now() - setupStarted) / 1000
    return {
      request: big.request,
      referenceBody: big.body,
      baseline: { kind: 'same-server', request: small.request, referenceBody: small.body },
      note: `${HISTORY_TRANSACTIONS} + 1 transactions written through the API in ${setupSeconds.toFixed(1)} s`,
    }
  },
}

/**
 * Add a scenario here; run.ts measures each one against its baseline on every engine. Webhook delivery goes
 * last: it leaves an endpoint (of its own app) and a delivery worker that has just been busy behind it.
 */
export const SCENARIOS: Scenario[] = [
  getProfile,
  setTransaction,
  getProfileGrowth,
  webhookDelivery,
  dashboardPages,
]
