import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../../errors.ts'
import { actorOf } from '../../http/api-key-auth.ts'
import { errorResponses, WRITE_ERRORS } from '../../http/common-schemas.ts'
import type { Clock } from '../../platform/clock.ts'
import type { EntitlementsService, PurchaseFailure } from '../entitlements/entitlements.service.ts'
import { revokeMessageDate } from '../entitlements/revoke-rules.ts'
import { profileFailureError, requireIdentification } from '../profiles/profile-errors.ts'
import { ProfileResponseSchema } from '../profiles/profile-response.schemas.ts'
import { toWireProfile } from '../profiles/profile-view.ts'
import { IdentificationHeaders } from '../profiles/profiles.schemas.ts'
import {
  GrantAccessLevelBody,
  RevokeAccessLevelBody,
  SetTransactionBody,
} from './purchase-request.schemas.ts'
import { normalizeGrant, normalizeRevoke, normalizeTransaction } from './transaction-rules.ts'

const TAGS = ['Purchases']
const SECURITY = [{ apiKey: [] }]

/** Purchase endpoints answer a missing profile with 400 and `non_field_errors` (decisions.md, "Errors"). */
function failureError(failure: PurchaseFailure): AppError {
  switch (failure.kind) {
    case 'profile_not_found':
    case 'customer_user_id_mismatch':
      return profileFailureError(
        failure,
        () =>
          new AppError('profile_does_not_exist', 'Profile not found', {
            source: 'non_field_errors',
            status: 400,
          }),
      )
    case 'paid_access_level_does_not_exist':
      return new AppError(
        'paid_access_level_does_not_exist',
        `This app has no access level \`${failure.accessLevelId}\`.`,
        { source: 'non_field_errors' },
      )
    case 'profile_paid_access_level_does_not_exist':
      return new AppError(
        'profile_paid_access_level_does_not_exist',
        `Profile \`${failure.profileId}\` does not hold the access level \`${failure.accessLevelId}\` now.`,
        { source: 'non_field_errors' },
      )
    case 'revocation_date_more_than_expiration_date':
      return new AppError(
        'revocation_date_more_than_expiration_date',
        `revoke_at (${revokeMessageDate(failure.revokeAt)}) is after the current expiry of the access level ` +
          `(${revokeMessageDate(failure.expiresAt)}); use a grant to extend access.`,
        { source: 'revoke_at' },
      )
    case 'original_transaction_mismatch':
      return new AppError(
        'validation_error',
        `This store_transaction_id is already recorded under the store_original_transaction_id ` +
          `\`${failure.recordedUnder}\`; a transaction belongs to one chain.`,
        { source: 'store_original_transaction_id' },
      )
    case 'value_error':
      return new AppError('value_error', 'revoke_at must not be in the past; send null to revoke now.', {
        source: 'revoke_at',
      })
  }
}

export function purchasesRoutes({
  service,
  clock,
}: {
  service: EntitlementsService
  clock: Clock
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    const response = { 200: ProfileResponseSchema, ...errorResponses('fields', WRITE_ERRORS) }

    app.post(
      '/purchase/set/transaction/',
      {
        schema: {
          operationId: 'setTransaction',
          summary: 'Set transaction',
          description:
            'Records a store transaction and grants the access level of its product (`premium` when no ' +
            'product claims the store product). The same `store_transaction_id` again updates it in place; ' +
            'a new one under a known `store_original_transaction_id` is a renewal. Answers the profile.',
          tags: TAGS,
          security: SECURITY,
          headers: IdentificationHeaders,
          body: SetTransactionBody,
          response,
        },
      },
      async (request) => {
        const identification = requireIdentification(request.headers)
        const normalized = normalizeTransaction(request.body)
        if (!normalized.ok) {
          const violation = normalized.error
          throw new AppError(violation.code, violation.message, { source: violation.source })
        }
        const result = await service.setTransaction(actorOf(request).appId, identification, normalized.value)
        if (!result.ok) throw failureError(result.error)
        return { data: toWireProfile(result.value, clock.now()) }
      },
    )

    app.post(
      '/purchase/profile/grant/access-level/',
      {
        schema: {
          operationId: 'grantAccessLevel',
          summary: 'Grant access level',
          description:
            'Gives the profile an access level without a transaction, now or from `starts_at`, until ' +
            '`expires_at` (null: lifetime). A new grant of the same level replaces the previous one.',
          tags: TAGS,
          security: SECURITY,
          headers: IdentificationHeaders,
          body: GrantAccessLevelBody,
          response,
        },
      },
      async (request) => {
        const identification = requireIdentification(request.headers)
        const result = await service.grant(
          actorOf(request).appId,
          identification,
          normalizeGrant(request.body),
        )
        if (!result.ok) throw failureError(result.error)
        return { data: toWireProfile(result.value, clock.now()) }
      },
    )

    app.post(
      '/purchase/profile/revoke/access-level/',
      {
        schema: {
          operationId: 'revokeAccessLevel',
          summary: 'Revoke access level',
          description:
            'Ends the access level now, or at `revoke_at` (not in the past, not after the current expiry). ' +
            'A later grant or store renewal gives access again.',
          tags: TAGS,
          security: SECURITY,
          headers: IdentificationHeaders,
          body: RevokeAccessLevelBody,
          response,
        },
      },
      async (request) => {
        const identification = requireIdentification(request.headers)
        const result = await service.revoke(
          actorOf(request).appId,
          identification,
          normalizeRevoke(request.body),
        )
        if (!result.ok) throw failureError(result.error)
        return { data: toWireProfile(result.value, clock.now()) }
      },
    )
  }
}
