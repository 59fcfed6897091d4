import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mergeCustomAttributes } from '../../src/modules/profiles/custom-attributes.ts'
import { checkMatches, lookupKey, readIdentification } from '../../src/modules/profiles/profile-identity.ts'
import type { ProfileRow } from '../../src/modules/profiles/profiles.repository.ts'
import { computeSegmentHash, type SegmentInputs } from '../../src/modules/profiles/segment-hash.ts'

describe('mergeCustomAttributes', () => {
  it('keeps positions of existing keys, appends new ones, and lets a later duplicate win', () => {
    const merged = mergeCustomAttributes(
      [
        { key: 'a', value: 1 },
        { key: 'b', value: 'x' },
      ],
      [
        { key: 'c', value: 'new' },
        { key: 'a', value: 2 },
        { key: 'c', value: 'newer' },
      ],
    )
    assert.deepEqual(merged, {
      ok: true,
      value: [
        { key: 'a', value: 2 },
        { key: 'b', value: 'x' },
        { key: 'c', value: 'newer' },
      ],
    })
  })

  it('allows 30 keys after deletions in the same request even when the request holds more', () => {
    const stored = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i }))
    const merged = mergeCustomAttributes(stored, [
      { key: 'k0', value: null },
      { key: 'fresh', value: 'v' },
    ])
    assert.ok(merged.ok)
    assert.equal(merged.value.length, 30)
  })

  it('counts characters, not UTF-16 units, against the 50-character limit', () => {
    assert.ok(mergeCustomAttributes([], [{ key: 'e', value: '😀'.repeat(50) }]).ok)
    assert.deepEqual(mergeCustomAttributes([], [{ key: 'e', value: '😀'.repeat(51) }]), {
      ok: false,
      error: {
        source: 'custom_attributes.0.value',
        message: 'Ensure this value has no more than 50 characters.',
      },
    })
  })
})

describe('segment hash', () => {
  const base: SegmentInputs = {
    customUserIdKnown: true,
    gender: 'f',
    birthday: null,
    ipCountry: 'FR',
    storeCountry: null,
    store: null,
    attStatus: null,
    customAttributes: [
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ],
  }

  it('is 16 hex characters, independent of attribute order, and changes with a segment input', () => {
    const hash = computeSegmentHash(base)
    assert.match(hash, /^[0-9a-f]{16}$/)
    assert.equal(
      computeSegmentHash({ ...base, customAttributes: [...base.customAttributes].reverse() }),
      hash,
    )
    assert.notEqual(computeSegmentHash({ ...base, gender: 'm' }), hash)
    assert.notEqual(
      computeSegmentHash({
        ...base,
        customAttributes: [
          { key: 'a', value: '1' },
          { key: 'b', value: 2 },
        ],
      }),
      hash,
    )
  })
})

describe('identification', () => {
  const row = { id: '3fa85f64-5717-4562-b3fc-2c963f66afa6', customerUserId: 'u1' } as ProfileRow

  it('needs one of the two headers', () => {
    assert.deepEqual(readIdentification({}), { ok: false, error: 'identification_missing' })
    assert.ok(readIdentification({ 'adapty-customer-user-id': 'u1' }).ok)
  })

  it('looks up by profile id when both are given, and checks the customer user id against it', () => {
    const both = { profileId: row.id.toUpperCase(), customerUserId: 'u1' }
    assert.deepEqual(lookupKey(both), { profileId: row.id })
    assert.deepEqual(checkMatches(both, row), { ok: true, value: row })
    assert.deepEqual(checkMatches({ ...both, customerUserId: 'u2' }, row), {
      ok: false,
      error: 'customer_user_id_mismatch',
    })
    assert.deepEqual(checkMatches({ customerUserId: 'u1' }, null), { ok: false, error: 'profile_not_found' })
  })
})
