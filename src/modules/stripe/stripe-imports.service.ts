import type { Clock } from '../../platform/clock.ts'
import { type IdGenerator, isUuid } from '../../platform/ids.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import type { StripeFailure, StripeService } from './stripe.service.ts'
import type {
  ImportLease,
  PurchaseResult,
  StripeImportRow,
  StripeImportsRepository,
} from './stripe-imports.repository.ts'

/**
 * Imports of a Stripe customer's purchases that an operator starts from the dashboard or the admin API. An
 * import can take many Stripe calls (every subscription with its invoices and charges), so it is queued and
 * run by a worker; its progress is stored after each purchase, for a page to follow. Each purchase is
 * written through the same path as the validate endpoint, which writes nothing when nothing changed, so an
 * import that is run again (by hand, or after its runner died) never doubles anything.
 */

export const MAX_IMPORT_TOKENS = 100
/** A runner that stops reporting for this long is presumed dead, and the import is run again. */
export const IMPORT_LEASE_MS = 5 * 60_000
/** Runs of one import before it is given up: an import that kills its runner must not loop forever. */
export const MAX_IMPORT_ATTEMPTS = 3

const CUSTOMER_ID = /^cus_[A-Za-z0-9]{1,100}$/
const TOKEN = /^(sub|pi)_[A-Za-z0-9]{1,100}$/

export interface ImportRequest {
  customerUserId: string
  stripeCustomerId: string | null
  tokens: string[]
}

export type StartFailure =
  | { code: 'app_not_found' }
  | { code: 'stripe_secret_key_not_found' }
  | { code: 'validation_error'; source: string; message: string }

/** What one purchase of an import came to, told as an operator can act on it. */
export function purchaseResult(token: string, result: Result<unknown, StripeFailure>): PurchaseResult {
  if (result.ok) return { token, outcome: 'imported', message: null }
  const failure = result.error
  switch (failure.kind) {
    case 'no_products_found':
      return {
        token,
        outcome: 'no_products_found',
        message:
          failure.unknown.length > 0
            ? `Skipped: add ${failure.unknown.join(', ')} to the catalog under store stripe, then run the import again.`
            : 'Skipped: nothing was paid.',
      }
    case 'token_invalid':
      return { token, outcome: 'failed', message: 'Not a subscription (sub_…) or payment intent (pi_…) id.' }
    case 'secret_key_not_found':
      return { token, outcome: 'failed', message: 'The app has no Stripe secret key.' }
    case 'stripe':
      return {
        token,
        outcome: 'failed',
        message:
          failure.failure === 'not_found'
            ? 'Stripe refused the secret key or has no such purchase.'
            : 'Stripe did not answer in time or answered with an error; run the import again.',
      }
    case 'original_transaction_mismatch':
      return {
        token,
        outcome: 'failed',
        message: `A transaction of this purchase is already recorded under ${failure.recordedUnder}.`,
      }
    default:
      return {
        token,
        outcome: 'failed',
        message: 'The profile of this customer user id changed during the import; run it again.',
      }
  }
}

export function createStripeImportsService(deps: {
  repo: StripeImportsRepository
  stripe: StripeService
  appExists(appId: string): Promise<boolean>
  clock: Clock
  ids: IdGenerator
}) {
  const { repo, stripe, clock, ids } = deps
  const queuedListeners = new Set<() => void>()
  const leaseFromNow = () => new Date(clock.now().getTime() + IMPORT_LEASE_MS)

  function check(request: ImportRequest): StartFailure | null {
    const invalid = (source: string, message: string): StartFailure => ({
      code: 'validation_error',
      source,
      message,
    })
    const customerUserId = request.customerUserId.trim()
    if (customerUserId === '' || customerUserId.length > 255) {
      return invalid('customer_user_id', 'Give the customer user id (1 to 255 characters).')
    }
    if ((request.stripeCustomerId === null) === (request.tokens.length === 0)) {
      return invalid(
        'stripe_customer_id',
        'Give either a Stripe customer id (cus_…) or the purchases (sub_… or pi_…) to import, not both.',
      )
    }
    if (request.stripeCustomerId !== null && !CUSTOMER_ID.test(request.stripeCustomerId)) {
      return invalid('stripe_customer_id', 'A Stripe customer id looks like cus_…')
    }
    if (request.tokens.length > MAX_IMPORT_TOKENS) {
      return invalid('tokens', `At most ${MAX_IMPORT_TOKENS} purchases per import.`)
    }
    const bad = request.tokens.find((token) => !TOKEN.test(token))
    if (bad !== undefined) {
      return invalid(
        'tokens',
        `${bad.slice(0, 60)} is not a subscription (sub_…) or payment intent (pi_…) id.`,
      )
    }
    return null
  }

  /** Runs an import it holds the lease of; it stops writing as soon as another runner has taken it over. */
  async function run(job: StripeImportRow): Promise<void> {
    const lease: ImportLease = { id: job.id, attempt: job.attempts }
    const finish = (status: 'succeeded' | 'failed', error: string | null) =>
      repo.finish(lease, { status, error }, clock.now())
    if (job.attempts > MAX_IMPORT_ATTEMPTS) {
      await finish(
        'failed',
        `The import stopped without finishing ${MAX_IMPORT_ATTEMPTS} times; it was given up.`,
      )
      return
    }
    let tokens = job.tokens
    if (job.stripeCustomerId !== null) {
      const listed = await stripe.customerPurchases(job.appId, job.stripeCustomerId)
      if (!listed.ok) {
        await finish('failed', purchaseResult(job.stripeCustomerId, listed).message)
        return
      }
      tokens = listed.value
    }
    const results: PurchaseResult[] = []
    if (!(await repo.progress(lease, { total: tokens.length, done: 0, results }, leaseFromNow()))) return
    for (const token of tokens) {
      results.push(purchaseResult(token, await stripe.validate(job.appId, job.customerUserId, token)))
      const progress = { total: tokens.length, done: results.length, results }
      if (!(await repo.progress(lease, progress, leaseFromNow()))) return
    }
    const failed = results.filter((result) => result.outcome === 'failed').length
    await finish(
      failed === 0 ? 'succeeded' : 'failed',
      failed === 0 ? null : `${failed} of ${tokens.length} purchases could not be imported.`,
    )
  }

  return {
    async start(appId: string, request: ImportRequest): Promise<Result<StripeImportRow, StartFailure>> {
      const refused = check(request)
      if (refused) return fail(refused)
      if (!isUuid(appId) || !(await deps.appExists(appId))) return fail({ code: 'app_not_found' })
      if (!(await stripe.hasSecretKey(appId))) return fail({ code: 'stripe_secret_key_not_found' })
      const job = await repo.insert({
        id: ids.uuid(),
        appId,
        customerUserId: request.customerUserId.trim(),
        stripeCustomerId: request.stripeCustomerId,
        tokens: request.tokens,
        createdAt: clock.now(),
      })
      for (const listener of queuedListeners) listener()
      return ok(job)
    },

    async get(appId: string, id: string): Promise<StripeImportRow | null> {
      return isUuid(appId) && isUuid(id) ? repo.get(appId, id) : null
    },

    async list(appId: string, limit: number): Promise<Result<StripeImportRow[], { code: 'app_not_found' }>> {
      if (!isUuid(appId) || !(await deps.appExists(appId))) return fail({ code: 'app_not_found' })
      return ok(await repo.list(appId, limit))
    },

    /** Tells `listener` of each import queued through this service, so that a worker starts it at once. */
    onQueued(listener: () => void): () => void {
      queuedListeners.add(listener)
      return () => queuedListeners.delete(listener)
    },

    /** Claims and runs the next import; false when there was none to run. */
    async runNext(): Promise<boolean> {
      const now = clock.now()
      const job = await repo.claim(now, new Date(now.getTime() + IMPORT_LEASE_MS))
      if (!job) return false
      await run(job)
      return true
    },
  }
}

export type StripeImportsService = ReturnType<typeof createStripeImportsService>
