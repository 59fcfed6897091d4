import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { buildTestApp, fieldsError, type Tenant } from '../support/harness.ts'

const h = await buildTestApp()
const UNKNOWN_APP = '01a21078-ec05-739b-9285-2f77f33a7ea3'

const productsUrl = (appId: string) => `/admin/v1/apps/${appId}/products`
const productUrl = (appId: string, productId: string) =>
  `/admin/v1/apps/${appId}/products/${encodeURIComponent(productId)}`

const monthly = {
  product_id: 'pro_monthly',
  access_level_id: 'premium',
  type: 'subscription',
  period: 'P1M',
  store_products: [
    { store: 'app_store', store_product_id: 'com.example.pro.monthly' },
    { store: 'play_store', store_product_id: 'pro:monthly' },
  ],
}

async function create(tenant: Tenant, payload: unknown) {
  return h.admin({
    method: 'POST',
    url: productsUrl(tenant.appId),
    payload: payload as InjectOptions['payload'],
  })
}

async function created(tenant: Tenant, payload: unknown) {
  const response = await create(tenant, payload)
  assert.equal(response.statusCode, 201, response.body)
  return response.json()
}

function expectError(
  response: { statusCode: number; body: string; json(): unknown },
  status: number,
  code: string,
  source?: string | null,
) {
  assert.equal(response.statusCode, status, response.body)
  const body = fieldsError(response as never)
  assert.equal(body.error_code, code, response.body)
  assert.equal(body.status_code, status)
  if (source !== undefined) assert.equal(body.errors[0]?.source, source, response.body)
  return body
}

describe('admin authentication on the catalog', () => {
  it('answers 401 not_authenticated without the admin token', async () => {
    const tenant = await h.createTenant()
    const routes = [
      ['POST', productsUrl(tenant.appId)],
      ['GET', productsUrl(tenant.appId)],
      ['GET', productUrl(tenant.appId, 'x')],
      ['PATCH', productUrl(tenant.appId, 'x')],
      ['DELETE', productUrl(tenant.appId, 'x')],
    ] as const
    for (const [method, url] of routes) {
      for (const authorization of [
        undefined,
        'Bearer wrong-token-0123456789',
        `Api-Key ${tenant.secretKey}`,
      ]) {
        const response = await h.app.inject({
          method,
          url,
          headers: authorization ? { authorization } : {},
          payload: monthly,
        })
        expectError(response, 401, 'not_authenticated')
      }
    }
  })
})

describe('POST /admin/v1/apps/{app_id}/products', () => {
  it('creates a subscription with its store products (201) and shows it', async () => {
    const tenant = await h.createTenant()
    const response = await create(tenant, monthly)
    assert.equal(response.statusCode, 201, response.body)
    const body = response.json()
    assert.deepEqual(Object.keys(body).sort(), [
      'access_level_id',
      'created_at',
      'period',
      'product_id',
      'store_products',
      'type',
      'updated_at',
    ])
    assert.equal(body.product_id, 'pro_monthly')
    assert.equal(body.access_level_id, 'premium')
    assert.equal(body.type, 'subscription')
    assert.equal(body.period, 'P1M')
    assert.deepEqual(body.store_products, monthly.store_products)
    assert.equal(body.created_at, body.updated_at)

    const one = await h.admin({ method: 'GET', url: productUrl(tenant.appId, 'pro_monthly') })
    assert.equal(one.statusCode, 200)
    assert.deepEqual(one.json(), body)
    const list = await h.admin({ method: 'GET', url: productsUrl(tenant.appId) })
    assert.equal(list.statusCode, 200)
    assert.deepEqual(list.json(), { data: [body] })
  })

  it('creates one_time and consumable products without a period, custom stores, and no store products', async () => {
    const tenant = await h.createTenant()
    const lifetime = await created(tenant, {
      product_id: 'lifetime',
      access_level_id: 'premium',
      type: 'one_time',
      store_products: [
        { store: 'stripe', store_product_id: 'price_1PqRsT' },
        { store: 'paddle', store_product_id: 'pri_01h8xy' },
        { store: 'my-web.shop_2', store_product_id: 'LIFETIME' },
      ],
    })
    assert.equal(lifetime.period, null)
    // Listed sorted by store, then store product id.
    assert.deepEqual(
      lifetime.store_products.map((item: { store: string }) => item.store),
      ['my-web.shop_2', 'paddle', 'stripe'],
    )
    const coins = await created(tenant, {
      product_id: 'coins.100',
      access_level_id: 'premium',
      type: 'consumable',
      period: null,
    })
    assert.equal(coins.period, null)
    assert.deepEqual(coins.store_products, [])
    const yearly = await created(tenant, {
      ...monthly,
      product_id: 'pro-yearly',
      period: 'P1Y',
      store_products: [],
    })
    assert.equal(yearly.period, 'P1Y')

    const list = (await h.admin({ method: 'GET', url: productsUrl(tenant.appId) })).json()
    assert.deepEqual(
      list.data.map((product: { product_id: string }) => product.product_id),
      ['lifetime', 'coins.100', 'pro-yearly'],
    )
  })

  it('lets another app use the same product_id and store products', async () => {
    const one = await h.createTenant()
    const other = await h.createTenant()
    await created(one, monthly)
    await created(other, monthly)
  })

  it('answers 409 product_exists for a product_id the app has', async () => {
    const tenant = await h.createTenant()
    await created(tenant, monthly)
    const again = await create(tenant, { ...monthly, store_products: [] })
    expectError(again, 409, 'product_exists', 'product_id')
  })

  it('answers 409 store_product_taken when another product has the store product, and writes nothing', async () => {
    const tenant = await h.createTenant()
    await created(tenant, monthly)
    const clash = await create(tenant, {
      ...monthly,
      product_id: 'pro_monthly_2',
      store_products: [
        { store: 'stripe', store_product_id: 'price_new' },
        { store: 'play_store', store_product_id: 'pro:monthly' },
      ],
    })
    const body = expectError(clash, 409, 'store_product_taken', 'store_products.1')
    assert.match(body.errors[0]?.errors[0] ?? '', /play_store pro:monthly .*pro_monthly/)
    const missing = await h.admin({ method: 'GET', url: productUrl(tenant.appId, 'pro_monthly_2') })
    expectError(missing, 404, 'product_not_found')
    // The same store product id in another store is another store product.
    await created(tenant, {
      ...monthly,
      product_id: 'pro_monthly_2',
      store_products: [
        { store: 'stripe', store_product_id: 'price_new' },
        { store: 'stripe', store_product_id: 'pro:monthly' },
      ],
    })
  })

  it('answers 404 access_level_not_found for an access level the app does not have', async () => {
    const tenant = await h.createTenant()
    const other = await h.createTenant()
    await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${other.appId}/access-levels`,
      payload: { id: 'gold' },
    })
    for (const level of ['gold', 'has space', 'x'.repeat(64)]) {
      const response = await create(tenant, { ...monthly, access_level_id: level })
      expectError(response, 404, 'access_level_not_found', 'access_level_id')
    }
  })

  it('answers 404 app_not_found for unknown and malformed app ids', async () => {
    for (const appId of [UNKNOWN_APP, 'not-a-uuid']) {
      const response = await h.admin({ method: 'POST', url: productsUrl(appId), payload: monthly })
      expectError(response, 404, 'app_not_found', null)
    }
  })

  it('checks the period against the type', async () => {
    const tenant = await h.createTenant()
    for (const payload of [
      { ...monthly, period: undefined },
      { ...monthly, period: null },
      { ...monthly, type: 'one_time' },
      { ...monthly, type: 'consumable', period: 'P1W' },
    ]) {
      const response = await create(tenant, payload)
      expectError(response, 400, 'validation_error', 'period')
    }
  })

  it('answers 400 validation_error naming the field for bad input', async () => {
    const tenant = await h.createTenant()
    const cases: [unknown, string][] = [
      [{ ...monthly, product_id: undefined }, 'product_id'],
      [{ ...monthly, product_id: '' }, 'product_id'],
      [{ ...monthly, product_id: 'has space' }, 'product_id'],
      [{ ...monthly, product_id: 'a/b' }, 'product_id'],
      [{ ...monthly, product_id: 'x'.repeat(129) }, 'product_id'],
      [{ ...monthly, product_id: 7 }, 'product_id'],
      [{ ...monthly, access_level_id: undefined }, 'access_level_id'],
      [{ ...monthly, access_level_id: '' }, 'access_level_id'],
      [{ ...monthly, access_level_id: 'x'.repeat(65) }, 'access_level_id'],
      [{ ...monthly, type: undefined }, 'type'],
      [{ ...monthly, type: 'lifetime' }, 'type'],
      [{ ...monthly, period: 'P2M' }, 'period'],
      [{ ...monthly, period: 1 }, 'period'],
      [{ ...monthly, store_products: 'app_store' }, 'store_products'],
      [{ ...monthly, store_products: [{ store: 'app_store' }] }, 'store_products.0.store_product_id'],
      [{ ...monthly, store_products: [{ store_product_id: 'x' }] }, 'store_products.0.store'],
      [{ ...monthly, store_products: [{ store: '', store_product_id: 'x' }] }, 'store_products.0.store'],
      [
        { ...monthly, store_products: [{ store: 'my store', store_product_id: 'x' }] },
        'store_products.0.store',
      ],
      [
        { ...monthly, store_products: [{ store: 's'.repeat(65), store_product_id: 'x' }] },
        'store_products.0.store',
      ],
      [
        { ...monthly, store_products: [{ store: 'stripe', store_product_id: '' }] },
        'store_products.0.store_product_id',
      ],
      [
        { ...monthly, store_products: [{ store: 'stripe', store_product_id: 'a b' }] },
        'store_products.0.store_product_id',
      ],
      [
        { ...monthly, store_products: [{ store: 'stripe', store_product_id: 'x'.repeat(256) }] },
        'store_products.0.store_product_id',
      ],
      [
        {
          ...monthly,
          store_products: Array.from({ length: 51 }, (_, i) => ({
            store: 'stripe',
            store_product_id: `p${i}`,
          })),
        },
        'store_products',
      ],
      [
        {
          ...monthly,
          store_products: [
            { store: 'stripe', store_product_id: 'a' },
            { store: 'stripe', store_product_id: 'b' },
            { store: 'stripe', store_product_id: 'a' },
          ],
        },
        'store_products.2',
      ],
      [[monthly], 'non_field_errors'],
    ]
    for (const [payload, source] of cases) {
      const response = await create(tenant, payload)
      expectError(response, 400, 'validation_error', source)
    }
    const list = await h.admin({ method: 'GET', url: productsUrl(tenant.appId) })
    assert.deepEqual(list.json().data, [], 'nothing was written')
  })

  it('answers 400 parse_error, 413 payload_too_large and 415 unsupported_media_type in the envelope', async () => {
    const tenant = await h.createTenant()
    const url = productsUrl(tenant.appId)
    const parse = await h.admin({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: '{"product_id": ',
    })
    expectError(parse, 400, 'parse_error', null)
    const nul = await h.admin({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ ...monthly, product_id: 'a\u0000b' }),
    })
    expectError(nul, 400, 'validation_error')
    const huge = await h.admin({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ ...monthly, product_id: 'x'.repeat(2 * 1024 * 1024) }),
    })
    expectError(huge, 413, 'payload_too_large')
    const form = await h.admin({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'product_id=x',
    })
    expectError(form, 415, 'unsupported_media_type')
    const empty = await h.admin({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: '',
    })
    expectError(empty, 400, 'validation_error', 'non_field_errors')
  })

  it('never answers 500 to arbitrary bodies', async () => {
    const tenant = await h.createTenant()
    await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${tenant.appId}/access-levels`,
      payload: { id: 'gold' },
    })
    const storeProduct = fc.record(
      {
        store: fc.oneof(fc.constantFrom('app_store', 'play_store', 'stripe', 'custom.store'), fc.string()),
        store_product_id: fc.oneof(fc.constantFrom('a', 'b', 'com.x.y'), fc.string(), fc.integer()),
      },
      { requiredKeys: [] },
    )
    const body = fc.record(
      {
        product_id: fc.oneof(fc.constantFrom('p1', 'p2', 'p3'), fc.string(), fc.integer(), fc.constant(null)),
        access_level_id: fc.oneof(fc.constantFrom('premium', 'gold', 'missing'), fc.string()),
        type: fc.oneof(fc.constantFrom('subscription', 'one_time', 'consumable'), fc.string()),
        period: fc.oneof(fc.constantFrom('P1W', 'P1M', 'P1Y', null), fc.string()),
        store_products: fc.oneof(fc.array(storeProduct, { maxLength: 4 }), fc.anything()),
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('POST', 'PATCH'), async (payload, method) => {
        const url = method === 'POST' ? productsUrl(tenant.appId) : productUrl(tenant.appId, 'p1')
        const response = await h.admin({ method, url, payload })
        assert.ok(
          [200, 201, 400, 404, 409].includes(response.statusCode),
          `${response.statusCode} ${response.body}`,
        )
      }),
      { numRuns: 150 },
    )
  })
})

describe('GET, PATCH and DELETE /admin/v1/apps/{app_id}/products/{product_id}', () => {
  it('answers 404 product_not_found for a product the app does not have, and app_not_found for an unknown app', async () => {
    const tenant = await h.createTenant()
    const other = await h.createTenant()
    await created(other, monthly)
    for (const productId of ['pro_monthly', 'nope', 'has space', '%']) {
      for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
        const response = await h.admin({
          method,
          url: productUrl(tenant.appId, productId),
          ...(method === 'PATCH' ? { payload: { type: 'one_time' } } : {}),
        })
        expectError(response, 404, 'product_not_found', null)
      }
    }
    for (const appId of [UNKNOWN_APP, 'not-a-uuid']) {
      for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
        const response = await h.admin({
          method,
          url: productUrl(appId, 'pro_monthly'),
          ...(method === 'PATCH' ? { payload: {} } : {}),
        })
        expectError(response, 404, 'app_not_found', null)
      }
      expectError(await h.admin({ method: 'GET', url: productsUrl(appId) }), 404, 'app_not_found', null)
    }
  })

  it('changes the access level, type, period and store products; fields not sent stay', async () => {
    const tenant = await h.createTenant()
    await h.admin({
      method: 'POST',
      url: `/admin/v1/apps/${tenant.appId}/access-levels`,
      payload: { id: 'gold' },
    })
    const original = await created(tenant, monthly)
    const url = productUrl(tenant.appId, 'pro_monthly')

    const unchanged = await h.admin({ method: 'PATCH', url, payload: {} })
    assert.equal(unchanged.statusCode, 200)
    assert.deepEqual(unchanged.json(), original)

    await new Promise((resolve) => setTimeout(resolve, 5))
    const gold = await h.admin({ method: 'PATCH', url, payload: { access_level_id: 'gold', period: 'P3M' } })
    assert.equal(gold.statusCode, 200, gold.body)
    assert.equal(gold.json().access_level_id, 'gold')
    assert.equal(gold.json().period, 'P3M')
    assert.equal(gold.json().type, 'subscription')
    assert.deepEqual(gold.json().store_products, monthly.store_products)
    assert.equal(gold.json().created_at, original.created_at)
    assert.ok(gold.json().updated_at > original.updated_at)

    const replaced = await h.admin({
      method: 'PATCH',
      url,
      payload: { store_products: [{ store: 'stripe', store_product_id: 'price_monthly' }] },
    })
    assert.deepEqual(replaced.json().store_products, [{ store: 'stripe', store_product_id: 'price_monthly' }])
    // The released store products can be claimed by another product.
    await created(tenant, { ...monthly, product_id: 'successor' })

    const oneTime = await h.admin({ method: 'PATCH', url, payload: { type: 'one_time' } })
    assert.equal(oneTime.statusCode, 200)
    assert.equal(oneTime.json().period, null, 'a product that stops being a subscription loses its period')
    const back = await h.admin({ method: 'PATCH', url, payload: { type: 'subscription', period: 'P6M' } })
    assert.equal(back.json().period, 'P6M')
    assert.equal((await h.admin({ method: 'GET', url })).json().period, 'P6M')
  })

  it('refuses bad changes with 400, 404 and 409 and leaves the product as it was', async () => {
    const tenant = await h.createTenant()
    const original = await created(tenant, monthly)
    await created(tenant, {
      ...monthly,
      product_id: 'other',
      store_products: [{ store: 'stripe', store_product_id: 'price_other' }],
    })
    const url = productUrl(tenant.appId, 'pro_monthly')
    expectError(
      await h.admin({ method: 'PATCH', url, payload: { type: 'consumable', period: 'P1M' } }),
      400,
      'validation_error',
      'period',
    )
    expectError(
      await h.admin({ method: 'PATCH', url, payload: { period: null } }),
      400,
      'validation_error',
      'period',
    )
    expectError(
      await h.admin({ method: 'PATCH', url, payload: { period: 'P2W' } }),
      400,
      'validation_error',
      'period',
    )
    expectError(
      await h.admin({ method: 'PATCH', url, payload: { type: 'x' } }),
      400,
      'validation_error',
      'type',
    )
    expectError(
      await h.admin({
        method: 'PATCH',
        url,
        payload: {
          store_products: [
            { store: 'stripe', store_product_id: 'a' },
            { store: 'stripe', store_product_id: 'a' },
          ],
        },
      }),
      400,
      'validation_error',
      'store_products.1',
    )
    expectError(
      await h.admin({ method: 'PATCH', url, payload: { access_level_id: 'missing' } }),
      404,
      'access_level_not_found',
      'access_level_id',
    )
    const taken = await h.admin({
      method: 'PATCH',
      url,
      payload: {
        access_level_id: 'premium',
        store_products: [
          { store: 'app_store', store_product_id: 'new' },
          { store: 'stripe', store_product_id: 'price_other' },
        ],
      },
    })
    const body = expectError(taken, 409, 'store_product_taken', 'store_products.1')
    assert.match(body.errors[0]?.errors[0] ?? '', /stripe price_other .*other/)
    const form = await h.admin({
      method: 'PATCH',
      url,
      headers: { 'content-type': 'text/plain' },
      payload: 'type=one_time',
    })
    expectError(form, 415, 'unsupported_media_type')
    const huge = await h.admin({
      method: 'PATCH',
      url,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ access_level_id: 'x'.repeat(2 * 1024 * 1024) }),
    })
    expectError(huge, 413, 'payload_too_large')
    const parse = await h.admin({
      method: 'PATCH',
      url,
      headers: { 'content-type': 'application/json' },
      payload: '{',
    })
    expectError(parse, 400, 'parse_error')

    assert.deepEqual((await h.admin({ method: 'GET', url })).json(), original)
  })

  it('deletes a product (204) and releases its store products', async () => {
    const tenant = await h.createTenant()
    await created(tenant, monthly)
    const url = productUrl(tenant.appId, 'pro_monthly')
    const deleted = await h.admin({ method: 'DELETE', url })
    assert.equal(deleted.statusCode, 204)
    assert.equal(deleted.body, '')
    expectError(await h.admin({ method: 'GET', url }), 404, 'product_not_found')
    expectError(await h.admin({ method: 'DELETE', url }), 404, 'product_not_found')
    await created(tenant, { ...monthly, product_id: 'reborn' })
  })
})

describe('access levels used by products', () => {
  it('answers 409 access_level_in_use when deleting a level a product grants, then allows it', async () => {
    const tenant = await h.createTenant()
    const levels = `/admin/v1/apps/${tenant.appId}/access-levels`
    await h.admin({ method: 'POST', url: levels, payload: { id: 'gold' } })
    await created(tenant, { ...monthly, access_level_id: 'gold' })
    const inUse = await h.admin({ method: 'DELETE', url: `${levels}/gold` })
    expectError(inUse, 409, 'access_level_in_use', null)
    const still = await h.admin({ method: 'GET', url: levels })
    assert.deepEqual(
      still.json().data.map((level: { id: string }) => level.id),
      ['premium', 'gold'],
    )

    await h.admin({
      method: 'PATCH',
      url: productUrl(tenant.appId, 'pro_monthly'),
      payload: { access_level_id: 'premium' },
    })
    assert.equal((await h.admin({ method: 'DELETE', url: `${levels}/gold` })).statusCode, 204)
  })

  it('never loses the race between deleting a level and creating a product that grants it', async () => {
    for (let round = 0; round < 5; round += 1) {
      const tenant = await h.createTenant()
      const levels = `/admin/v1/apps/${tenant.appId}/access-levels`
      await h.admin({ method: 'POST', url: levels, payload: { id: 'gold' } })
      const [product, deletion] = await Promise.all([
        create(tenant, { ...monthly, access_level_id: 'gold' }),
        h.admin({ method: 'DELETE', url: `${levels}/gold` }),
      ])
      if (product.statusCode === 201) {
        expectError(deletion, 409, 'access_level_in_use')
      } else {
        assert.equal(deletion.statusCode, 204, deletion.body)
        expectError(product, 404, 'access_level_not_found')
      }
    }
  })
})

describe('concurrent writes', () => {
  it('creates a product_id once: one 201, the others 409 product_exists', async () => {
    const tenant = await h.createTenant()
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        create(tenant, {
          ...monthly,
          store_products: [{ store: 'stripe', store_product_id: `price_${i}` }],
        }),
      ),
    )
    const statuses = responses.map((response) => response.statusCode).sort()
    assert.deepEqual(
      statuses,
      [201, 409, 409, 409, 409, 409, 409, 409],
      responses.map((r) => r.body).join('\n'),
    )
    for (const response of responses.filter((r) => r.statusCode === 409))
      assert.equal(response.json().error_code, 'product_exists')
    const list = (await h.admin({ method: 'GET', url: productsUrl(tenant.appId) })).json().data
    assert.equal(list.length, 1)
    assert.equal(list[0].store_products.length, 1)
  })

  it('gives a store product to one product: one 201, the others 409 store_product_taken', async () => {
    const tenant = await h.createTenant()
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        create(tenant, {
          ...monthly,
          product_id: `contender_${i}`,
          // In different orders, so that naive writers would deadlock.
          store_products: i % 2 ? monthly.store_products : [...monthly.store_products].reverse(),
        }),
      ),
    )
    const statuses = responses.map((response) => response.statusCode).sort()
    assert.deepEqual(
      statuses,
      [201, 409, 409, 409, 409, 409, 409, 409],
      responses.map((r) => r.body).join('\n'),
    )
    for (const response of responses.filter((r) => r.statusCode === 409))
      assert.equal(response.json().error_code, 'store_product_taken')
    const list = (await h.admin({ method: 'GET', url: productsUrl(tenant.appId) })).json().data
    assert.equal(list.length, 1)
  })

  it('lets concurrent updates that swap store products finish without a 500', async () => {
    const tenant = await h.createTenant()
    const a = { store: 'stripe', store_product_id: 'a' }
    const b = { store: 'stripe', store_product_id: 'b' }
    await created(tenant, { ...monthly, product_id: 'one', store_products: [a] })
    await created(tenant, { ...monthly, product_id: 'two', store_products: [b] })
    for (let round = 0; round < 5; round += 1) {
      const responses = await Promise.all([
        h.admin({ method: 'PATCH', url: productUrl(tenant.appId, 'one'), payload: { store_products: [b] } }),
        h.admin({ method: 'PATCH', url: productUrl(tenant.appId, 'two'), payload: { store_products: [a] } }),
        h.admin({ method: 'PATCH', url: productUrl(tenant.appId, 'one'), payload: { store_products: [a] } }),
        h.admin({ method: 'PATCH', url: productUrl(tenant.appId, 'two'), payload: { store_products: [b] } }),
      ])
      for (const response of responses) assert.ok([200, 409].includes(response.statusCode), response.body)
    }
    // Whatever won, each store product belongs to at most one product.
    const list = (await h.admin({ method: 'GET', url: productsUrl(tenant.appId) })).json().data
    const claimed = list.flatMap((product: { store_products: { store_product_id: string }[] }) =>
      product.store_products.map((item) => item.store_product_id),
    )
    assert.equal(new Set(claimed).size, claimed.length)
  })
})

describe('the OpenAPI document', () => {
  it('documents the catalog routes with every status they answer', async () => {
    const document = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const expected: Record<string, Record<string, string[]>> = {
      '/admin/v1/apps/{app_id}/products': {
        post: ['201', '400', '401', '404', '409', '413', '415', '500', '503'],
        get: ['200', '401', '404', '500', '503'],
      },
      '/admin/v1/apps/{app_id}/products/{product_id}': {
        get: ['200', '401', '404', '500', '503'],
        patch: ['200', '400', '401', '404', '409', '413', '415', '500', '503'],
        delete: ['204', '401', '404', '500', '503'],
      },
    }
    for (const [path, operations] of Object.entries(expected)) {
      for (const [method, statuses] of Object.entries(operations)) {
        const operation = document.paths[path]?.[method]
        assert.ok(operation, `${method} ${path} is not documented`)
        assert.deepEqual(Object.keys(operation.responses).sort(), statuses, `${method} ${path}`)
        assert.deepEqual(operation.security, [{ adminToken: [] }])
      }
    }
    const deleteLevel = document.paths['/admin/v1/apps/{app_id}/access-levels/{access_level_id}'].delete
    assert.ok(Object.keys(deleteLevel.responses).includes('409'))
  })
})
