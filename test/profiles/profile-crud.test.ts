import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp, fieldsError, uniqueUserId } from '../support/harness.ts'

const h = await buildTestApp()

describe('POST /profile/ (create)', () => {
  it('creates a profile for a customer user id with an empty body and answers 200 with the full shape', async () => {
    const tenant = await h.createTenant()
    const userId = uniqueUserId()
    const response = await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers: { 'adapty-customer-user-id': userId },
    })
    assert.equal(response.statusCode, 200)
    const { data } = response.json()
    assert.equal(data.app_id, tenant.appId)
    assert.match(data.profile_id, /^[0-9a-f-]{36}$/)
    assert.equal(data.customer_user_id, userId)
    assert.equal(data.total_revenue_usd, 0)
    assert.match(data.segment_hash, /^[0-9a-f]{16}$/)
    assert.ok(Math.abs(data.timestamp - Date.now()) < 60_000)
    assert.deepEqual(data.custom_attributes, [])
    assert.deepEqual(data.access_levels, [])
    assert.deepEqual(data.subscriptions, [])
    assert.deepEqual(data.non_subscriptions, [])
  })

  it('accepts every documented attribute and stores installation_meta per device', async () => {
    const tenant = await h.createTenant()
    const userId = uniqueUserId()
    const body = {
      first_name: 'Jane',
      last_name: 'Doe',
      gender: 'f',
      email: 'jane.doe@example.com',
      phone_number: '+1234567890',
      birthday: '2000-12-31',
      ip_country: 'fr',
      ip_v4_address: '192.168.1.1',
      store_country: 'US',
      store: 'app_store',
      store_account_token: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
      att_status: 3,
      analytics_disabled: true,
      custom_attributes: [{ key: 'favourite_sport', value: 'yoga' }],
      installation_meta: {
        device_id: 'device-1',
        device: 'iPhone 15 Pro',
        locale: 'en',
        os: 'iOS 17.1',
        timezone: 'Europe/Rome',
        user_agent: 'Mozilla/5.0',
        app_build: '1',
        app_version: '1.0.0',
        adapty_sdk_version: '3.0.0',
        idfa: 'EA7583CD-A667-48BC-B806-42ECB2B48333',
        idfv: 'E9D48DA5-3930-4B41-8521-D953AECD2F33',
        advertising_id: '',
        android_id: null,
        android_app_set_id: null,
      },
    }
    const response = await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers: { 'adapty-customer-user-id': userId, 'adapty-platform': 'iOS' },
      body,
    })
    assert.equal(response.statusCode, 200, response.body)
    const { data } = response.json()
    assert.deepEqual(data.custom_attributes, [{ key: 'favourite_sport', value: 'yoga' }])
    const stored = await h.storedProfile(tenant.appId, data.profile_id)
    assert.ok(stored)
    assert.equal(stored.firstName, 'Jane')
    assert.equal(stored.email, 'jane.doe@example.com')
    assert.equal(stored.birthday, '2000-12-31')
    assert.equal(stored.ipCountry, 'FR', 'countries are stored upper-case')
    assert.equal(stored.attStatus, 3)
    assert.equal(stored.analyticsDisabled, true)

    // A second device for the same user; the platform comes from the header when the meta has none.
    const second = await tenant.api({
      method: 'PATCH',
      path: '/profile/',
      headers: { 'adapty-customer-user-id': userId, 'adapty-platform': 'Android' },
      body: { installation_meta: { device_id: 'device-2', os: 'Android 14' } },
    })
    assert.equal(second.statusCode, 200, second.body)
    const { profilesRepository } = await import('../../src/modules/profiles/profiles.repository.ts').then(
      (m) => ({
        profilesRepository: m.createProfilesRepository(h.database),
      }),
    )
    const devices = await profilesRepository.listInstallations(tenant.appId, data.profile_id)
    const byId = Object.fromEntries(devices.map((device) => [device.deviceId, device]))
    assert.equal(devices.length, 2)
    assert.equal(byId['device-1']?.platform, 'iOS')
    assert.equal(byId['device-1']?.device, 'iPhone 15 Pro')
    assert.equal(byId['device-2']?.platform, 'Android')
  })

  it('returns the existing profile, updated, when the customer user id already exists (idempotent create)', async () => {
    const tenant = await h.createTenant()
    const userId = uniqueUserId()
    const headers = { 'adapty-customer-user-id': userId }
    const first = await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers,
      body: { custom_attributes: [{ key: 'a', value: 1 }] },
    })
    const second = await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers,
      body: { custom_attributes: [{ key: 'b', value: 'x' }] },
    })
    assert.equal(second.statusCode, 200)
    assert.equal(second.json().data.profile_id, first.json().data.profile_id)
    assert.deepEqual(second.json().data.custom_attributes, [
      { key: 'a', value: 1 },
      { key: 'b', value: 'x' },
    ])
  })

  it('makes one profile from concurrent creates of the same customer user id', async () => {
    const tenant = await h.createTenant()
    const headers = { 'adapty-customer-user-id': uniqueUserId() }
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => tenant.api({ method: 'POST', path: '/profile/', headers })),
    )
    assert.deepEqual(
      responses.map((response) => response.statusCode),
      responses.map(() => 200),
    )
    assert.equal(new Set(responses.map((response) => response.json().data.profile_id)).size, 1)
  })

  it('attaches a customer user id to an anonymous profile when both headers are sent', async () => {
    const tenant = await h.createTenant()
    const firstUser = uniqueUserId()
    const created = (
      await tenant.api({
        method: 'POST',
        path: '/profile/',
        headers: { 'adapty-customer-user-id': firstUser },
      })
    ).json().data
    // Detach by deleting and re-creating is not possible; make an anonymous profile through the service.
    const anonymous = await h.services.profiles.create(
      tenant.appId,
      { customerUserId: uniqueUserId('anon') },
      {},
      undefined,
    )
    assert.ok(anonymous.ok)
    await h.database.db.execute(
      (await import('drizzle-orm'))
        .sql`update profiles set customer_user_id = null where id = ${anonymous.value.id}`,
    )
    const newUser = uniqueUserId()
    const attached = await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers: { 'adapty-profile-id': anonymous.value.id, 'adapty-customer-user-id': newUser },
    })
    assert.equal(attached.statusCode, 200, attached.body)
    assert.equal(attached.json().data.profile_id, anonymous.value.id)
    assert.equal(attached.json().data.customer_user_id, newUser)

    // A customer user id another profile already owns cannot be attached.
    const taken = await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers: { 'adapty-profile-id': created.profile_id, 'adapty-customer-user-id': newUser },
    })
    assert.equal(taken.statusCode, 400)
    assert.equal(fieldsError(taken).error_code, 'validation_error')
    assert.equal(fieldsError(taken).errors[0]?.source, 'adapty-customer-user-id')
  })

  it('creates nothing when the body of a create is refused', async () => {
    const tenant = await h.createTenant()
    const headers = { 'adapty-customer-user-id': uniqueUserId() }
    const tooMany = Array.from({ length: 31 }, (_, i) => ({ key: `k${i}`, value: i }))
    const refused = await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers,
      body: { custom_attributes: tooMany },
    })
    assert.equal(refused.statusCode, 400)
    assert.equal((await tenant.api({ method: 'GET', path: '/profile/', headers })).statusCode, 404)
  })

  it('answers 404 profile_does_not_exist when creating with an unknown profile id', async () => {
    const tenant = await h.createTenant()
    const response = await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers: { 'adapty-profile-id': '3fa85f64-5717-4562-b3fc-2c963f66afa6' },
    })
    assert.equal(response.statusCode, 404)
    assert.deepEqual(response.json(), {
      errors: [{ source: null, errors: ['Profile not found'] }],
      error_code: 'profile_does_not_exist',
      status_code: 404,
    })
  })

  it('answers 400 validation_error naming both headers when neither is sent', async () => {
    const tenant = await h.createTenant()
    for (const method of ['POST', 'GET', 'PATCH', 'DELETE'] as const) {
      const response = await tenant.api({ method, path: '/profile/' })
      assert.equal(response.statusCode, 400, method)
      const error = fieldsError(response)
      assert.equal(error.error_code, 'validation_error')
      assert.equal(error.errors[0]?.source, 'non_field_errors')
      assert.match(error.errors[0]?.errors[0] ?? '', /adapty-profile-id.*adapty-customer-user-id/)
    }
  })
})

describe('GET /profile/', () => {
  it('finds a profile by profile id and by customer user id, with or without the trailing slash', async () => {
    const tenant = await h.createTenant()
    const userId = uniqueUserId()
    const created = (
      await tenant.api({ method: 'POST', path: '/profile/', headers: { 'adapty-customer-user-id': userId } })
    ).json().data
    for (const [path, headers] of [
      ['/profile/', { 'adapty-profile-id': created.profile_id }],
      ['/profile', { 'adapty-customer-user-id': userId }],
      ['/profile/', { 'adapty-profile-id': created.profile_id.toUpperCase() }],
      ['/profile/', { 'adapty-profile-id': created.profile_id, 'adapty-customer-user-id': userId }],
    ] as const) {
      const response = await tenant.api({ method: 'GET', path, headers })
      assert.equal(response.statusCode, 200, `${path} ${JSON.stringify(headers)}: ${response.body}`)
      assert.equal(response.json().data.profile_id, created.profile_id)
    }
  })

  it('answers 404 for an unknown customer user id and 400 when the two headers disagree', async () => {
    const tenant = await h.createTenant()
    const missing = await tenant.api({
      method: 'GET',
      path: '/profile/',
      headers: { 'adapty-customer-user-id': uniqueUserId() },
    })
    assert.equal(missing.statusCode, 404)
    assert.equal(fieldsError(missing).error_code, 'profile_does_not_exist')

    const userId = uniqueUserId()
    const created = (
      await tenant.api({ method: 'POST', path: '/profile/', headers: { 'adapty-customer-user-id': userId } })
    ).json().data
    const mismatch = await tenant.api({
      method: 'GET',
      path: '/profile/',
      headers: { 'adapty-profile-id': created.profile_id, 'adapty-customer-user-id': 'someone-else' },
    })
    assert.equal(mismatch.statusCode, 400)
    assert.equal(fieldsError(mismatch).errors[0]?.source, 'adapty-customer-user-id')
  })

  it('answers 400 naming the header for a profile id that is not a UUID', async () => {
    const tenant = await h.createTenant()
    const response = await tenant.api({
      method: 'GET',
      path: '/profile/',
      headers: { 'adapty-profile-id': 'not-a-uuid' },
    })
    assert.equal(response.statusCode, 400)
    assert.equal(fieldsError(response).error_code, 'validation_error')
    assert.equal(fieldsError(response).errors[0]?.source, 'adapty-profile-id')
  })
})

describe('PATCH /profile/', () => {
  it('changes only the fields sent', async () => {
    const tenant = await h.createTenant()
    const headers = { 'adapty-customer-user-id': uniqueUserId() }
    const created = (
      await tenant.api({
        method: 'POST',
        path: '/profile/',
        headers,
        body: { first_name: 'Jane', last_name: 'Doe', gender: 'f' },
      })
    ).json().data
    const patched = await tenant.api({
      method: 'PATCH',
      path: '/profile/',
      headers,
      body: { last_name: null, email: 'j@example.com' },
    })
    assert.equal(patched.statusCode, 200)
    const stored = await h.storedProfile(tenant.appId, created.profile_id)
    assert.ok(stored)
    assert.equal(stored.firstName, 'Jane')
    assert.equal(stored.lastName, null)
    assert.equal(stored.gender, 'f')
    assert.equal(stored.email, 'j@example.com')
  })

  it('merges custom attributes: keeps keys not sent, deletes on null or "", turns booleans into numbers', async () => {
    const tenant = await h.createTenant()
    const headers = { 'adapty-customer-user-id': uniqueUserId() }
    await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers,
      body: {
        custom_attributes: [
          { key: 'plan', value: 'gold' },
          { key: 'level', value: 3 },
          { key: 'beta', value: 'yes' },
        ],
      },
    })
    const before = await tenant.api({ method: 'GET', path: '/profile/', headers })
    const patched = await tenant.api({
      method: 'PATCH',
      path: '/profile/',
      headers,
      body: {
        custom_attributes: [
          { key: 'level', value: null },
          { key: 'beta', value: '' },
          { key: 'vip', value: true },
          { key: 'trial', value: false },
          { key: 'score', value: 2.5 },
        ],
      },
    })
    assert.equal(patched.statusCode, 200, patched.body)
    assert.deepEqual(patched.json().data.custom_attributes, [
      { key: 'plan', value: 'gold' },
      { key: 'vip', value: 1 },
      { key: 'trial', value: 0 },
      { key: 'score', value: 2.5 },
    ])
    assert.notEqual(patched.json().data.segment_hash, before.json().data.segment_hash)
  })

  it('keeps the segment hash when nothing segment-relevant changes', async () => {
    const tenant = await h.createTenant()
    const headers = { 'adapty-customer-user-id': uniqueUserId() }
    const first = (
      await tenant.api({ method: 'POST', path: '/profile/', headers, body: { first_name: 'A' } })
    ).json().data
    const second = (
      await tenant.api({ method: 'PATCH', path: '/profile/', headers, body: { first_name: 'B' } })
    ).json().data
    assert.equal(second.segment_hash, first.segment_hash)
  })

  it('enforces the custom attribute limits with the field as source', async () => {
    const tenant = await h.createTenant()
    const headers = { 'adapty-customer-user-id': uniqueUserId() }
    await tenant.api({ method: 'POST', path: '/profile/', headers })
    const cases: [unknown, string][] = [
      [[{ key: 'x'.repeat(31), value: 1 }], 'custom_attributes.0.key'],
      [[{ key: 'bad key!', value: 1 }], 'custom_attributes.0.key'],
      [[{ key: 'ok', value: 'v'.repeat(51) }], 'custom_attributes.0.value'],
      [[{ key: 'ok', value: { nested: true } }], 'custom_attributes.0.value'],
      [[{ key: 'ok' }], 'custom_attributes.0.value'],
      [[], 'custom_attributes'],
      [Array.from({ length: 31 }, (_, i) => ({ key: `k${i}`, value: i })), 'custom_attributes'],
    ]
    for (const [customAttributes, source] of cases) {
      const response = await tenant.api({
        method: 'PATCH',
        path: '/profile/',
        headers,
        body: { custom_attributes: customAttributes },
      })
      assert.equal(
        response.statusCode,
        400,
        `${JSON.stringify(customAttributes).slice(0, 80)}: ${response.body}`,
      )
      assert.equal(fieldsError(response).error_code, 'validation_error')
      assert.equal(fieldsError(response).errors[0]?.source, source)
    }
    // Exactly 30 is allowed, and a 50-character value too.
    const thirty = Array.from({ length: 29 }, (_, i) => ({ key: `k${i}`, value: i }))
    thirty.push({ key: 'long', value: 'v'.repeat(50) as unknown as number })
    const ok = await tenant.api({
      method: 'PATCH',
      path: '/profile/',
      headers,
      body: { custom_attributes: thirty },
    })
    assert.equal(ok.statusCode, 200, ok.body)
    assert.equal(ok.json().data.custom_attributes.length, 30)
    // Nothing was stored by the refused requests.
    const one = await tenant.api({
      method: 'PATCH',
      path: '/profile/',
      headers,
      body: { custom_attributes: [{ key: 'k31', value: 1 }] },
    })
    assert.equal(one.statusCode, 400)
  })

  it('loses no attribute when many updates of one profile run at once', async () => {
    const tenant = await h.createTenant()
    const headers = { 'adapty-customer-user-id': uniqueUserId() }
    await tenant.api({ method: 'POST', path: '/profile/', headers })
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        tenant.api({
          method: 'PATCH',
          path: '/profile/',
          headers,
          body: { custom_attributes: [{ key: `k${i}`, value: i }] },
        }),
      ),
    )
    assert.ok(responses.every((response) => response.statusCode === 200))
    const final = await tenant.api({ method: 'GET', path: '/profile/', headers })
    assert.equal(final.json().data.custom_attributes.length, 20)
  })

  it('answers 404 for an unknown profile', async () => {
    const tenant = await h.createTenant()
    const response = await tenant.api({
      method: 'PATCH',
      path: '/profile/',
      headers: { 'adapty-customer-user-id': uniqueUserId() },
      body: {},
    })
    assert.equal(response.statusCode, 404)
    assert.equal(fieldsError(response).error_code, 'profile_does_not_exist')
  })
})

describe('DELETE /profile/', () => {
  it('answers 204 with no body, then 404 on every later request', async () => {
    const tenant = await h.createTenant()
    const headers = { 'adapty-customer-user-id': uniqueUserId() }
    await tenant.api({
      method: 'POST',
      path: '/profile/',
      headers,
      body: { installation_meta: { device_id: 'd1' } },
    })
    const deleted = await tenant.api({ method: 'DELETE', path: '/profile/', headers })
    assert.equal(deleted.statusCode, 204)
    assert.equal(deleted.body, '')
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const response = await tenant.api({ method, path: '/profile/', headers })
      assert.equal(response.statusCode, 404, method)
      assert.equal(fieldsError(response).error_code, 'profile_does_not_exist')
    }
    // The customer user id is free again: a create makes a new, empty profile.
    const recreated = await tenant.api({ method: 'POST', path: '/profile/', headers })
    assert.equal(recreated.statusCode, 200)
    assert.deepEqual(recreated.json().data.custom_attributes, [])
  })
})
