import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type Browser, chromium, type Page } from 'playwright-core'
import { startStripeImportWorker } from '../../src/modules/stripe/stripe-import-worker.ts'
import { startFakeStripe } from '../support/fake-stripe.ts'
import { buildTestApp, TEST_ADMIN_TOKEN } from '../support/harness.ts'
import { createProduct, subscriptionBody } from '../support/purchases.ts'
import { DAY, putSubscription } from '../support/stripe-fixtures.ts'
import { startReceiver } from '../support/webhook-receiver.ts'

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core): what an operator does,
 * end to end, with a screenshot of each step under test-results/. Without Chromium the suite is skipped
 * locally; CI installs it (.ci/run), and there a missing browser fails.
 */

const CHROMIUM = '/usr/bin/chromium'
const available = existsSync(CHROMIUM)
if (!available && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs it`)
const SHOTS = join(import.meta.dirname, '..', '..', 'test-results')
mkdirSync(SHOTS, { recursive: true })

const stripe = await startFakeStripe()
const h = await buildTestApp({
  env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_SECONDS: '2', STRIPE_API_URL: stripe.url },
  ownDatabase: true,
})
const receiver = await startReceiver()
after(() => receiver.close())

describe('the dashboard in a browser', { skip: available ? false : `no ${CHROMIUM}` }, () => {
  let browser: Browser
  let page: Page
  let baseUrl: string
  let appId = ''
  let secretKey = ''
  let imports: ReturnType<typeof startStripeImportWorker> | undefined

  before(async () => {
    baseUrl = await h.app.listen({ port: 0, host: '127.0.0.1' })
    // As in `npm start`: the delivery worker sends what the dashboard's actions queue.
    h.services.webhooks.worker.start()
    imports = startStripeImportWorker(h.services.stripeImports, { error: () => {} })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    })
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    // Confirmation dialogs are answered yes, as an operator who means it would.
    page.on('dialog', (dialog) => void dialog.accept())
    // Nothing may be fetched from outside the server.
    page.on('request', (request) => {
      assert.ok(request.url().startsWith(baseUrl), `fetched from outside: ${request.url()}`)
    })
  })
  after(async () => {
    await browser?.close()
    await h.services.webhooks.worker.stop()
    await imports?.stop()
  })

  const shot = (name: string) =>
    page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: true })
  const field = (label: string) => page.getByLabel(label, { exact: true })

  it('signs in, refusing a wrong token without saying which part was wrong', async () => {
    await page.goto(`${baseUrl}/dashboard`)
    await field('Admin token').fill('adm_wrong')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByText('That admin token is not valid.').waitFor()
    await shot('01-sign-in-refused')
    await field('Admin token').fill(TEST_ADMIN_TOKEN)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Apps', exact: true }).waitFor()
    const cookies = await page.context().cookies()
    const session = cookies.find((cookie) => cookie.name === 'entitle_session')
    assert.ok(session?.httpOnly)
    assert.equal(session?.sameSite, 'Strict')
  })

  it('creates an app and shows its secret key once', async () => {
    await field('Name').fill('Browser shop')
    await page.getByRole('button', { name: 'Create the app' }).click()
    secretKey = (await page.locator('#once-secret').textContent()) ?? ''
    assert.match(secretKey, /^secret_live_/)
    appId = (/App id ([0-9a-f-]{36})/.exec((await page.locator('main').textContent()) ?? '') ?? [])[1] ?? ''
    assert.ok(appId)
    await shot('02-app-created')
  })

  it('adds an access level and a product in the catalog, with a message next to a wrong field', async () => {
    await page.getByRole('link', { name: 'Catalog' }).click()
    await field('New access level id').fill('gold')
    await page.getByRole('button', { name: 'Add the access level' }).click()
    await page.getByText('Access level added.').waitFor()
    await field('Product id').fill('monthly')
    await page.getByLabel('Access level', { exact: true }).selectOption('gold')
    await page.getByLabel('Period (subscriptions only)').selectOption('P1M')
    await page.getByLabel(/Store products/).fill('app_store:com.example.monthly\nnot a store product')
    await page.getByRole('button', { name: 'Add the product' }).click()
    await page.locator('#field-store_products-error').waitFor()
    await shot('03-product-refused')
    await page.getByLabel(/Store products/).fill('app_store:com.example.monthly')
    await page.getByRole('button', { name: 'Add the product' }).click()
    await page.getByText('Product added.').waitFor()
    await shot('04-catalog')
  })

  it('shows a purchase made through the API on the profile and in the overview chart', async () => {
    const overviewBefore = await page.goto(`${baseUrl}/dashboard/apps/${appId}`)
    assert.equal(overviewBefore?.status(), 200)
    assert.equal(await page.locator('#active-subscriptions').textContent(), '0')
    const now = Date.now()
    const api = (path: string, body?: unknown) =>
      fetch(`${baseUrl}/api/v2/server-side-api${path}`, {
        method: 'POST',
        headers: {
          authorization: `Api-Key ${secretKey}`,
          'adapty-customer-user-id': 'browser-buyer',
          'content-type': 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    assert.equal((await api('/profile/')).status, 200)
    const bought = await api(
      '/purchase/set/transaction/',
      subscriptionBody({
        store_product_id: 'com.example.monthly',
        purchased_at: new Date(now - 3_600_000).toISOString(),
        originally_purchased_at: new Date(now - 3_600_000).toISOString(),
        expires_at: new Date(now + 30 * 86_400_000).toISOString(),
      }),
    )
    assert.equal(bought.status, 200, await bought.text())
    await page.reload()
    assert.equal(await page.locator('#active-subscriptions').textContent(), '1')
    // The bar of the purchase's UTC day, not the last one: between 00:00 and 01:00 UTC that is yesterday's.
    const purchaseDay = new Date(now - 3_600_000).toISOString().slice(0, 10)
    const bar = page.locator(`#chart-new-title ~ svg rect[data-date="${purchaseDay}"]`)
    assert.equal(await bar.getAttribute('data-value'), '1')
    await shot('05-overview')

    await page.getByRole('link', { name: 'Profiles' }).click()
    await page.getByLabel('Customer user id, profile id or email').fill('browser-buyer')
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('link', { name: 'browser-buyer' }).click()
    const goldRow = page.locator('section[aria-labelledby="access"] tbody tr', { hasText: 'gold' })
    assert.match((await goldRow.textContent()) ?? '', /goldyes/)
    await shot('06-profile')
  })

  it('grants and revokes an access level from the profile page, after confirmation', async () => {
    await page.getByLabel('Access level', { exact: true }).first().selectOption('premium')
    await page.getByRole('button', { name: 'Grant', exact: true }).click()
    await page.getByText('Access level granted.').waitFor()
    const premiumRow = page.locator('section[aria-labelledby="access"] tbody tr', { hasText: 'premium' })
    assert.match((await premiumRow.textContent()) ?? '', /premiumyeslifetime/)
    await page.locator('#field-revoke_access_level_id').selectOption('premium')
    await page.getByRole('button', { name: 'Revoke', exact: true }).click()
    await page.getByText('Access level revoked.').waitFor()
    assert.match((await premiumRow.textContent()) ?? '', /premiumno/)
    await shot('07-granted-and-revoked')
  })

  it('adds a webhook endpoint and redelivers an event from the delivery log', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click()
    await page.locator('#production-url').fill(receiver.url)
    await page.getByRole('button', { name: 'Add the endpoint' }).first().click()
    await page.locator('#once-secret').waitFor()
    await page.getByRole('link', { name: 'Profiles' }).click()
    await page.getByRole('link', { name: 'browser-buyer' }).click()
    await page.getByLabel('Access level', { exact: true }).first().selectOption('gold')
    await page.getByRole('button', { name: 'Grant', exact: true }).click()
    await page.getByText('Access level granted.').waitFor()
    await receiver.waitForDeliveries(1)
    await page.getByRole('link', { name: 'Webhooks' }).click()
    await page.getByText('200 (delivered)').first().waitFor()
    const before = receiver.deliveries().length
    await page.getByRole('button', { name: 'Redeliver', exact: true }).first().click()
    await page.getByText('Queued: the event is on its way again').waitFor()
    await receiver.waitForDeliveries(before + 1)
    await shot('08-webhooks')
  })

  it("imports a Stripe customer's purchases and follows the import to its outcome", async () => {
    const settings = await h.admin({
      method: 'PATCH',
      url: `/admin/v1/apps/${appId}/settings`,
      payload: { stripe_secret_key: stripe.secretKey },
    })
    assert.equal(settings.statusCode, 200, settings.body)
    await createProduct(h, appId, {
      product_id: 'stripe_monthly',
      access_level_id: 'premium',
      type: 'subscription',
      period: 'P1M',
      store_products: [{ store: 'stripe', store_product_id: 'prod_Monthly' }],
    })
    const start = Math.floor(Date.now() / 1000) - DAY
    const bought = putSubscription(stripe, { periods: [{ start, end: start + 30 * DAY, amount: 999 }] })
    await page.getByRole('link', { name: 'Stripe' }).click()
    await field('Customer user id').fill('stripe-buyer')
    await field('Stripe customer id').fill(bought.customerId)
    await page.getByRole('button', { name: 'Start the import' }).click()
    // The page refreshes itself while the import runs, until it tells the outcome.
    await page.getByText('The import finished.').waitFor({ timeout: 15_000 })
    await page.getByText('1 of 1 purchase handled.').waitFor()
    await shot('09-stripe-import')
    await page.getByRole('link', { name: 'Profiles' }).click()
    await field('Customer user id, profile id or email').fill('stripe-buyer')
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('link', { name: 'stripe-buyer' }).click()
    await page
      .getByText(bought.invoiceIds[0] as string)
      .first()
      .waitFor()
  })

  it('works at phone width: labelled fields, reachable by keyboard, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    for (const path of ['', '/keys', '/catalog', '/profiles', '/events', '/webhooks', '/stripe']) {
      await page.goto(`${baseUrl}/dashboard/apps/${appId}${path}`)
      const problems = await page.evaluate(() => {
        const found: string[] = []
        for (const control of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
          const element = control as HTMLInputElement
          if (element.labels?.length === 0 && !element.getAttribute('aria-label'))
            found.push(`unlabelled ${element.name}`)
        }
        if (document.documentElement.scrollWidth > window.innerWidth + 1)
          found.push(`page is ${document.documentElement.scrollWidth}px wide`)
        return found
      })
      assert.deepEqual(problems, [], path)
    }
    // The first Tab lands on the skip link, and it leads to the content.
    await page.keyboard.press('Tab')
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content')
    await page.goto(`${baseUrl}/dashboard/apps/${appId}/profiles`)
    await shot('10-phone-profiles')
  })
})
