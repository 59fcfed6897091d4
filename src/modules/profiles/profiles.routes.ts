import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.ts'
import { actorOf } from '../../http/api-key-auth.ts'
import { errorResponses, READ_ERRORS, sendEmpty, WRITE_ERRORS } from '../../http/common-schemas.ts'
import { absentBodyIsEmptyObject } from '../../http/optional-body.ts'
import type { Clock } from '../../platform/clock.ts'
import { profileFailureError, requireIdentification } from './profile-errors.ts'
import { ProfileResponseSchema } from './profile-response.schemas.ts'
import { toWireProfile } from './profile-view.ts'
import { IdentificationHeaders, ProfileRequestSchema, ProfileWriteHeaders } from './profiles.schemas.ts'
import type { ProfilesService, ProfileWriteFailure } from './profiles.service.ts'

const PATH = '/profile/'
const TAGS = ['Profile']
const SECURITY = [{ apiKey: [] }]

function failure(result: ProfileWriteFailure): AppError {
  return profileFailureError(
    result,
    () => new AppError('profile_does_not_exist', 'Profile not found', { source: null }),
  )
}

export function profilesRoutes({
  service,
  clock,
}: {
  service: ProfilesService
  clock: Clock
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Create and update share their whole contract but for the operation and what it does.
    const writes = [
      {
        method: 'POST',
        operationId: 'createProfile',
        summary: 'Create profile',
        description:
          'Creates a profile for `adapty-customer-user-id`, or returns the existing one updated with the body. ' +
          'With both headers, attaches the customer user id to the profile `adapty-profile-id`. The body is optional.',
        run: service.create,
      },
      {
        method: 'PATCH',
        operationId: 'updateProfile',
        summary: 'Update profile',
        description:
          'Changes only the fields sent. Custom attributes are merged: `null` or `""` deletes a key.',
        run: service.update,
      },
    ] as const
    for (const write of writes) {
      app.route({
        method: write.method,
        url: PATH,
        preValidation: absentBodyIsEmptyObject,
        schema: {
          operationId: write.operationId,
          summary: write.summary,
          description: write.description,
          tags: TAGS,
          security: SECURITY,
          headers: ProfileWriteHeaders,
          body: ProfileRequestSchema,
          response: { 200: ProfileResponseSchema, ...errorResponses('fields', [...WRITE_ERRORS, 404]) },
        },
        handler: async (request) => {
          const result = await write.run(
            actorOf(request).appId,
            requireIdentification(request.headers),
            request.body,
            request.headers['adapty-platform'],
          )
          if (!result.ok) throw failure(result.error)
          return { data: toWireProfile(result.value, clock.now()) }
        },
      })
    }

    app.get(
      PATH,
      {
        schema: {
          operationId: 'getProfile',
          summary: 'Get profile',
          description: 'The profile with its access levels, subscriptions and one-time purchases as of now.',
          tags: TAGS,
          security: SECURITY,
          headers: IdentificationHeaders,
          response: { 200: ProfileResponseSchema, ...errorResponses('fields', [...READ_ERRORS, 404]) },
        },
      },
      async (request) => {
        const result = await service.get(actorOf(request).appId, requireIdentification(request.headers))
        if (!result.ok) throw failure(result.error)
        return { data: toWireProfile(result.value, clock.now()) }
      },
    )

    app.delete(
      PATH,
      {
        schema: {
          operationId: 'deleteProfile',
          summary: 'Delete profile',
          description:
            'Deletes the profile, its attributes and devices at once; later requests answer 404. ' +
            'Purchase history is kept, detached from the person.',
          tags: TAGS,
          security: SECURITY,
          headers: IdentificationHeaders,
          response: {
            204: Type.Null({ description: 'Deleted; no body' }),
            ...errorResponses('fields', [...READ_ERRORS, 404]),
          },
        },
      },
      async (request, reply) => {
        const result = await service.delete(actorOf(request).appId, requireIdentification(request.headers))
        if (!result.ok) throw failure(result.error)
        return sendEmpty(reply, 204)
      },
    )
  }
}
