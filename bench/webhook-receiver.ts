import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The webhook receiver both sides of the webhook-delivery scenario POST to: a bare node:http server on
 * 127.0.0.1 that answers every request `200 {}` at once, and counts the deliveries (requests with a
 * `webhook-id` other than `verification`) of the phase under way, with the time each one arrived.
 */

export interface Arrival {
  webhookId: string
  /** performance.now() when the whole request had arrived. */
  at: number
  /** The request body, kept only in phases that asked for it. */
  body: string | null
}

export interface Phase {
  count: number
  distinct: Set<string>
  first: number | null
  last: number | null
  arrivals: Arrival[]
}

export interface WaitOutcome {
  reason: 'complete' | 'stalled' | 'timeout'
  waitedMs: number
}

export interface Receiver {
  url: string
  /** Verification POSTs seen (webhook-id `verification`). */
  verifications(): number
  /** Deliveries that arrived while no phase was open: late or duplicate ones. */
  stray(): number
  /** Opens a new phase (closing the one before): what arrives from now on counts for it. */
  phase(options: { keepBodies: boolean }): Phase
  /** Closes the current phase: later arrivals count as stray. */
  endPhase(): void
  /**
   * Waits until `phase` holds `expected` deliveries, or nothing arrived for `stallMs` (counted from the call
   * before the first arrival), or `maxMs` have passed.
   */
  waitFor(phase: Phase, expected: number, limits: { stallMs: number; maxMs: number }): Promise<WaitOutcome>
  close(): Promise<void>
}

export async function startReceiver(): Promise<Receiver> {
  let current: { phase: Phase; keepBodies: boolean } | null = null
  let verifications = 0
  let stray = 0
  const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const at = performance.now()
      const webhookId = request.headers['webhook-id']
      if (webhookId === 'verification') verifications += 1
      else if (typeof webhookId === 'string') {
        if (current === null) stray += 1
        else {
          const { phase, keepBodies } = current
          phase.count += 1
          phase.distinct.add(webhookId)
          phase.first ??= at
          phase.last = at
          if (keepBodies) phase.arrivals.push({ webhookId, at, body: Buffer.concat(chunks).toString('utf8') })
        }
      }
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' })
      response.end('{}')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    verifications: () => verifications,
    stray: () => stray,
    phase({ keepBodies }) {
      const phase: Phase = { count: 0, distinct: new Set(), first: null, last: null, arrivals: [] }
      current = { phase, keepBodies }
      return phase
    },
    endPhase() {
      current = null
    },
    async waitFor(phase, expected, { stallMs, maxMs }) {
      const started = performance.now()
      for (;;) {
        const now = performance.now()
        if (phase.count >= expected) return { reason: 'complete', waitedMs: now - started }
        if (now - (phase.last ?? started) > stallMs) return { reason: 'stalled', waitedMs: now - started }
        if (now - started > maxMs) return { reason: 'timeout', waitedMs: now - started }
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Deliveries per second between the first and the last arrival of a phase (n arrivals, n - 1 gaps). */
export function deliveriesPerSecond(phase: Phase): number {
  if (phase.first === null || phase.last === null || phase.count < 2 || phase.last <= phase.first) return 0
  return (phase.count - 1) / ((phase.last - phase.first) / 1000)
}
