import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A real HTTP receiver on loopback that records every request and answers as the test tells it. */

export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
  receivedAt: number
}

/** What to answer: a status and body, or `hang` (never answer; the socket is closed when the receiver is). */
export type Answer = { status: number; body?: string } | 'hang'

export interface Receiver {
  url: string
  requests: ReceivedRequest[]
  /** Requests that carry an event (not the verification `{}`). */
  deliveries(): ReceivedRequest[]
  /** Answers for the next requests, in order; after them, `fallback`. */
  answerNext(...answers: Answer[]): void
  setFallback(answer: Answer | ((request: ReceivedRequest) => Answer)): void
  /** Resolves once `count` event deliveries have arrived. */
  waitForDeliveries(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>
  close(): Promise<void>
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = []
  const queue: Answer[] = []
  let fallback: Answer | ((request: ReceivedRequest) => Answer) = { status: 200, body: '{}' }
  const hanging = new Set<ServerResponse>()
  const waiters: (() => void)[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const received: ReceivedRequest = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      }
      requests.push(received)
      for (const wake of waiters.splice(0)) wake()
      const answer = queue.shift() ?? (typeof fallback === 'function' ? fallback(received) : fallback)
      if (answer === 'hang') {
        hanging.add(response)
        return
      }
      response.writeHead(answer.status, { 'content-type': 'application/json' })
      response.end(answer.body ?? '{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const deliveries = () => requests.filter((request) => request.body !== '{}')
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    deliveries,
    answerNext: (...answers) => queue.push(...answers),
    setFallback: (answer) => {
      fallback = answer
    },
    async waitForDeliveries(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (deliveries().length < count) {
        if (Date.now() > deadline) throw new Error(`${deliveries().length} of ${count} deliveries arrived`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 50)
        })
      }
      return deliveries()
    },
    async close() {
      for (const response of hanging) response.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
