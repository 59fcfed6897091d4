import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { freshPostgresDatabase } from '../support/server-process.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const dataDir = mkdtempSync(join(tmpdir(), 'entitle-cli-'))
const database = process.env.DATABASE_URL ? await freshPostgresDatabase(process.env.DATABASE_URL) : null
after(async () => {
  rmSync(dataDir, { recursive: true, force: true })
  await database?.drop()
})
const env = database ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir }

function entitle(...args: string[]) {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'entitle.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

function json(...args: string[]) {
  const result = entitle(...args, '--json')
  assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

describe('the entitle CLI', () => {
  it('runs the operator tasks without HTTP and prints the admin API shapes with --json', () => {
    const created = json('apps', 'create', '--name', 'cli-app')
    assert.deepEqual(Object.keys(created).sort(), [
      'app_id',
      'created_at',
      'name',
      'public_api_key',
      'secret_api_key',
    ])
    assert.match(created.secret_api_key, /^secret_live_/)

    const listed = json('apps', 'list')
    assert.ok(listed.data.some((app: { app_id: string }) => app.app_id === created.app_id))

    const details = json('apps', 'get', created.app_id)
    assert.equal(details.api_keys.length, 2)
    assert.ok(!JSON.stringify(details).includes(created.secret_api_key))

    const rotated = json('keys', 'rotate', created.app_id)
    assert.match(rotated.secret_api_key, /^secret_live_/)
    const oldKey = details.api_keys.find((key: { kind: string }) => key.kind === 'secret')
    assert.equal(json('keys', 'delete', created.app_id, oldKey.key_id).deleted, true)

    assert.equal(json('access-levels', 'add', created.app_id, 'sports').id, 'sports')
    assert.deepEqual(
      json('access-levels', 'list', created.app_id).data.map((level: { id: string }) => level.id),
      ['premium', 'sports'],
    )
    assert.equal(json('access-levels', 'delete', created.app_id, 'sports').deleted, true)
    assert.equal(
      json('settings', 'set', created.app_id, '--rate-limit', '600').effective_rate_limit_per_minute,
      600,
    )
    assert.match(json('admin-token', 'rotate').admin_token, /^adm_[A-Za-z0-9]{40}$/)
  })

  it('prints readable text without --json', () => {
    const result = entitle('apps', 'create', '--name', 'text-app')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /Secret API key \(shown once\): secret_live_/)
  })

  it('exits 1 with the reason for an unknown app, 2 with the usage for a wrong command line', () => {
    const missing = entitle('apps', 'get', '01a21078-ec05-739b-9285-2f77f33a7ea3')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /app_not_found/)
    const premium = entitle(
      'access-levels',
      'delete',
      json('apps', 'create', '--name', 'x').app_id,
      'premium',
    )
    assert.equal(premium.code, 1)
    assert.match(premium.stderr, /access_level_protected/)
    for (const args of [
      ['apps', 'fly'],
      ['apps', 'create'],
      ['--bogus'],
      ['settings', 'set', 'x', '--rate-limit', 'lots'],
    ]) {
      const result = entitle(...args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`)
      assert.match(result.stderr, /Usage: entitle/)
    }
    const help = entitle('--help')
    assert.equal(help.code, 0)
    assert.match(help.stdout, /apps create --name NAME/)
    assert.match(help.stdout, /products add APP_ID PRODUCT_ID/)
  })

  it('manages products and sharing settings with the same rules as the admin API', () => {
    const appId = json('apps', 'create', '--name', 'catalog-app').app_id
    const added = json(
      'products',
      'add',
      appId,
      'pro_monthly',
      '--access-level',
      'premium',
      '--type',
      'subscription',
      '--period',
      'P1M',
      '--store-product',
      'app_store:com.example.pro.monthly',
      '--store-product',
      'play_store:pro:monthly',
    )
    assert.deepEqual(
      { ...added, created_at: undefined, updated_at: undefined },
      {
        product_id: 'pro_monthly',
        access_level_id: 'premium',
        type: 'subscription',
        period: 'P1M',
        store_products: [
          { store: 'app_store', store_product_id: 'com.example.pro.monthly' },
          { store: 'play_store', store_product_id: 'pro:monthly' },
        ],
        created_at: undefined,
        updated_at: undefined,
      },
    )
    const text = entitle(
      'products',
      'add',
      appId,
      'lifetime',
      '--access-level',
      'premium',
      '--type',
      'one_time',
    )
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /Added product lifetime {2}one_time/)

    assert.deepEqual(
      json('products', 'list', appId).data.map((product: { product_id: string }) => product.product_id),
      ['pro_monthly', 'lifetime'],
    )
    assert.deepEqual(json('products', 'get', appId, 'pro_monthly'), added)
    const listed = entitle('products', 'list', appId)
    assert.match(
      listed.stdout,
      /pro_monthly {2}subscription {2}P1M {2}grants premium {2}app_store:com\.example/,
    )

    const exists = entitle(
      'products',
      'add',
      appId,
      'pro_monthly',
      '--access-level',
      'premium',
      '--type',
      'consumable',
    )
    assert.equal(exists.code, 1)
    assert.match(exists.stderr, /^product_exists: /)
    const taken = entitle(
      'products',
      'add',
      appId,
      'other',
      '--access-level',
      'premium',
      '--type',
      'consumable',
      '--store-product',
      'play_store:pro:monthly',
    )
    assert.equal(taken.code, 1)
    assert.match(taken.stderr, /^store_product_taken: store_products\.0: .*pro_monthly/)
    const noPeriod = entitle(
      'products',
      'add',
      appId,
      'p2',
      '--access-level',
      'premium',
      '--type',
      'subscription',
    )
    assert.equal(noPeriod.code, 1)
    assert.match(noPeriod.stderr, /^validation_error: period: A subscription needs a period/)
    const noLevel = entitle('products', 'add', appId, 'p3', '--access-level', 'gold', '--type', 'one_time')
    assert.equal(noLevel.code, 1)
    assert.match(noLevel.stderr, /^access_level_not_found: /)

    assert.equal(json('access-levels', 'add', appId, 'gold').id, 'gold')
    json('products', 'add', appId, 'gold_pass', '--access-level', 'gold', '--type', 'one_time')
    const inUse = entitle('access-levels', 'delete', appId, 'gold')
    assert.equal(inUse.code, 1)
    assert.match(inUse.stderr, /^access_level_in_use: /)
    assert.deepEqual(json('products', 'delete', appId, 'gold_pass'), {
      deleted: true,
      product_id: 'gold_pass',
    })
    assert.equal(json('access-levels', 'delete', appId, 'gold').deleted, true)
    const gone = entitle('products', 'get', appId, 'gold_pass')
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /^product_not_found: /)
    const settings = json('settings', 'get', appId)
    assert.equal(settings.sharing_mode, 'enabled')
    assert.equal(settings.exchange_rates_source, 'bundled')
    const changed = json(
      'settings',
      'set',
      appId,
      '--sharing-mode',
      'transfer',
      '--sandbox-sharing-mode',
      'disabled',
    )
    assert.equal(changed.sharing_mode, 'transfer')
    assert.equal(changed.sandbox_sharing_mode, 'disabled')
    assert.equal(changed.rate_limit_per_minute, null)
    const shown = entitle('settings', 'get', appId)
    assert.match(shown.stdout, /Sharing mode: transfer; sandbox sharing mode: disabled\./)
    assert.match(shown.stdout, /Exchange rates: the bundled snapshot of \d{4}-\d{2}-\d{2}/)

    const usage: [string[], RegExp][] = [
      [['products', 'add', appId, 'x', '--type', 'one_time'], /^missing --access-level/],
      [
        ['products', 'add', appId, 'x', '--access-level', 'premium', '--type', 'lifetime'],
        /^--type: Must be one of/,
      ],
      [['products', 'add', appId, 'x y', '--access-level', 'premium', '--type', 'one_time'], /^PRODUCT_ID: /],
      [
        [
          'products',
          'add',
          appId,
          'x',
          '--access-level',
          'premium',
          '--type',
          'one_time',
          '--store-product',
          'a',
        ],
        /^--store-product a: expected STORE:STORE_PRODUCT_ID/,
      ],
      [['products', 'get', appId], /^missing PRODUCT_ID/],
      [['settings', 'set', appId], /^settings set needs /],
      [['settings', 'set', appId, '--sharing-mode', 'sometimes'], /^--sharing-mode must be one of/],
    ]
    for (const [args, reason] of usage) {
      const result = entitle(...args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`)
      assert.match(result.stderr, reason)
      assert.match(result.stderr, /Usage: entitle/)
    }
  })

  it('applies migrations with `migrate`', () => {
    assert.deepEqual(json('migrate'), { migrated: true })
  })
})
