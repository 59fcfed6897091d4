import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'

const POSTGRES_DIR = join(import.meta.dirname, '..', '..', 'node_modules', 'postgres')

describe('the postgres.js queue patch (scripts/patch-dependencies.mjs)', () => {
  it('is applied to every build of the driver by the install', () => {
    for (const build of ['src', 'cjs/src', 'cf/src']) {
      const text = readFileSync(join(POSTGRES_DIR, build, 'queue.js'), 'utf8')
      assert.match(text, /xs\.indexOf\(x, index\) \/\/ patched by entitle/, build)
    }
  })

  it('keeps the queue correct through the shift-then-move pattern of the pool', async () => {
    const { default: Queue } = (await import(join(POSTGRES_DIR, 'src', 'queue.js'))) as {
      default: <T>() => { length: number; push(x: T): T; shift(): T; remove(x: T): T | null }
    }
    const busy = Queue<string>()
    busy.push('a')
    busy.push('b')
    // The pool takes a connection off the front, then moves it back: remove finds nothing, push re-adds it.
    for (let i = 0; i < 1000; i++) {
      const connection = busy.shift()
      assert.equal(busy.remove(connection), null)
      busy.push(connection)
    }
    assert.equal(busy.length, 2)
    assert.equal(busy.remove('a'), 'a')
    assert.equal(busy.remove('missing'), null)
    assert.equal(busy.length, 1)
    assert.equal(busy.shift(), 'b')
    assert.equal(busy.length, 0)
  })
})
