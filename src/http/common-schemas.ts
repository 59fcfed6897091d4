import { type TSchema, Type } from 'typebox'
import type { ErrorStyle } from '../errors.ts'

/** A string that may also be null, declared as one JSON Schema type list so errors read "string or null". */
export function NullableString(
  options: { maxLength?: number; minLength?: number; format?: string; description?: string } = {},
) {
  return Type.Unsafe<string | null>({ type: ['string', 'null'], ...options })
}

export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()])
}

export const FieldsErrorSchema = Type.Object(
  {
    errors: Type.Array(
      Type.Object({
        source: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
        errors: Type.Array(Type.String()),
      }),
    ),
    error_code: Type.String(),
    status_code: Type.Integer(),
  },
  { description: 'Error envelope: `source` names the field, `non_field_errors`, or null.' },
)

export const FlatErrorSchema = Type.Object(
  {
    errors: Type.Array(Type.String()),
    error_code: Type.String(),
    status_code: Type.Integer(),
  },
  { description: 'Error envelope with plain string messages.' },
)

export const JsonApiErrorSchema = Type.Object(
  {
    errors: Type.Array(
      Type.Object({
        detail: Type.String(),
        source: Type.Object({
          pointer: Type.String({ description: 'JSON pointer into the request body; `` for the whole of it' }),
        }),
        status: Type.String({ description: 'The HTTP status, as a string' }),
        code: Type.String({ description: 'The error code (docs/errors.md)' }),
      }),
    ),
  },
  { description: 'JSON:API error document (Stripe validation).' },
)

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (`validation_error`, `parse_error`, or an endpoint-specific code)',
  401: 'Missing or wrong credentials',
  404: 'Not found',
  409: 'Conflict with the current state (on a server-side write also `idempotency_in_flight`; see Retry-After)',
  413: 'Body larger than the configured limit (`payload_too_large`)',
  415: 'Body not sent as JSON (`unsupported_media_type`)',
  422: 'The Idempotency-Key was first used with another request (`idempotency_key_reused`)',
  429: 'Rate limit exceeded (`rate_limited`); see Retry-After',
  500: 'Internal error (`internal_error`)',
  502: 'A store API (Stripe, Paddle) failed or timed out (`store_api_unavailable`)',
  503: 'Database unavailable (`service_unavailable`)',
}

/** The error part of a route's response map: every status it can answer with, in its envelope style. */
export function errorResponses(style: ErrorStyle, statuses: readonly number[]): Record<number, TSchema> {
  const schema =
    style === 'flat' ? FlatErrorSchema : style === 'jsonapi' ? JsonApiErrorSchema : FieldsErrorSchema
  const out: Record<number, TSchema> = {}
  for (const status of statuses) {
    out[status] = { ...schema, description: ERROR_DESCRIPTIONS[status] ?? 'Error' } as TSchema
  }
  return out
}

/** Statuses of the Idempotency-Key header, which every server-side write accepts (src/http/idempotency.ts). */
export const IDEMPOTENCY_ERRORS = [409, 422] as const
/** Statuses any request with a body can meet besides its own rules. */
export const WRITE_ERRORS = [400, 401, 413, 415, 429, 500, 503, ...IDEMPOTENCY_ERRORS] as const
/** Statuses any request without a body can meet. */
export const READ_ERRORS = [400, 401, 429, 500, 503] as const

/** Ends a reply with no body (204, or Adapty's blank 200); typed routes otherwise insist on a payload. */
export function sendEmpty(reply: { code(status: number): unknown }, status: 200 | 204) {
  return (reply.code(status) as import('fastify').FastifyReply).send()
}
