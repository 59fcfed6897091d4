import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import type { PreparedStatement } from '../../src/db/open-database.ts'
import { buildTestApp } from '../support/harness.ts'

/**
 * rawTransaction's promises on both engines. On PostgreSQL BEGIN travels with the first statement and COMMIT
 * with `finalQuery`'s, so what matters is that a failure anywhere still leaves nothing behind.
 */

const TABLE = `raw_txn_probe_${process.pid}`
const sql = (name: string, text: string): PreparedStatement => ({ name: `${name}_${process.pid}`, text })
const insert = sql('raw_txn_insert', `insert into ${TABLE} (tag, n) values ($1, $2::int)`)
const count = sql('raw_txn_count', `select count(*)::int as n from ${TABLE} where tag = $1`)
const failing = sql('raw_txn_fail', 'select 1 / ($1::int - $1::int) as boom')

const { database } = await buildTestApp()

describe('rawTransaction', () => {
  const rows = async (tag: string) =>
    ((await database.rawQuery<{ n: number }>(count, [tag]))[0] as { n: number }).n

  before(async () => {
    await database.rawQuery({ name: '', text: `drop table if exists ${TABLE}` }, [])
    await database.rawQuery(
      { name: '', text: `create table ${TABLE} (tag text not null, n int not null)` },
      [],
    )
  })

  it('commits what the work wrote, through finalQuery or after the work returns', async () => {
    const answer = await database.rawTransaction(async (query, finalQuery) => {
      await query(insert, ['final', 1])
      await finalQuery(insert, ['final', 2])
      return 'done'
    })
    assert.equal(answer, 'done')
    assert.equal(await rows('final'), 2)
    await database.rawTransaction(async (query) => {
      await query(insert, ['plain', 1])
    })
    assert.equal(await rows('plain'), 1)
  })

  it('leaves nothing behind when the final statement fails, and reports its error', async () => {
    await assert.rejects(
      database.rawTransaction(async (query, finalQuery) => {
        await query(insert, ['failed-final', 1])
        await finalQuery(failing, [7])
      }),
      /division by zero/,
    )
    assert.equal(await rows('failed-final'), 0)
  })

  it('rolls back when the work throws, and the connection serves the next transaction cleanly', async () => {
    await assert.rejects(
      database.rawTransaction(async (query) => {
        await query(insert, ['thrown', 1])
        throw new Error('work failed')
      }),
      /work failed/,
    )
    assert.equal(await rows('thrown'), 0)
    // Every pooled connection gets a turn: none may be left inside a transaction.
    await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        database.rawTransaction(async (query, finalQuery) => {
          await query(insert, ['after', index])
          await finalQuery(count, ['after'])
        }),
      ),
    )
    assert.equal(await rows('after'), 12)
  })

  it('refuses a second finalQuery rather than run a statement outside the transaction', async () => {
    await assert.rejects(
      database.rawTransaction(async (_query, finalQuery) => {
        await finalQuery(insert, ['twice', 1])
        await finalQuery(insert, ['twice', 2])
      }),
    )
    assert.ok((await rows('twice')) <= 1)
  })
})
