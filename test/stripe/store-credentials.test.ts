import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp, fieldsError } from '../support/harness.ts'

// Web store secrets in the app settings are write-only: answered masked, never as they were sent.
const h = await buildTestApp()

const settingsUrl = (appId: string) => `/admin/v1/apps/${appId}/settings`

describe('app settings: Stripe and Paddle credentials', () => {
  it('are null until set, then shown masked by GET and PATCH, never in full', async () => {
    const tenant = await h.createTenant()
    const before = (await h.admin({ method: 'GET', url: settingsUrl(tenant.appId) })).json()
    assert.equal(before.stripe_secret_key, null)
    assert.equal(before.stripe_webhook_secret, null)
    assert.equal(before.paddle_api_key, null)

    const secrets = {
      stripe_secret_key: 'sk_test_51AbCdEfGhIjKlMnOpQrStUvWxYz0123',
      stripe_webhook_secret: 'whsec_QwErTyUiOpAsDfGhJkLzXcVbNm9876',
      paddle_api_key: 'pdl_sdbx_apikey_01hzzzzzzzzzzzzzzzzzzzzzz_Ab12',
    }
    const patched = await h.admin({ method: 'PATCH', url: settingsUrl(tenant.appId), payload: secrets })
    assert.equal(patched.statusCode, 200, patched.body)
    const read = await h.admin({ method: 'GET', url: settingsUrl(tenant.appId) })
    for (const response of [patched, read]) {
      const body = response.json()
      assert.equal(body.stripe_secret_key, 'sk_test_…0123')
      assert.equal(body.stripe_webhook_secret, 'whsec_…9876')
      assert.equal(body.paddle_api_key, 'pdl_sdbx_apikey_…Ab12')
      for (const secret of Object.values(secrets)) assert.ok(!response.body.includes(secret))
    }
  })

  it('a short secret shows no characters of it; null removes one, leaving the others', async () => {
    const tenant = await h.createTenant()
    await h.admin({
      method: 'PATCH',
      url: settingsUrl(tenant.appId),
      payload: { stripe_secret_key: 'sk_test_short', paddle_api_key: 'key-0123456789abcdef' },
    })
    const cleared = await h.admin({
      method: 'PATCH',
      url: settingsUrl(tenant.appId),
      payload: { stripe_secret_key: null },
    })
    assert.equal(cleared.statusCode, 200, cleared.body)
    assert.equal(cleared.json().stripe_secret_key, null)
    assert.equal(cleared.json().paddle_api_key, '…cdef')
    const short = await h.admin({
      method: 'PATCH',
      url: settingsUrl(tenant.appId),
      payload: { stripe_secret_key: 'sk_test_short' },
    })
    assert.equal(short.json().stripe_secret_key, 'sk_test_…')
  })

  it('refuses a blank secret or one with spaces (400 validation_error at the field)', async () => {
    const tenant = await h.createTenant()
    for (const value of ['', 'sk_test abc']) {
      const response = await h.admin({
        method: 'PATCH',
        url: settingsUrl(tenant.appId),
        payload: { stripe_secret_key: value },
      })
      assert.equal(response.statusCode, 400, response.body)
      const error = fieldsError(response)
      assert.equal(error.error_code, 'validation_error')
      assert.equal(error.errors[0]?.source, 'stripe_secret_key')
    }
  })
})
