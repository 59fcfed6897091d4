import type { DatabaseHandle } from '../../db/open-database.ts'
import type { ChainState, LedgerEntry, ProfileEntitlements } from './entitlement-model.ts'
import { type StoredTransactionRecord, toStoredTransaction } from './entitlement-rows.ts'
import { statement } from './entitlements.statements.ts'

/** Reads for the consistency check: the ledger and the stored projection of one app. */
export function createProjectionReader(database: Pick<DatabaseHandle, 'rawQuery'>) {
  const { rawQuery } = database
  return {
    async ledger(appId: string): Promise<LedgerEntry[]> {
      const rows = await rawQuery<{ entry: LedgerEntry }>(
        statement('ent_read_ledger', 'select entry from ledger_entries where app_id = $1 order by seq'),
        [appId],
      )
      return rows.map((row) => row.entry)
    },
    async projection(appId: string) {
      const profiles = await rawQuery<{
        id: string
        entitlements: ProfileEntitlements
        total_revenue_usd: number
      }>(
        statement(
          'ent_read_profiles',
          'select id, entitlements, total_revenue_usd from profiles where app_id = $1',
        ),
        [appId],
      )
      const chains = await rawQuery<{ state: ChainState }>(
        statement('ent_read_chains', 'select state from purchase_chains where app_id = $1'),
        [appId],
      )
      const transactions = await rawQuery<StoredTransactionRecord>(
        statement(
          'ent_read_transactions',
          `select store, store_transaction_id, store_original_transaction_id, purchase_id, profile_id, record,
                  price_usd, revenue_usd
             from store_transactions where app_id = $1`,
        ),
        [appId],
      )
      return {
        profiles: profiles.map((row) => ({
          id: row.id,
          entitlements: row.entitlements,
          totalRevenueUsd: Number(row.total_revenue_usd),
        })),
        chains: chains.map((row) => row.state),
        transactions: transactions.map(toStoredTransaction),
      }
    },
  }
}
