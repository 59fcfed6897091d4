import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../support/harness.ts'

const h = await buildTestApp()

type Operation = { operationId?: string; responses?: Record<string, unknown>; security?: unknown[] }

describe('GET /openapi.json', () => {
  const documentPromise = h.app.inject({ method: 'GET', url: '/openapi.json' })

  it('is an OpenAPI 3.1 document', async () => {
    const response = await documentPromise
    assert.equal(response.statusCode, 200)
    assert.equal(response.json().openapi, '3.1.0')
  })

  it('documents every route the server serves, except its own documentation pages', async () => {
    const paths = (await documentPromise).json().paths as Record<string, Record<string, Operation>>
    const documented = new Set<string>()
    for (const [path, operations] of Object.entries(paths)) {
      for (const method of Object.keys(operations))
        documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)
    }
    const expected = [
      'GET /health',
      'POST /api/v2/server-side-api/profile/',
      'GET /api/v2/server-side-api/profile/',
      'PATCH /api/v2/server-side-api/profile/',
      'DELETE /api/v2/server-side-api/profile/',
      'GET /api/v2/server-side-api/integration/profile/set/integration-identifiers/',
      'POST /api/v2/server-side-api/integration/profile/set/integration-identifiers/',
      'GET /api/v2/server-side-api/purchase/profile/refund-saver/settings/',
      'POST /api/v2/server-side-api/purchase/profile/refund-saver/settings/',
      'POST /admin/v1/apps',
      'GET /admin/v1/apps',
      'GET /admin/v1/apps/:app_id',
      'POST /admin/v1/apps/:app_id/keys/rotate',
      'DELETE /admin/v1/apps/:app_id/keys/:key_id',
      'POST /admin/v1/apps/:app_id/access-levels',
      'GET /admin/v1/apps/:app_id/access-levels',
      'DELETE /admin/v1/apps/:app_id/access-levels/:access_level_id',
      'GET /admin/v1/apps/:app_id/settings',
      'PATCH /admin/v1/apps/:app_id/settings',
      'POST /api/v2/server-side-api/purchase/set/transaction/',
      'POST /api/v2/server-side-api/purchase/profile/grant/access-level/',
      'POST /api/v2/server-side-api/purchase/profile/revoke/access-level/',
      'POST /admin/v1/apps/:app_id/products',
      'GET /admin/v1/apps/:app_id/products',
      'GET /admin/v1/apps/:app_id/products/:product_id',
      'PATCH /admin/v1/apps/:app_id/products/:product_id',
      'DELETE /admin/v1/apps/:app_id/products/:product_id',
      'GET /admin/v1/apps/:app_id/events',
      'GET /admin/v1/apps/:app_id/stats',
      'PUT /admin/v1/apps/:app_id/webhooks/:environment',
      'GET /admin/v1/apps/:app_id/webhooks/:environment',
      'DELETE /admin/v1/apps/:app_id/webhooks/:environment',
      'POST /admin/v1/apps/:app_id/webhooks/:environment/rotate-secret',
      'GET /admin/v1/apps/:app_id/deliveries',
      'POST /admin/v1/apps/:app_id/events/:event_id/redeliver',
      'POST /admin/v1/apps/:app_id/events/redeliver',
      'POST /api/v1/sdk/purchase/stripe/token/validate/',
      'POST /webhooks/stripe/:app_id',
      'POST /admin/v1/apps/:app_id/stripe/imports',
      'GET /admin/v1/apps/:app_id/stripe/imports',
      'GET /admin/v1/apps/:app_id/stripe/imports/:import_id',
      'POST /api/v2/server-side-api/purchase/paddle/token/validate/',
    ]
    for (const route of expected) {
      assert.ok(documented.has(route), `${route} is missing from the document`)
      // And it is really served: without credentials it answers anything but 404.
      const [method, path] = route.split(' ') as [string, string]
      const response = await h.app.inject({ method: method as 'GET', url: path.replace(/:\w+/g, 'x') })
      assert.notEqual(response.statusCode, 404, `${route} is not served`)
    }
    assert.equal(
      documented.size,
      expected.length,
      `unexpected extra routes: ${[...documented].filter((r) => !expected.includes(r))}`,
    )
  })

  it('gives every operation an operationId, security (but /health) and every error status it can answer', async () => {
    const paths = (await documentPromise).json().paths as Record<string, Record<string, Operation>>
    const ids = new Set<string>()
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`
        assert.ok(operation.operationId, `${where} has no operationId`)
        assert.ok(!ids.has(operation.operationId), `${where} repeats ${operation.operationId}`)
        ids.add(operation.operationId)
        const statuses = Object.keys(operation.responses ?? {})
        if (path === '/health') continue
        assert.ok(operation.security?.length, `${where} has no security`)
        // A store's webhook is checked by its signature: a bad one is 400, as the store expects.
        for (const status of path.startsWith('/webhooks/') ? ['500'] : ['401', '500'])
          assert.ok(statuses.includes(status), `${where} does not declare ${status}`)
        if (path.startsWith('/api/')) assert.ok(statuses.includes('429'), `${where} does not declare 429`)
        if (['post', 'patch'].includes(method) && operation.operationId !== 'adminRotateSecretKey') {
          for (const status of ['400', '413', '415'])
            assert.ok(statuses.includes(status), `${where} does not declare ${status}`)
        }
      }
    }
  })

  it('has no $ref that does not resolve', async () => {
    const document = (await documentPromise).json()
    const refs: string[] = []
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk)
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value)
          else walk(value)
        }
      }
    }
    walk(document)
    for (const ref of refs) {
      assert.ok(ref.startsWith('#/'), `external $ref ${ref}`)
      let target: unknown = document
      for (const part of ref.slice(2).split('/')) target = (target as Record<string, unknown>)?.[part]
      assert.ok(target, `${ref} does not resolve`)
    }
  })
})

describe('GET /docs', () => {
  it('serves the documentation page and its assets from this server only', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/docs/' })
    assert.equal(page.statusCode, 200)
    assert.match(page.headers['content-type'] as string, /text\/html/)
    const urls = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string)
    assert.ok(urls.length > 0)
    for (const url of urls) {
      assert.ok(!/^(https?:)?\/\//.test(url), `${url} loads from outside the server`)
      const asset = await h.app.inject({
        method: 'GET',
        url: new URL(url, 'http://localhost/docs/').pathname,
      })
      assert.equal(asset.statusCode, 200, url)
    }
    // The page reads the document from this server and turns off the external validator badge.
    const initializer = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
    assert.equal(initializer.statusCode, 200)
    assert.match(initializer.body, /url: resolveUrl\('\.\/json'\)/)
    assert.match(initializer.body, /validatorUrl: null/)
    const json = await h.app.inject({ method: 'GET', url: '/docs/json' })
    assert.equal(json.json().openapi, '3.1.0')
  })
})
