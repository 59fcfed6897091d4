import type { RequestSpec } from './load.ts'

const SERVER_SIDE_API = '/api/v2/server-side-api'

/** The bench app's credentials, made through the public admin API like an operator would. */
export interface BenchApp {
  appId: string
  secretApiKey: string
}

export type Engine = 'postgres' | 'pglite'

/** What a scenario's ratio is read against, and on which engines it is judged (others are reported). */
export interface ScenarioTarget {
  /** Product req/s ÷ baseline req/s, both medians of the same interleaved rounds. */
  minRatio: number
  /** When set, the product's median p99 must also stay under it. */
  maxP99Ms?: number
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

export interface Scenario {
  /** Stable key for bench-results/latest.json. */
  id: string
  /** What the printed lines call it. */
  label: string
  /** What the printed lines call its baseline. */
  baselineLabel: string
  target: ScenarioTarget
  prepare(baseUrl: string, app: BenchApp): Promise<PreparedScenario>
}

interface Answer {
  status: number
  text: string
}

async function call(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  })
  return { status: response.status, text: await response.text() }
}

/** Setup must be exactly right or the numbers mean nothing: any other status stops the bench. */
function expectStatus(answer: Answer, expected: number[], what: string): void {
  if (!expected.includes(answer.status)) {
    throw new Error(
      `setup failed: ${what} answered ${answer.status}, expected ${expected.join(' or ')}: ${answer.text.slice(0, 500)}`,
    )
  }
}

/** Creates the app `bench` and lifts its rate limit, so the bench measures the server, not the limiter. */
export async function createBenchApp(baseUrl: string, adminToken: string): Promise<BenchApp> {
  const admin = { authorization: `Bearer ${adminToken}` }
  const created = await call(baseUrl, 'POST', '/admin/v1/apps', admin, { name: 'bench' })
  expectStatus(created, [201], 'POST /admin/v1/apps')
  const { app_id: appId, secret_api_key: secretApiKey } = JSON.parse(created.text) as Record<string, unknown>
  if (typeof appId !== 'string' || typeof secretApiKey !== 'string') {
    throw new Error(`setup failed: POST /admin/v1/apps lacks app_id/secret_api_key: ${created.text}`)
  }
  const settings = await call(
    baseUrl,
    'PATCH',
    `/admin/v1/apps/${encodeURIComponent(appId)}/settings`,
    admin,
    {
      rate_limit_per_minute: 1_000_000_000,
    },
  )
  expectStatus(settings, [200], 'PATCH /admin/v1/apps/{app_id}/settings')
  return { appId, secretApiKey }
}

/** The server-side API's most frequent call: read one profile with its access levels. */
const getProfile: Scenario = {
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

const PROFILE_PATH = `${SERVER_SIDE_API}/profile/`
const SET_TRANSACTION_PATH = `${SERVER_SIDE_API}/purchase/set/transaction/`
const MINUTE_MS = 60_000
const YEAR_MS = 365 * 24 * 60 * MINUTE_MS

/** Runs `work` for 0..count-1 with at most `concurrency` at a time; the first failure stops the rest. */
async function forEachConcurrently(
  count: number,
  concurrency: number,
  work: (index: number) => Promise<void>,
): Promise<void> {
  let nextIndex = 0
  const worker = async () => {
    while (nextIndex < count) {
      const index = nextIndex++
      await work(index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}

/**
 * A set-transaction body as in test/support/purchases.ts (subscriptionBody), for renewal `renewal` (0: the
 * first purchase) of the chain `originalId`: one minute later each time, so purchased_at and expires_at only
 * grow, and all of them in the past and the future respectively (no expiry falls due during the bench).
 */
function subscriptionBody(
  transactionId: string,
  originalId: string,
  renewal: number,
  chainStart: number,
): Record<string, unknown> {
  const purchasedAt = chainStart + renewal * MINUTE_MS
  return {
    purchase_type: 'subscription',
    store: 'app_store',
    environment: 'Production',
    store_product_id: 'com.example.monthly',
    store_transaction_id: transactionId,
    store_original_transaction_id: originalId,
    price: { country: 'US', currency: 'USD', value: 9.99 },
    purchased_at: new Date(purchasedAt).toISOString(),
    originally_purchased_at: new Date(chainStart).toISOString(),
    expires_at: new Date(purchasedAt + YEAR_MS).toISOString(),
    renew_status: true,
  }
}

/** Short and unique per stream, so ids stay under the API's 50 characters and never repeat across runs. */
function streamTag(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`
}

/** How the set-transaction load is spread; see the comment on `setTransactionStream`. */
export const SET_TRANSACTION_MIX = {
  profiles: 200,
  /** Every `newChainEvery`-th request to a profile is a new purchase (a new chain) ... */
  newChainEvery: 4,
  /** ... until it holds this many chains; after that, only renewals. */
  maxChainsPerProfile: 4,
}

interface ProfileState {
  customerUserId: string
  requests: number
  chains: { originalId: string; start: number; renewals: number }[]
}

/**
 * Bodies for POST set/transaction: round robin over the profiles, each request with a new
 * store_transaction_id. Each profile's first request in the bench, and every 4th after it, is a new purchase
 * (a chain of its own) until the profile holds 4 chains; the others renew the profile's chains in turn. The
 * cap is deliberate: a profile document keeps every chain the profile holds, so uncapped new chains would
 * make every profile grow by a chain every few requests and each round slower than the one before (a
 * profile with dozens of subscriptions is not a realistic steady state). Answers the generator and what it
 * has produced so far.
 */
function setTransactionStream(customerUserIds: string[], chainStart: number) {
  const tag = streamTag()
  const profiles: ProfileState[] = customerUserIds.map((customerUserId) => ({
    customerUserId,
    requests: 0,
    chains: [],
  }))
  let sent = 0
  let newChains = 0
  const next = () => {
    const profile = profiles[sent % profiles.length] as ProfileState
    const transactionId = `b${tag}-${sent}`
    sent += 1
    const startsChain =
      profile.chains.length === 0 ||
      (profile.requests % SET_TRANSACTION_MIX.newChainEvery === 0 &&
        profile.chains.length < SET_TRANSACTION_MIX.maxChainsPerProfile)
    let payload: Record<string, unknown>
    if (startsChain) {
      newChains += 1
      profile.chains.push({ originalId: transactionId, start: chainStart, renewals: 0 })
      payload = subscriptionBody(transactionId, transactionId, 0, chainStart)
    } else {
      const chain = profile.chains[profile.requests % profile.chains.length] as ProfileState['chains'][number]
      chain.renewals += 1
      payload = subscriptionBody(transactionId, chain.originalId, chain.renewals, chain.start)
    }
    profile.requests += 1
    return { headers: { 'adapty-customer-user-id': profile.customerUserId }, body: JSON.stringify(payload) }
  }
  const describe = () => {
    const chains = profiles.map((profile) => profile.chains.length)
    return (
      `${sent} set-transaction bodies generated (${newChains} new chains, ${sent - newChains} renewals);` +
      ` chains per profile ${Math.min(...chains)}-${Math.max(...chains)}`
    )
  }
  return { next, describe }
}

/**
 * The write path: POST set/transaction over 200 profiles, against one INSERT of one row into the same
 * database. The profiles are made (and given their first chain) through the API first; the load then sends
 * a new store_transaction_id every time.
 */
const setTransaction: Scenario = {
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
    await forEachConcurrently(customerUserIds.length, 8, async (index) => {
      const created = await call(baseUrl, 'POST', PROFILE_PATH, {
        ...auth,
        'adapty-customer-user-id': customerUserIds[index] as string,
      })
      expectStatus(created, [200, 201], `POST ${PROFILE_PATH}`)
    })
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
const getProfileGrowth: Scenario = {
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

/** Add a scenario here; run.ts measures each one against its baseline on every engine. */
export const SCENARIOS: Scenario[] = [getProfile, setTransaction, getProfileGrowth]
