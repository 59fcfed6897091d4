import type { StoredCustomAttribute } from '../../db/schema.ts'
import { fail, ok, type Result } from '../../platform/result.ts'

export const MAX_CUSTOM_ATTRIBUTES = 30
export const MAX_CUSTOM_ATTRIBUTE_VALUE_LENGTH = 50

export interface CustomAttributeInput {
  key: string
  value: string | number | boolean | null
}

export interface CustomAttributeProblem {
  source: string
  message: string
}

/**
 * Applies a request's custom attributes to the stored ones (PATCH semantics, also used by create):
 * keys not sent are kept, `null` or `""` deletes a key, booleans become 1.0 / 0.0, a later duplicate of a key
 * in the same request wins. Existing keys keep their position; new keys are appended.
 */
export function mergeCustomAttributes(
  stored: readonly StoredCustomAttribute[],
  changes: readonly CustomAttributeInput[],
): Result<StoredCustomAttribute[], CustomAttributeProblem> {
  const merged = new Map<string, string | number>(stored.map((attribute) => [attribute.key, attribute.value]))
  for (const [index, change] of changes.entries()) {
    const { key, value } = change
    if (value === null || value === '') {
      merged.delete(key)
      continue
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return fail({ source: `custom_attributes.${index}.value`, message: 'Must be a finite number.' })
    }
    if (typeof value === 'string' && [...value].length > MAX_CUSTOM_ATTRIBUTE_VALUE_LENGTH) {
      return fail({
        source: `custom_attributes.${index}.value`,
        message: `Ensure this value has no more than ${MAX_CUSTOM_ATTRIBUTE_VALUE_LENGTH} characters.`,
      })
    }
    merged.set(key, typeof value === 'boolean' ? (value ? 1 : 0) : value)
  }
  if (merged.size > MAX_CUSTOM_ATTRIBUTES) {
    return fail({
      source: 'custom_attributes',
      message: `A profile can have at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes.`,
    })
  }
  return ok([...merged].map(([key, value]) => ({ key, value })))
}
