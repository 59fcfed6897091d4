import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../../platform/clock.ts'

/**
 * Dashboard sessions are signed cookies, not rows: any process sharing the database accepts them, and the
 * signing key comes from the admin token's stored hash, so a new admin token ends every session at once.
 * The CSRF token of a session is derived from it: a form is accepted only with the token of the session
 * that sends it.
 */

export const SESSION_COOKIE = 'entitle_session'
/** Before sign-in there is no session; the sign-in form is protected by a double-submit cookie instead. */
export const SIGN_IN_COOKIE = 'entitle_sign_in'
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000

export interface DashboardSession {
  nonce: string
  expiresAt: number
  csrfToken: string
}

const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest('base64url')

export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function createDashboardSessions(deps: { signingKey: () => Promise<Buffer | null>; clock: Clock }) {
  return {
    /** A new session's cookie value; null when no admin token exists yet. */
    async issue(): Promise<{ value: string; session: DashboardSession } | null> {
      const key = await deps.signingKey()
      if (!key) return null
      const nonce = randomBytes(18).toString('base64url')
      const expiresAt = deps.clock.now().getTime() + SESSION_TTL_MS
      const payload = `v1.${expiresAt}.${nonce}`
      return {
        value: `${payload}.${mac(key, payload)}`,
        session: { nonce, expiresAt, csrfToken: mac(key, `csrf.${nonce}`) },
      }
    },

    /** The session a cookie value stands for, or null when it is forged, expired or signed with an old key. */
    async verify(value: string | undefined): Promise<DashboardSession | null> {
      if (!value || value.length > 200) return null
      const parts = value.split('.')
      if (parts.length !== 4 || parts[0] !== 'v1') return null
      const [, expires, nonce, signature] = parts as [string, string, string, string]
      const expiresAt = Number(expires)
      if (!Number.isSafeInteger(expiresAt) || expiresAt <= deps.clock.now().getTime()) return null
      const key = await deps.signingKey()
      if (!key || !sameSecret(signature, mac(key, `v1.${expires}.${nonce}`))) return null
      return { nonce, expiresAt, csrfToken: mac(key, `csrf.${nonce}`) }
    },
  }
}

export type DashboardSessions = ReturnType<typeof createDashboardSessions>

/** The cookies of a request, by name; malformed pairs are skipped. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=')
    if (at <= 0) continue
    const name = pair.slice(0, at).trim()
    try {
      cookies.set(name, decodeURIComponent(pair.slice(at + 1).trim()))
    } catch {}
  }
  return cookies
}

export function cookieHeader(
  name: string,
  value: string,
  options: { maxAgeSeconds: number; secure: boolean },
): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/dashboard',
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ')
}
