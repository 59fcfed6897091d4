import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { buildTestApp } from '../support/harness.ts'
import { newProfile, setTransaction, subscriptionBody } from '../support/purchases.ts'
import { startReceiver } from '../support/webhook-receiver.ts'
import { signedIn } from './support.ts'

/** The dashboard's webhook pages against a real recording receiver. */

const h = await buildTestApp({
  env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_SECONDS: '1' },
  ownDatabase: true,
})
const receiver = await startReceiver()
after(() => receiver.close())
const DAY = 86_400_000
// One moment for the whole file: two calls a millisecond apart must not order dates the wrong way round.
const NOW = Date.now()
const iso = (offset: number) => new Date(NOW + offset).toISOString()

async function withEndpoint(fields: Record<string, string> = {}) {
  const tenant = await h.createTenant('hooks')
  const v = await signedIn(h)
  const base = `/dashboard/apps/${tenant.appId}/webhooks`
  await v.get(base)
  const saved = await v.post(`${base}/production`, { url: receiver.url, ...fields })
  return { tenant, v, base, saved }
}

describe('dashboard webhooks', () => {
  it('adds an endpoint after its verification request and shows the signing secret once', async () => {
    const { tenant, v, base, saved } = await withEndpoint({
      authorization: 'Bearer receiver-token',
      event_names: 'trial_started=trial_start',
      send_user_attributes: 'true',
    })
    assert.equal(saved.statusCode, 201, saved.body)
    const secret = /<code id="once-secret">(whsec_[^<]+)<\/code>/.exec(saved.body)?.[1]
    assert.ok(secret)
    const stored = await h.services.webhooks.get(tenant.appId, 'production')
    assert.ok(stored.ok)
    assert.equal(stored.value.signingSecret, secret)
    assert.equal(stored.value.authorization, 'Bearer receiver-token')
    assert.deepEqual(stored.value.eventNames, { trial_started: 'trial_start' })
    assert.equal(stored.value.sendUserAttributes, true)
    const page = await v.get(base)
    assert.ok(!page.body.includes(secret), 'shown once')
    assert.ok(!page.body.includes('receiver-token'), 'the Authorization value is not shown')
    // Saved again with only some events ticked; an empty Authorization keeps the stored one.
    const again = await h.app.inject({
      method: 'POST',
      url: `${base}/production`,
      headers: {
        cookie: [...v.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: `_csrf=${v.csrf()}&url=${encodeURIComponent(receiver.url)}&events=subscription_started&events=subscription_renewed`,
    })
    assert.equal(again.statusCode, 303, again.body)
    const updated = await h.services.webhooks.get(tenant.appId, 'production')
    assert.ok(updated.ok)
    assert.deepEqual(updated.value.eventTypes, ['subscription_started', 'subscription_renewed'])
    assert.equal(updated.value.authorization, 'Bearer receiver-token')
  })

  it('says why an endpoint was refused, next to the URL, and saves nothing', async () => {
    receiver.answerNext({ status: 500, body: '{}' })
    const { tenant, saved } = await withEndpoint()
    assert.equal(saved.statusCode, 400)
    assert.match(saved.body, /id="production-url-error"[^>]*>[^<]*answered the verification request with 500/)
    assert.equal((await h.services.webhooks.get(tenant.appId, 'production')).ok, false)
    const { saved: badNames } = await withEndpoint({ event_names: 'no_such_event=x' })
    assert.match(badNames.body, /Unknown event type no_such_event/)
  })

  it('shows the delivery log and redelivers an event, or a time range', async () => {
    const { tenant, v, base } = await withEndpoint()
    const buyer = await newProfile(tenant)
    const bought = await setTransaction(
      tenant,
      buyer.headers,
      subscriptionBody({
        purchased_at: iso(-DAY),
        originally_purchased_at: iso(-DAY),
        expires_at: iso(29 * DAY),
      }),
    )
    assert.equal(bought.statusCode, 200)
    await h.services.webhooks.worker.deliverDue()
    const log = await v.get(base)
    assert.match(log.body, /subscription_started/)
    assert.match(log.body, /200 \(delivered\)/)
    const eventId = /name="event_id" value="([0-9a-f-]{36})"/.exec(log.body)?.[1] as string
    const before = receiver.deliveries().length
    const queued = await v.post(`${base}/redeliver`, { event_id: eventId })
    assert.equal(queued.headers.location, `${base}?notice=queued`)
    await h.services.webhooks.worker.deliverDue()
    const resent = receiver.deliveries().slice(before)
    assert.deepEqual(
      resent.map((request) => request.headers['webhook-id']),
      [eventId],
    )
    const range = await v.post(`${base}/redeliver-range`, {
      from: iso(-DAY).slice(0, 16),
      to: iso(DAY).slice(0, 16),
    })
    assert.equal(range.statusCode, 200)
    assert.match(range.body, /Queued 2 events for redelivery/)
    // The bulk redelivery shows its progress, and the page refreshes itself until it is done.
    assert.match(range.body, /Sending: 2 waiting/)
    assert.match(range.body, /<meta http-equiv="refresh" content="3"/)
    await h.services.webhooks.worker.deliverDue()
    const done = await v.get(base)
    assert.match(done.body, /Nothing waiting to be sent\./)
    assert.doesNotMatch(done.body, /http-equiv="refresh"/)
    const badRange = await v.post(`${base}/redeliver-range`, { from: 'yesterday', to: '' })
    assert.equal(badRange.statusCode, 400)
    assert.match(badRange.body, /id="field-from-error"/)
    const failedOnly = await v.get(`${base}?status=failed`)
    assert.match(failedOnly.body, /No delivery attempts yet\./)
  })

  it('rotates the signing secret and removes the endpoint, each after confirmation', async () => {
    const { tenant, v, base } = await withEndpoint()
    const page = await v.get(base)
    assert.match(page.body, /data-confirm="Rotate the signing secret\?/)
    const rotated = await v.post(`${base}/production/rotate-secret`, {})
    assert.equal(rotated.statusCode, 200)
    const secret = /<code id="once-secret">(whsec_[^<]+)<\/code>/.exec(rotated.body)?.[1]
    const stored = await h.services.webhooks.get(tenant.appId, 'production')
    assert.ok(stored.ok)
    assert.equal(stored.value.signingSecret, secret)
    assert.ok(stored.value.previousSigningSecret)
    const removed = await v.post(`${base}/production/delete`, {})
    assert.equal(removed.headers.location, `${base}?notice=removed`)
    assert.equal((await h.services.webhooks.get(tenant.appId, 'production')).ok, false)
  })
})
