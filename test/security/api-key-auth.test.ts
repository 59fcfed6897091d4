import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { API, buildTestApp, type Tenant, uniqueUserId } from '../support/harness.ts'

const h = await buildTestApp()

/** Every server-side route, with the envelope it answers in and what it says for a profile it cannot see. */
const ROUTES = [
  { method: 'POST', path: '/profile/', style: 'fields', body: {}, missing: [404, 'profile_does_not_exist'] },
  { method: 'GET', path: '/profile/', style: 'fields', missing: [404, 'profile_does_not_exist'] },
  {
    method: 'PATCH',
    path: '/profile/',
    style: 'fields',
    body: { first_name: 'X' },
    missing: [404, 'profile_does_not_exist'],
  },
  { method: 'DELETE', path: '/profile/', style: 'fields', missing: [404, 'profile_does_not_exist'] },
  {
    method: 'GET',
    path: '/integration/profile/set/integration-identifiers/',
    style: 'flat',
    missing: [404, 'profile_not_found'],
  },
  {
    method: 'POST',
    path: '/integration/profile/set/integration-identifiers/',
    style: 'flat',
    body: { appsflyer_id: 'stolen' },
    missing: [404, 'profile_not_found'],
  },
  {
    method: 'GET',
    path: '/purchase/profile/refund-saver/settings/',
    style: 'flat',
    missing: [400, 'profile_does_not_exist'],
  },
  {
    method: 'POST',
    path: '/purchase/profile/refund-saver/settings/',
    style: 'flat',
    body: { consent: true },
    missing: [400, 'profile_does_not_exist'],
  },
] as const

async function createProfile(tenant: Tenant, userId: string) {
  const response = await tenant.api({
    method: 'POST',
    path: '/profile/',
    headers: { 'adapty-customer-user-id': userId },
  })
  assert.equal(response.statusCode, 200)
  return response.json().data as { profile_id: string }
}

describe('authentication of the server-side API', () => {
  for (const route of ROUTES) {
    describe(`${route.method} ${route.path}`, () => {
      const unauthorizedCode = route.style === 'flat' ? 'unauthorized' : 'not_authenticated'

      it(`answers 401 ${unauthorizedCode} without credentials, with a wrong key, a public key or another scheme`, async () => {
        const tenant = await h.createTenant()
        const cases: [string | undefined, string][] = [
          [undefined, 'Authentication credentials were not provided.'],
          ['Api-Key secret_live_doesnotexist', 'Invalid API key.'],
          [`Api-Key ${tenant.publicKey}`, 'Invalid API key.'],
          [`Bearer ${tenant.secretKey}`, 'Invalid API key.'],
          [tenant.secretKey, 'Invalid API key.'],
          [`Api-Key ${'x'.repeat(5000)}`, 'Invalid API key.'],
        ]
        for (const [authorization, message] of cases) {
          const response = await h.app.inject({
            method: route.method,
            url: `${API}${route.path}`,
            headers: {
              'adapty-customer-user-id': 'anyone',
              ...(authorization === undefined ? {} : { authorization }),
            },
            ...('body' in route ? { payload: route.body } : {}),
          })
          assert.equal(response.statusCode, 401, `${authorization?.slice(0, 30)}: ${response.body}`)
          const expected =
            route.style === 'flat'
              ? { errors: [message], error_code: 'unauthorized', status_code: 401 }
              : {
                  errors: [{ source: 'non_field_errors', errors: [message] }],
                  error_code: 'not_authenticated',
                  status_code: 401,
                }
          assert.deepEqual(response.json(), expected)
        }
      })

      it(`never lets one app's key see or change another app's profile (${route.missing.join(' ')})`, async () => {
        const owner = await h.createTenant('owner')
        const intruder = await h.createTenant('intruder')
        const userId = uniqueUserId()
        const profile = await createProfile(owner, userId)
        for (const headers of [
          { 'adapty-customer-user-id': userId },
          { 'adapty-profile-id': profile.profile_id },
        ] as Record<string, string>[]) {
          // Create by customer user id is the one route where the intruder legitimately makes its own profile.
          if (route.method === 'POST' && route.path === '/profile/' && 'adapty-customer-user-id' in headers)
            continue
          const response = await intruder.api({
            method: route.method,
            path: route.path,
            headers,
            ...('body' in route ? { body: route.body } : {}),
          })
          assert.equal(response.statusCode, route.missing[0], response.body)
          assert.equal(response.json().error_code, route.missing[1])
        }
        // The owner's profile is untouched.
        const mine = await owner.api({
          method: 'GET',
          path: '/profile/',
          headers: { 'adapty-customer-user-id': userId },
        })
        assert.equal(mine.statusCode, 200)
        assert.equal(mine.json().data.profile_id, profile.profile_id)
        const ids = await owner.api({
          method: 'GET',
          path: '/integration/profile/set/integration-identifiers/',
          headers: { 'adapty-customer-user-id': userId },
        })
        assert.equal(ids.json().appsflyer_id, null)
        const refund = await owner.api({
          method: 'GET',
          path: '/purchase/profile/refund-saver/settings/',
          headers: { 'adapty-customer-user-id': userId },
        })
        assert.equal(refund.json().settings.consent, false)
      })
    })
  }

  it('gives two apps separate profiles for the same customer user id', async () => {
    const first = await h.createTenant()
    const second = await h.createTenant()
    const userId = uniqueUserId()
    const a = await createProfile(first, userId)
    const b = await createProfile(second, userId)
    assert.notEqual(a.profile_id, b.profile_id)
  })
})

describe('API key lifecycle', () => {
  it('keeps the old key working after a rotation until it is deleted, then refuses it at once', async () => {
    const tenant = await h.createTenant()
    const userId = uniqueUserId()
    await createProfile(tenant, userId)
    const get = (key: string) =>
      h.app.inject({
        method: 'GET',
        url: `${API}/profile/`,
        headers: { authorization: `Api-Key ${key}`, 'adapty-customer-user-id': userId },
      })

    const rotated = await h.admin({ method: 'POST', url: `/admin/v1/apps/${tenant.appId}/keys/rotate` })
    assert.equal(rotated.statusCode, 201)
    const newKey = rotated.json().secret_api_key
    assert.match(newKey, /^secret_live_[A-Za-z0-9]{40}$/)
    assert.equal((await get(newKey)).statusCode, 200)
    assert.equal((await get(tenant.secretKey)).statusCode, 200)

    const details = (await h.admin({ method: 'GET', url: `/admin/v1/apps/${tenant.appId}` })).json()
    const oldKey = details.api_keys.find(
      (key: { kind: string; key_id: string }) =>
        key.kind === 'secret' && key.key_id !== rotated.json().key_id,
    )
    const deleted = await h.admin({
      method: 'DELETE',
      url: `/admin/v1/apps/${tenant.appId}/keys/${oldKey.key_id}`,
    })
    assert.equal(deleted.statusCode, 204)
    assert.equal((await get(tenant.secretKey)).statusCode, 401)
    assert.equal((await get(newKey)).statusCode, 200)
  })
})

describe('rate limiting per secret key', () => {
  it('answers 429 rate_limited with Retry-After once the key has used its burst, and other keys are unaffected', async () => {
    const limited = await h.createTenant()
    const other = await h.createTenant()
    // 6 per minute: a burst of one request (ten seconds' worth), then one every ten seconds.
    const set = await h.admin({
      method: 'PATCH',
      url: `/admin/v1/apps/${limited.appId}/settings`,
      payload: { rate_limit_per_minute: 6 },
    })
    assert.equal(set.statusCode, 200)
    const headers = { 'adapty-customer-user-id': uniqueUserId() }
    const first = await limited.api({ method: 'POST', path: '/profile/', headers })
    assert.equal(first.statusCode, 200)
    const second = await limited.api({ method: 'GET', path: '/profile/', headers })
    assert.equal(second.statusCode, 429)
    assert.equal(second.json().error_code, 'rate_limited')
    assert.equal(second.json().status_code, 429)
    const retryAfter = Number(second.headers['retry-after'])
    assert.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After ${retryAfter}`)

    const flat = await limited.api({
      method: 'GET',
      path: '/purchase/profile/refund-saver/settings/',
      headers,
    })
    assert.equal(flat.statusCode, 429)
    assert.equal(flat.json().error_code, 'rate_limited')
    assert.equal(typeof flat.json().errors[0], 'string')

    const unaffected = await other.api({
      method: 'POST',
      path: '/profile/',
      headers: { 'adapty-customer-user-id': uniqueUserId() },
    })
    assert.equal(unaffected.statusCode, 200)
  })
})
