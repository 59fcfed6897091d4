import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Config, ConfigSchema, parseConfig } from '../src/config.ts'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

function parsed(env: Record<string, string | undefined>): Config {
  const result = parseConfig(env)
  if (!result.ok) assert.fail(`expected a valid configuration, got: ${result.problems.join('; ')}`)
  return result.config
}

function problems(env: Record<string, string | undefined>): string[] {
  const result = parseConfig(env)
  if (result.ok)
    assert.fail(`expected problems for ${JSON.stringify(Object.keys(env))}, got a valid configuration`)
  return result.problems
}

function problemFor(list: string[], variable: string): string {
  const problem = list.find((line) => line.startsWith(`${variable}=`))
  assert.ok(problem, `no problem names ${variable}: ${list.join('; ')}`)
  return problem
}

describe('parseConfig', () => {
  describe('defaults', () => {
    it('answers the documented defaults for an empty environment', () => {
      const config = parsed({})
      assert.equal(config.PORT, 8080)
      assert.equal(config.HOST, '127.0.0.1')
      assert.equal(config.DATA_DIR, './data')
      assert.equal(config.DATABASE_URL, undefined)
      assert.equal(
        config.DATABASE_POOL_SIZE,
        undefined,
        'unset: sized from the CPU count when the database opens',
      )
      assert.equal(config.ADMIN_TOKEN, undefined)
      assert.equal(config.LOG_LEVEL, 'info')
      assert.equal(config.BODY_LIMIT_BYTES, 1024 * 1024)
      assert.equal(config.DEFAULT_RATE_LIMIT_PER_MINUTE, 40000)
    })

    it('treats empty strings as unset', () => {
      const config = parsed({ PORT: '', DATABASE_URL: '', ADMIN_TOKEN: '', LOG_LEVEL: '' })
      assert.equal(config.PORT, 8080)
      assert.equal(config.DATABASE_URL, undefined)
      assert.equal(config.ADMIN_TOKEN, undefined)
      assert.equal(config.LOG_LEVEL, 'info')
    })

    it('ignores variables it does not know', () => {
      const config = parsed({ PATH: '/usr/bin', HOME: '/root', NODE_ENV: 'production' })
      assert.deepEqual(Object.keys(config).sort(), Object.keys(parsed({})).sort())
    })

    it('answers a frozen object, so nothing can change the configuration after start', () => {
      assert.ok(Object.isFrozen(parsed({})))
    })
  })

  describe('valid overrides', () => {
    it('reads every variable and turns the integer ones into numbers', () => {
      const config = parsed({
        PORT: '3000',
        HOST: '0.0.0.0',
        DATA_DIR: '/var/lib/entitle',
        DATABASE_URL: 'postgres://entitle:secret@db.internal:5432/entitle',
        DATABASE_POOL_SIZE: '25',
        ADMIN_TOKEN: 'a-long-enough-admin-token',
        LOG_LEVEL: 'debug',
        BODY_LIMIT_BYTES: '2048',
        DEFAULT_RATE_LIMIT_PER_MINUTE: '600',
      })
      assert.equal(config.PORT, 3000)
      assert.equal(config.HOST, '0.0.0.0')
      assert.equal(config.DATA_DIR, '/var/lib/entitle')
      assert.equal(config.DATABASE_URL, 'postgres://entitle:secret@db.internal:5432/entitle')
      assert.equal(config.DATABASE_POOL_SIZE, 25)
      assert.equal(config.ADMIN_TOKEN, 'a-long-enough-admin-token')
      assert.equal(config.LOG_LEVEL, 'debug')
      assert.equal(config.BODY_LIMIT_BYTES, 2048)
      assert.equal(config.DEFAULT_RATE_LIMIT_PER_MINUTE, 600)
    })

    it('accepts the postgresql:// scheme as well as postgres://', () => {
      assert.equal(
        parsed({ DATABASE_URL: 'postgresql://db/entitle' }).DATABASE_URL,
        'postgresql://db/entitle',
      )
    })

    it('accepts the port bounds 0 and 65535 and surrounding spaces around integers', () => {
      assert.equal(parsed({ PORT: '0' }).PORT, 0)
      assert.equal(parsed({ PORT: '65535' }).PORT, 65535)
      assert.equal(parsed({ PORT: ' 8081 ' }).PORT, 8081)
    })

    it('accepts every pino level', () => {
      for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
        assert.equal(parsed({ LOG_LEVEL: level }).LOG_LEVEL, level)
      }
    })
  })

  describe('invalid values', () => {
    it('refuses a PORT that is not a number and names PORT', () => {
      const problem = problemFor(problems({ PORT: 'abc' }), 'PORT')
      assert.match(problem, /abc/)
    })

    it('refuses a PORT above 65535', () => {
      problemFor(problems({ PORT: '70000' }), 'PORT')
    })

    it('refuses integers with trailing garbage, negatives and fractions instead of guessing', () => {
      for (const value of ['8080abc', '-1', '80.5', '1e3']) {
        problemFor(problems({ PORT: value }), 'PORT')
      }
    })

    it('refuses out-of-range pool sizes, body limits and rate limits', () => {
      problemFor(problems({ DATABASE_POOL_SIZE: '0' }), 'DATABASE_POOL_SIZE')
      problemFor(problems({ DATABASE_POOL_SIZE: '201' }), 'DATABASE_POOL_SIZE')
      problemFor(problems({ BODY_LIMIT_BYTES: '1023' }), 'BODY_LIMIT_BYTES')
      problemFor(problems({ DEFAULT_RATE_LIMIT_PER_MINUTE: '0' }), 'DEFAULT_RATE_LIMIT_PER_MINUTE')
    })

    it('refuses a LOG_LEVEL that pino does not have', () => {
      const problem = problemFor(problems({ LOG_LEVEL: 'verbose' }), 'LOG_LEVEL')
      assert.match(problem, /verbose/)
    })

    it('refuses a DATABASE_URL that is not PostgreSQL without printing it', () => {
      const url = 'mysql://root:hunter2-database-password@db.internal/entitle'
      const problem = problemFor(problems({ DATABASE_URL: url }), 'DATABASE_URL')
      assert.ok(!problem.includes('hunter2'), `the problem shows the password: ${problem}`)
      assert.ok(!problem.includes(url))
    })

    it('refuses an ADMIN_TOKEN shorter than 16 characters without printing it', () => {
      const token = 'short-Tok3n'
      const problem = problemFor(problems({ ADMIN_TOKEN: token }), 'ADMIN_TOKEN')
      assert.ok(!problem.includes(token), `the problem shows the token: ${problem}`)
    })

    it('reports every wrong variable at once, one problem each, and never a secret value', () => {
      const secretUrl = 'postgres://entitle:valid-url-password@db/entitle'
      const list = problems({
        PORT: 'abc',
        LOG_LEVEL: 'loud',
        ADMIN_TOKEN: 'tiny-secret',
        DATABASE_URL: secretUrl,
      })
      assert.deepEqual(list.map((line) => line.split('=')[0]).sort(), ['ADMIN_TOKEN', 'LOG_LEVEL', 'PORT'])
      for (const line of list) {
        assert.ok(!line.includes('tiny-secret'), line)
        assert.ok(!line.includes('valid-url-password'), line)
      }
    })

    it("describes the variable with the schema's description", () => {
      const problem = problemFor(problems({ PORT: 'abc' }), 'PORT')
      const description = (ConfigSchema.properties.PORT as { description?: string }).description
      assert.ok(description && problem.includes(description), problem)
    })
  })
})

describe('starting with an invalid configuration', () => {
  it('exits with code 1 and names PORT on stderr when PORT=abc', async () => {
    const env: Record<string, string | undefined> = { ...process.env, PORT: 'abc', LOG_LEVEL: 'silent' }
    // A DATA_DIR or DATABASE_URL from the caller must not matter: the process has to stop before using them.
    delete env.DATABASE_URL
    env.DATA_DIR = fileURLToPath(new URL('../test-results/config-test-data', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    let stdout = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (exitCode) => resolve(exitCode))
    })
    clearTimeout(timer)
    assert.equal(code, 1, `exit code ${code}; stderr: ${stderr}; stdout: ${stdout}`)
    assert.match(stderr, /Invalid configuration/)
    assert.match(stderr, /\bPORT\b/)
    assert.doesNotMatch(stdout, /listening/i)
  })
})
