import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after } from 'node:test'

/** What the fakes of store APIs (fake-stripe.ts, fake-paddle.ts) share: a loopback server that fails on demand. */

export interface Failure {
  /** Which requests fail: by path and query. */
  when: (url: URL) => boolean
  /** `error500`: the store's own 500 answer; `hang`: no answer at all (a timeout). */
  mode: 'error500' | 'hang'
  /** How many matching requests fail; all of them when unset. */
  times?: number
}

export interface FakeServer {
  url: string
  /** Every request, as path and query, in order. */
  requests: string[]
  fail(failure: Failure): void
  clearFailures(): void
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

/** Listens on 127.0.0.1 until the test file ends; `handle` serves the requests that are not made to fail. */
export async function startFakeServer(options: {
  handle: (request: IncomingMessage, response: ServerResponse, url: URL) => void
  serverError: (response: ServerResponse) => void
}): Promise<FakeServer> {
  const requests: string[] = []
  let failures: Failure[] = []
  const hanging = new Set<ServerResponse>()
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake')
    requests.push(`${url.pathname}${url.search}`)
    const failure = failures.find((candidate) => candidate.when(url))
    if (!failure) {
      options.handle(request, response, url)
      return
    }
    if (failure.times !== undefined) {
      failure.times -= 1
      if (failure.times <= 0) failures = failures.filter((other) => other !== failure)
    }
    if (failure.mode === 'hang') hanging.add(response)
    else options.serverError(response)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  after(async () => {
    for (const response of hanging) response.destroy()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    fail: (failure) => {
      failures.push(failure)
    },
    clearFailures: () => {
      failures = []
    },
  }
}
