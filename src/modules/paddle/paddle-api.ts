import { fail, ok, type Result } from '../../platform/result.ts'

/**
 * A small client of Paddle Billing's API (fetch, Bearer key), reading only what an import needs. Everything
 * is fetched before anything is written, so a Paddle failure part-way leaves the database as it was.
 */

export interface PaddleApiSettings {
  /** Paddle's API origin (sandbox: https://sandbox-api.paddle.com); tests point it at a fake on loopback. */
  apiUrl: string
  timeoutMs: number
}

export type PaddleFetchFailure = 'not_found' | 'unavailable'

export interface PaddlePrice {
  id: string
  product_id: string
  trial_period?: { interval: string; frequency: number } | null
}

export interface PaddleAdjustment {
  id: string
  action: string
  status: string
  type?: string
  created_at: string
}

export interface PaddleTransaction {
  id: string
  status: string
  subscription_id: string | null
  currency_code: string
  created_at: string
  billed_at: string | null
  billing_period: { starts_at: string; ends_at: string } | null
  items: { price: PaddlePrice; quantity: number }[]
  details: { totals: { grand_total: string; total: string } }
  custom_data?: Record<string, unknown> | null
  /** With `include=address`. */
  address?: { country_code: string | null } | null
  /** With `include=adjustments`. */
  adjustments?: PaddleAdjustment[]
}

export interface PaddleSubscription {
  id: string
  status: string
  currency_code: string
  started_at: string | null
  canceled_at: string | null
  paused_at: string | null
  current_billing_period: { starts_at: string; ends_at: string } | null
  scheduled_change: { action: string; effective_at: string } | null
  items: { price: PaddlePrice; trial_dates?: { starts_at: string; ends_at: string } | null }[]
  custom_data?: Record<string, unknown> | null
}

export type PaddlePurchase =
  | { kind: 'subscription'; subscription: PaddleSubscription; transactions: PaddleTransaction[] }
  | { kind: 'one_time'; transaction: PaddleTransaction }

class PaddleRequestFailed extends Error {
  constructor(readonly failure: PaddleFetchFailure) {
    super(`Paddle request failed: ${failure}`)
  }
}

const INCLUDE = 'include=address,adjustments'

export function createPaddleClient(apiKey: string, settings: PaddleApiSettings) {
  const origin = new URL(settings.apiUrl).origin

  async function get<T>(pathAndQuery: string): Promise<{ data: T; meta?: PaddleMeta }> {
    let response: Response
    try {
      response = await fetch(`${origin}${pathAndQuery}`, {
        headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
        signal: AbortSignal.timeout(settings.timeoutMs),
      })
    } catch {
      // A timeout, a refused connection, a reset: Paddle cannot be reached now.
      throw new PaddleRequestFailed('unavailable')
    }
    if ([400, 401, 403, 404].includes(response.status)) throw new PaddleRequestFailed('not_found')
    if (!response.ok) throw new PaddleRequestFailed('unavailable')
    try {
      return (await response.json()) as { data: T; meta?: PaddleMeta }
    } catch {
      throw new PaddleRequestFailed('unavailable')
    }
  }

  /** Every page of a list, following `meta.pagination.next` on our own origin. */
  async function list<T>(pathAndQuery: string): Promise<T[]> {
    const items: T[] = []
    let next: string | null = pathAndQuery
    while (next !== null) {
      const page: { data: T[]; meta?: PaddleMeta } = await get<T[]>(next)
      items.push(...page.data)
      const link = page.meta?.pagination?.has_more ? page.meta.pagination.next : null
      next = link ? `${new URL(link, origin).pathname}${new URL(link, origin).search}` : null
    }
    return items
  }

  return {
    /** A `txn_…` token (of a subscription: its whole subscription) or a `sub_…` token, fetched in full. */
    async fetchPurchase(token: string): Promise<Result<PaddlePurchase, PaddleFetchFailure>> {
      try {
        let subscriptionId = token.startsWith('sub_') ? token : null
        if (subscriptionId === null) {
          const { data: transaction } = await get<PaddleTransaction>(
            `/transactions/${encodeURIComponent(token)}?${INCLUDE}`,
          )
          if (transaction.subscription_id === null) return ok({ kind: 'one_time', transaction })
          subscriptionId = transaction.subscription_id
        }
        const id = encodeURIComponent(subscriptionId)
        const { data: subscription } = await get<PaddleSubscription>(`/subscriptions/${id}`)
        const transactions = await list<PaddleTransaction>(
          `/transactions?subscription_id=${id}&per_page=100&order_by=billed_at[ASC]&${INCLUDE}`,
        )
        return ok({ kind: 'subscription', subscription, transactions })
      } catch (error) {
        if (error instanceof PaddleRequestFailed) return fail(error.failure)
        throw error
      }
    },
  }
}

interface PaddleMeta {
  pagination?: { next: string | null; has_more: boolean }
}
