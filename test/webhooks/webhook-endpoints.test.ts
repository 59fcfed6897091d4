import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { verifySignature } from '../../src/modules/webhooks/webhook-signing.ts'
import { fixedClock } from '../../src/platform/clock.ts'
import { buildTestApp, fieldsError, type Tenant } from '../support/harness.ts'
import { startReceiver } from '../support/webhook-receiver.ts'

/** Webhook endpoint configuration: PUT/GET/DELETE /admin/v1/apps/{app_id}/webhooks/{environment}, rotation. */

const clock = fixedClock(new Date())
const h = await buildTestApp({
  clock,
  env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_SECONDS: '0.5' },
})
const guarded = await buildTestApp({ clock })
const receiver = await startReceiver()
after(() => receiver.close())

const UNKNOWN_APP = '01a21078-ec05-739b-9285-2f77f33a7ea3'
const path = (appId: string, environment = 'production') => `/admin/v1/apps/${appId}/webhooks/${environment}`

async function save(tenant: Tenant, body: Record<string, unknown>, environment = 'production', app = h) {
  return app.admin({ method: 'PUT', url: path(tenant.appId, environment), payload: body })
}

describe('saving a webhook endpoint', () => {
  it('verifies it with a signed POST {} first, then answers the signing secret once (201)', async () => {
    const tenant = await h.createTenant()
    const before = receiver.requests.length
    const response = await save(tenant, { url: receiver.url, authorization: 'Bearer receiver-token' })
    assert.equal(response.statusCode, 201, response.body)
    const saved = response.json()
    assert.match(saved.signing_secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
    assert.equal(saved.signing_secret_hint, `whsec_…${saved.signing_secret.slice(-4)}`)
    assert.equal(saved.authorization, '…oken')
    assert.deepEqual(
      {
        environment: saved.environment,
        url: saved.url,
        events: saved.events,
        event_names: saved.event_names,
        send_user_attributes: saved.send_user_attributes,
        send_trial_price: saved.send_trial_price,
        previous_secret_expires_at: saved.previous_secret_expires_at,
      },
      {
        environment: 'production',
        url: receiver.url,
        events: null,
        event_names: {},
        send_user_attributes: false,
        send_trial_price: false,
        previous_secret_expires_at: null,
      },
    )

    const verification = receiver.requests.slice(before)
    assert.equal(verification.length, 1)
    const request = verification[0]
    assert.ok(request)
    assert.equal(request.method, 'POST')
    assert.equal(request.body, '{}')
    assert.equal(request.headers['content-type'], 'application/json')
    assert.equal(request.headers.authorization, 'Bearer receiver-token')
    assert.ok(
      verifySignature(
        saved.signing_secret,
        String(request.headers['webhook-id']),
        Number(request.headers['webhook-timestamp']),
        request.body,
        String(request.headers['webhook-signature']),
      ),
    )

    // Read back: the secret is never shown again.
    const read = await h.admin({ method: 'GET', url: path(tenant.appId) })
    assert.equal(read.statusCode, 200)
    assert.equal(read.json().signing_secret, undefined)
    assert.equal(read.json().signing_secret_hint, saved.signing_secret_hint)

    // A second save changes the settings, keeps the secret, and answers 200 without it.
    const again = await save(tenant, {
      url: receiver.url,
      events: ['subscription_started', 'access_level_updated'],
      event_names: { subscription_started: 'sub_start' },
      send_user_attributes: true,
      send_trial_price: true,
    })
    assert.equal(again.statusCode, 200, again.body)
    assert.equal(again.json().signing_secret, undefined)
    assert.equal(again.json().signing_secret_hint, saved.signing_secret_hint)
    assert.deepEqual(again.json().events, ['subscription_started', 'access_level_updated'])
    assert.deepEqual(again.json().event_names, { subscription_started: 'sub_start' })
    assert.equal(again.json().authorization, null)
    assert.equal(again.json().send_user_attributes, true)
  })

  it('keeps production and sandbox apart, and removes an endpoint with DELETE', async () => {
    const tenant = await h.createTenant()
    assert.equal((await save(tenant, { url: receiver.url }, 'sandbox')).statusCode, 201)
    const production = await h.admin({ method: 'GET', url: path(tenant.appId) })
    assert.equal(production.statusCode, 404)
    assert.equal(fieldsError(production).error_code, 'webhook_not_found')
    assert.equal(
      (await h.admin({ method: 'GET', url: path(tenant.appId, 'sandbox') })).json().environment,
      'sandbox',
    )

    const removed = await h.admin({ method: 'DELETE', url: path(tenant.appId, 'sandbox') })
    assert.equal(removed.statusCode, 204)
    assert.equal(removed.body, '')
    const gone = await h.admin({ method: 'GET', url: path(tenant.appId, 'sandbox') })
    assert.equal(gone.statusCode, 404)
    const twice = await h.admin({ method: 'DELETE', url: path(tenant.appId, 'sandbox') })
    assert.equal(fieldsError(twice).error_code, 'webhook_not_found')
  })

  it('refuses an endpoint that fails the verification request, saying why, and saves nothing', async () => {
    const tenant = await h.createTenant()
    const cases: [() => void, RegExp][] = [
      [() => receiver.answerNext({ status: 500, body: '{}' }), /answered the verification request with 500/],
      [() => receiver.answerNext({ status: 200, body: 'ok' }), /without a JSON body/],
      [() => receiver.answerNext({ status: 200, body: '' }), /without a JSON body/],
      [() => receiver.answerNext('hang'), /no answer within 500 ms/],
    ]
    for (const [arrange, reason] of cases) {
      arrange()
      const response = await save(tenant, { url: receiver.url })
      assert.equal(response.statusCode, 400, response.body)
      const error = fieldsError(response)
      assert.equal(error.error_code, 'webhook_verification_failed')
      assert.equal(error.errors[0]?.source, 'url')
      assert.match(error.errors[0]?.errors[0] ?? '', reason)
    }
    const closedPort = await save(tenant, { url: 'http://127.0.0.1:9/hooks' })
    assert.equal(fieldsError(closedPort).error_code, 'webhook_verification_failed')
    assert.match(fieldsError(closedPort).errors[0]?.errors[0] ?? '', /ECONNREFUSED/)
    assert.equal((await h.admin({ method: 'GET', url: path(tenant.appId) })).statusCode, 404)
  })

  it('refuses loopback, private, link-local and metadata addresses unless WEBHOOK_ALLOW_PRIVATE is set', async () => {
    const tenant = await guarded.createTenant()
    const before = receiver.requests.length
    for (const url of [
      receiver.url,
      'http://localhost:8080/hooks',
      'http://10.1.2.3/hooks',
      'http://192.168.0.10/hooks',
      'http://172.20.0.1/hooks',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:8080/hooks',
      'http://[::ffff:127.0.0.1]/hooks',
      'http://0.0.0.0/hooks',
    ]) {
      const response = await save(tenant, { url }, 'production', guarded)
      assert.equal(response.statusCode, 400, `${url}: ${response.body}`)
      assert.equal(fieldsError(response).error_code, 'webhook_url_not_allowed', url)
      assert.match(fieldsError(response).errors[0]?.errors[0] ?? '', /WEBHOOK_ALLOW_PRIVATE/)
    }
    assert.equal(receiver.requests.length, before, 'no request may leave for a refused address')
  })

  it('answers 400 with the field for invalid settings', async () => {
    const tenant = await h.createTenant()
    const cases: [Record<string, unknown>, string][] = [
      [{ url: 'not a url' }, 'url'],
      [{ url: 'ftp://example.com/hooks' }, 'url'],
      [{ url: 'http://user:pass@example.com/hooks' }, 'url'],
      [{ url: receiver.url, events: ['subscription_started', 'nope'] }, 'events.1'],
      [{ url: receiver.url, event_names: { nope: 'x' } }, 'event_names.nope'],
      [{ url: receiver.url, event_names: { trial_started: '' } }, 'event_names.trial_started'],
      [{ url: receiver.url, send_user_attributes: 'yes' }, 'send_user_attributes'],
      [{ url: receiver.url, surprise: true }, 'surprise'],
      [{}, 'url'],
    ]
    for (const [body, source] of cases) {
      const response = await save(tenant, body)
      assert.equal(response.statusCode, 400, `${JSON.stringify(body)}: ${response.body}`)
      assert.equal(fieldsError(response).error_code, 'validation_error')
      assert.equal(fieldsError(response).errors[0]?.source, source, JSON.stringify(body))
    }
    const environment = await h.admin({ method: 'GET', url: path(tenant.appId, 'staging') })
    assert.equal(environment.statusCode, 400)
    assert.equal(fieldsError(environment).error_code, 'validation_error')
  })

  it('answers 404 app_not_found for an unknown app and 401 without the admin token', async () => {
    const unknown = await h.admin({ method: 'PUT', url: path(UNKNOWN_APP), payload: { url: receiver.url } })
    assert.equal(unknown.statusCode, 404)
    assert.equal(fieldsError(unknown).error_code, 'app_not_found')
    assert.equal((await h.admin({ method: 'GET', url: path('not-a-uuid') })).statusCode, 404)
    const anonymous = await h.app.inject({ method: 'GET', url: path(UNKNOWN_APP) })
    assert.equal(anonymous.statusCode, 401)
  })
})

describe('rotating the signing secret', () => {
  it('answers a new secret once and keeps the old one valid for the overlap', async () => {
    const tenant = await h.createTenant()
    const first = (await save(tenant, { url: receiver.url })).json().signing_secret as string
    const rotated = await h.admin({
      method: 'POST',
      url: `${path(tenant.appId)}/rotate-secret`,
      payload: { overlap_seconds: 3600 },
    })
    assert.equal(rotated.statusCode, 200, rotated.body)
    const second = rotated.json().signing_secret as string
    assert.notEqual(second, first)
    assert.equal(
      rotated.json().previous_secret_expires_at,
      new Date(clock.now().getTime() + 3_600_000).toISOString().replace('Z', '000+00:00'),
    )
    const read = await h.admin({ method: 'GET', url: path(tenant.appId) })
    assert.equal(read.json().signing_secret, undefined)
    assert.equal(read.json().signing_secret_hint, `whsec_…${second.slice(-4)}`)

    // Without a body the overlap is 24 h.
    const third = await h.admin({ method: 'POST', url: `${path(tenant.appId)}/rotate-secret` })
    assert.equal(third.statusCode, 200, third.body)
    assert.equal(
      third.json().previous_secret_expires_at,
      new Date(clock.now().getTime() + 86_400_000).toISOString().replace('Z', '000+00:00'),
    )
    const missing = await h.admin({ method: 'POST', url: `${path(tenant.appId, 'sandbox')}/rotate-secret` })
    assert.equal(fieldsError(missing).error_code, 'webhook_not_found')
  })
})
