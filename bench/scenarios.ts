import type { RequestSpec } from './load.ts'

const SERVER_SIDE_API = '/api/v2/server-side-api'

/** The bench app's credentials, made through the public admin API like an operator would. */
export interface BenchApp {
  appId: string
  secretApiKey: string
}

/** A scenario's request, and the real response body the bare baseline will send back byte for byte. */
export interface PreparedScenario {
  request: RequestSpec
  referenceBody: string
}

export interface Scenario {
  /** Stable key for bench-results/latest.json. */
  id: string
  /** What the printed lines call it. */
  label: string
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
  async prepare(baseUrl, app) {
    const headers = {
      authorization: `Api-Key ${app.secretApiKey}`,
      'adapty-customer-user-id': 'bench-user',
    }
    const path = `${SERVER_SIDE_API}/profile/`
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
    return { request: { method: 'GET', path, headers }, referenceBody: read.text }
  },
}

/** Add a scenario here; run.ts measures each one against its own bare baseline on every engine. */
export const SCENARIOS: Scenario[] = [getProfile]
