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
  })

  it('applies migrations with `migrate`', () => {
    assert.deepEqual(json('migrate'), { migrated: true })
  })
})
