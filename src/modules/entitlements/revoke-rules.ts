import { formatDateTime } from '../../platform/datetime.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import type { ProfileEntitlements } from './entitlement-model.ts'
import { selectSources, statusAt } from './render-entitlements.ts'

export type RevokeFailure =
  | { kind: 'value_error' }
  | { kind: 'profile_paid_access_level_does_not_exist'; profileId: string; accessLevelId: string }
  | { kind: 'revocation_date_more_than_expiration_date'; revokeAt: string; expiresAt: string }

/** Adapty's rendering of instants in revoke messages: `2028-08-29 09:33:42+00:00`. */
export const revokeMessageDate = (value: string) =>
  formatDateTime(new Date(value)).replace('T', ' ').replace(/\.\d+/, '')

/**
 * A revoke needs the level to be held now or later (not only in the past), and cannot lengthen access: use a
 * grant for that.
 */
export function checkRevoke(
  document: ProfileEntitlements,
  profileId: string,
  accessLevelId: string,
  revokeAt: string,
  now: string,
): Result<true, RevokeFailure> {
  const source = selectSources(document, now).get(accessLevelId)
  if (!source || statusAt(source, now) === 'expired') {
    return fail({ kind: 'profile_paid_access_level_does_not_exist', profileId, accessLevelId })
  }
  if (source.end !== null && revokeAt > source.end) {
    return fail({ kind: 'revocation_date_more_than_expiration_date', revokeAt, expiresAt: source.end })
  }
  return ok(true)
}
