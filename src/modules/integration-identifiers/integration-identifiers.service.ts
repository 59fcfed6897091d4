import type { Clock } from '../../platform/clock.ts'
import { fail, ok, type Result } from '../../platform/result.ts'
import type { Identification } from '../profiles/profile-identity.ts'
import type { ProfilesRepository } from '../profiles/profiles.repository.ts'
import type { ProfileWriteFailure } from '../profiles/profiles.service.ts'
import {
  INTEGRATION_KEYS,
  type IntegrationIdentifiersRequest,
  type IntegrationIdentifiersResponse,
} from './integration-identifiers.schemas.ts'

export type IntegrationFailure = ProfileWriteFailure | { kind: 'nothing_to_set' }

function allKeys(stored: Record<string, string>): IntegrationIdentifiersResponse {
  return Object.fromEntries(
    INTEGRATION_KEYS.map((key) => [key, stored[key] ?? null]),
  ) as IntegrationIdentifiersResponse
}

export function createIntegrationIdentifiersService({
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
    ): Promise<Result<IntegrationIdentifiersResponse, IntegrationFailure>> {
      const found = await repo.findIdentified(repo.db, appId, identification)
      return found.ok ? ok(allKeys(found.value.integrationIds)) : found
    },

    /** Merges: a value sets the key, null clears it, keys not sent stay as they were. */
    async set(
      appId: string,
      identification: Identification,
      changes: IntegrationIdentifiersRequest,
    ): Promise<Result<IntegrationIdentifiersResponse, IntegrationFailure>> {
      const sent = INTEGRATION_KEYS.filter((key) => changes[key] !== undefined)
      if (sent.length === 0) return fail({ kind: 'nothing_to_set' })
      return repo.transaction(async (tx) => {
        const matched = await repo.findIdentified(tx, appId, identification, { forUpdate: true })
        if (!matched.ok) return matched
        const merged: Record<string, string> = { ...matched.value.integrationIds }
        for (const key of sent) {
          const value = changes[key]
          if (value === null || value === undefined) delete merged[key]
          else merged[key] = value
        }
        const updated = await repo.update(tx, appId, matched.value.id, {
          integrationIds: merged,
          updatedAt: clock.now(),
        })
        return ok(allKeys(updated.integrationIds))
      })
    },
  }
}

export type IntegrationIdentifiersService = ReturnType<typeof createIntegrationIdentifiersService>
