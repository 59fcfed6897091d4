import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.ts'
import { actorOf } from '../../http/api-key-auth.ts'
import { errorResponses, WRITE_ERRORS } from '../../http/common-schemas.ts'
import type { Clock } from '../../platform/clock.ts'
import { ProfileResponseSchema } from '../profiles/profile-response.schemas.ts'
import { toWireProfile } from '../profiles/profile-view.ts'
import { importFailureError, noProductsError, storeFetchError } from '../stripe/store-import-errors.ts'
import type { PaddleFailure, PaddleService } from './paddle.service.ts'

const ValidateBody = Type.Object({
  customer_user_id: Type.String({
    minLength: 1,
    maxLength: 255,
    description: 'Your id of the user; the profile is created if missing',
  }),
  paddle_token: Type.String({
    minLength: 1,
    description: 'A Paddle transaction id (`txn_…`) or subscription id (`sub_…`)',
  }),
})

// Messages as Adapty words them; the flat envelope has no field to point at.
function failureError(failure: PaddleFailure): AppError {
  switch (failure.kind) {
    case 'token_invalid':
      return new AppError(
        'validation_error',
        'Must be a Paddle transaction id (txn_…) or subscription id (sub_…).',
        { source: 'paddle_token' },
      )
    case 'api_key_not_found':
      return new AppError('paddle_api_key_not_found', 'Paddle API key not found')
    case 'paddle':
      return storeFetchError(
        failure.failure,
        'Paddle',
        new AppError(
          'invalid_paddle_credentials_or_purchase_not_found',
          'Invalid Paddle credentials or purchase not found',
        ),
      )
    case 'no_products_found':
      return noProductsError(failure, 'paddle', 'it has no completed transaction')
    default:
      return importFailureError(failure)
  }
}

export function paddleRoutes({
  service,
  clock,
}: {
  service: PaddleService
  clock: Clock
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/purchase/paddle/token/validate/',
      {
        config: { errorStyle: 'flat' },
        schema: {
          operationId: 'validatePaddlePurchase',
          summary: 'Validate Paddle purchase',
          description:
            "Fetches a Paddle transaction or subscription (with every transaction of it) with the app's Paddle " +
            'API key and imports it into the profile of `customer_user_id`, which is created if missing. Events ' +
            'follow as for set transaction; running it again changes nothing. Answers the profile.',
          tags: ['Paddle'],
          security: [{ apiKey: [] }],
          body: ValidateBody,
          response: {
            200: ProfileResponseSchema,
            ...errorResponses('flat', [...WRITE_ERRORS, 502]),
          },
        },
      },
      async (request) => {
        const { customer_user_id: customerUserId, paddle_token: token } = request.body
        const result = await service.validate(actorOf(request).appId, customerUserId, token)
        if (!result.ok) throw failureError(result.error)
        return { data: toWireProfile(result.value, clock.now()) }
      },
    )
  }
}
