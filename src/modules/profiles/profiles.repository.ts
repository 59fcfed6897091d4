import { and, eq } from 'drizzle-orm'
import type { Database, DatabaseHandle, PreparedStatement } from '../../db/open-database.ts'
import { ledgerEntries, profileInstallations, profiles } from '../../db/schema.ts'
import { sameApp, sameAppSql } from '../../db/tenant-scope.ts'
import { resultTransaction } from '../../db/transaction.ts'
import { fail, type Result } from '../../platform/result.ts'
import { checkMatches, type Identification, lookupKey } from './profile-identity.ts'

export type ProfileRow = typeof profiles.$inferSelect
export type ProfileInsert = typeof profiles.$inferInsert
export type ProfileChanges = Partial<Omit<ProfileRow, 'id' | 'appId' | 'createdAt'>>
export type InstallationRow = typeof profileInstallations.$inferSelect
export type InstallationFields = Partial<
  Omit<InstallationRow, 'profileId' | 'appId' | 'deviceId' | 'createdAt'>
>

/** What the wire profile is made of: read on every GET, so it is all that GET reads. */
export type ProfileView = Pick<
  ProfileRow,
  'id' | 'appId' | 'customerUserId' | 'totalRevenueUsd' | 'segmentHash' | 'customAttributes' | 'entitlements'
>

const VIEW_COLUMNS =
  'id, app_id, customer_user_id, total_revenue_usd, segment_hash, custom_attributes, entitlements'
export const VIEW_BY_ID: PreparedStatement = {
  name: 'profile_view_by_id',
  text: `select ${VIEW_COLUMNS} from profiles where ${sameAppSql('app_id', '$1')} and id = $2`,
}
const VIEW_BY_CUSTOMER_USER_ID: PreparedStatement = {
  name: 'profile_view_by_customer_user_id',
  text: `select ${VIEW_COLUMNS} from profiles where app_id = $1 and customer_user_id = $2`,
}

interface ProfileViewRecord {
  id: string
  app_id: string
  customer_user_id: string | null
  total_revenue_usd: number
  segment_hash: string
  custom_attributes: ProfileRow['customAttributes']
  entitlements: ProfileRow['entitlements']
}

export interface ProfileKey {
  profileId?: string
  customerUserId?: string
}

/** Every query here is scoped by app: a profile of another app is indistinguishable from no profile. */
export function createProfilesRepository({ db, rawQuery }: Pick<DatabaseHandle, 'db' | 'rawQuery'>) {
  async function find(
    executor: Database,
    appId: string,
    key: ProfileKey,
    options: { forUpdate?: boolean } = {},
  ): Promise<ProfileRow | null> {
    const condition =
      key.profileId !== undefined
        ? and(sameApp(profiles.appId, appId), eq(profiles.id, key.profileId))
        : key.customerUserId !== undefined
          ? and(eq(profiles.appId, appId), eq(profiles.customerUserId, key.customerUserId))
          : undefined
    if (!condition) throw new Error('find needs a profile id or a customer user id')
    const query = executor.select().from(profiles).where(condition)
    const [row] = options.forUpdate ? await query.for('update') : await query
    return row ?? null
  }

  return {
    db,

    transaction<T, E>(work: (tx: Database) => Promise<Result<T, E>>): Promise<Result<T, E>> {
      return resultTransaction(db, work)
    },

    find,

    /** The hot path of GET profile: one prepared statement, only the columns the view needs. */
    async readView(appId: string, key: ProfileKey): Promise<ProfileView | null> {
      const [record] =
        key.profileId !== undefined
          ? await rawQuery<ProfileViewRecord>(VIEW_BY_ID, [appId, key.profileId])
          : await rawQuery<ProfileViewRecord>(VIEW_BY_CUSTOMER_USER_ID, [appId, key.customerUserId])
      if (!record) return null
      return {
        id: record.id,
        appId: record.app_id,
        customerUserId: record.customer_user_id,
        totalRevenueUsd: record.total_revenue_usd,
        segmentHash: record.segment_hash,
        customAttributes: record.custom_attributes,
        entitlements: record.entitlements,
      }
    },

    /**
     * The profile the identification headers name, checked against both headers (decisions.md,
     * "Identification"); the reason as a value when there is none.
     */
    async findIdentified(
      executor: Database,
      appId: string,
      identification: Identification,
      options: { forUpdate?: boolean } = {},
    ): Promise<Result<ProfileRow, { kind: 'profile_not_found' | 'customer_user_id_mismatch' }>> {
      const matched = checkMatches(
        identification,
        await find(executor, appId, lookupKey(identification), options),
      )
      return matched.ok ? matched : fail({ kind: matched.error })
    },

    /** Inserts unless the app already has a profile with this customer user id; null then. */
    async insertIfAbsent(tx: Database, row: ProfileInsert): Promise<ProfileRow | null> {
      const [inserted] = await tx
        .insert(profiles)
        .values(row)
        .onConflictDoNothing({ target: [profiles.appId, profiles.customerUserId] })
        .returning()
      return inserted ?? null
    },

    async update(
      tx: Database,
      appId: string,
      profileId: string,
      changes: ProfileChanges,
    ): Promise<ProfileRow> {
      const [row] = await tx
        .update(profiles)
        .set(changes)
        .where(and(sameApp(profiles.appId, appId), eq(profiles.id, profileId)))
        .returning()
      if (!row) throw new Error(`profile ${profileId} vanished inside its own transaction`)
      return row
    },

    /**
     * Deletes the profile and records it in the ledger in one transaction: the ledger keeps its entries, and
     * a fold must know from when on the profile no longer holds shared purchases.
     */
    async delete(appId: string, profileId: string, ledger: { entryId: string; at: Date }): Promise<boolean> {
      return db.transaction(async (tx) => {
        const deleted = await tx
          .delete(profiles)
          .where(and(sameApp(profiles.appId, appId), eq(profiles.id, profileId)))
          .returning({ id: profiles.id })
        if (deleted.length === 0) return false
        const recordedAt = ledger.at.toISOString()
        await tx.insert(ledgerEntries).values({
          id: ledger.entryId,
          appId,
          profileId,
          kind: 'profile_deleted',
          recordedAt: ledger.at,
          entry: { kind: 'profile_deleted', id: ledger.entryId, profileId, recordedAt },
        })
        return true
      })
    },

    /** Creates the device row or updates only the fields sent this time. */
    async upsertInstallation(
      tx: Database,
      ids: { appId: string; profileId: string; deviceId: string },
      fields: InstallationFields,
      now: Date,
    ): Promise<void> {
      await tx
        .insert(profileInstallations)
        .values({ ...ids, ...fields, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({
          target: [profileInstallations.profileId, profileInstallations.deviceId],
          set: { ...fields, updatedAt: now },
        })
    },

    async listInstallations(appId: string, profileId: string): Promise<InstallationRow[]> {
      return db
        .select()
        .from(profileInstallations)
        .where(and(eq(profileInstallations.appId, appId), eq(profileInstallations.profileId, profileId)))
    },
  }
}

export type ProfilesRepository = ReturnType<typeof createProfilesRepository>
