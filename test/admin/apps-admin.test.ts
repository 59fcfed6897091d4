import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'drizzle-orm'
import { sha256Hex } from '../../src/platform/secrets.ts'
import { buildTestApp } from '../support/harness.ts'

const h = await buildTestApp()
const UNKNOWN_APP = '01a21078-ec05-739b-9285-2f77f33a7ea3'

describe('admin authentication', () => {
  it('answers 401 for a missing, wrong or malformed admin token on every admin route', async () => {
    const routes = [
      ['POST', '/admin/v1/apps'],
      ['GET', '/admin/v1/apps'],
      ['GET', `/admin/v1/apps/${UNKNOWN_APP}`],
      ['POST', `/admin/v1/apps/${UNKNOWN_APP}/keys/rotate`],
      ['DELETE', `/admin/v1/apps/${UNKNOWN_APP}/keys/${UNKNOWN_APP}`],
      ['POST', `/admin/v1/apps/${UNKNOWN_APP}/access-levels`],
      ['GET', `/admin/v1/apps/${UNKNOWN_APP}/access-levels`],
      ['DELETE', `/admin/v1/apps/${UNKNOWN_APP}/access-levels/sports`],
      ['GET', `/admin/v1/apps/${UNKNOWN_APP}/settings`],
      ['PATCH', `/admin/v1/apps/${UNKNOWN_APP}/settings`],
    ] as const
    const tenant = await h.createTenant()
    for (const [method, url] of routes) {
      for (const authorization of [
        undefined,
        'Bearer wrong-token-0123456789',
        'test-admin-token-0123456789abcdef',
        `Api-Key ${tenant.secretKey}`,
      ]) {
        const response = await h.app.inject({
          method,
          url,
          headers: authorization ? { authorization } : {},
          payload: { name: 'x' },
        })
        assert.equal(response.statusCode, 401, `${method} ${url} ${authorization}`)
        assert.equal(response.json().error_code, 'not_authenticated')
      }
    }
  })
})

describe('POST /admin/v1/apps', () => {
  it('creates an app with prefixed keys, stores only their hashes, and gives it the access level premium', async () => {
    const response = await h.admin({ method: 'POST', url: '/admin/v1/apps', payload: { name: 'My app' } })
    assert.equal(response.statusCode, 201)
    const body = response.json()
    assert.deepEqual(Object.keys(body).sort(), [
      'app_id',
      'created_at',
      'name',
      'public_api_key',
      'secret_api_key',
    ])
    assert.equal(body.name, 'My app')
    assert.match(body.secret_api_key, /^secret_live_[A-Za-z0-9]{40}$/)
    assert.match(body.public_api_key, /^public_live_[A-Za-z0-9]{40}$/)

    const stored = await h.database.db.execute(
      sql`select key_hash, hint from api_keys where app_id = ${body.app_id}`,
    )
    // node-postgres-style drivers answer { rows }, postgres.js answers the rows themselves.
    const rows = ((stored as { rows?: unknown }).rows ?? stored) as { key_hash: string; hint: string }[]
    assert.equal(rows.length, 2)
    const everything = JSON.stringify(rows)
    assert.ok(!everything.includes(body.secret_api_key), 'the secret key is not stored')
    assert.ok(rows.some((row) => row.key_hash === sha256Hex(body.secret_api_key)))

    const levels = await h.admin({ method: 'GET', url: `/admin/v1/apps/${body.app_id}/access-levels` })
    assert.deepEqual(
      levels.json().data.map((level: { id: string }) => level.id),
      ['premium'],
    )
  })

  it('answers 400 validation_error for a missing or empty name', async () => {
    for (const payload of [{}, { name: '' }, { name: 42 }, { name: 'x'.repeat(101) }]) {
      const response = await h.admin({ method: 'POST', url: '/admin/v1/apps', payload })
      assert.equal(response.statusCode, 400, JSON.stringify(payload))
      assert.equal(response.json().errors[0].source, 'name')
    }
  })
})

describe('GET /admin/v1/apps and /admin/v1/apps/{app_id}', () => {
  it('lists apps and shows one with key hints but never the keys', async () => {
    const tenant = await h.createTenant('listed')
    const list = await h.admin({ method: 'GET', url: '/admin/v1/apps' })
    assert.equal(list.statusCode, 200)
    assert.ok(list.json().data.some((app: { app_id: string }) => app.app_id === tenant.appId))
    assert.ok(!list.body.includes(tenant.secretKey) && !list.body.includes('secret_live_'))

    const one = await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}` })
    assert.equal(one.statusCode, 200)
    const details = one.json()
    assert.equal(details.app_id, tenant.appId)
    assert.equal(details.rate_limit_per_minute, 40000)
    assert.equal(details.api_keys.length, 2)
    assert.ok(!one.body.includes(tenant.secretKey) && !one.body.includes(tenant.publicKey))
    const secret = details.api_keys.find((key: { kind: string }) => key.kind === 'secret')
    assert.equal(secret.hint, `secret_live_…${tenant.secretKey.slice(-4)}`)
  })

  it('answers 404 app_not_found for unknown and malformed app ids', async () => {
    for (const id of [UNKNOWN_APP, 'not-a-uuid', "1'; drop table apps; --"]) {
      for (const url of [
        `/admin/v1/apps/${encodeURIComponent(id)}`,
        `/admin/v1/apps/${encodeURIComponent(id)}/access-levels`,
      ]) {
        const response = await h.admin({ method: 'GET', url })
        assert.equal(response.statusCode, 404, url)
        assert.equal(response.json().error_code, 'app_not_found')
      }
    }
  })
})

describe('keys', () => {
  it('rotates: 201 with a new secret key; unknown app 404', async () => {
    const tenant = await h.createTenant()
    const rotated = await h.admin({ method: 'POST', url: `/admin/v1/apps/${tenant.appId}/keys/rotate` })
    assert.equal(rotated.statusCode, 201)
    assert.deepEqual(Object.keys(rotated.json()).sort(), ['created_at', 'key_id', 'secret_api_key'])
    const missing = await h.admin({ method: 'POST', url: `/admin/v1/apps/${UNKNOWN_APP}/keys/rotate` })
    assert.equal(missing.statusCode, 404)
  })

  it('refuses to delete the last secret key (409), and answers 404 for a key of another app', async () => {
    const tenant = await h.createTenant()
    const other = await h.createTenant()
    const keys = (await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}` })).json().api_keys
    const secret = keys.find((key: { kind: string }) => key.kind === 'secret')
    const last = await h.admin({
      method: 'DELETE',
      url: `/admin/v1/apps/${tenant.appId}/keys/${secret.key_id}`,
    })
    assert.equal(last.statusCode, 409)
    assert.equal(last.json().error_code, 'last_secret_key')

    const foreign = await h.admin({
      method: 'DELETE',
      url: `/admin/v1/apps/${other.appId}/keys/${secret.key_id}`,
    })
    assert.equal(foreign.statusCode, 404)
    assert.equal(foreign.json().error_code, 'api_key_not_found')
    const malformed = await h.admin({ method: 'DELETE', url: `/admin/v1/apps/${tenant.appId}/keys/nope` })
    assert.equal(malformed.statusCode, 404)

    // The key still works: nothing was deleted.
    const still = await tenant.api({
      method: 'GET',
      path: '/profile/',
      headers: { 'adapty-customer-user-id': 'nobody' },
    })
    assert.equal(still.statusCode, 404)
  })

  it('deletes the public key too', async () => {
    const tenant = await h.createTenant()
    const keys = (await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}` })).json().api_keys
    const publicKey = keys.find((key: { kind: string }) => key.kind === 'public')
    const deleted = await h.admin({
      method: 'DELETE',
      url: `/admin/v1/apps/${tenant.appId}/keys/${publicKey.key_id}`,
    })
    assert.equal(deleted.statusCode, 204)
    assert.equal(deleted.body, '')
  })
})

describe('access levels', () => {
  it('adds, lists and deletes access levels; premium cannot be deleted; duplicates conflict', async () => {
    const tenant = await h.createTenant()
    const base = `/admin/v1/apps/${tenant.appId}/access-levels`
    const created = await h.admin({ method: 'POST', url: base, payload: { id: 'sports' } })
    assert.equal(created.statusCode, 201)
    assert.equal(created.json().id, 'sports')
    const duplicate = await h.admin({ method: 'POST', url: base, payload: { id: 'sports' } })
    assert.equal(duplicate.statusCode, 409)
    assert.equal(duplicate.json().error_code, 'access_level_exists')

    const list = await h.admin({ method: 'GET', url: base })
    assert.deepEqual(
      list.json().data.map((level: { id: string }) => level.id),
      ['premium', 'sports'],
    )

    const premium = await h.admin({ method: 'DELETE', url: `${base}/premium` })
    assert.equal(premium.statusCode, 409)
    assert.equal(premium.json().error_code, 'access_level_protected')
    assert.equal((await h.admin({ method: 'DELETE', url: `${base}/sports` })).statusCode, 204)
    const gone = await h.admin({ method: 'DELETE', url: `${base}/sports` })
    assert.equal(gone.statusCode, 404)
    assert.equal(gone.json().error_code, 'access_level_not_found')
  })

  it('validates the access level id', async () => {
    const tenant = await h.createTenant()
    for (const payload of [{}, { id: '' }, { id: 'has space' }, { id: 'x'.repeat(65) }, { id: 7 }]) {
      const response = await h.admin({
        method: 'POST',
        url: `/admin/v1/apps/${tenant.appId}/access-levels`,
        payload,
      })
      assert.equal(response.statusCode, 400, JSON.stringify(payload))
      assert.equal(response.json().errors[0].source, 'id')
    }
    const missing = await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${UNKNOWN_APP}/access-levels`,
      payload: { id: 'gold' },
    })
    assert.equal(missing.statusCode, 404)
  })
})

describe('settings', () => {
  it('reads and changes the rate limit, and null returns to the server default', async () => {
    const tenant = await h.createTenant()
    const url = `/admin/v1/apps/${tenant.appId}/settings`
    const initial = (await h.admin({ method: 'GET', url })).json()
    assert.equal(initial.rate_limit_per_minute, null)
    assert.equal(initial.effective_rate_limit_per_minute, 40000)
    const changed = await h.admin({ method: 'PATCH', url, payload: { rate_limit_per_minute: 120 } })
    assert.equal(changed.json().rate_limit_per_minute, 120)
    assert.equal(changed.json().effective_rate_limit_per_minute, 120)
    const unchanged = await h.admin({ method: 'PATCH', url, payload: {} })
    assert.equal(unchanged.json().rate_limit_per_minute, 120)
    const reset = await h.admin({ method: 'PATCH', url, payload: { rate_limit_per_minute: null } })
    assert.equal(reset.json().effective_rate_limit_per_minute, 40000)
    for (const payload of [
      { rate_limit_per_minute: 0 },
      { rate_limit_per_minute: 1.5 },
      { rate_limit_per_minute: '10' },
    ]) {
      const bad = await h.admin({ method: 'PATCH', url, payload })
      assert.equal(bad.statusCode, 400, JSON.stringify(payload))
      assert.equal(bad.json().errors[0].source, 'rate_limit_per_minute')
    }
  })
})
