import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { freshPostgresDatabase, type ServerProcess, startServer } from '../support/server-process.ts'

const DATABASE_URL = process.env.DATABASE_URL
const running: ServerProcess[] = []
after(() => {
  for (const server of running) server.child.kill('SIGKILL')
})

function start(env: Record<string, string>): ServerProcess {
  const server = startServer(env)
  running.push(server)
  return server
}

/** Sends a POST whose body arrives in two parts, so the request is in flight between them. */
function slowRequest(baseUrl: string, path: string, headers: Record<string, string>, body: string) {
  const url = new URL(baseUrl)
  const socket = connect(Number(url.port), url.hostname)
  let response = ''
  socket.on('data', (chunk) => {
    response += chunk
  })
  const head = [
    `POST ${path} HTTP/1.1`,
    `Host: ${url.host}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    '',
  ].join('\r\n')
  const half = Math.floor(body.length / 2)
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  return {
    async sendFirstHalf() {
      await connected
      socket.write(head + body.slice(0, half))
    },
    finish() {
      socket.write(body.slice(half))
      return new Promise<string>((resolve) => socket.once('close', () => resolve(response)))
    },
  }
}

describe('first start, restart and shutdown of a real server process', () => {
  it('prints the admin token and the default app key once, serves the printed curl line, and stops cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'entitle-life-'))
    const database = DATABASE_URL ? await freshPostgresDatabase(DATABASE_URL) : null
    after(async () => {
      rmSync(dataDir, { recursive: true, force: true })
      await database?.drop()
    })
    const env: Record<string, string> = database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir }

    const first = start(env)
    const baseUrl = await first.ready
    const banner = first.output()
    const adminToken = /\n {2}(adm_[A-Za-z0-9]{40})\n/.exec(banner)?.[1]
    const secretKey = /Api-Key (secret_live_[A-Za-z0-9]{40})/.exec(banner)?.[1]
    assert.ok(adminToken, `no admin token in:\n${banner}`)
    assert.ok(secretKey, `no curl line with the key in:\n${banner}`)
    assert.match(banner, /Created the app "default"/)
    assert.match(banner, /curl -X POST http:\/\/127\.0\.0\.1:\d+\/api\/v2\/server-side-api\/profile\//)

    assert.deepEqual(await (await fetch(`${baseUrl}/health`)).json(), { status: 'ok' })
    const created = await fetch(`${baseUrl}/api/v2/server-side-api/profile/`, {
      method: 'POST',
      headers: { authorization: `Api-Key ${secretKey}`, 'adapty-customer-user-id': 'user-1' },
    })
    assert.equal(created.status, 200)
    const apps = await fetch(`${baseUrl}/admin/v1/apps`, {
      headers: { authorization: `Bearer ${adminToken}` },
    })
    const appList = (await apps.json()) as { data: { name: string }[] }
    assert.deepEqual(
      appList.data.map((app) => app.name),
      ['default'],
    )

    if (!database) {
      // One process per PGlite directory: a second start refuses and says why.
      const second = start(env)
      assert.equal(await second.exited, 1)
      assert.match(second.output(), /Another Entitle process \(pid \d+\) is using the data directory/)
      assert.ok(existsSync(join(dataDir, 'entitle.lock')))
    }

    // SIGTERM while a request is in flight: the request still completes, then the process exits 0.
    const inFlight = slowRequest(
      baseUrl,
      '/api/v2/server-side-api/profile/',
      { Authorization: `Api-Key ${secretKey}`, 'adapty-customer-user-id': 'user-2' },
      JSON.stringify({ first_name: 'In', custom_attributes: [{ key: 'k', value: 'in-flight' }] }),
    )
    await inFlight.sendFirstHalf()
    await new Promise((resolve) => setTimeout(resolve, 200))
    first.child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 200))
    const response = await inFlight.finish()
    assert.match(response, /^HTTP\/1\.1 200/, `${response}\n${first.output()}`)
    assert.equal(await first.exited, 0, first.output())
    if (!database) assert.ok(!existsSync(join(dataDir, 'entitle.lock')), 'the lock file is released')

    // Restart: nothing secret is printed again, the data is still there, the old credentials still work.
    const restarted = start(env)
    const newBaseUrl = await restarted.ready
    assert.doesNotMatch(restarted.output(), /adm_[A-Za-z0-9]{40}|secret_live_/)
    assert.match(restarted.output(), /To get one:/)
    const read = await fetch(`${newBaseUrl}/api/v2/server-side-api/profile/`, {
      headers: { authorization: `Api-Key ${secretKey}`, 'adapty-customer-user-id': 'user-2' },
    })
    assert.equal(read.status, 200)
    assert.deepEqual(
      ((await read.json()) as { data: { custom_attributes: unknown } }).data.custom_attributes,
      [{ key: 'k', value: 'in-flight' }],
    )
    const adminAgain = await fetch(`${newBaseUrl}/admin/v1/apps`, {
      headers: { authorization: `Bearer ${adminToken}` },
    })
    assert.equal(adminAgain.status, 200)
    restarted.child.kill('SIGINT')
    assert.equal(await restarted.exited, 0)
  })

  it('exits 1 with a clear message when PostgreSQL cannot be reached, leaving no port open', async () => {
    const server = start({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' })
    assert.equal(await server.exited, 1)
    assert.match(server.output(), /The database is not reachable: .*ECONNREFUSED/)
  })

  it('takes over a lock file left by a process that died', { skip: Boolean(DATABASE_URL) }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'entitle-stale-'))
    after(() => rmSync(dataDir, { recursive: true, force: true }))
    const crashed = start({ DATA_DIR: dataDir })
    await crashed.ready
    crashed.child.kill('SIGKILL')
    await crashed.exited
    assert.ok(existsSync(join(dataDir, 'entitle.lock')))
    const next = start({ DATA_DIR: dataDir })
    await next.ready
    assert.equal((await fetch(`${await next.ready}/health`)).status, 200)
    next.child.kill('SIGTERM')
    assert.equal(await next.exited, 0)
  })

  it('lets several processes start together on one PostgreSQL: one migrates first, one creates the default app', {
    skip: !DATABASE_URL,
  }, async () => {
    const database = await freshPostgresDatabase(DATABASE_URL as string)
    after(() => database.drop())
    const servers = [
      start({ DATABASE_URL: database.url }),
      start({ DATABASE_URL: database.url }),
      start({ DATABASE_URL: database.url }),
    ]
    await Promise.all(servers.map((server) => server.ready))
    const banners = servers.map((server) => server.output())
    assert.equal(
      banners.filter((banner) => banner.includes('Created the app "default"')).length,
      1,
      banners.join('\n---\n'),
    )
    assert.equal(banners.filter((banner) => /adm_[A-Za-z0-9]{40}/.test(banner)).length, 1)
    for (const server of servers) server.child.kill('SIGTERM')
    assert.deepEqual(await Promise.all(servers.map((server) => server.exited)), [0, 0, 0])
  })
})
