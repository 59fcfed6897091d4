import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.ts'
import { actorOf } from '../../http/api-key-auth.ts'
import { errorResponses } from '../../http/common-schemas.ts'
import { absentBodyIsEmptyObject } from '../../http/optional-body.ts'
import { isUuid } from '../../platform/ids.ts'
import { importFailureError, noProductsError, storeFetchError } from './store-import-errors.ts'
import type { StripeFailure, StripeService } from './stripe.service.ts'

const TAGS = ['Stripe']

const CustomerUserId = Type.String({ description: 'Your id of the user; the profile is created if missing' })
const StripeToken = Type.String({
  description: 'A Stripe subscription id (`sub_…`) or payment intent id (`pi_…`)',
})

// Every field optional in the schema: which ones are missing is told by the route, at the path of the body
// shape the client chose (JSON:API or flat).
const ValidateBody = Type.Object(
  {
    data: Type.Optional(
      Type.Unsafe<{
        type?: string
        attributes?: { customer_user_id?: string; stripe_token?: string } | null
      } | null>({
        type: ['object', 'null'],
        properties: {
          type: { type: 'string', enum: ['stripe_receipt_validation_result'] },
          attributes: {
            type: ['object', 'null'],
            properties: { customer_user_id: CustomerUserId, stripe_token: StripeToken },
          },
        },
        description: 'JSON:API form: `type` `stripe_receipt_validation_result` and the two attributes',
      }),
    ),
    customer_user_id: Type.Optional(CustomerUserId),
    stripe_token: Type.Optional(StripeToken),
  },
  { description: 'The JSON:API body (`data.attributes`) or the flat body with the same two fields' },
)

const ValidateResponse = Type.Object({ data: Type.Null() })

function failureError(failure: StripeFailure, tokenSource: string): AppError {
  switch (failure.kind) {
    case 'token_invalid':
      return new AppError(
        'validation_error',
        'Must be a Stripe subscription id (sub_…) or payment intent id (pi_…).',
        { source: tokenSource },
      )
    case 'secret_key_not_found':
      return new AppError(
        'stripe_secret_key_not_found',
        'Stripe secret key not found: set stripe_secret_key in the app settings.',
        { source: 'non_field_errors' },
      )
    case 'stripe':
      return storeFetchError(
        failure.failure,
        'Stripe',
        new AppError(
          'invalid_stripe_credentials_or_purchase_not_found',
          'Invalid Stripe credentials or purchase not found.',
          { source: tokenSource },
        ),
      )
    case 'no_products_found':
      return noProductsError(failure, 'stripe', 'it has no paid invoice or succeeded payment')
    default:
      return importFailureError(failure)
  }
}

const required = (source: string) => new AppError('validation_error', 'This field is required.', { source })

export function stripeValidateRoutes({ service }: { service: StripeService }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/purchase/stripe/token/validate/',
      {
        config: { errorStyle: 'jsonapi' },
        preValidation: absentBodyIsEmptyObject,
        schema: {
          operationId: 'validateStripePurchase',
          summary: 'Validate Stripe purchase',
          description:
            "Fetches a Stripe subscription (every invoice of it) or payment intent with the app's Stripe key " +
            'and imports it into the profile of `customer_user_id`, which is created if missing. Events follow ' +
            'as for set transaction; running it again changes nothing. Send `application/vnd.api+json` or ' +
            '`application/json`. Errors are JSON:API error documents.',
          tags: TAGS,
          security: [{ apiKey: [] }],
          body: ValidateBody,
          response: {
            200: ValidateResponse,
            ...errorResponses('jsonapi', [400, 401, 413, 415, 429, 500, 502, 503]),
          },
        },
      },
      async (request) => {
        const body = request.body
        const wrapped = body.data !== undefined
        const prefix = wrapped ? 'data.attributes.' : ''
        const attributes = wrapped ? (body.data?.attributes ?? {}) : body
        const customerUserId = attributes.customer_user_id
        const token = attributes.stripe_token
        if (!customerUserId) throw required(`${prefix}customer_user_id`)
        if (customerUserId.length > 255) {
          throw new AppError('validation_error', 'Ensure this field has no more than 255 characters.', {
            source: `${prefix}customer_user_id`,
          })
        }
        if (!token) throw required(`${prefix}stripe_token`)
        const result = await service.validate(actorOf(request).appId, customerUserId, token)
        if (!result.ok) throw failureError(result.error, `${prefix}stripe_token`)
        return { data: null }
      },
    )
  }
}

const WebhookParams = Type.Object({ app_id: Type.String({ description: 'The app id (UUID)' }) })

const WebhookResponse = Type.Object({
  received: Type.Literal(true),
  applied: Type.Boolean({ description: 'Whether the event changed a purchase' }),
  reason: Type.Optional(
    Type.String({
      description:
        'Why it was left alone: `event_not_handled`, `no_purchase`, `user_unknown` (no customer_user_id in ' +
        'metadata and no earlier validation) or `no_products_found`',
    }),
  ),
})

export function stripeWebhookRoutes({ service }: { service: StripeService }): FastifyPluginAsyncTypebox {
  return async (app) => {
    // The signature covers the exact bytes Stripe sent, so the body is kept as text.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      done(null, typeof body === 'string' ? body : body.toString('utf8'))
    })

    app.post(
      '/webhooks/stripe/:app_id',
      {
        schema: {
          operationId: 'receiveStripeWebhook',
          summary: 'Stripe webhook',
          description:
            "Stripe's own events (customer.subscription.*, invoice.*, charge.refunded, payment_intent.succeeded, " +
            "checkout.session.completed), verified with the app's `stripe_webhook_secret` (`Stripe-Signature`). " +
            'The purchase an event is about is fetched again from Stripe and imported, for the user named by ' +
            '`customer_user_id` in its metadata or by an earlier validation.',
          tags: TAGS,
          security: [{ stripeSignature: [] }],
          params: WebhookParams,
          response: { 200: WebhookResponse, ...errorResponses('fields', [400, 413, 415, 500, 502, 503]) },
        },
      },
      async (request) => {
        const appId = request.params.app_id
        const payload = typeof request.body === 'string' ? request.body : ''
        const signature = request.headers['stripe-signature']
        const result = isUuid(appId)
          ? await service.receiveWebhook(
              appId,
              payload,
              typeof signature === 'string' ? signature : undefined,
            )
          : ({ ok: false, error: { kind: 'signature_invalid', message: 'No app has this id.' } } as const)
        if (!result.ok) {
          const failure = result.error
          if (failure.kind === 'signature_invalid') {
            throw new AppError('stripe_signature_invalid', failure.message, { source: 'stripe-signature' })
          }
          throw failureError(failure, 'non_field_errors')
        }
        const outcome = result.value
        return outcome.applied
          ? { received: true as const, applied: true }
          : { received: true as const, applied: false, reason: outcome.reason }
      },
    )
  }
}
