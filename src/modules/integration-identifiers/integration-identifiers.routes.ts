import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.ts'
import { actorOf } from '../../http/api-key-auth.ts'
import { errorResponses, READ_ERRORS, sendEmpty, WRITE_ERRORS } from '../../http/common-schemas.ts'
import { absentBodyIsEmptyObject } from '../../http/optional-body.ts'
import { profileFailureError, requireIdentification } from '../profiles/profile-errors.ts'
import { IdentificationHeaders } from '../profiles/profiles.schemas.ts'
import {
  IntegrationIdentifiersRequestSchema,
  IntegrationIdentifiersResponseSchema,
} from './integration-identifiers.schemas.ts'
import type { IntegrationFailure, IntegrationIdentifiersService } from './integration-identifiers.service.ts'

const PATH = '/integration/profile/set/integration-identifiers/'
const TAGS = ['Integration']
const SECURITY = [{ apiKey: [] }]

function failure(result: IntegrationFailure): AppError {
  if (result.kind === 'nothing_to_set') {
    return new AppError('validation_error', 'At least one integration identifier must be provided.', {
      source: 'non_field_errors',
    })
  }
  return profileFailureError(result, () => new AppError('profile_not_found', 'Profile not found'))
}

export function integrationIdentifiersRoutes({
  service,
}: {
  service: IntegrationIdentifiersService
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      PATH,
      {
        config: { errorStyle: 'flat' },
        schema: {
          operationId: 'getIntegrationIdentifiers',
          summary: 'Get integration identifiers',
          description: 'All sixteen identifiers of the profile, null where unset. Not wrapped in `data`.',
          tags: TAGS,
          security: SECURITY,
          headers: IdentificationHeaders,
          response: {
            200: IntegrationIdentifiersResponseSchema,
            ...errorResponses('flat', [...READ_ERRORS, 404]),
          },
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
          operationId: 'setIntegrationIdentifiers',
          summary: 'Set integration identifiers',
          description:
            'Adds or changes identifiers (null clears one; keys not sent are kept). Answers 200 with a blank body.',
          tags: TAGS,
          security: SECURITY,
          headers: IdentificationHeaders,
          body: IntegrationIdentifiersRequestSchema,
          response: {
            200: Type.Null({ description: 'Saved; the body is blank' }),
            ...errorResponses('flat', [...WRITE_ERRORS, 404]),
          },
        },
      },
      async (request, reply) => {
        const result = await service.set(
          actorOf(request).appId,
          requireIdentification(request.headers),
          request.body,
        )
        if (!result.ok) throw failure(result.error)
        return sendEmpty(reply, 200)
      },
    )
  }
}
