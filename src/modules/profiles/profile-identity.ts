import { fail, ok, type Result } from '../../platform/result.ts'
import type { ProfileKey, ProfileRow } from './profiles.repository.ts'

export interface Identification {
  profileId?: string
  customerUserId?: string
}

/** Why the identification headers do not lead to a profile. */
export type IdentificationFailure =
  | 'identification_missing'
  | 'profile_not_found'
  | 'customer_user_id_mismatch'

export function readIdentification(headers: {
  'adapty-profile-id'?: string
  'adapty-customer-user-id'?: string
}): Result<Identification, 'identification_missing'> {
  const profileId = headers['adapty-profile-id']
  const customerUserId = headers['adapty-customer-user-id']
  if (profileId === undefined && customerUserId === undefined) return fail('identification_missing')
  return ok({ profileId, customerUserId })
}

/** The profile id wins when both headers are sent; the customer user id is then a check, not a lookup. */
export function lookupKey(identification: Identification): ProfileKey {
  return identification.profileId !== undefined
    ? { profileId: identification.profileId.toLowerCase() }
    : { customerUserId: identification.customerUserId }
}

export function checkMatches<Row extends Pick<ProfileRow, 'customerUserId'>>(
  identification: Identification,
  row: Row | null,
): Result<Row, 'profile_not_found' | 'customer_user_id_mismatch'> {
  if (!row) return fail('profile_not_found')
  if (
    identification.profileId !== undefined &&
    identification.customerUserId !== undefined &&
    row.customerUserId !== identification.customerUserId
  ) {
    return fail('customer_user_id_mismatch')
  }
  return ok(row)
}
