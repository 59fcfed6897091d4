import { Type } from 'typebox'
import { Nullable, NullableString } from '../../http/common-schemas.ts'
import { MAX_IMPORT_TOKENS } from './stripe-imports.service.ts'

export const ImportsParams = Type.Object({ app_id: Type.String({ description: 'The app id (UUID)' }) })

export const ImportParams = Type.Object({
  app_id: Type.String({ description: 'The app id (UUID)' }),
  import_id: Type.String({ description: 'The import id (UUID)' }),
})

export const StartImportBody = Type.Object({
  customer_user_id: Type.String({
    minLength: 1,
    maxLength: 255,
    description:
      'Your id of the user whose profile receives the purchases; the profile is created if missing',
  }),
  stripe_customer_id: Type.Optional(
    Nullable(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: 'A Stripe customer (`cus_…`): every subscription and one-time payment of it is imported',
      }),
    ),
  ),
  tokens: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
      maxItems: MAX_IMPORT_TOKENS,
      description: 'Or the purchases to import: subscription (`sub_…`) and payment intent (`pi_…`) ids',
    }),
  ),
})

const PurchaseResult = Type.Object({
  token: Type.String({ description: 'The subscription or payment intent' }),
  outcome: Type.Union([Type.Literal('imported'), Type.Literal('no_products_found'), Type.Literal('failed')], {
    description:
      '`imported` (written, or already up to date), `no_products_found` (skipped: the catalog lacks its product), `failed`',
  }),
  message: NullableString({ description: 'Why it was skipped or failed' }),
})

export const ImportResponse = Type.Object({
  id: Type.String(),
  status: Type.Union(
    [Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')],
    { description: '`failed`: Stripe could not be read, or at least one purchase could not be imported' },
  ),
  customer_user_id: Type.String(),
  stripe_customer_id: NullableString({}),
  tokens: Type.Array(Type.String(), { description: 'The purchases asked for; empty for a whole customer' }),
  total: Nullable(Type.Integer({ description: 'Purchases found to import; null until they are listed' })),
  done: Type.Integer({ description: 'Purchases handled so far' }),
  results: Type.Array(PurchaseResult, { description: 'One per purchase handled, in order' }),
  error: NullableString({ description: 'Why the import failed' }),
  attempts: Type.Integer({ description: 'Runs so far (a run that stopped half-way is run again)' }),
  created_at: Type.String({ format: 'date-time' }),
  started_at: NullableString({ format: 'date-time' }),
  finished_at: NullableString({ format: 'date-time' }),
})

export const ImportListResponse = Type.Object({ data: Type.Array(ImportResponse) })

export const ImportListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
})
