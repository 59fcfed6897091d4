import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { freshPostgresDatabase } from '../support/server-process.ts'
import { startReceiver } from '../support/webhook-receiver.ts'

/** `entitle webhooks …`: the webhook endpoints, the delivery log and redelivery from the command line. */

const ROOT = join(import.meta.dirname, '..', '..')
const dataDir = mkdtempSync(join(tmpdir(), 'entitle-cli-webhooks-'))
const database = process.env.DATABASE_URL ? await freshPostgresDatabase(process.env.DATABASE_URL) : null
const receiver = await startReceiver()
after(async () => {
  await receiver.close()
  rmSync(dataDir, { recursive: true, force: true })
  await database?.drop()
})
const storage = database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir }
const ALLOW_PRIVATE = { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_SECONDS: '5' }
const UNKNOWN_ID = '01a21078-ec05-739b-9285-2f77f33a7ea3'

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the CLI without blocking this process, so the receiver here can answer its verification request. */
function entitle(args: string[], env: Record<string, string> = ALLOW_PRIVATE): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'entitle.js'), ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LOG_LEVEL: 'silent',
        ...storage,
        ...env,
      },
      timeout: 60_000,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

async function json(...args: string[]) {
  const result = await entitle([...args, '--json'])
  assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

async function failure(args: string[], code: number, reason: RegExp, env?: Record<string, string>) {
  const result = await entitle(args, env)
  assert.equal(result.code, code, `${args.join(' ')}: ${result.stdout}${result.stderr}`)
  assert.match(result.stderr, reason)
  return result
}

describe('the webhooks commands of the CLI', () => {
  it('saves an endpoint after the verification request and prints the signing secret once', async () => {
    const appId = (await json('apps', 'create', '--name', 'hooks-app')).app_id
    const before = receiver.requests.length
    const first = await entitle([
      'webhooks',
      'set',
      appId,
      'production',
      '--url',
      receiver.url,
      '--authorization',
      'Bearer receiver-token',
      '--events',
      'trial_started, subscription_started',
      '--event-name',
      'trial_started=trial_start',
      '--send-user-attributes',
    ])
    assert.equal(first.code, 0, first.stderr)
    const secret = first.stdout.match(/Signing secret \(shown once[^)]*\): (whsec_\S+)/)?.[1]
    assert.ok(secret, first.stdout)
    assert.match(first.stdout, /authorization: …oken/)
    assert.match(first.stdout, /events: trial_started, subscription_started/)
    assert.match(first.stdout, /event names: trial_started=trial_start/)
    const verification = receiver.requests.slice(before)
    assert.equal(verification.length, 1)
    assert.equal(verification[0]?.method, 'POST')
    assert.equal(verification[0]?.body, '{}')
    assert.equal(verification[0]?.headers.authorization, 'Bearer receiver-token')

    // A second save replaces the settings and keeps the secret, which it does not show.
    const again = await json('webhooks', 'set', appId, 'production', '--url', receiver.url)
    assert.equal(again.signing_secret, undefined)
    assert.equal(again.signing_secret_hint, `whsec_…${secret.slice(-4)}`)
    assert.deepEqual(
      { ...again, created_at: undefined, updated_at: undefined },
      {
        environment: 'production',
        url: receiver.url,
        authorization: null,
        events: null,
        event_names: {},
        send_user_attributes: false,
        send_trial_price: false,
        signing_secret_hint: again.signing_secret_hint,
        previous_secret_expires_at: null,
        created_at: undefined,
        updated_at: undefined,
      },
    )
    const text = await entitle(['webhooks', 'set', appId, 'production', '--url', receiver.url])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /the signing secret is unchanged/)
    assert.ok(!text.stdout.includes(secret))
    assert.doesNotMatch(text.stdout, /shown once/)

    // The first save of the other environment has a secret of its own, in the admin API's shape.
    const sandbox = await json(
      'webhooks',
      'set',
      appId,
      'sandbox',
      '--url',
      receiver.url,
      '--send-trial-price',
    )
    assert.match(sandbox.signing_secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
    assert.notEqual(sandbox.signing_secret, secret)
    assert.equal(sandbox.send_trial_price, true)

    // get shows it without the secret.
    const read = await json('webhooks', 'get', appId, 'production')
    assert.deepEqual({ ...read, updated_at: undefined }, { ...again, updated_at: undefined })
    const shown = await entitle(['webhooks', 'get', appId.toUpperCase(), 'production'])
    assert.equal(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, new RegExp(`^production {2}${receiver.url}\n`))
    assert.match(shown.stdout, /events: all/)
    assert.ok(!shown.stdout.includes(secret))

    // rotate-secret prints the new secret once; the old one signs on for the overlap.
    const rotated = await json('webhooks', 'rotate-secret', appId, 'production', '--overlap-seconds', '60')
    assert.match(rotated.signing_secret, /^whsec_/)
    assert.notEqual(rotated.signing_secret, secret)
    const expires = Date.parse(rotated.previous_secret_expires_at)
    assert.ok(Math.abs(expires - (Date.now() + 60_000)) < 30_000, rotated.previous_secret_expires_at)
    const rotatedText = await entitle(['webhooks', 'rotate-secret', appId, 'sandbox'])
    assert.equal(rotatedText.code, 0, rotatedText.stderr)
    assert.match(
      rotatedText.stdout,
      /\(shown once\): whsec_\S+\nThe previous secret keeps signing next to it until/,
    )
    assert.equal((await json('webhooks', 'get', appId, 'production')).signing_secret, undefined)

    // delete removes it; then there is nothing to read, delete or rotate.
    assert.deepEqual(await json('webhooks', 'delete', appId, 'production'), {
      deleted: true,
      environment: 'production',
    })
    await failure(['webhooks', 'get', appId, 'production'], 1, /^webhook_not_found: /)
    await failure(['webhooks', 'delete', appId, 'production'], 1, /^webhook_not_found: /)
    await failure(['webhooks', 'rotate-secret', appId, 'production'], 1, /^webhook_not_found: /)
    assert.equal((await json('webhooks', 'get', appId, 'sandbox')).environment, 'sandbox')
  })

  it('reads the delivery log and queues redeliveries', async () => {
    const appId = (await json('apps', 'create', '--name', 'log-app')).app_id
    assert.deepEqual(await json('webhooks', 'deliveries', appId), { data: [], next_cursor: null })
    assert.deepEqual(
      await json(
        'webhooks',
        'deliveries',
        appId,
        '--status',
        'failed',
        '--event-id',
        UNKNOWN_ID,
        '--limit',
        '5',
      ),
      { data: [], next_cursor: null },
    )
    assert.deepEqual(await json('webhooks', 'deliveries', appId, '--after', '42'), {
      data: [],
      next_cursor: '42',
    })
    const empty = await entitle(['webhooks', 'deliveries', appId])
    assert.equal(empty.code, 0, empty.stderr)
    assert.equal(empty.stdout, 'No delivery attempts.\n')
    await failure(['webhooks', 'deliveries', appId, '--after', 'x'], 1, /^invalid_cursor: after: /)
    await failure(['webhooks', 'deliveries', UNKNOWN_ID], 1, /^app_not_found: /)

    await failure(['webhooks', 'redeliver', appId, UNKNOWN_ID], 1, /^event_not_found: Event not found\.\n$/)
    await failure(['webhooks', 'redeliver', appId, 'not-an-id'], 1, /^event_not_found: /)
    await failure(['webhooks', 'redeliver', UNKNOWN_ID, UNKNOWN_ID], 1, /^app_not_found: /)

    const range = ['webhooks', 'redeliver-range', appId, '--from', '2024-01-01T00:00:00Z']
    assert.deepEqual(await json(...range, '--to', '2024-02-01T00:00:00Z', '--environment', 'sandbox'), {
      queued: 0,
    })
    const queued = await entitle([...range, '--to', '2024-02-01T00:00:00Z'])
    assert.equal(queued.code, 0, queued.stderr)
    assert.match(queued.stdout, /^Queued 0 deliveries/)
    await failure([...range, '--to', '2023-12-31T00:00:00Z'], 1, /^validation_error: to: Must be later than/)
  })

  it('refuses a loopback URL unless WEBHOOK_ALLOW_PRIVATE=true, and an endpoint that fails verification', async () => {
    const appId = (await json('apps', 'create', '--name', 'guarded-app')).app_id
    const before = receiver.requests.length
    const refused = ['webhooks', 'set', appId, 'production', '--url', receiver.url]
    await failure(
      refused,
      1,
      /^webhook_url_not_allowed: url: 127\.0\.0\.1 is a private or reserved address/,
      {},
    )
    await failure(
      ['webhooks', 'set', appId, 'production', '--url', 'http://localhost:9/hooks'],
      1,
      /^webhook_url_not_allowed: url: localhost is a loopback name/,
      {},
    )
    assert.equal(receiver.requests.length, before)

    receiver.answerNext({ status: 500, body: '{}' })
    await failure(
      refused,
      1,
      /^webhook_verification_failed: url: .*answered the verification request with 500/,
    )
    await failure(['webhooks', 'get', appId, 'production'], 1, /^webhook_not_found: /)
    await failure(['webhooks', 'set', UNKNOWN_ID, 'production', '--url', receiver.url], 1, /^app_not_found: /)
  })

  it('exits 2 with the usage for a wrong command line', async () => {
    const usage: [string[], RegExp][] = [
      [['webhooks', 'set', UNKNOWN_ID, 'production'], /^missing --url/],
      [['webhooks', 'set', UNKNOWN_ID, 'staging', '--url', receiver.url], /^ENVIRONMENT must be production/],
      [['webhooks', 'get', UNKNOWN_ID], /^missing ENVIRONMENT/],
      [
        [
          'webhooks',
          'set',
          UNKNOWN_ID,
          'production',
          '--url',
          receiver.url,
          '--events',
          'trial_started,nope',
        ],
        /^--events: unknown event type nope; one of: subscription_started,/,
      ],
      [
        [
          'webhooks',
          'set',
          UNKNOWN_ID,
          'production',
          '--url',
          receiver.url,
          '--events',
          'trial_started,trial_started',
        ],
        /^--events: Must NOT have duplicate items/,
      ],
      [
        ['webhooks', 'set', UNKNOWN_ID, 'production', '--url', receiver.url, '--event-name', 'trial_started'],
        /^--event-name trial_started: expected TYPE=NAME/,
      ],
      [
        [
          'webhooks',
          'set',
          UNKNOWN_ID,
          'production',
          '--url',
          receiver.url,
          '--event-name',
          'trial_started=',
        ],
        /^--event-name: This field may not be blank/,
      ],
      [
        ['webhooks', 'rotate-secret', UNKNOWN_ID, 'production', '--overlap-seconds', '1.5'],
        /^--overlap-seconds must/,
      ],
      [
        ['webhooks', 'rotate-secret', UNKNOWN_ID, 'production', '--overlap-seconds', '9999999'],
        /^--overlap-seconds: /,
      ],
      [['webhooks', 'deliveries', UNKNOWN_ID, '--status', 'ok'], /^--status must be succeeded or failed/],
      [['webhooks', 'deliveries', UNKNOWN_ID, '--limit', '0'], /^--limit: Must be >= 1/],
      [['webhooks', 'deliveries', UNKNOWN_ID, '--event-id', 'abc'], /^--event-id: Must be a valid uuid/],
      [['webhooks', 'redeliver', UNKNOWN_ID], /^missing EVENT_ID/],
      [['webhooks', 'redeliver-range', UNKNOWN_ID, '--from', '2024-01-01T00:00:00Z'], /^missing --to/],
      [
        ['webhooks', 'redeliver-range', UNKNOWN_ID, '--from', 'yesterday', '--to', '2024-01-01T00:00:00Z'],
        /^--from: Must be a valid date-time/,
      ],
      [
        ['webhooks', 'redeliver-range', UNKNOWN_ID, '--from', 'x', '--to', 'y', '--environment', 'prod'],
        /^--environment must be production or sandbox/,
      ],
    ]
    for (const [args, reason] of usage) {
      const result = await failure(args, 2, reason)
      assert.match(result.stderr, /Usage: entitle/)
    }
    const help = await entitle(['--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /webhooks set APP_ID ENV --url URL/)
    assert.match(help.stdout, /webhooks redeliver-range APP_ID --from ISO --to ISO/)
  })
})
