import type { Clock } from '../../platform/clock.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import type { Identification } from '../profiles/profile-identity.ts'
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
  repo: Pick<ProfilesRepository, 'db' | 'findIdentified' | 'update' | 'transaction'>
  clock: Clock
}) {
  return {
    async get(
      appId: string,
      identification: Identification,
    ): Promise<Result<RefundSaverSettingsResponse, RefundSaverFailure>> {
      const found = await repo.findIdentified(repo.db, appId, identification)
      return found.ok ? ok(view(found.value)) : found
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
        const matched = await repo.findIdentified(tx, appId, identification, { forUpdate: true })
        if (!matched.ok) return matched
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
