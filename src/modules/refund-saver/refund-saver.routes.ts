import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../../errors.ts'
import { actorOf } from '../../http/api-key-auth.ts'
import { errorResponses, READ_ERRORS, WRITE_ERRORS } from '../../http/common-schemas.ts'
import { absentBodyIsEmptyObject } from '../../http/optional-body.ts'
import { profileFailureError, requireIdentification } from '../profiles/profile-errors.ts'
import { IdentificationHeaders } from '../profiles/profiles.schemas.ts'
import {
  RefundSaverSettingsRequestSchema,
  RefundSaverSettingsResponseSchema,
} from './refund-saver.schemas.ts'
import type { RefundSaverFailure, RefundSaverService } from './refund-saver.service.ts'

const PATH = '/purchase/profile/refund-saver/settings/'
const TAGS = ['Refund Saver']
const SECURITY = [{ apiKey: [] }]

function failure(result: RefundSaverFailure): AppError {
  if (result.kind === 'nothing_to_set') {
    return new AppError(
      'validation_error',
      'Profile refund saver settings must have either consent or custom_preference or both',
      { source: 'non_field_errors' },
    )
  }
  // Adapty answers a missing profile here with 400, not 404.
  return profileFailureError(
    result,
    () => new AppError('profile_does_not_exist', 'Profile does not exist', { status: 400 }),
  )
}

export function refundSaverRoutes({ service }: { service: RefundSaverService }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      PATH,
      {
        config: { errorStyle: 'flat' },
        schema: {
          operationId: 'getRefundSaverSettings',
          summary: 'Get Refund Saver settings',
          description: "The user's refund preference and data-sharing consent.",
          tags: TAGS,
          security: SECURITY,
          headers: IdentificationHeaders,
          response: { 200: RefundSaverSettingsResponseSchema, ...errorResponses('flat', READ_ERRORS) },
        },
      },
      async (request) => {
        const result = await service.get(actorOf(request).appId, requireIdentification(request.headers))
        if (!result.ok) throw failure(result.error)
        return result.value
      },
    )

    app.post(
      PATH,
      {
        config: { errorStyle: 'flat' },
        preValidation: absentBodyIsEmptyObject,
        schema: {
          operationId: 'setRefundSaverSettings',
          summary: 'Set Refund Saver settings',
          description: "Sets the user's refund preference, consent, or both.",
          tags: TAGS,
          security: SECURITY,
          headers: IdentificationHeaders,
          body: RefundSaverSettingsRequestSchema,
          response: { 200: RefundSaverSettingsResponseSchema, ...errorResponses('flat', WRITE_ERRORS) },
        },
      },
      async (request) => {
        const result = await service.set(
          actorOf(request).appId,
          requireIdentification(request.headers),
          request.body,
        )
        if (!result.ok) throw failure(result.error)
        return result.value
      },
    )
  }
}
