import type { Database } from '../../db/open-database.ts'
import { isUniqueViolation } from '../../db/transaction.ts'
import type { Clock } from '../../platform/clock.ts'
import type { IdGenerator } from '../../platform/ids.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import { type CustomAttributeProblem, mergeCustomAttributes } from './custom-attributes.ts'
import {
  checkMatches,
  type Identification,
  type IdentificationFailure,
  lookupKey,
} from './profile-identity.ts'
import type {
  InstallationFields,
  ProfileChanges,
  ProfileRow,
  ProfilesRepository,
  ProfileView,
} from './profiles.repository.ts'
import type { InstallationMeta, ProfileRequest } from './profiles.schemas.ts'
import { computeSegmentHash } from './segment-hash.ts'

export type ProfileWriteFailure =
  | { kind: Exclude<IdentificationFailure, 'identification_missing'> }
  /** Create with both headers: another profile of the app already has this customer user id. */
  | { kind: 'customer_user_id_taken' }
  | ({ kind: 'invalid_custom_attributes' } & CustomAttributeProblem)

export interface ProfilesServiceDeps {
  repo: ProfilesRepository
  clock: Clock
  ids: IdGenerator
}

/** Request fields that map one-to-one onto profile columns. */
const PLAIN_FIELDS = {
  first_name: 'firstName',
  last_name: 'lastName',
  gender: 'gender',
  email: 'email',
  phone_number: 'phoneNumber',
  birthday: 'birthday',
  ip_country: 'ipCountry',
  ip_v4_address: 'ipV4Address',
  store_country: 'storeCountry',
  store: 'store',
  store_account_token: 'storeAccountToken',
  att_status: 'attStatus',
  analytics_disabled: 'analyticsDisabled',
} as const satisfies Record<string, keyof ProfileChanges>

const INSTALLATION_FIELDS = {
  device: 'device',
  locale: 'locale',
  os: 'os',
  platform: 'platform',
  timezone: 'timezone',
  user_agent: 'userAgent',
  app_build: 'appBuild',
  app_version: 'appVersion',
  adapty_sdk_version: 'adaptySdkVersion',
  idfa: 'idfa',
  idfv: 'idfv',
  advertising_id: 'advertisingId',
  android_id: 'androidId',
  android_app_set_id: 'androidAppSetId',
} as const satisfies Record<Exclude<keyof InstallationMeta, 'device_id'>, keyof InstallationFields>

function uppercaseCountry(value: unknown): unknown {
  return typeof value === 'string' ? value.toUpperCase() : value
}

function segmentHashOf(
  row: Pick<
    ProfileRow,
    | 'customerUserId'
    | 'gender'
    | 'birthday'
    | 'ipCountry'
    | 'storeCountry'
    | 'store'
    | 'attStatus'
    | 'customAttributes'
  >,
) {
  return computeSegmentHash({
    customUserIdKnown: row.customerUserId !== null,
    gender: row.gender,
    birthday: row.birthday,
    ipCountry: row.ipCountry,
    storeCountry: row.storeCountry,
    store: row.store,
    attStatus: row.attStatus,
    customAttributes: row.customAttributes,
  })
}

export function createProfilesService({ repo, clock, ids }: ProfilesServiceDeps) {
  /** Applies a request body to a locked row: plain fields, merged custom attributes, the device. */
  async function applyRequest(
    tx: Database,
    row: ProfileRow,
    body: ProfileRequest | undefined,
    platformHeader: string | undefined,
    attachCustomerUserId: string | undefined,
  ): Promise<Result<ProfileRow, ProfileWriteFailure>> {
    const now = clock.now()
    const changes: ProfileChanges = { updatedAt: now }
    if (attachCustomerUserId !== undefined) changes.customerUserId = attachCustomerUserId
    for (const [wire, column] of Object.entries(PLAIN_FIELDS)) {
      const value = body?.[wire as keyof typeof PLAIN_FIELDS]
      if (value === undefined) continue
      const stored = wire === 'ip_country' || wire === 'store_country' ? uppercaseCountry(value) : value
      ;(changes as Record<string, unknown>)[column] = stored
    }
    if (body?.custom_attributes) {
      const merged = mergeCustomAttributes(row.customAttributes, body.custom_attributes)
      if (!merged.ok) return fail({ kind: 'invalid_custom_attributes', ...merged.error })
      changes.customAttributes = merged.value
    }
    changes.segmentHash = segmentHashOf({ ...row, ...changes })
    const updated = await repo.update(tx, row.appId, row.id, changes)
    const meta = body?.installation_meta
    if (meta) {
      const fields: InstallationFields = {}
      for (const [wire, column] of Object.entries(INSTALLATION_FIELDS)) {
        const value = meta[wire as keyof typeof INSTALLATION_FIELDS]
        if (value !== undefined) (fields as Record<string, unknown>)[column] = value
      }
      if (fields.platform == null && platformHeader) fields.platform = platformHeader
      await repo.upsertInstallation(
        tx,
        { appId: row.appId, profileId: row.id, deviceId: meta.device_id },
        fields,
        now,
      )
    }
    return ok(updated)
  }

  function newProfileRow(appId: string, customerUserId: string | null) {
    const now = clock.now()
    const base = {
      id: ids.uuid(),
      appId,
      customerUserId,
      customAttributes: [],
      createdAt: now,
      updatedAt: now,
    }
    return {
      ...base,
      segmentHash: segmentHashOf({
        ...base,
        gender: null,
        birthday: null,
        ipCountry: null,
        storeCountry: null,
        store: null,
        attStatus: null,
      }),
    }
  }

  return {
    async get(
      appId: string,
      identification: Identification,
    ): Promise<Result<ProfileView, ProfileWriteFailure>> {
      const matched = checkMatches(identification, await repo.readView(appId, lookupKey(identification)))
      return matched.ok ? matched : fail({ kind: matched.error })
    },

    /**
     * Create profile (decisions.md, "Identification"): a customer user id alone creates the profile or, when
     * it exists, updates it (idempotent create); both headers attach the customer user id to the profile.
     */
    async create(
      appId: string,
      identification: Identification,
      body: ProfileRequest | undefined,
      platformHeader: string | undefined,
    ): Promise<Result<ProfileRow, ProfileWriteFailure>> {
      const { profileId, customerUserId } = identification
      try {
        return await repo.transaction(async (tx) => {
          if (profileId !== undefined) {
            const row = await repo.find(tx, appId, lookupKey(identification), { forUpdate: true })
            if (!row) return fail({ kind: 'profile_not_found' })
            let attach: string | undefined
            if (customerUserId !== undefined && row.customerUserId !== customerUserId) {
              if (row.customerUserId !== null) return fail({ kind: 'customer_user_id_mismatch' })
              if (await repo.find(tx, appId, { customerUserId }))
                return fail({ kind: 'customer_user_id_taken' })
              attach = customerUserId
            }
            return applyRequest(tx, row, body, platformHeader, attach)
          }
          const key = { customerUserId }
          const row =
            (await repo.find(tx, appId, key, { forUpdate: true })) ??
            (await repo.insertIfAbsent(tx, newProfileRow(appId, customerUserId ?? null))) ??
            // A concurrent create won the insert; its row is committed by now.
            (await repo.find(tx, appId, key, { forUpdate: true }))
          if (!row) throw new Error('profile neither found nor inserted')
          return applyRequest(tx, row, body, platformHeader, undefined)
        })
      } catch (error) {
        // Attaching raced with another profile taking the same customer user id.
        if (isUniqueViolation(error)) return fail({ kind: 'customer_user_id_taken' })
        throw error
      }
    },

    async update(
      appId: string,
      identification: Identification,
      body: ProfileRequest | undefined,
      platformHeader: string | undefined,
    ): Promise<Result<ProfileRow, ProfileWriteFailure>> {
      return repo.transaction(async (tx) => {
        const matched = await repo.findIdentified(tx, appId, identification, { forUpdate: true })
        if (!matched.ok) return matched
        return applyRequest(tx, matched.value, body, platformHeader, undefined)
      })
    },

    /**
     * Removes the profile with its attributes and devices at once. Ledgers written by the entitlement engine
     * are kept, detached from the person (decisions.md, "Profiles and attributes").
     */
    async delete(appId: string, identification: Identification): Promise<Result<true, ProfileWriteFailure>> {
      const found = await repo.findIdentified(repo.db, appId, identification)
      if (!found.ok) return found
      return (await repo.delete(appId, found.value.id, { entryId: ids.uuid(), at: clock.now() }))
        ? ok(true)
        : fail({ kind: 'profile_not_found' })
    },
  }
}

export type ProfilesService = ReturnType<typeof createProfilesService>
