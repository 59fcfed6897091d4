import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { InjectOptions } from 'fastify'
import {
  BUNDLED_EXCHANGE_RATES,
  BUNDLED_EXCHANGE_RATES_AS_OF,
} from '../../src/modules/apps/exchange-rates.ts'
import { buildTestApp, fieldsError } from '../support/harness.ts'

const h = await buildTestApp()
const UNKNOWN_APP = '01a21078-ec05-739b-9285-2f77f33a7ea3'

async function settingsUrl() {
  const tenant = await h.createTenant()
  return `/admin/v1/apps/${tenant.appId}/settings`
}

const patch = (url: string, payload: unknown) =>
  h.admin({ method: 'PATCH', url, payload: payload as InjectOptions['payload'] })

describe('GET /admin/v1/apps/{app_id}/settings', () => {
  it('shows the defaults: sharing enabled, the bundled exchange-rate snapshot and its date', async () => {
    const url = await settingsUrl()
    const response = await h.admin({ method: 'GET', url })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), {
      rate_limit_per_minute: null,
      effective_rate_limit_per_minute: 40000,
      sharing_mode: 'enabled',
      sandbox_sharing_mode: 'enabled',
      exchange_rates: BUNDLED_EXCHANGE_RATES,
      exchange_rates_source: 'bundled',
      exchange_rates_as_of: BUNDLED_EXCHANGE_RATES_AS_OF,
      stripe_secret_key: null,
      stripe_webhook_secret: null,
      paddle_api_key: null,
    })
  })

  it('answers 404 app_not_found for unknown apps', async () => {
    for (const appId of [UNKNOWN_APP, 'nope']) {
      for (const method of ['GET', 'PATCH'] as const) {
        const response = await h.admin({
          method,
          url: `/admin/v1/apps/${appId}/settings`,
          ...(method === 'PATCH' ? { payload: { sharing_mode: 'transfer' } } : {}),
        })
        assert.equal(response.statusCode, 404)
        assert.equal(response.json().error_code, 'app_not_found')
      }
    }
  })
})

describe('PATCH /admin/v1/apps/{app_id}/settings', () => {
  it('changes the sharing modes, each on its own', async () => {
    const url = await settingsUrl()
    const transfer = await patch(url, { sharing_mode: 'transfer' })
    assert.equal(transfer.statusCode, 200)
    assert.equal(transfer.json().sharing_mode, 'transfer')
    assert.equal(transfer.json().sandbox_sharing_mode, 'enabled')
    const sandbox = await patch(url, { sandbox_sharing_mode: 'disabled', rate_limit_per_minute: 50 })
    assert.equal(sandbox.json().sharing_mode, 'transfer')
    assert.equal(sandbox.json().sandbox_sharing_mode, 'disabled')
    assert.equal(sandbox.json().rate_limit_per_minute, 50)
    const read = (await h.admin({ method: 'GET', url })).json()
    assert.equal(read.sharing_mode, 'transfer')
    assert.equal(read.sandbox_sharing_mode, 'disabled')
    assert.equal((await patch(url, { sharing_mode: 'disabled' })).json().sharing_mode, 'disabled')
    assert.equal((await patch(url, { sharing_mode: 'enabled' })).json().sharing_mode, 'enabled')
  })

  it('merges exchange rates into a table that starts from the snapshot; null removes; null resets', async () => {
    const url = await settingsUrl()
    const nothing = (await patch(url, { exchange_rates: {} })).json()
    assert.equal(nothing.exchange_rates_source, 'bundled', 'an empty merge keeps the bundled snapshot')
    const first = await patch(url, { exchange_rates: { EUR: 1.1, XAU: 2400.5 } })
    assert.equal(first.statusCode, 200, first.body)
    const body = first.json()
    assert.equal(body.exchange_rates_source, 'custom')
    assert.equal(body.exchange_rates_as_of, null)
    assert.deepEqual(body.exchange_rates, { ...BUNDLED_EXCHANGE_RATES, EUR: 1.1, XAU: 2400.5 })

    const second = (await patch(url, { exchange_rates: { XAU: null, GBP: 1.3, USD: 1 } })).json()
    assert.equal(second.exchange_rates.EUR, 1.1, 'earlier entries stay')
    assert.equal(second.exchange_rates.GBP, 1.3)
    assert.equal(second.exchange_rates.USD, 1)
    assert.ok(!('XAU' in second.exchange_rates))
    const removed = (await patch(url, { exchange_rates: { JPY: null } })).json()
    assert.ok(!('JPY' in removed.exchange_rates))
    assert.equal(removed.exchange_rates_source, 'custom')

    const unchanged = (await patch(url, { exchange_rates: {} })).json()
    assert.deepEqual(unchanged.exchange_rates, removed.exchange_rates)
    assert.deepEqual((await h.admin({ method: 'GET', url })).json().exchange_rates, removed.exchange_rates)

    const reset = (await patch(url, { exchange_rates: null })).json()
    assert.equal(reset.exchange_rates_source, 'bundled')
    assert.equal(reset.exchange_rates_as_of, BUNDLED_EXCHANGE_RATES_AS_OF)
    assert.deepEqual(reset.exchange_rates, BUNDLED_EXCHANGE_RATES)
  })

  it('keeps every entry of concurrent merges', async () => {
    const url = await settingsUrl()
    const codes = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG', 'HHH']
    const responses = await Promise.all(
      codes.map((code, index) => patch(url, { exchange_rates: { [code]: index + 1 } })),
    )
    for (const response of responses) assert.equal(response.statusCode, 200, response.body)
    const rates = (await h.admin({ method: 'GET', url })).json().exchange_rates
    for (const [index, code] of codes.entries()) assert.equal(rates[code], index + 1, code)
  })

  it('answers 400 validation_error naming the field for bad settings, and changes nothing', async () => {
    const url = await settingsUrl()
    const cases: [unknown, string][] = [
      [{ sharing_mode: 'shared' }, 'sharing_mode'],
      [{ sharing_mode: null }, 'sharing_mode'],
      [{ sandbox_sharing_mode: 1 }, 'sandbox_sharing_mode'],
      [{ exchange_rates: 5 }, 'exchange_rates'],
      [{ exchange_rates: 'EUR=1' }, 'exchange_rates'],
      [{ exchange_rates: [1] }, 'exchange_rates'],
      [{ exchange_rates: { eur: 1 } }, 'exchange_rates'],
      [{ exchange_rates: { EURO: 1 } }, 'exchange_rates'],
      [{ exchange_rates: { E1R: 1 } }, 'exchange_rates'],
      [{ exchange_rates: { EUR: 0 } }, 'exchange_rates.EUR'],
      [{ exchange_rates: { EUR: -1.08 } }, 'exchange_rates.EUR'],
      [{ exchange_rates: { EUR: '1.08' } }, 'exchange_rates.EUR'],
      [{ exchange_rates: { EUR: true } }, 'exchange_rates.EUR'],
      [{ exchange_rates: { EUR: 1e10 } }, 'exchange_rates.EUR'],
      [{ exchange_rates: { USD: 2 } }, 'exchange_rates.USD'],
      [{ exchange_rates: { USD: null } }, 'exchange_rates.USD'],
      [
        { exchange_rates: Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`A${i}`, 1])) },
        'exchange_rates',
      ],
    ]
    for (const [payload, source] of cases) {
      const response = await patch(url, payload)
      assert.equal(response.statusCode, 400, `${JSON.stringify(payload).slice(0, 60)} ${response.body}`)
      const body = fieldsError(response)
      assert.equal(body.error_code, 'validation_error')
      assert.equal(body.errors[0]?.source, source, JSON.stringify(payload).slice(0, 60))
    }
    // 1e400 parses to Infinity, which is not a rate.
    const infinite = await h.admin({
      method: 'PATCH',
      url,
      headers: { 'content-type': 'application/json' },
      payload: '{"exchange_rates": {"EUR": 1e400}}',
    })
    assert.equal(infinite.statusCode, 400)
    assert.equal(infinite.json().errors[0].source, 'exchange_rates.EUR')

    const after = (await h.admin({ method: 'GET', url })).json()
    assert.equal(after.exchange_rates_source, 'bundled')
    assert.equal(after.sharing_mode, 'enabled')
  })

  it('answers 413 and 415 in the envelope', async () => {
    const url = await settingsUrl()
    const huge = await h.admin({
      method: 'PATCH',
      url,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ sharing_mode: 'x'.repeat(2 * 1024 * 1024) }),
    })
    assert.equal(huge.statusCode, 413)
    assert.equal(huge.json().error_code, 'payload_too_large')
    const form = await h.admin({
      method: 'PATCH',
      url,
      headers: { 'content-type': 'text/plain' },
      payload: 'sharing_mode=transfer',
    })
    assert.equal(form.statusCode, 415)
    assert.equal(form.json().error_code, 'unsupported_media_type')
  })
})
