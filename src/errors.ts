/**
 * The closed catalogue of error codes Entitle answers with. Each code has one default HTTP status; the few
 * codes that Adapty's contract uses with a second status list it in `otherStatuses`. docs/errors.md documents
 * every code and test/docs/errors-catalogue.test.ts fails when the two drift. Codes are part of the wire
 * contract: never rename or reuse one.
 */
export const ERROR_CATALOGUE = {
  validation_error: { status: 400, summary: 'A field or header is missing or invalid; `source` names it.' },
  parse_error: { status: 400, summary: 'The request body is not valid JSON.' },
  not_authenticated: {
    status: 401,
    summary: 'Missing or wrong credentials (profile endpoints and the admin API).',
  },
  unauthorized: {
    status: 401,
    summary: 'Missing or wrong API key on endpoints whose errors are plain strings.',
  },
  profile_does_not_exist: {
    status: 404,
    otherStatuses: [400],
    summary: 'No profile of this app matches the identification headers (400 on Refund Saver).',
  },
  profile_not_found: { status: 404, summary: 'No such profile (integration identifiers endpoints).' },
  not_found: { status: 404, summary: 'No route matches the method and path.' },
  app_not_found: { status: 404, summary: 'No app has this id.' },
  api_key_not_found: { status: 404, summary: 'The app has no API key with this id.' },
  access_level_not_found: { status: 404, summary: 'The app has no access level with this id.' },
  access_level_exists: { status: 409, summary: 'The app already has an access level with this id.' },
  access_level_protected: { status: 409, summary: 'The default access level `premium` cannot be deleted.' },
  last_secret_key: {
    status: 409,
    summary: 'Deleting this key would leave the app without a secret key; rotate first.',
  },
  product_not_found: { status: 404, summary: 'The app has no product with this product_id.' },
  product_exists: { status: 409, summary: 'The app already has a product with this product_id.' },
  store_product_taken: {
    status: 409,
    summary: 'Another product of the app already claims this store + store_product_id.',
  },
  access_level_in_use: {
    status: 409,
    summary: 'A product of the app grants this access level; change or delete the product first.',
  },
  billing_issue_detected_at_date_comparison_error: {
    status: 400,
    summary: 'Set transaction: billing_issue_detected_at is not later than purchased_at.',
  },
  expires_date_error: { status: 400, summary: 'Set transaction: expires_at is not later than purchased_at.' },
  family_share_price_error: {
    status: 400,
    summary: 'Set transaction: a family-shared purchase must have price.value 0.',
  },
  free_trial_price_error: { status: 400, summary: 'Set transaction: a free trial must have price.value 0.' },
  grace_period_billing_error: {
    status: 400,
    summary: 'Set transaction: grace_period_expires_at needs billing_issue_detected_at.',
  },
  grace_period_expires_date_error: {
    status: 400,
    summary: 'Set transaction: grace_period_expires_at is earlier than expires_at.',
  },
  missing_offer_id: {
    status: 400,
    summary: 'Set transaction: offer.id is required for every offer category but introductory.',
  },
  originally_purchased_date_error: {
    status: 400,
    summary: 'Set transaction: originally_purchased_at is later than purchased_at.',
  },
  refund_date_error: { status: 400, summary: 'Set transaction: refunded_at is not later than purchased_at.' },
  refund_fields_error: {
    status: 400,
    summary: 'Set transaction: refunded_at and cancellation_reason=refund come only together.',
  },
  renew_status_changed_date_error: {
    status: 400,
    summary: 'Set transaction: renew_status_changed_at is not later than purchased_at.',
  },
  store_transaction_id_error: {
    status: 400,
    summary:
      'Set transaction: a one-time purchase needs store_transaction_id = store_original_transaction_id.',
  },
  one_time_purchase_trial_error: {
    status: 400,
    summary: 'Set transaction: a one-time purchase has a trial.',
  },
  paid_access_level_does_not_exist: {
    status: 400,
    summary: 'Grant or revoke: the app has no such access level.',
  },
  profile_paid_access_level_does_not_exist: {
    status: 400,
    summary: 'Revoke: the profile does not hold this access level now.',
  },
  revocation_date_more_than_expiration_date: {
    status: 400,
    summary: "Revoke: revoke_at is later than the access level's current expiry.",
  },
  value_error: { status: 400, summary: 'Revoke: revoke_at is in the past.' },
  idempotency_key_reused: {
    status: 422,
    summary: 'This Idempotency-Key was first used with another request (method, path or body).',
  },
  idempotency_in_flight: {
    status: 409,
    summary: 'The first request with this Idempotency-Key is still running; retry shortly.',
  },
  webhook_not_found: { status: 404, summary: 'The app has no webhook endpoint for this environment.' },
  event_not_found: { status: 404, summary: 'The app has no event with this id.' },
  webhook_url_not_allowed: {
    status: 400,
    summary:
      'The webhook URL reaches a loopback, private, link-local or metadata address (WEBHOOK_ALLOW_PRIVATE).',
  },
  webhook_verification_failed: {
    status: 400,
    summary: 'The endpoint did not answer the verification POST of `{}` with a 2xx and a JSON body.',
  },
  invalid_cursor: { status: 400, summary: 'The event feed cursor (`after`) is not one the feed handed out.' },
  stripe_secret_key_not_found: {
    status: 400,
    summary: 'Stripe validation: the app has no Stripe secret key in its settings.',
  },
  invalid_stripe_credentials_or_purchase_not_found: {
    status: 400,
    summary:
      'Stripe validation: Stripe refused the key, or has no subscription or payment intent with this id.',
  },
  paddle_api_key_not_found: { status: 400, summary: 'Paddle validation: the app has no Paddle API key.' },
  invalid_paddle_credentials_or_purchase_not_found: {
    status: 400,
    summary: 'Paddle validation: Paddle refused the key, or has no transaction or subscription with this id.',
  },
  no_products_found: {
    status: 400,
    summary: 'Stripe or Paddle validation: a product of the purchase is not in the catalog.',
  },
  store_api_unavailable: {
    status: 502,
    summary: 'Stripe or Paddle did not answer in time or failed; nothing was imported, retry later.',
  },
  stripe_signature_invalid: {
    status: 400,
    summary: "Stripe webhook: the Stripe-Signature header does not verify with the app's signing secret.",
  },
  stripe_import_not_found: { status: 404, summary: 'The app has no Stripe import with this id.' },
  payload_too_large: { status: 413, summary: 'The request body is larger than BODY_LIMIT_BYTES.' },
  unsupported_media_type: { status: 415, summary: 'The body is not sent as application/json.' },
  rate_limited: {
    status: 429,
    summary: 'Too many requests for this key; retry after `Retry-After` seconds.',
  },
  internal_error: { status: 500, summary: 'A bug on our side; the request id in the log says more.' },
  service_unavailable: { status: 503, summary: 'The database is not reachable or the server is stopping.' },
} as const satisfies Record<string, { status: number; otherStatuses?: readonly number[]; summary: string }>

export type ErrorCode = keyof typeof ERROR_CATALOGUE

/** Where the message belongs: a field path, `non_field_errors`, or nothing in particular. */
export type ErrorSource = string | null

export interface AppErrorInit {
  source?: ErrorSource
  /** Only a status listed for the code in the catalogue. */
  status?: number
  /** Extra response headers, such as Retry-After. */
  headers?: Record<string, string>
}

/** A failure that is reported to the client as-is, in Adapty's error envelope. */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly source: ErrorSource
  readonly headers: Record<string, string>

  constructor(code: ErrorCode, message: string, init: AppErrorInit = {}) {
    super(message)
    this.name = 'AppError'
    this.code = code
    const entry: { status: number; otherStatuses?: readonly number[] } = ERROR_CATALOGUE[code]
    if (
      init.status !== undefined &&
      init.status !== entry.status &&
      !entry.otherStatuses?.includes(init.status)
    ) {
      throw new Error(`status ${init.status} is not catalogued for ${code}`)
    }
    this.status = init.status ?? entry.status
    this.source = init.source === undefined ? null : init.source
    this.headers = init.headers ?? {}
  }
}

/**
 * Adapty's endpoints use three envelope shapes: `fields` (`errors: [{source, errors: [...]}]`, most
 * endpoints), `flat` (`errors: ["..."]`, Refund Saver and integration identifiers) and `jsonapi`
 * (`errors: [{detail, source: {pointer}, status: "400"}]`, Stripe validation).
 */
export type ErrorStyle = 'fields' | 'flat' | 'jsonapi'

export interface FieldsErrorBody {
  errors: { source: ErrorSource; errors: string[] }[]
  error_code: string
  status_code: number
}

export interface FlatErrorBody {
  errors: string[]
  error_code: string
  status_code: number
}

export interface JsonApiErrorBody {
  errors: { detail: string; source: { pointer: string }; status: string; code: string }[]
}

/** `data.attributes.stripe_token` becomes the JSON pointer `/data/attributes/stripe_token`; the whole document is ``. */
function jsonPointer(source: ErrorSource): string {
  if (source === null || source === 'non_field_errors') return ''
  return `/${source.split('.').join('/')}`
}

export function errorBody(
  error: AppError,
  style: ErrorStyle,
): FieldsErrorBody | FlatErrorBody | JsonApiErrorBody {
  if (style === 'jsonapi') {
    return {
      errors: [
        {
          detail: error.message,
          source: { pointer: jsonPointer(error.source) },
          status: String(error.status),
          code: error.code,
        },
      ],
    }
  }
  if (style === 'flat') {
    const text =
      error.source && error.source !== 'non_field_errors'
        ? `${error.source}: ${error.message}`
        : error.message
    return { errors: [text], error_code: error.code, status_code: error.status }
  }
  return {
    errors: [{ source: error.source, errors: [error.message] }],
    error_code: error.code,
    status_code: error.status,
  }
}
