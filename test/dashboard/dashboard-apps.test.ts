import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../support/harness.ts'
import { signedIn } from './support.ts'

/** Apps, keys, settings and the catalog, run from the dashboard's forms. */

const h = await buildTestApp()

const appIdIn = (html: string) => /App id <code>([0-9a-f-]{36})<\/code>/.exec(html)?.[1] as string

describe('dashboard apps', () => {
  it('creates an app and shows its secret key once, working against the API', async () => {
    const v = await signedIn(h)
    const created = await v.post('/dashboard/apps', { name: 'Shop <script>alert(1)</script>' })
    assert.equal(created.statusCode, 201, created.body)
    assert.doesNotMatch(created.body, /<script>alert/)
    assert.match(created.body, /Shop &lt;script>alert\(1\)&lt;\/script>/)
    const secret = /<code id="once-secret">(secret_live_\w+)<\/code>/.exec(created.body)?.[1]
    assert.ok(secret, 'the new key is shown')
    const appId = appIdIn(created.body)
    const profile = await h.app.inject({
      method: 'POST',
      url: '/api/v2/server-side-api/profile/',
      headers: { authorization: `Api-Key ${secret}`, 'adapty-customer-user-id': 'dash-1' },
    })
    assert.equal(profile.statusCode, 200)
    // Shown once: the app's page afterwards has only hints.
    const page = await v.get(`/dashboard/apps/${appId}/keys`)
    assert.equal(page.statusCode, 200)
    assert.ok(!page.body.includes(secret))
    assert.match((await v.get('/dashboard/apps')).body, new RegExp(appId))
  })

  it('says what is wrong with a name, next to the field', async () => {
    const v = await signedIn(h)
    const response = await v.post('/dashboard/apps', { name: '   ' })
    assert.equal(response.statusCode, 400)
    assert.match(response.body, /id="field-name-error"[^>]*>Give the app a name\./)
    assert.match(response.body, /aria-invalid="true"/)
    const long = await v.post('/dashboard/apps', { name: 'x'.repeat(101) })
    assert.match(long.body, /At most 100 characters\./)
  })

  it('issues and deletes keys, but never the last secret key', async () => {
    const v = await signedIn(h)
    const appId = appIdIn((await v.post('/dashboard/apps', { name: 'keys' })).body)
    const rotated = await v.post(`/dashboard/apps/${appId}/keys`, {})
    assert.equal(rotated.statusCode, 201)
    assert.match(rotated.body, /New secret API key:/)
    const found = await h.services.apps.getApp(appId)
    assert.ok(found.ok)
    const keys = found.value.keys
    const secrets = keys.filter((key) => key.kind === 'secret')
    assert.equal(secrets.length, 2)
    await v.get(`/dashboard/apps/${appId}/keys`)
    const first = await v.post(`/dashboard/apps/${appId}/keys/${secrets[0]?.id}/delete`, {})
    assert.equal(first.headers.location, `/dashboard/apps/${appId}/keys?notice=key_deleted`)
    const last = await v.post(`/dashboard/apps/${appId}/keys/${secrets[1]?.id}/delete`, {})
    assert.equal(last.headers.location, `/dashboard/apps/${appId}/keys?notice=last_secret_key`)
    assert.match((await v.get(last.headers.location as string)).body, /This is the last secret key/)
  })

  it('saves settings and refuses a bad rate limit next to the field', async () => {
    const v = await signedIn(h)
    const appId = appIdIn((await v.post('/dashboard/apps', { name: 'settings' })).body)
    const saved = await v.post(`/dashboard/apps/${appId}/settings`, {
      sharing_mode: 'transfer',
      sandbox_sharing_mode: 'disabled',
      rate_limit_per_minute: '120',
    })
    assert.equal(saved.statusCode, 303)
    const settings = await h.services.apps.getSettings(appId)
    assert.ok(settings.ok)
    assert.equal(settings.value.sharingMode, 'transfer')
    assert.equal(settings.value.sandboxSharingMode, 'disabled')
    assert.equal(settings.value.rateLimitPerMinute, 120)
    const page = await v.get(saved.headers.location as string)
    assert.match(page.body, /Settings saved\./)
    assert.match(page.body, /<option value="transfer" selected>/)
    for (const bad of ['0', '1.5', 'many']) {
      const refused = await v.post(`/dashboard/apps/${appId}/settings`, { rate_limit_per_minute: bad })
      assert.equal(refused.statusCode, 400)
      assert.match(refused.body, /id="field-rate_limit_per_minute-error"/)
    }
    const mode = await v.post(`/dashboard/apps/${appId}/settings`, { sharing_mode: 'sometimes' })
    assert.match(mode.body, /id="field-sharing_mode-error"[^>]*>Choose one of enabled, transfer, disabled\./)
  })

  it('sets exchange rates and write-only web store credentials, shown masked', async () => {
    const v = await signedIn(h)
    const appId = appIdIn((await v.post('/dashboard/apps', { name: 'stores' })).body)
    const page = await v.get(`/dashboard/apps/${appId}/keys`)
    const table = /<textarea id="field-exchange_rates"[^>]*>([^<]*)<\/textarea>/.exec(page.body)?.[1] ?? ''
    assert.match(table, /^EUR=/m)
    const edited = table
      .split('\n')
      .filter((line) => !line.startsWith('GBP='))
      .map((line) => (line.startsWith('EUR=') ? 'EUR=1.25' : line))
      .join('\n')
    const saved = await v.post(`/dashboard/apps/${appId}/settings`, {
      exchange_rates: edited,
      stripe_secret_key: 'sk_test_dashboard1234',
      paddle_api_key: '',
    })
    assert.equal(saved.statusCode, 303, saved.body)
    const settings = await h.services.apps.getSettings(appId)
    assert.ok(settings.ok)
    assert.equal(settings.value.exchangeRates?.EUR, 1.25)
    assert.equal(settings.value.exchangeRates?.GBP, undefined)
    assert.equal(settings.value.credentials.stripeSecretKey, 'sk_test_dashboard1234')
    assert.equal(settings.value.credentials.paddleApiKey, null)
    const shown = await v.get(`/dashboard/apps/${appId}/keys`)
    assert.ok(!shown.body.includes('sk_test_dashboard1234'), 'write-only')
    assert.match(shown.body, /Stripe secret key \(now: sk_test_…1234\)/)
    assert.match(shown.body, /Paddle API key \(now: not set\)/)

    const bad = await v.post(`/dashboard/apps/${appId}/settings`, { exchange_rates: 'EUR=cheap' })
    assert.equal(bad.statusCode, 400)
    assert.match(bad.body, /id="field-exchange_rates-error"[^>]*>Line 1: write CODE=rate/)
    const removed = await v.post(`/dashboard/apps/${appId}/settings`, {
      remove_stripe_secret_key: 'true',
      reset_exchange_rates: 'true',
    })
    assert.equal(removed.statusCode, 303)
    const after = await h.services.apps.getSettings(appId)
    assert.ok(after.ok)
    assert.equal(after.value.credentials.stripeSecretKey, null)
    assert.equal(after.value.exchangeRates, null)
  })

  it('answers 404 for an app that does not exist, and 400 for a form with NUL', async () => {
    const v = await signedIn(h)
    for (const url of [
      '/dashboard/apps/not-a-uuid',
      '/dashboard/apps/01a21078-ec05-739b-9285-2f77f33a7ea3',
    ]) {
      assert.equal((await v.get(url)).statusCode, 404)
    }
    const nul = await v.post('/dashboard/apps', { name: 'a\u0000b' })
    assert.equal(nul.statusCode, 400)
  })
})

describe('dashboard catalog', () => {
  it('adds access levels and products, with validation messages next to the fields', async () => {
    const v = await signedIn(h)
    const appId = appIdIn((await v.post('/dashboard/apps', { name: 'catalog' })).body)
    const catalog = `/dashboard/apps/${appId}/catalog`
    await v.get(catalog)
    assert.equal((await v.post(`${catalog}/access-levels`, { level_id: 'gold' })).statusCode, 303)
    const duplicate = await v.post(`${catalog}/access-levels`, { level_id: 'gold' })
    assert.equal(duplicate.statusCode, 409)
    assert.match(duplicate.body, /already has an access level with this id/)
    assert.match((await v.post(`${catalog}/access-levels`, { level_id: 'a b' })).body, /Up to 64 letters/)

    const product = {
      product_id: 'monthly',
      access_level_id: 'gold',
      type: 'subscription',
      period: 'P1M',
      store_products: 'app_store:com.example.monthly\nmy_store:m1',
    }
    assert.equal((await v.post(`${catalog}/products`, product)).statusCode, 303)
    const listed = await h.services.catalog.listProducts(appId)
    assert.ok(listed.ok)
    assert.deepEqual(
      listed.value.map((entry) => [entry.product.productId, entry.storeProducts.length]),
      [['monthly', 2]],
    )
    const taken = await v.post(`${catalog}/products`, { ...product, product_id: 'other' })
    assert.equal(taken.statusCode, 409)
    assert.match(taken.body, /id="field-store_products-error"/)
    const noPeriod = await v.post(`${catalog}/products`, {
      ...product,
      product_id: 'x',
      period: '',
      store_products: '',
    })
    assert.match(noPeriod.body, /id="field-period-error"[^>]*>A subscription needs a period/)
    const badLine = await v.post(`${catalog}/products`, {
      ...product,
      product_id: 'y',
      store_products: 'nocolon',
    })
    assert.match(badLine.body, /Line 1: write store:store_product_id/)
    assert.match(badLine.body, /value="y"/, 'the form comes back as it was sent')

    // A level a product grants cannot go; the product can be edited, then deleted.
    const inUse = await v.post(`${catalog}/access-levels/gold/delete`, {})
    assert.equal(inUse.headers.location, `${catalog}?notice=access_level_in_use`)
    const edit = await v.get(`${catalog}/products/monthly`)
    assert.match(edit.body, /app_store:com.example.monthly/)
    const saved = await v.post(`${catalog}/products/monthly`, { ...product, access_level_id: 'premium' })
    assert.equal(saved.statusCode, 303)
    assert.equal(
      (await v.post(`${catalog}/access-levels/gold/delete`, {})).headers.location,
      `${catalog}?notice=level_deleted`,
    )
    assert.equal(
      (await v.post(`${catalog}/products/monthly/delete`, {})).headers.location,
      `${catalog}?notice=product_deleted`,
    )
    const after = await h.services.catalog.listProducts(appId)
    assert.ok(after.ok)
    assert.equal(after.value.length, 0)
  })
})
