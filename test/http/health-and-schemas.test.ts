import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import Fastify from 'fastify'
import { Type } from 'typebox'
import { buildApp, type Phase } from '../../src/app.ts'
import { databaseTargetFrom } from '../../src/db/database-target.ts'
import { openDatabase } from '../../src/db/open-database.ts'
import { enforceResponseSchemas } from '../../src/http/response-validation.ts'
import { createServices } from '../../src/services.ts'
import { buildTestApp } from '../support/harness.ts'

describe('GET /health', () => {
  it('answers 200 {"status":"ok"} when the database answers', async () => {
    const h = await buildTestApp()
    const response = await h.app.inject({ method: 'GET', url: '/health' })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { status: 'ok' })
  })

  it('answers 503 while starting, while shutting down and once the database is gone', async () => {
    const { config } = await buildTestApp()
    // The engine under test: a PostgreSQL whose connections are gone fails differently from a closed PGlite.
    const database = await openDatabase(
      config.DATABASE_URL ? databaseTargetFrom(config) : { engine: 'pglite-memory' },
    )
    await database.migrate()
    const services = createServices(database)
    let phase: Phase = 'starting'
    const app = await buildApp({ services, config, phase: () => phase })

    // Starting: migrations still running. /health says so, and every other route refuses cleanly.
    assert.deepEqual((await app.inject({ method: 'GET', url: '/health' })).json(), { status: 'unavailable' })
    for (const url of ['/api/v2/server-side-api/profile/', '/admin/v1/apps']) {
      const early = await app.inject({ method: 'GET', url })
      assert.equal(early.statusCode, 503, url)
      assert.equal(early.json().error_code, 'service_unavailable')
      assert.equal(early.headers['retry-after'], '2')
    }

    phase = 'ready'
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
    phase = 'stopping'
    const stopping = await app.inject({ method: 'GET', url: '/health' })
    assert.equal(stopping.statusCode, 503)
    assert.deepEqual(stopping.json(), { status: 'unavailable' })
    phase = 'ready'
    const created = await services.apps.createApp('db-gone')
    await database.close()
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 503)

    // Requests that need the database get 503 service_unavailable in the error envelope, not a 500.
    const profile = await app.inject({
      method: 'GET',
      url: '/api/v2/server-side-api/profile/',
      headers: { authorization: `Api-Key ${created.secretApiKey}`, 'adapty-customer-user-id': 'u' },
    })
    assert.equal(profile.statusCode, 503, profile.body)
    assert.equal(profile.json().error_code, 'service_unavailable')
    assert.equal(profile.headers['retry-after'], '5')
    const admin = await app.inject({
      method: 'GET',
      url: '/admin/v1/apps',
      headers: { authorization: 'Bearer whatever-token-123' },
    })
    assert.equal(admin.statusCode, 503)
    await app.close()
  })
})

describe('response schema enforcement', () => {
  it('turns a reply that breaks its declared schema, or an undeclared status, into a failure', async () => {
    const app = Fastify()
    enforceResponseSchemas(app)
    app.get(
      '/wrong-shape',
      { schema: { response: { 200: Type.Object({ id: Type.String() }) } } },
      async () => ({ id: 42 }),
    )
    app.get('/undeclared', { schema: { response: { 200: Type.Object({}) } } }, async (_request, reply) =>
      reply.code(202 as never).send({} as never),
    )
    app.get('/right', { schema: { response: { 200: Type.Object({ id: Type.String() }) } } }, async () => ({
      id: 'a',
    }))
    // fast-json-stringify would coerce 42 to "42"; validate the raw value by skipping serialization.
    app.setSerializerCompiler(() => (data) => JSON.stringify(data))
    assert.equal((await app.inject({ method: 'GET', url: '/wrong-shape' })).statusCode, 500)
    assert.equal((await app.inject({ method: 'GET', url: '/undeclared' })).statusCode, 500)
    assert.equal((await app.inject({ method: 'GET', url: '/right' })).statusCode, 200)
    await app.close()
  })

  it('is on in every route test, so every response those tests see matched its schema', async () => {
    const h = await buildTestApp()
    const tenant = await h.createTenant()
    const headers = { 'adapty-customer-user-id': 'schema-check' }
    const calls = [
      await tenant.api({
        method: 'POST',
        path: '/profile/',
        headers,
        body: { custom_attributes: [{ key: 'a', value: 1 }] },
      }),
      await tenant.api({ method: 'GET', path: '/profile/', headers }),
      await tenant.api({ method: 'GET', path: '/integration/profile/set/integration-identifiers/', headers }),
      await tenant.api({ method: 'GET', path: '/purchase/profile/refund-saver/settings/', headers }),
      await tenant.api({
        method: 'GET',
        path: '/profile/',
        headers: { 'adapty-customer-user-id': 'missing' },
      }),
      await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}` }),
    ]
    assert.deepEqual(
      calls.map((call) => call.statusCode),
      [200, 200, 200, 200, 404, 200],
    )
  })
})
