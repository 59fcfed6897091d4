import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { DataDirLockedError, lockDataDir } from '../../src/db/data-dir-lock.ts'
import { createRateLimiter } from '../../src/http/rate-limiter.ts'
import { startBackgroundLoop } from '../../src/platform/background-loop.ts'
import { formatDateTime, formatInstant } from '../../src/platform/datetime.ts'
import { isUuid, systemIds } from '../../src/platform/ids.ts'
import { generateApiKey, keyHint, randomBase62, secretsEqual } from '../../src/platform/secrets.ts'

describe('rate limiter', () => {
  it('allows a burst of ten seconds of requests, then one per refill interval, and says how long to wait', () => {
    const limiter = createRateLimiter()
    const start = 1_000_000
    for (let i = 0; i < 100; i++) assert.equal(limiter.take('k', 600, start), 0, `request ${i}`)
    assert.equal(limiter.take('k', 600, start), 1)
    assert.equal(limiter.take('k', 600, start + 100), 0, 'a token comes back every 100 ms at 600/min')
    assert.equal(limiter.take('other', 600, start), 0, 'keys do not share buckets')
  })

  it('answers Retry-After in whole seconds for slow limits', () => {
    const limiter = createRateLimiter()
    assert.equal(limiter.take('slow', 2, 0), 0)
    assert.equal(limiter.take('slow', 2, 0), 30)
    assert.equal(limiter.take('slow', 2, 29_000), 1)
    assert.equal(limiter.take('slow', 2, 30_000), 0)
  })

  it('does not lock a key out when the clock steps back', () => {
    const limiter = createRateLimiter()
    assert.equal(limiter.take('k', 600, 10_000_000), 0)
    assert.equal(limiter.take('k', 600, 1_000), 0, 'an hour back in time still has the burst left')
  })
})

describe('secrets', () => {
  it('makes Adapty-looking keys from an unbiased base62 alphabet', () => {
    assert.match(generateApiKey('secret'), /^secret_live_[0-9A-Za-z]{40}$/)
    assert.match(generateApiKey('public'), /^public_live_[0-9A-Za-z]{40}$/)
    const counts = new Map<string, number>()
    for (const char of randomBase62(62_000)) counts.set(char, (counts.get(char) ?? 0) + 1)
    assert.equal(counts.size, 62)
    for (const count of counts.values()) assert.ok(count > 800 && count < 1200, String(count))
  })

  it('compares secrets of any length without throwing', () => {
    assert.equal(secretsEqual('abc', 'abc'), true)
    assert.equal(secretsEqual('abc', 'abcd'), false)
    assert.equal(secretsEqual('', 'x'.repeat(1000)), false)
  })

  it('shows only the prefix and the last four characters', () => {
    assert.equal(keyHint('secret_live_ABCDEFGHwxyz'), 'secret_live_…wxyz')
  })
})

describe('datetime format', () => {
  it('uses microseconds and an explicit +00:00 offset', () => {
    assert.equal(formatDateTime(new Date('2024-12-24T10:50:23.123Z')), '2024-12-24T10:50:23.123000+00:00')
  })

  it('formats an instant given as text like the Date it names, whatever its form', () => {
    for (const value of [
      '2024-12-24T10:50:23.123Z',
      '2024-12-24T10:50:23Z',
      '2024-12-24T12:50:23.123+02:00',
      '+012024-12-24T10:50:23.123Z',
      '1969-07-20T20:17:40.000Z',
    ]) {
      assert.equal(formatInstant(value), formatDateTime(new Date(value)), value)
    }
  })
})

describe('ids', () => {
  it('are version 7 UUIDs, each greater than the one before, across many refills of the random buffer', () => {
    let previous = ''
    const seen = new Set<string>()
    for (let i = 0; i < 20_000; i += 1) {
      const id = systemIds.uuid()
      assert.ok(isUuid(id) && id[14] === '7', id)
      assert.ok(id > previous, `${id} after ${previous}`)
      previous = id
      seen.add(id.slice(-12))
    }
    // The random tail: no repeats among 20,000 (a stuck buffer would repeat every 1,024 draws).
    assert.equal(seen.size, 20_000)
  })
})

describe('data directory lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'entitle-lock-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('refuses a second owner while the first holds it, and frees it on release', () => {
    const lock = lockDataDir(dir)
    assert.match(readFileSync(lock.path, 'utf8'), new RegExp(`^${process.pid} \\d+$`))
    assert.throws(() => lockDataDir(dir), DataDirLockedError)
    lock.release()
    lockDataDir(dir).release()
  })

  it('takes over a lock whose process is gone', () => {
    writeFileSync(join(dir, 'entitle.lock'), '999999999 12345')
    const lock = lockDataDir(dir)
    assert.match(readFileSync(lock.path, 'utf8'), new RegExp(`^${process.pid} `))
    lock.release()
  })

  it('takes over a lock of a reused pid: same pid, different process start time (a restarted container)', () => {
    writeFileSync(join(dir, 'entitle.lock'), `${process.pid} 1`)
    lockDataDir(dir).release()
    writeFileSync(join(dir, 'entitle.lock'), `${process.ppid} 1`)
    lockDataDir(dir).release()
  })

  it('refuses a lock whose owner is alive with the recorded start time', () => {
    const parentStart = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19]
    writeFileSync(join(dir, 'entitle.lock'), `${process.ppid} ${parentStart}`)
    assert.throws(() => lockDataDir(dir), DataDirLockedError)
  })
})

describe('default PostgreSQL pool size', () => {
  it('is twice the CPU cores, at least 4', async () => {
    const { defaultPoolSize } = await import('../../src/db/database-target.ts')
    assert.equal(defaultPoolSize(1), 4)
    assert.equal(defaultPoolSize(2), 4)
    assert.equal(defaultPoolSize(8), 16)
  })
})

describe('background loop', () => {
  const HOUR = 3_600_000

  it('runs a round at once when woken, and another right after one that was woken while it ran', async () => {
    let rounds = 0
    let release: (() => void) | undefined
    let roundStarted: (() => void) | undefined
    // A round that does not start within 5 s never will: the loop rests for an hour.
    const started = () =>
      new Promise<void>((resolve, reject) => {
        roundStarted = resolve
        setTimeout(() => reject(new Error('no round started')), 5_000).unref()
      })
    const loop = startBackgroundLoop({
      intervalMs: HOUR,
      round: async () => {
        rounds += 1
        roundStarted?.()
        await new Promise<void>((resolve) => (release = resolve))
        return false
      },
      onError: (err) => assert.fail(String(err)),
    })
    try {
      const first = started()
      loop.wake()
      await first
      assert.equal(rounds, 1, 'woken: the hour of rest is cut short')
      loop.wake()
      const second = started()
      release?.()
      await second
      assert.equal(rounds, 2, 'woken during a round: the next follows at once')
      release?.()
    } finally {
      const stopping = loop.stop()
      release?.()
      await stopping
    }
    loop.wake()
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(rounds, 2, 'a stopped loop stays stopped')
  })
})
