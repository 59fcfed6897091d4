import { type Static, Type } from 'typebox'

export const PRODUCT_TYPES = ['subscription', 'one_time', 'consumable'] as const
export type ProductType = (typeof PRODUCT_TYPES)[number]

export const PERIODS = ['P1W', 'P1M', 'P3M', 'P6M', 'P1Y'] as const
export type Period = (typeof PERIODS)[number]

/** The stores Entitle knows by name; any other id matching STORE_PATTERN is a custom store. */
export const KNOWN_STORES = ['app_store', 'play_store', 'stripe', 'paddle'] as const

export const PRODUCT_ID_PATTERN = '^[A-Za-z0-9._-]+$'
export const PRODUCT_ID_MAX_LENGTH = 128
export const STORE_PATTERN = '^[A-Za-z0-9._-]+$'
export const STORE_MAX_LENGTH = 64
export const STORE_PRODUCT_ID_MAX_LENGTH = 255
export const MAX_STORE_PRODUCTS = 50

const DateTime = Type.String({ format: 'date-time' })

const ProductId = Type.String({
  minLength: 1,
  maxLength: PRODUCT_ID_MAX_LENGTH,
  pattern: PRODUCT_ID_PATTERN,
  description: 'Your own id of the product, unique per app: up to 128 letters, digits, `-`, `.` and `_`',
})

const AccessLevelId = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'The access level the product grants; it must exist in the app',
})

const ProductTypeSchema = Type.Unsafe<ProductType>({
  type: 'string',
  enum: [...PRODUCT_TYPES],
  description: '`subscription` (needs a period), `one_time` or `consumable` (no period)',
})

const PeriodSchema = Type.Unsafe<Period | null>({
  type: ['string', 'null'],
  enum: [...PERIODS, null],
  description: 'ISO 8601 duration of one subscription period; null for one_time and consumable products',
})

export const StoreProductSchema = Type.Object({
  store: Type.String({
    minLength: 1,
    maxLength: STORE_MAX_LENGTH,
    pattern: STORE_PATTERN,
    description: `\`${KNOWN_STORES.join('`, `')}\`, or the id of a custom store: up to 64 letters, digits, \`-\`, \`.\` and \`_\``,
  }),
  store_product_id: Type.String({
    minLength: 1,
    maxLength: STORE_PRODUCT_ID_MAX_LENGTH,
    pattern: '^\\S+$',
    description: "The product's id in that store (no spaces); one store product belongs to one product",
  }),
})

const StoreProducts = Type.Array(StoreProductSchema, {
  maxItems: MAX_STORE_PRODUCTS,
  description: 'The store products this product stands for; each store + store_product_id at most once',
})

export const CreateProductBody = Type.Object({
  product_id: ProductId,
  access_level_id: AccessLevelId,
  type: ProductTypeSchema,
  period: Type.Optional(PeriodSchema),
  store_products: Type.Optional(StoreProducts),
})

export const UpdateProductBody = Type.Object({
  access_level_id: Type.Optional(AccessLevelId),
  type: Type.Optional(ProductTypeSchema),
  period: Type.Optional(PeriodSchema),
  store_products: Type.Optional(
    Type.Array(StoreProductSchema, {
      maxItems: MAX_STORE_PRODUCTS,
      description: "Replaces the product's store products when sent",
    }),
  ),
})

export const ProductResponse = Type.Object({
  product_id: Type.String(),
  access_level_id: Type.String(),
  type: ProductTypeSchema,
  period: PeriodSchema,
  store_products: Type.Array(StoreProductSchema),
  created_at: DateTime,
  updated_at: DateTime,
})

export const ProductList = Type.Object({ data: Type.Array(ProductResponse) })

export const ProductParams = Type.Object({
  app_id: Type.String({ description: 'The app id (UUID)' }),
  product_id: Type.String({ description: 'Your product_id' }),
})

export type CreateProductInput = Static<typeof CreateProductBody>
export type UpdateProductInput = Static<typeof UpdateProductBody>
export type StoreProductInput = Static<typeof StoreProductSchema>
