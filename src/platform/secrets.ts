import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** `length` characters of base62 from the system CSPRNG (rejection sampling keeps it unbiased). */
export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 62 * 4: bytes at or above it would favour the first characters.
      if (byte < 248) out += BASE62[byte % 62]
      if (out.length === length) break
    }
  }
  return out
}

export type ApiKeyKind = 'secret' | 'public'

/** Keys look like Adapty's: `secret_live_…` and `public_live_…`, with 40 random base62 characters (~238 bits). */
export function generateApiKey(kind: ApiKeyKind): string {
  return `${kind}_live_${randomBase62(40)}`
}

export function generateAdminToken(): string {
  return `adm_${randomBase62(40)}`
}

/** Runs on every API request (the key cache is keyed by it): the one-shot form is ~3x cheaper than createHash. */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex')
}

/** Compares two secrets in time that does not depend on where they differ, whatever their lengths. */
export function secretsEqual(a: string, b: string): boolean {
  // Hashing first gives equal-length buffers, which timingSafeEqual requires.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest())
}

/** What an operator may see of a key: `secret_live_…Ab3d`. */
export function keyHint(key: string): string {
  const prefix = key.slice(0, key.indexOf('_live_') + '_live_'.length)
  return `${prefix}…${key.slice(-4)}`
}
