import type { Clock } from '../../platform/clock.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import { checkMatches, type Identification, lookupKey } from '../profiles/profile-identity.ts'
import type { ProfileRow, ProfilesRepository } from '../profiles/profiles.repository.ts'
import type { ProfileWriteFailure } from '../profiles/profiles.service.ts'
import type {
  RefundPreference,
  RefundSaverSettingsRequest,
  RefundSaverSettingsResponse,
} from './refund-saver.schemas.ts'

export type RefundSaverFailure = ProfileWriteFailure | { kind: 'nothing_to_set' }

function view(row: ProfileRow): RefundSaverSettingsResponse {
  return {
    profile_id: row.id,
    settings: {
      consent: row.refundSaverConsent ?? false,
      custom_preference: (row.refundSaverPreference as RefundPreference | null) ?? 'no_preference',
    },
  }
}

export function createRefundSaverService({
  repo,
  clock,
}: {
  repo: Pick<ProfilesRepository, 'db' | 'find' | 'update' | 'transaction'>
  clock: Clock
}) {
  return {
    async get(
      appId: string,
      identification: Identification,
    ): Promise<Result<RefundSaverSettingsResponse, RefundSaverFailure>> {
      const matched = checkMatches(identification, await repo.find(repo.db, appId, lookupKey(identification)))
      return matched.ok ? ok(view(matched.value)) : fail({ kind: matched.error })
    },

    async set(
      appId: string,
      identification: Identification,
      request: RefundSaverSettingsRequest,
    ): Promise<Result<RefundSaverSettingsResponse, RefundSaverFailure>> {
      const consent = request.consent ?? undefined
      const preference = request.custom_preference ?? undefined
      if (consent === undefined && preference === undefined) return fail({ kind: 'nothing_to_set' })
      return repo.transaction(async (tx) => {
        const matched = checkMatches(
          identification,
          await repo.find(tx, appId, lookupKey(identification), { forUpdate: true }),
        )
        if (!matched.ok) return fail({ kind: matched.error })
        const updated = await repo.update(tx, appId, matched.value.id, {
          ...(consent !== undefined && { refundSaverConsent: consent }),
          ...(preference !== undefined && { refundSaverPreference: preference }),
          updatedAt: clock.now(),
        })
        return ok(view(updated))
      })
    },
  }
}

export type RefundSaverService = ReturnType<typeof createRefundSaverService>
