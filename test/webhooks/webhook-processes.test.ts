import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { subscriptionBody } from '../support/purchases.ts'
import { freshPostgresDatabase, type ServerProcess, startServer } from '../support/server-process.ts'
import { type ReceivedRequest, startReceiver } from '../support/webhook-receiver.ts'

/**
 * Delivery across real server processes: several processes on one PostgreSQL share the delivery work
 * without sending an attempt twice, and a process killed while a delivery is on the wire loses nothing.
 */

const DATABASE_URL = process.env.DATABASE_URL
const running: ServerProcess[] = []
after(() => {
  for (const server of running) server.child.kill('SIGKILL')
})

const WEBHOOK_ENV = {
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_BASE_SECONDS: '0.2',
  WEBHOOK_TIMEOUT_SECONDS: '1',
}

function start(env: Record<string, string>): ServerProcess {
  const server = startServer({ ...WEBHOOK_ENV, ...env })
  running.push(server)
  return server
}

interface Credentials {
  adminToken: string
  secretKey: string
  appId: string
}

/**
 * The admin token and the default app's key, from whichever banners printed them: when the processes start
 * together, one may generate the admin token while the other creates the default app.
 */
async function credentialsFrom(baseUrl: string, banners: string[]): Promise<Credentials> {
  const found = (pattern: RegExp) =>
    banners.map((text) => pattern.exec(text)?.[1]).find((value) => value !== undefined)
  const adminToken = found(/\n {2}(adm_[A-Za-z0-9]{40})\n/)
  const secretKey = found(/Api-Key (secret_live_[A-Za-z0-9]{40})/)
  assert.ok(adminToken && secretKey, `no credentials in:\n${banners.join('\n---\n')}`)
  const apps = await fetch(`${baseUrl}/admin/v1/apps`, { headers: { authorization: `Bearer ${adminToken}` } })
  const appId = ((await apps.json()) as { data: { app_id: string }[] }).data[0]?.app_id
  assert.ok(appId)
  return { adminToken, secretKey, appId }
}

async function saveEndpoint(
  baseUrl: string,
  credentials: Credentials,
  url: string,
  server: ServerProcess,
): Promise<void> {
  const response = await fetch(`${baseUrl}/admin/v1/apps/${credentials.appId}/webhooks/production`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${credentials.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  })
  assert.equal(response.status, 201, `${await response.text()}\n${server.output()}`)
}

/** A first purchase for a new profile: two events (subscription_started, access_level_updated). */
async function buy(baseUrl: string, credentials: Credentials, customerUserId: string): Promise<void> {
  const headers = {
    authorization: `Api-Key ${credentials.secretKey}`,
    'adapty-customer-user-id': customerUserId,
    'content-type': 'application/json',
  }
  const created = await fetch(`${baseUrl}/api/v2/server-side-api/profile/`, { method: 'POST', headers })
  assert.equal(created.status, 200, await created.text())
  const now = Date.now()
  const response = await fetch(`${baseUrl}/api/v2/server-side-api/purchase/set/transaction/`, {
    method: 'POST',
    headers,
    body: JSON.stringify(
      subscriptionBody({
        store_transaction_id: `t-${customerUserId}`,
        store_original_transaction_id: `t-${customerUserId}`,
        purchased_at: new Date(now - 60_000).toISOString(),
        originally_purchased_at: new Date(now - 60_000).toISOString(),
        expires_at: new Date(now + 30 * 86_400_000).toISOString(),
      }),
    ),
  })
  assert.equal(response.status, 200, await response.text())
}

const countBy = (requests: ReceivedRequest[]) => {
  const counts = new Map<string, number>()
  for (const request of requests) {
    const id = String(request.headers['webhook-id'])
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  return counts
}

describe('webhook delivery across server processes', () => {
  it('two processes on one PostgreSQL send each attempt of each event exactly once', {
    skip: !DATABASE_URL,
  }, async () => {
    const database = await freshPostgresDatabase(DATABASE_URL as string)
    const receiver = await startReceiver()
    after(async () => {
      await receiver.close()
      await database.drop()
    })
    const servers = [start({ DATABASE_URL: database.url }), start({ DATABASE_URL: database.url })]
    const urls = await Promise.all(servers.map((server) => server.ready))
    const credentials = await credentialsFrom(
      urls[0] as string,
      servers.map((server) => server.output()),
    )
    await saveEndpoint(urls[0] as string, credentials, receiver.url, servers[0] as ServerProcess)

    // Every event's first attempt fails and its retry succeeds: each id must arrive exactly twice, whichever
    // process claims it, although both poll the same table all the time.
    const attemptsSeen = new Map<string, number>()
    receiver.setFallback((request) => {
      const id = String(request.headers['webhook-id'])
      const seen = (attemptsSeen.get(id) ?? 0) + 1
      attemptsSeen.set(id, seen)
      return seen === 1 ? { status: 500, body: '{"error":"first try"}' } : { status: 200, body: '{}' }
    })

    const buyers = Array.from({ length: 30 }, (_, index) => `multi-${index}`)
    await Promise.all(buyers.map((buyer, index) => buy(urls[index % 2] as string, credentials, buyer)))
    const events = buyers.length * 2
    const arrived = await receiver.waitForDeliveries(events * 2, 30_000)
    // Give a duplicate, if there were one, the time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const counts = countBy(receiver.deliveries())
    assert.equal(counts.size, events)
    assert.deepEqual(
      [...counts.values()].filter((count) => count !== 2),
      [],
      'every event arrives once per attempt',
    )
    assert.equal(receiver.deliveries().length, arrived.length)

    // The delivery log agrees: two attempts per event, numbered 1 and 2, the second one succeeded.
    const log = await fetch(`${urls[1]}/admin/v1/apps/${credentials.appId}/deliveries?limit=500`, {
      headers: { authorization: `Bearer ${credentials.adminToken}` },
    })
    const entries = (
      (await log.json()) as { data: { event_id: string; attempt: number; succeeded: boolean }[] }
    ).data
    assert.equal(entries.length, events * 2)
    for (const entry of entries) assert.equal(entry.succeeded, entry.attempt === 2)

    for (const server of servers) server.child.kill('SIGTERM')
    assert.deepEqual(await Promise.all(servers.map((server) => server.exited)), [0, 0])
  })

  it('a process killed while a delivery is on the wire: the next process delivers it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'entitle-killed-'))
    const database = DATABASE_URL ? await freshPostgresDatabase(DATABASE_URL) : null
    const receiver = await startReceiver()
    after(async () => {
      await receiver.close()
      await database?.drop()
      rmSync(dataDir, { recursive: true, force: true })
    })
    const env: Record<string, string> = database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir }

    const first = start(env)
    const firstUrl = await first.ready
    const credentials = await credentialsFrom(firstUrl, [first.output()])
    await saveEndpoint(firstUrl, credentials, receiver.url, first)

    // The receiver holds the first delivery without answering; the process is killed meanwhile.
    receiver.setFallback('hang')
    await buy(firstUrl, credentials, 'killed-mid-delivery')
    const [onTheWire] = await receiver.waitForDeliveries(1, 10_000)
    assert.ok(onTheWire)
    first.child.kill('SIGKILL')
    await first.exited

    receiver.setFallback({ status: 200, body: '{}' })
    const next = start(env)
    await next.ready
    // Both events arrive from the new process: the one cut off mid-attempt with the same id and body.
    const deadline = Date.now() + 30_000
    const delivered = () =>
      receiver.requests.filter(
        (request) =>
          request.body !== '{}' && request.headers['webhook-id'] === onTheWire.headers['webhook-id'],
      )
    // The other event may arrive a moment before or after the retried one: wait for both, not just the first.
    const distinctIds = () =>
      new Set(receiver.deliveries().map((request) => String(request.headers['webhook-id']))).size
    while ((delivered().length < 2 || distinctIds() < 2) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const attempts = delivered()
    assert.equal(attempts.length, 2, next.output())
    assert.equal(attempts[1]?.body, onTheWire.body)
    assert.equal(distinctIds(), 2, 'both events of the purchase were delivered')

    next.child.kill('SIGTERM')
    assert.equal(await next.exited, 0)
  })
})
