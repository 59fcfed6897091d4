import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Standard Webhooks signing (standardwebhooks.com): the secret is `whsec_` + base64 of random bytes, the key
 * is those bytes, and each delivery carries `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`
 * (several, space-separated, while a rotated secret is still honoured).
 */

const PREFIX = 'whsec_'

export function generateSigningSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64')
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`
}

/** The webhook-signature header value: one signature per secret still in force, newest first. */
export function signatureHeader(secrets: string[], id: string, timestamp: number, body: string): string {
  return secrets.map((secret) => sign(secret, id, timestamp, body)).join(' ')
}

/** A receiver's check, as the README shows it: any listed v1 signature made with the secret matches. */
export function verifySignature(secret: string, id: string, timestamp: number, body: string, header: string) {
  const expected = Buffer.from(sign(secret, id, timestamp, body))
  return header.split(' ').some((candidate) => {
    const given = Buffer.from(candidate)
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}

/** What an operator may see of a secret once it has been shown: `whsec_…Ab3d`. */
export function secretHint(secret: string): string {
  return `${PREFIX}…${secret.slice(-4)}`
}
