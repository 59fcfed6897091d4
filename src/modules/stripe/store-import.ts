import { isDeepStrictEqual } from 'node:util'
import { fail, ok, type Result } from '../../platform/result.ts'
import type { EntitlementsService, PurchaseFailure } from '../entitlements/entitlements.service.ts'
import type { ProfilesService } from '../profiles/profiles.service.ts'
import type { SetTransactionBodyInput } from '../purchases/purchase-request.schemas.ts'
import { type NormalizedTransaction, normalizeTransaction } from '../purchases/transaction-rules.ts'
import type { StorePurchasesRepository } from './store-purchases.repository.ts'

/**
 * Writes a web store purchase that was fetched in full (Stripe, Paddle) into a profile through set
 * transaction, oldest first and in one database transaction, so that the ledger, the projection, the events
 * and the webhook deliveries follow as for any store. Nothing here calls the network.
 *
 * A transaction whose stored version is already what the store says is left out, so a second run of the same
 * import writes nothing at all.
 */

export interface StoreImport {
  store: string
  customerUserId: string
  /** Oldest first, with the catalog's store_product_id filled in. */
  transactions: SetTransactionBodyInput[]
  /** The store's ids of this purchase (subscription, customer…), remembered for its later webhooks. */
  links: string[]
}

export type ImportFailure = PurchaseFailure | { kind: 'customer_user_id_taken' }

/** A store transaction before the catalog is asked which of its keys it knows. */
export interface TransactionDraft {
  /** Catalog keys that may claim the product, most specific first (`prod:price`, then `prod`). */
  candidates: string[]
  body: SetTransactionBodyInput
}

export interface NoProductsFound {
  kind: 'no_products_found'
  /** The least specific key of each product the catalog lacks; empty when there was nothing paid. */
  unknown: string[]
}

/** The drafts with the catalog's store_product_id filled in, or the products the catalog lacks. */
export async function resolveCatalogProducts(
  repo: StorePurchasesRepository,
  appId: string,
  store: string,
  drafts: TransactionDraft[],
): Promise<Result<SetTransactionBodyInput[], NoProductsFound>> {
  if (drafts.length === 0) return fail({ kind: 'no_products_found', unknown: [] })
  const claimed = await repo.claimedStoreProducts(
    appId,
    store,
    drafts.flatMap((draft) => draft.candidates),
  )
  const unknown = new Set<string>()
  const bodies = drafts.map((draft) => {
    const key = draft.candidates.find((candidate) => claimed.has(candidate))
    if (key === undefined) unknown.add(draft.candidates.at(-1) ?? '(no product)')
    return { ...draft.body, store_product_id: key ?? '' }
  })
  return unknown.size > 0 ? fail({ kind: 'no_products_found', unknown: [...unknown] }) : ok(bodies)
}

export function createStoreImporter(deps: {
  repo: StorePurchasesRepository
  profiles: ProfilesService
  entitlements: EntitlementsService
}) {
  const { repo, profiles, entitlements } = deps

  /** The profile of the customer user id, created when there is none yet (as Adapty's validation does). */
  async function ensureProfile(appId: string, customerUserId: string): Promise<Result<true, ImportFailure>> {
    const found = await profiles.get(appId, { customerUserId })
    if (found.ok) return ok(true)
    const created = await profiles.create(appId, { customerUserId }, undefined, undefined)
    return created.ok ? ok(true) : fail({ kind: 'customer_user_id_taken' })
  }

  return {
    async apply(appId: string, plan: StoreImport): Promise<Result<true, ImportFailure>> {
      const normalized = plan.transactions.map((body): NormalizedTransaction => {
        const result = normalizeTransaction(body)
        // The mapping keeps every rule; a refusal here is a bug in it, not the client's doing.
        if (!result.ok) throw new Error(`store import broke a set-transaction rule: ${result.error.message}`)
        return result.value
      })
      const profile = await ensureProfile(appId, plan.customerUserId)
      if (!profile.ok) return profile
      const linked = await repo.linkedCustomerUserId(appId, plan.store, plan.links.slice(0, 1))
      const stored = await repo.storedRecords(
        appId,
        plan.store,
        normalized.map((txn) => txn.storeTransactionId),
      )
      // Another profile's earlier import: every transaction is sent, so that sharing rules decide who holds it.
      const sameOwner = linked === plan.customerUserId
      const changed = normalized.filter(
        (txn) => !(sameOwner && isDeepStrictEqual(stored.get(txn.storeTransactionId), txn)),
      )
      if (changed.length > 0) {
        const written = await entitlements.setTransactions(
          appId,
          { customerUserId: plan.customerUserId },
          changed,
        )
        const failed = written.find((result) => !result.ok)
        if (failed && !failed.ok) return failed
      }
      await repo.link(appId, plan.store, plan.links, plan.customerUserId)
      return ok(true)
    },
  }
}

export type StoreImporter = ReturnType<typeof createStoreImporter>
