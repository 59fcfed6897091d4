import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildTestApp } from '../support/harness.ts'
import { newProfile, setTransaction, subscriptionBody } from '../support/purchases.ts'
import { signedIn } from './support.ts'

/** Profiles and events in the dashboard: search, the profile's story, grant, revoke, delete, the feed. */

const h = await buildTestApp()
const DAY = 86_400_000
// One moment for the whole file: two calls a millisecond apart must not order dates the wrong way round.
const NOW = Date.now()
const iso = (offset: number) => new Date(NOW + offset).toISOString()

async function buyer(tenantName = 'profiles') {
  const tenant = await h.createTenant(tenantName)
  const profile = await newProfile(tenant)
  const update = await tenant.api({
    method: 'PATCH',
    path: '/profile/',
    headers: profile.headers,
    body: {
      email: 'Buyer@Example.com',
      first_name: '<script>alert(1)</script>',
      custom_attributes: [{ key: 'plan', value: '<b>pro</b>' }],
    },
  })
  assert.equal(update.statusCode, 200, update.body)
  const bought = await setTransaction(
    tenant,
    profile.headers,
    subscriptionBody({
      purchased_at: iso(-DAY),
      originally_purchased_at: iso(-DAY),
      expires_at: iso(29 * DAY),
    }),
  )
  assert.equal(bought.statusCode, 200, bought.body)
  return { tenant, profile }
}

describe('dashboard profiles', () => {
  it('finds a profile by customer user id, profile id or email, and lists the newest without a query', async () => {
    const { tenant, profile } = await buyer()
    const v = await signedIn(h)
    const base = `/dashboard/apps/${tenant.appId}/profiles`
    for (const query of [profile.customerUserId as string, profile.profileId, 'buyer@example.com']) {
      const page = await v.get(`${base}?q=${encodeURIComponent(query)}`)
      assert.equal(page.statusCode, 200)
      assert.match(page.body, new RegExp(`${base}/${profile.profileId}`), query)
    }
    assert.match((await v.get(base)).body, new RegExp(profile.profileId))
    assert.match((await v.get(`${base}?q=nobody-has-this`)).body, /No profile found\./)
    // Another app's profiles are not found from this app.
    const other = await h.createTenant('other')
    assert.doesNotMatch(
      (await v.get(`/dashboard/apps/${other.appId}/profiles?q=${profile.profileId}`)).body,
      new RegExp(`/profiles/${profile.profileId}`),
    )
    assert.equal(
      (await v.get(`/dashboard/apps/${other.appId}/profiles/${profile.profileId}`)).statusCode,
      404,
    )
  })

  it('shows attributes escaped, access levels, subscriptions, the ledger and the events', async () => {
    const { tenant, profile } = await buyer()
    const v = await signedIn(h)
    const page = await v.get(`/dashboard/apps/${tenant.appId}/profiles/${profile.profileId}`)
    assert.equal(page.statusCode, 200)
    assert.doesNotMatch(page.body, /<script>alert/)
    assert.match(page.body, /&lt;script>alert\(1\)&lt;\/script>/)
    assert.match(page.body, /&lt;b>pro&lt;\/b>/)
    assert.match(page.body, /<td>premium<\/td><td>yes<\/td>/)
    assert.match(page.body, /com\.example\.monthly/)
    assert.match(page.body, /subscription_started/)
    assert.match(page.body, /access_level_updated/)
    assert.match(page.body, /<td>transaction<\/td>/)
  })

  it('grants and revokes an access level from the page, with dates', async () => {
    const tenant = await h.createTenant('grants')
    await h.services.apps.addAccessLevel(tenant.appId, 'gold')
    const profile = await newProfile(tenant)
    const v = await signedIn(h)
    const base = `/dashboard/apps/${tenant.appId}/profiles/${profile.profileId}`
    await v.get(base)
    const granted = await v.post(`${base}/grant`, { access_level_id: 'gold', starts_at: '', expires_at: '' })
    assert.equal(granted.statusCode, 303, granted.body)
    const after = await v.get(granted.headers.location as string)
    assert.match(after.body, /Access level granted\./)
    assert.match(after.body, /<td>gold<\/td><td>yes<\/td><td>lifetime<\/td>/)

    const future = new Date(Date.now() + 7 * DAY).toISOString().slice(0, 16)
    const scheduled = await v.post(`${base}/revoke`, { revoke_access_level_id: 'gold', revoke_at: future })
    assert.equal(scheduled.statusCode, 303, scheduled.body)
    const api = await tenant.api({ method: 'GET', path: '/profile/', headers: profile.headers })
    const gold = api
      .json()
      .data.access_levels.find((level: { access_level_id: string }) => level.access_level_id === 'gold')
    assert.equal(gold.expires_at.slice(0, 16), future)

    const now = await v.post(`${base}/revoke`, { revoke_access_level_id: 'gold', revoke_at: '' })
    assert.equal(now.statusCode, 303)
    assert.match((await v.get(base)).body, /<td>gold<\/td><td>no<\/td>/)
  })

  it('says why a grant or revoke was refused, and changes nothing', async () => {
    const tenant = await h.createTenant('refusals')
    const profile = await newProfile(tenant)
    const v = await signedIn(h)
    const base = `/dashboard/apps/${tenant.appId}/profiles/${profile.profileId}`
    await v.get(base)
    const badDate = await v.post(`${base}/grant`, { access_level_id: 'premium', starts_at: 'tomorrow' })
    assert.equal(badDate.statusCode, 400)
    assert.match(badDate.body, /id="field-starts_at-error"/)
    const backwards = await v.post(`${base}/grant`, {
      access_level_id: 'premium',
      starts_at: '2030-01-02T00:00',
      expires_at: '2030-01-01T00:00',
    })
    assert.match(backwards.body, /id="field-expires_at-error"[^>]*>Must be after the start\./)
    const unknown = await v.post(`${base}/grant`, { access_level_id: 'nope' })
    assert.match(unknown.body, /id="field-access_level_id-error"/)
    const notHeld = await v.post(`${base}/revoke`, { revoke_access_level_id: 'premium' })
    assert.equal(notHeld.statusCode, 400)
    assert.match(notHeld.body, /does not hold this access level now/)
    const past = await v.post(`${base}/revoke`, {
      revoke_access_level_id: 'premium',
      revoke_at: '2020-01-01T00:00',
    })
    assert.match(past.body, /id="field-revoke_at-error"/)
    const api = await tenant.api({ method: 'GET', path: '/profile/', headers: profile.headers })
    assert.deepEqual(api.json().data.access_levels, [])
  })

  it('deletes a profile after confirmation', async () => {
    const tenant = await h.createTenant('deletes')
    const profile = await newProfile(tenant)
    const v = await signedIn(h)
    const base = `/dashboard/apps/${tenant.appId}/profiles/${profile.profileId}`
    const page = await v.get(base)
    assert.match(page.body, /data-confirm="Delete the profile [^"]+\? This cannot be undone\."/)
    const deleted = await v.post(`${base}/delete`, {})
    assert.equal(deleted.headers.location, `/dashboard/apps/${tenant.appId}/profiles?notice=deleted`)
    assert.equal((await v.get(base)).statusCode, 404)
    const api = await tenant.api({ method: 'GET', path: '/profile/', headers: profile.headers })
    assert.equal(api.statusCode, 404)
  })
})

describe('dashboard event feed', () => {
  it('lists events newest first, filtered by type, profile and environment, in pages', async () => {
    const { tenant, profile } = await buyer('feed')
    const second = await newProfile(tenant)
    await setTransaction(
      tenant,
      second.headers,
      subscriptionBody({
        environment: 'Sandbox',
        purchased_at: iso(-DAY),
        originally_purchased_at: iso(-DAY),
        expires_at: iso(29 * DAY),
      }),
    )
    const v = await signedIn(h)
    const base = `/dashboard/apps/${tenant.appId}/events`
    const all = await v.get(base)
    assert.equal(all.statusCode, 200)
    const rows = (html: string) => [...html.matchAll(/<tr><td>[^<]+<\/td><td>(\w+)<\/td>/g)].map((m) => m[1])
    assert.deepEqual(rows(all.body), [
      'access_level_updated',
      'subscription_started',
      'access_level_updated',
      'subscription_started',
    ])
    const owners = [...all.body.matchAll(/profiles\/([0-9a-f-]{36})"/g)].map((m) => m[1])
    assert.deepEqual(owners, [second.profileId, second.profileId, profile.profileId, profile.profileId])
    assert.deepEqual(rows((await v.get(`${base}?type=subscription_started`)).body), [
      'subscription_started',
      'subscription_started',
    ])
    assert.equal(rows((await v.get(`${base}?profile_id=${profile.profileId}`)).body).length, 2)
    assert.equal(rows((await v.get(`${base}?environment=Sandbox`)).body).length, 2)
    assert.equal(rows((await v.get(`${base}?type=<script>`)).body).length, 4, 'an unknown type is no filter')
    const newest = /href="([^"]*before=(\d+))"/.exec(all.body)
    assert.equal(newest, null, 'one page: no link to older events')
  })
})
