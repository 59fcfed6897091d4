import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import { guardedLookup, isPrivateAddress, PrivateAddressError } from './address-policy.ts'

/** One POST to a customer's endpoint. The network is only ever called from here, never inside a transaction. */

export interface PostOutcome {
  statusCode: number | null
  latencyMs: number
  /** The first 1 KB of the response body. */
  excerpt: string | null
  /** Why no status came back: timeout, refused address, connection error. */
  error: string | null
  /** The whole body when it was JSON-parseable (the verification request needs to know). */
  json: boolean
}

const EXCERPT_BYTES = 1024
// Past this much body, the rest is not read: a receiver may not keep a worker busy by streaming.
const MAX_READ_BYTES = 64 * 1024

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
}

export interface PostOptions {
  timeoutMs: number
  allowPrivate: boolean
}

export function postJson(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
): Promise<PostOutcome> {
  const started = performance.now()
  const latency = () => Math.round(performance.now() - started)
  return new Promise((resolve) => {
    let settled = false
    const finish = (outcome: Omit<PostOutcome, 'latencyMs'>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...outcome, latencyMs: latency() })
    }
    const failed = (error: string) => finish({ statusCode: null, excerpt: null, error, json: false })
    let target: URL
    try {
      target = new URL(url)
    } catch {
      return failed('invalid URL')
    }
    const literal = target.hostname.replace(/^\[|\]$/g, '')
    if (!options.allowPrivate && isIP(literal) !== 0 && isPrivateAddress(literal)) {
      return failed(new PrivateAddressError(literal, literal).message)
    }
    const secure = target.protocol === 'https:'
    const request = (secure ? https : http).request(target, {
      method: 'POST',
      agent: secure ? agents.https : agents.http,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      ...(options.allowPrivate ? {} : { lookup: guardedLookup as never }),
    })
    const timer = setTimeout(() => {
      request.destroy()
      failed(`no answer within ${options.timeoutMs} ms`)
    }, options.timeoutMs)
    request.on('error', (error) => failed(error.message))
    request.on('response', (response) => {
      const chunks: Buffer[] = []
      let read = 0
      response.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (read <= MAX_READ_BYTES) chunks.push(chunk)
        else response.destroy()
      })
      const done = () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json = false
        try {
          JSON.parse(text)
          json = true
        } catch {}
        finish({
          statusCode: response.statusCode ?? null,
          excerpt: text.length > 0 ? Buffer.from(text).subarray(0, EXCERPT_BYTES).toString('utf8') : null,
          error: null,
          json,
        })
      }
      response.on('end', done)
      response.on('close', done)
      response.on('error', () => done())
    })
    request.end(body)
  })
}
