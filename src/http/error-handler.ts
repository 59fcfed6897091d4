import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isDatabaseUnavailable } from '../db/transaction.ts'
import { AppError, type ErrorStyle, errorBody } from '../errors.ts'
import { validationFailure } from './validation.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which of Adapty's two error envelopes this route answers with; `fields` when unset. */
    errorStyle?: ErrorStyle
  }
}

/** The error envelope a request's route answers in. */
export function styleOf(request: FastifyRequest): ErrorStyle {
  return request.routeOptions.config?.errorStyle ?? 'fields'
}

/** Maps Fastify's own errors (body limits, content types, schema validation) to catalogued codes. */
function toAppError(error: FastifyError): AppError | null {
  if (error instanceof AppError) return error
  if (error.validation) return validationFailure(error.validation as never)
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'Request body is too large.')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new AppError('unsupported_media_type', 'Send the body as application/json.')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('parse_error', error.message)
  }
  if (isDatabaseUnavailable(error)) {
    return new AppError('service_unavailable', 'The database is not reachable; retry shortly.', {
      headers: { 'retry-after': '5' },
    })
  }
  const status = error.statusCode ?? 500
  if (status === 413) return new AppError('payload_too_large', 'Request body is too large.')
  if (status === 415) return new AppError('unsupported_media_type', 'Send the body as application/json.')
  // Any other client error Fastify or Node raises (bad headers, aborted uploads) is the request's fault.
  if (status >= 400 && status < 500) return new AppError('validation_error', error.message, { source: null })
  return null
}

export function sendAppError(reply: FastifyReply, error: AppError, style: ErrorStyle): FastifyReply {
  return reply.code(error.status).headers(error.headers).send(errorBody(error, style))
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toAppError(error)
    if (known) {
      if (known.status >= 500) request.log.error({ err: error }, `request failed: ${known.code}`)
      return sendAppError(reply, known, styleOf(request))
    }
    request.log.error({ err: error }, 'unhandled error')
    return sendAppError(
      reply,
      new AppError('internal_error', `Internal server error (request ${request.id}).`),
      styleOf(request),
    )
  })

  app.setNotFoundHandler((request, reply) =>
    sendAppError(
      reply,
      new AppError('not_found', `No route for ${request.method} ${request.url.split('?')[0]}.`),
      'fields',
    ),
  )
}
