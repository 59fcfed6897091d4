import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { API, buildTestApp, uniqueUserId } from '../support/harness.ts'

const h = await buildTestApp()
const tenant = await h.createTenant('bad-input')

function send(
  method: 'POST' | 'PATCH' | 'GET',
  path: string,
  payload: string | Buffer | undefined,
  headers: Record<string, string> = {},
) {
  return h.app.inject({
    method,
    url: `${API}${path}`,
    headers: { authorization: `Api-Key ${tenant.secretKey}`, 'content-type': 'application/json', ...headers },
    ...(payload === undefined ? {} : { payload }),
  })
}

describe('malformed and oversized bodies', () => {
  it('answers 400 parse_error for JSON that does not parse', async () => {
    for (const text of ['{', '{"first_name": }', "{'a': 1}", '{"a": 1,}', 'nul', '\u0000']) {
      const response = await send('POST', '/profile/', text, { 'adapty-customer-user-id': uniqueUserId() })
      assert.equal(response.statusCode, 400, text)
      const body = response.json()
      assert.equal(body.error_code, 'parse_error')
      assert.equal(body.errors[0].source, null)
      assert.match(body.errors[0].errors[0], /^JSON parse error - /)
    }
  })

  it('answers 400 validation_error when the body is JSON but not an object', async () => {
    for (const text of ['[]', '[{"first_name": "a"}]', '"text"', '42', 'true']) {
      const response = await send('PATCH', '/profile/', text, { 'adapty-customer-user-id': uniqueUserId() })
      assert.equal(response.statusCode, 400, text)
      assert.equal(response.json().error_code, 'validation_error')
    }
  })

  it('answers 413 payload_too_large for a 10 MB body, in the error envelope', async () => {
    const huge = JSON.stringify({ first_name: 'x'.repeat(10 * 1024 * 1024) })
    const response = await send('POST', '/profile/', huge, { 'adapty-customer-user-id': uniqueUserId() })
    assert.equal(response.statusCode, 413)
    assert.equal(response.json().error_code, 'payload_too_large')
    assert.equal(response.json().status_code, 413)
  })

  it('answers 415 unsupported_media_type for bodies that are not JSON', async () => {
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
    ]) {
      const response = await send('POST', '/profile/', 'first_name=a', {
        'content-type': contentType,
        'adapty-customer-user-id': uniqueUserId(),
      })
      assert.equal(response.statusCode, 415, contentType)
      assert.equal(response.json().error_code, 'unsupported_media_type')
    }
  })

  it('accepts JSON with a charset and an empty body as no body', async () => {
    const withCharset = await send('POST', '/profile/', '{"first_name":"Zoë"}', {
      'content-type': 'application/json; charset=utf-8',
      'adapty-customer-user-id': uniqueUserId(),
    })
    assert.equal(withCharset.statusCode, 200, withCharset.body)
    const empty = await send('POST', '/profile/', '', { 'adapty-customer-user-id': uniqueUserId() })
    assert.equal(empty.statusCode, 200, empty.body)
  })

  it('refuses the NUL character, which PostgreSQL cannot store, with a 400', async () => {
    for (const text of [
      '{"first_name": "a\\u0000b"}',
      '{"custom_attributes": [{"key": "k", "value": "\\u0000"}]}',
    ]) {
      const response = await send('POST', '/profile/', text, { 'adapty-customer-user-id': uniqueUserId() })
      assert.equal(response.statusCode, 400, text)
      assert.equal(response.json().error_code, 'validation_error')
    }
  })

  it('ignores __proto__ and constructor keys instead of polluting objects', async () => {
    const response = await send(
      'POST',
      '/profile/',
      '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "first_name": "a"}',
      { 'adapty-customer-user-id': uniqueUserId() },
    )
    assert.equal(response.statusCode, 200, response.body)
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
  })

  it('survives deeply nested JSON with a 4xx', async () => {
    const deep = `{"custom_attributes": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`
    const response = await send('PATCH', '/profile/', deep, { 'adapty-customer-user-id': uniqueUserId() })
    assert.ok(response.statusCode >= 400 && response.statusCode < 500, String(response.statusCode))
  })
})

describe('wrong field types and values name the field', () => {
  const cases: [string, unknown][] = [
    ['first_name', 42],
    ['first_name', 'x'.repeat(256)],
    ['gender', 'x'],
    ['email', 'not-an-email'],
    ['birthday', '2020-13-45'],
    ['birthday', 20001231],
    ['ip_country', 'FRA'],
    ['ip_v4_address', '999.1.1.1'],
    ['store', 'amazon'],
    ['store_account_token', 'not-a-uuid'],
    ['att_status', 5],
    ['att_status', '3'],
    ['analytics_disabled', 'true'],
    ['custom_attributes', 'plan=gold'],
    ['custom_attributes', { plan: 'gold' }],
    ['installation_meta', 'device'],
    ['installation_meta.device_id', undefined],
    ['installation_meta.platform', 'Windows'],
    ['installation_meta.user_agent', 'u'.repeat(1025)],
  ]
  for (const [field, value] of cases) {
    it(`${field} = ${JSON.stringify(value)?.slice(0, 40)}`, async () => {
      const body: Record<string, unknown> = {}
      if (field.startsWith('installation_meta.')) {
        const meta: Record<string, unknown> = { device_id: 'd' }
        const key = field.split('.')[1] as string
        if (value === undefined) delete meta[key]
        else meta[key] = value
        body.installation_meta = meta
      } else {
        body[field] = value
      }
      const response = await send('POST', '/profile/', JSON.stringify(body), {
        'adapty-customer-user-id': uniqueUserId(),
      })
      assert.equal(response.statusCode, 400, response.body)
      assert.equal(response.json().error_code, 'validation_error')
      assert.equal(response.json().errors[0].source, field)
    })
  }

  it('refuses numbers that do not fit a double, such as 1e400', async () => {
    const response = await send(
      'POST',
      '/profile/',
      '{"custom_attributes": [{"key": "big", "value": 1e400}]}',
      {
        'adapty-customer-user-id': uniqueUserId(),
      },
    )
    assert.equal(response.statusCode, 400)
  })

  it('refuses an over-long customer user id header and an unknown platform header', async () => {
    const long = await send('GET', '/profile/', undefined, { 'adapty-customer-user-id': 'u'.repeat(256) })
    assert.equal(long.statusCode, 400)
    assert.equal(long.json().errors[0].source, 'adapty-customer-user-id')
    const platform = await send('POST', '/profile/', '{}', {
      'adapty-customer-user-id': uniqueUserId(),
      'adapty-platform': 'Windows',
    })
    assert.equal(platform.statusCode, 400)
    assert.equal(platform.json().errors[0].source, 'adapty-platform')
  })
})

describe('unicode', () => {
  it('stores and returns names, ids and attribute values in any script, counting characters not bytes', async () => {
    const userId = `ユーザー-${uniqueUserId()}`
    const value = '🏄'.repeat(50)
    const response = await send(
      'POST',
      '/profile/',
      JSON.stringify({
        first_name: 'Zoë 李 مرحبا',
        custom_attributes: [
          { key: 'wave', value },
          { key: 'rtl', value: 'שלום\u200f' },
        ],
      }),
      { 'adapty-customer-user-id': encodeURIComponent(userId) },
    )
    assert.equal(response.statusCode, 200, response.body)
    assert.deepEqual(response.json().data.custom_attributes, [
      { key: 'wave', value },
      { key: 'rtl', value: 'שלום\u200f' },
    ])
  })

  it('does not fail on lone surrogates', async () => {
    const response = await send(
      'POST',
      '/profile/',
      '{"first_name": "\\ud800", "custom_attributes": [{"key": "s", "value": "\\udfff"}]}',
      {
        'adapty-customer-user-id': uniqueUserId(),
      },
    )
    assert.ok(response.statusCode < 500, response.body)
  })
})

describe('unknown routes', () => {
  it('answers 404 not_found in the error envelope for unknown paths and methods', async () => {
    for (const [method, url] of [
      ['GET', '/nope'],
      ['PUT', `${API}/profile/`],
      ['GET', `${API}/paywalls/`],
      ['POST', '/admin/v1/unknown'],
    ] as const) {
      const response = await h.app.inject({ method, url })
      assert.equal(response.statusCode, 404, `${method} ${url}`)
      assert.equal(response.json().error_code, 'not_found')
      assert.equal(response.json().status_code, 404)
    }
  })
})

describe('random input never causes a 5xx', () => {
  const routes = [
    ['POST', '/profile/'],
    ['PATCH', '/profile/'],
    ['POST', '/integration/profile/set/integration-identifiers/'],
    ['POST', '/purchase/profile/refund-saver/settings/'],
  ] as const
  const fieldNames = fc.constantFrom(
    'first_name',
    'gender',
    'birthday',
    'email',
    'att_status',
    'custom_attributes',
    'installation_meta',
    'store',
    'appsflyer_id',
    'consent',
    'custom_preference',
    '__proto__',
  )
  const anyValue = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.array(fc.record({ key: fc.string({ maxLength: 40 }), value: fc.jsonValue({ maxDepth: 1 }) }), {
      maxLength: 40,
    }),
    fc.record({ device_id: fc.string({ maxLength: 300 }), platform: fc.string() }, { requiredKeys: [] }),
    fc.string({ unit: 'binary', maxLength: 80 }),
  )

  it('for structured random bodies on every write route', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.dictionary(fieldNames, anyValue, { maxKeys: 6 }),
        async ([method, path], body) => {
          const headers = { 'adapty-customer-user-id': `fuzz-${process.pid}` }
          await send('POST', '/profile/', '{}', headers)
          const response = await send(method, path, JSON.stringify(body), headers)
          assert.ok(
            response.statusCode < 500,
            `${method} ${path} ${JSON.stringify(body).slice(0, 200)} → ${response.body}`,
          )
        },
      ),
      { numRuns: 150 },
    )
  })

  it('for random bytes as bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.uint8Array({ maxLength: 200 }),
        async ([method, path], bytes) => {
          const response = await send(method, path, Buffer.from(bytes), {
            'adapty-customer-user-id': `fuzz-${process.pid}`,
          })
          assert.ok(response.statusCode < 500, `${method} ${path} → ${response.body}`)
        },
      ),
      { numRuns: 100 },
    )
  })
})
