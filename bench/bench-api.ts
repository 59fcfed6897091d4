/** The HTTP calls and request bodies the scenarios set up with, through the public API like a client would. */

const SERVER_SIDE_API = '/api/v2/server-side-api'

/** The bench app's credentials, made through the public admin API like an operator would. */
export interface BenchApp {
  appId: string
  secretApiKey: string
}

export interface Answer {
  status: number
  text: string
}

export async function call(
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
export function expectStatus(answer: Answer, expected: number[], what: string): void {
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

export const PROFILE_PATH = `${SERVER_SIDE_API}/profile/`
export const SET_TRANSACTION_PATH = `${SERVER_SIDE_API}/purchase/set/transaction/`
export const MINUTE_MS = 60_000
const YEAR_MS = 365 * 24 * 60 * MINUTE_MS

/** Runs `work` for 0..count-1 with at most `concurrency` at a time; the first failure stops the rest. */
export async function forEachConcurrently(
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
export function subscriptionBody(
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
export function streamTag(): string {
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
export function setTransactionStream(customerUserIds: string[], chainStart: number) {
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

/** Creates the profiles through POST profile, 8 at a time; any answer but 200/201 stops the bench. */
export async function createProfiles(
  baseUrl: string,
  app: BenchApp,
  customerUserIds: string[],
): Promise<void> {
  await forEachConcurrently(customerUserIds.length, 8, async (index) => {
    const created = await call(baseUrl, 'POST', PROFILE_PATH, {
      authorization: `Api-Key ${app.secretApiKey}`,
      'adapty-customer-user-id': customerUserIds[index] as string,
    })
    expectStatus(created, [200, 201], `POST ${PROFILE_PATH}`)
  })
}
