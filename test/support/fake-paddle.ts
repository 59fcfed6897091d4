import type { ServerResponse } from 'node:http'
import { type FakeServer, sendJson, startFakeServer } from './fake-server.ts'

/**
 * A fake of Paddle Billing's API on loopback (PADDLE_API_URL): transactions (one, or a subscription's, with
 * `include=address,adjustments` and cursor pagination in `meta.pagination`), subscriptions, Bearer
 * authentication and Paddle's error bodies; it can answer 500 or never answer on purpose.
 */

export type PaddleObject = Record<string, unknown> & { id: string }

export interface FakePaddle extends FakeServer {
  apiKey: string
  /** A transaction (`txn_…`, with `address` and `adjustments` served only when included) or subscription. */
  put(...objects: PaddleObject[]): void
}

const PAGE_SIZE = 2

const send = sendJson

function paddleError(response: ServerResponse, status: number, code: string, detail: string): void {
  send(response, status, { error: { type: 'request_error', code, detail }, meta: { request_id: 'fake' } })
}

export async function startFakePaddle(options: { apiKey?: string } = {}): Promise<FakePaddle> {
  const apiKey = options.apiKey ?? 'pdl_sdbx_apikey_fake0123456789abcdefghij'
  const objects = new Map<string, PaddleObject>()

  function withIncludes(transaction: PaddleObject, url: URL): PaddleObject {
    const include = (url.searchParams.get('include') ?? '').split(',')
    const { address, adjustments, ...rest } = transaction
    return {
      ...rest,
      ...(include.includes('address') ? { address } : {}),
      ...(include.includes('adjustments') ? { adjustments: adjustments ?? [] } : {}),
    }
  }

  const server = await startFakeServer({
    serverError: (response) => paddleError(response, 500, 'internal_error', 'Something went wrong.'),
    handle: (request, response, url) => {
      if (request.headers.authorization !== `Bearer ${apiKey}`) {
        paddleError(response, 403, 'forbidden', 'You aren’t permitted to perform this request.')
        return
      }
      const single = /^\/(transactions|subscriptions)\/([^/]+)$/.exec(url.pathname)
      if (single) {
        const found = objects.get(single[2] as string)
        const kind = single[1] === 'transactions' ? 'txn_' : 'sub_'
        if (!found?.id.startsWith(kind)) {
          paddleError(response, 404, 'not_found', `Entity ${single[2]} not found`)
          return
        }
        send(response, 200, {
          data: kind === 'txn_' ? withIncludes(found, url) : found,
          meta: { request_id: 'fake' },
        })
        return
      }
      if (url.pathname === '/transactions') {
        const subscription = url.searchParams.get('subscription_id')
        const all = [...objects.values()]
          .filter((object) => object.id.startsWith('txn_'))
          .filter((object) => subscription === null || object.subscription_id === subscription)
          .sort((a, b) => (a.id < b.id ? -1 : 1))
        const cursor = url.searchParams.get('after')
        const start = cursor === null ? 0 : all.findIndex((object) => object.id === cursor) + 1
        const page = all.slice(start, start + PAGE_SIZE)
        const hasMore = start + PAGE_SIZE < all.length
        const next = new URL(url.toString())
        next.searchParams.set('after', page.at(-1)?.id ?? '')
        send(response, 200, {
          data: page.map((transaction) => withIncludes(transaction, url)),
          meta: {
            request_id: 'fake',
            pagination: {
              per_page: PAGE_SIZE,
              // Paddle links to its own host; the client must follow it on its configured origin.
              next: `https://api.paddle.com${next.pathname}${next.search}`,
              has_more: hasMore,
              estimated_total: all.length,
            },
          },
        })
        return
      }
      paddleError(response, 404, 'not_found', `No route ${url.pathname}`)
    },
  })

  return {
    ...server,
    apiKey,
    put: (...items) => {
      for (const item of items) objects.set(item.id, item)
    },
  }
}
