import { fail, ok, type Result } from '../../platform/result.ts'
import type { ProfileView } from '../profiles/profiles.repository.ts'
import type { ProfilesService } from '../profiles/profiles.service.ts'
import {
  type ImportFailure,
  type NoProductsFound,
  resolveCatalogProducts,
  type StoreImporter,
} from '../stripe/store-import.ts'
import type { StorePurchasesRepository } from '../stripe/store-purchases.repository.ts'
import { createPaddleClient, type PaddleApiSettings, type PaddleFetchFailure } from './paddle-api.ts'
import { paddleTransactions } from './paddle-mapping.ts'

export const PADDLE_STORE = 'paddle'

export type PaddleFailure =
  | { kind: 'token_invalid' }
  | { kind: 'api_key_not_found' }
  | { kind: 'paddle'; failure: PaddleFetchFailure }
  | NoProductsFound
  | ImportFailure

const TOKEN = /^(txn|sub)_[A-Za-z0-9]{1,100}$/

/** Paddle's sandbox has keys of its own (`pdl_sdbx_…`) and an API host of its own (`sandbox-api.…`). */
function environmentOf(apiKey: string, apiUrl: string): 'Production' | 'Sandbox' {
  return apiKey.includes('_sdbx_') || new URL(apiUrl).hostname.startsWith('sandbox-')
    ? 'Sandbox'
    : 'Production'
}

export function createPaddleService(deps: {
  repo: StorePurchasesRepository
  importer: StoreImporter
  profiles: ProfilesService
  settings: PaddleApiSettings
}) {
  const { repo, importer, profiles, settings } = deps
  return {
    /** Validates a `txn_…` or `sub_…` token and imports its history into the customer user id's profile. */
    async validate(
      appId: string,
      customerUserId: string,
      token: string,
    ): Promise<Result<ProfileView, PaddleFailure>> {
      if (!TOKEN.test(token)) return fail({ kind: 'token_invalid' })
      const apiKey = await repo.credential(appId, 'paddleApiKey')
      if (apiKey === null) return fail({ kind: 'api_key_not_found' })
      const fetched = await createPaddleClient(apiKey, settings).fetchPurchase(token)
      if (!fetched.ok) return fail({ kind: 'paddle', failure: fetched.error })
      const purchase = fetched.value
      const drafts = paddleTransactions(purchase, environmentOf(apiKey, settings.apiUrl))
      const bodies = await resolveCatalogProducts(repo, appId, PADDLE_STORE, drafts)
      if (!bodies.ok) return bodies
      const main = purchase.kind === 'subscription' ? purchase.subscription.id : purchase.transaction.id
      const applied = await importer.apply(appId, {
        store: PADDLE_STORE,
        customerUserId,
        transactions: bodies.value,
        links: [main],
      })
      if (!applied.ok) return applied
      const profile = await profiles.get(appId, { customerUserId })
      return profile.ok ? ok(profile.value) : fail({ kind: 'profile_not_found' })
    },
  }
}

export type PaddleService = ReturnType<typeof createPaddleService>
