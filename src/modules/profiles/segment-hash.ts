import { createHash } from 'node:crypto'
import type { StoredCustomAttribute } from '../../db/schema.ts'

/** What audience segments are built from; when none of it changes, the hash stays the same. */
export interface SegmentInputs {
  customUserIdKnown: boolean
  gender: string | null
  birthday: string | null
  ipCountry: string | null
  storeCountry: string | null
  store: string | null
  attStatus: number | null
  customAttributes: readonly StoredCustomAttribute[]
}

/** Adapty's `segment_hash`: 16 hex characters that change exactly when segment membership may change. */
export function computeSegmentHash(inputs: SegmentInputs): string {
  const attributes = [...inputs.customAttributes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const canonical = JSON.stringify([
    inputs.customUserIdKnown,
    inputs.gender,
    inputs.birthday,
    inputs.ipCountry,
    inputs.storeCountry,
    inputs.store,
    inputs.attStatus,
    attributes.map((attribute) => [attribute.key, attribute.value]),
  ])
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16)
}
