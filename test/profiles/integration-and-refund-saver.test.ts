import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { INTEGRATION_KEYS } from '../../src/modules/integration-identifiers/integration-identifiers.schemas.ts'
import { buildTestApp, type Tenant, uniqueUserId } from '../support/harness.ts'

const h = await buildTestApp()
const IDS = '/integration/profile/set/integration-identifiers/'
const REFUND = '/purchase/profile/refund-saver/settings/'

async function tenantWithProfile(): Promise<{
  tenant: Tenant
  headers: Record<string, string>
  profileId: string
}> {
  const tenant = await h.createTenant()
  const headers = { 'adapty-customer-user-id': uniqueUserId() }
  const created = await tenant.api({ method: 'POST', path: '/profile/', headers })
  return { tenant, headers, profileId: created.json().data.profile_id }
}

describe('integration identifiers', () => {
  it('answers all sixteen keys, null where unset, as a flat object', async () => {
    const { tenant, headers } = await tenantWithProfile()
    const response = await tenant.api({ method: 'GET', path: IDS, headers })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), Object.fromEntries(INTEGRATION_KEYS.map((key) => [key, null])))
    assert.equal(INTEGRATION_KEYS.length, 16)
  })

  it('sets identifiers with a blank 200, merges later calls and clears a key sent as null', async () => {
    const { tenant, headers, profileId } = await tenantWithProfile()
    const all = Object.fromEntries(INTEGRATION_KEYS.map((key) => [key, `${key}-value`]))
    const set = await tenant.api({ method: 'POST', path: IDS, headers, body: all })
    assert.equal(set.statusCode, 200)
    assert.equal(set.body, '')
    assert.deepEqual((await tenant.api({ method: 'GET', path: IDS, headers })).json(), all)

    const merged = await tenant.api({
      method: 'POST',
      path: IDS,
      headers: { 'adapty-profile-id': profileId },
      body: { appsflyer_id: 'af-2', mixpanel_user_id: null },
    })
    assert.equal(merged.statusCode, 200)
    const after = (await tenant.api({ method: 'GET', path: IDS, headers })).json()
    assert.equal(after.appsflyer_id, 'af-2')
    assert.equal(after.mixpanel_user_id, null)
    assert.equal(after.amplitude_user_id, 'amplitude_user_id-value')
  })

  it('answers 400 validation_error when no identifier is given, ignoring unknown keys', async () => {
    const { tenant, headers } = await tenantWithProfile()
    for (const body of [{}, { unknown_id: 'x' }, undefined]) {
      const response = await tenant.api({ method: 'POST', path: IDS, headers, body })
      assert.equal(response.statusCode, 400)
      assert.deepEqual(response.json(), {
        errors: ['At least one integration identifier must be provided.'],
        error_code: 'validation_error',
        status_code: 400,
      })
    }
  })

  it('refuses a non-string identifier, naming the key', async () => {
    const { tenant, headers } = await tenantWithProfile()
    const response = await tenant.api({ method: 'POST', path: IDS, headers, body: { appsflyer_id: 42 } })
    assert.equal(response.statusCode, 400)
    assert.equal(response.json().error_code, 'validation_error')
    assert.match(response.json().errors[0], /^appsflyer_id: /)
  })

  it('answers 404 profile_not_found for an unknown profile, and 400 without identification', async () => {
    const tenant = await h.createTenant()
    for (const method of ['GET', 'POST'] as const) {
      const response = await tenant.api({
        method,
        path: IDS,
        headers: { 'adapty-customer-user-id': uniqueUserId() },
        body: method === 'POST' ? { branch_id: 'b' } : undefined,
      })
      assert.equal(response.statusCode, 404)
      assert.deepEqual(response.json(), {
        errors: ['Profile not found'],
        error_code: 'profile_not_found',
        status_code: 404,
      })
      const anonymous = await tenant.api({
        method,
        path: IDS,
        body: method === 'POST' ? { branch_id: 'b' } : undefined,
      })
      assert.equal(anonymous.statusCode, 400)
      assert.equal(anonymous.json().error_code, 'validation_error')
    }
  })
})

describe('Refund Saver settings', () => {
  it('answers the defaults for a profile that never set them', async () => {
    const { tenant, headers, profileId } = await tenantWithProfile()
    const response = await tenant.api({ method: 'GET', path: REFUND, headers })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), {
      profile_id: profileId,
      settings: { consent: false, custom_preference: 'no_preference' },
    })
  })

  it('sets either field or both; a field sent as null or not sent is left as it is', async () => {
    const { tenant, headers, profileId } = await tenantWithProfile()
    const both = await tenant.api({
      method: 'POST',
      path: REFUND,
      headers,
      body: { custom_preference: 'grant', consent: true },
    })
    assert.equal(both.statusCode, 200)
    assert.deepEqual(both.json(), {
      profile_id: profileId,
      settings: { consent: true, custom_preference: 'grant' },
    })
    const one = await tenant.api({
      method: 'POST',
      path: REFUND,
      headers,
      body: { custom_preference: 'decline', consent: null },
    })
    assert.deepEqual(one.json().settings, { consent: true, custom_preference: 'decline' })
    const read = await tenant.api({
      method: 'GET',
      path: REFUND,
      headers: { 'adapty-profile-id': profileId },
    })
    assert.deepEqual(read.json().settings, { consent: true, custom_preference: 'decline' })
  })

  it('answers 400 validation_error when neither field is given', async () => {
    const { tenant, headers } = await tenantWithProfile()
    for (const body of [{}, { consent: null, custom_preference: null }]) {
      const response = await tenant.api({ method: 'POST', path: REFUND, headers, body })
      assert.equal(response.statusCode, 400)
      assert.deepEqual(response.json(), {
        errors: ['Profile refund saver settings must have either consent or custom_preference or both'],
        error_code: 'validation_error',
        status_code: 400,
      })
    }
  })

  it('refuses a preference outside grant, no_preference and decline', async () => {
    const { tenant, headers } = await tenantWithProfile()
    const response = await tenant.api({
      method: 'POST',
      path: REFUND,
      headers,
      body: { custom_preference: 'maybe' },
    })
    assert.equal(response.statusCode, 400)
    assert.match(response.json().errors[0], /^custom_preference: /)
  })

  it('answers 400 profile_does_not_exist for an unknown profile', async () => {
    const tenant = await h.createTenant()
    const response = await tenant.api({
      method: 'GET',
      path: REFUND,
      headers: { 'adapty-customer-user-id': uniqueUserId() },
    })
    assert.equal(response.statusCode, 400)
    assert.deepEqual(response.json(), {
      errors: ['Profile does not exist'],
      error_code: 'profile_does_not_exist',
      status_code: 400,
    })
  })
})
