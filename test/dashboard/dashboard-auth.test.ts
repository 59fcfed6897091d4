import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp, TEST_ADMIN_TOKEN } from '../support/harness.ts'
import { signedIn, visitor } from './support.ts'

/** Signing in and out of the dashboard, its session cookie, CSRF tokens and security headers. */

const h = await buildTestApp()

describe('dashboard sign-in', () => {
  it('sends a visitor without a session to the sign-in page', async () => {
    for (const url of ['/dashboard', '/dashboard/apps', '/dashboard/apps/x/catalog']) {
      const response = await h.app.inject({ method: 'GET', url })
      assert.equal(response.statusCode, 303, url)
      assert.equal(response.headers.location, '/dashboard/sign-in', url)
    }
    const page = await h.app.inject({ method: 'GET', url: '/dashboard/sign-in' })
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /<label for="field-admin_token">Admin token<\/label>/)
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/)
    assert.equal(page.headers['x-frame-options'], 'DENY')
  })

  it('signs in with the admin token: an HttpOnly, SameSite=Strict session cookie', async () => {
    const v = visitor(h)
    await v.get('/dashboard/sign-in')
    const response = await v.post('/dashboard/sign-in', { admin_token: TEST_ADMIN_TOKEN })
    assert.equal(response.statusCode, 303)
    const set = ([] as string[]).concat(response.headers['set-cookie'] ?? [])
    const session = set.find((line) => line.startsWith('entitle_session='))
    assert.ok(session, set.join('\n'))
    assert.match(session, /HttpOnly/)
    assert.match(session, /SameSite=Strict/)
    assert.match(session, /Path=\/dashboard/)
    assert.doesNotMatch(session, new RegExp(TEST_ADMIN_TOKEN), 'the cookie does not carry the token')
    const apps = await v.get('/dashboard/apps')
    assert.equal(apps.statusCode, 200)
    assert.match(apps.body, /Sign out/)
  })

  it('refuses a wrong token, a missing sign-in cookie and a wrong form token with one message', async () => {
    const wrongToken = visitor(h)
    await wrongToken.get('/dashboard/sign-in')
    const attempts = [
      await wrongToken.post('/dashboard/sign-in', { admin_token: 'adm_wrong' }),
      await wrongToken.post('/dashboard/sign-in', { admin_token: `${TEST_ADMIN_TOKEN}x` }),
      await wrongToken.post('/dashboard/sign-in', { admin_token: '' }),
      await wrongToken.post('/dashboard/sign-in', { admin_token: TEST_ADMIN_TOKEN }, 'forged'),
      await visitor(h).post('/dashboard/sign-in', { admin_token: TEST_ADMIN_TOKEN }, 'no-cookie'),
    ]
    for (const response of attempts) {
      assert.equal(response.statusCode, 401)
      assert.match(response.body, /That admin token is not valid\./)
      assert.ok(!String(response.headers['set-cookie'] ?? '').includes('entitle_session='))
    }
    // After a failure the form works again with the token it was given.
    const retry = await wrongToken.post('/dashboard/sign-in', { admin_token: TEST_ADMIN_TOKEN })
    assert.equal(retry.statusCode, 303)
  })

  it('refuses a forged or tampered session cookie', async () => {
    const v = await signedIn(h)
    const value = v.cookies.get('entitle_session') as string
    const [version, expires, nonce, signature] = value.split('.')
    for (const forged of [
      'v1.9999999999999.abc.def',
      `${version}.${Number(expires) + 1000}.${nonce}.${signature}`,
      `${version}.${expires}.${nonce}x.${signature}`,
    ]) {
      const response = await h.app.inject({
        method: 'GET',
        url: '/dashboard/apps',
        headers: { cookie: `entitle_session=${forged}` },
      })
      assert.equal(response.statusCode, 303, forged)
    }
  })

  it('refuses a form without the session’s CSRF token, and changes nothing', async () => {
    const v = await signedIn(h)
    const before = (await h.services.apps.listApps()).length
    for (const token of ['', 'wrong', v.csrf().slice(1)]) {
      const response = await v.post('/dashboard/apps', { name: 'csrf-app' }, token)
      assert.equal(response.statusCode, 403)
      assert.match(response.body, /Reload the page and try again/)
    }
    // Another session's token does not work either.
    const other = await signedIn(h)
    const response = await v.post('/dashboard/apps', { name: 'csrf-app' }, other.csrf())
    assert.equal(response.statusCode, 403)
    assert.equal((await h.services.apps.listApps()).length, before)
  })

  it('signs out: the cookie is cleared', async () => {
    const v = await signedIn(h)
    const response = await v.post('/dashboard/sign-out', {})
    assert.equal(response.statusCode, 303)
    assert.equal(response.headers.location, '/dashboard/sign-in?signed_out=1')
    assert.ok(!v.cookies.has('entitle_session'))
    assert.equal((await v.get('/dashboard/apps')).statusCode, 303)
    assert.match((await v.get('/dashboard/sign-in?signed_out=1')).body, /You are signed out\./)
  })

  it('serves its stylesheet and script from the server, and nothing from outside', async () => {
    const v = await signedIn(h)
    const page = await v.get('/dashboard/apps')
    const sources = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string)
    assert.ok(sources.length > 0)
    for (const source of sources) assert.match(source, /^(\/dashboard\/|#)/, source)
    const css = await h.app.inject({ method: 'GET', url: '/dashboard/assets/dashboard.css' })
    assert.equal(css.statusCode, 200)
    assert.match(String(css.headers['content-type']), /text\/css/)
    const js = await h.app.inject({ method: 'GET', url: '/dashboard/assets/dashboard.js' })
    assert.equal(js.statusCode, 200)
    assert.equal((await h.app.inject({ method: 'GET', url: '/dashboard/assets/../app.ts' })).statusCode, 404)
  })
})
