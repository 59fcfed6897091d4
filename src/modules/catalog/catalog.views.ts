import type { CatalogProduct } from './catalog.repository.ts'
import type { Period, ProductType } from './catalog.schemas.ts'

// The JSON shape of a product in the admin API, shared by its routes and the CLI's --json output.

export const productView = ({ product, storeProducts }: CatalogProduct) => ({
  product_id: product.productId,
  access_level_id: product.accessLevelId,
  type: product.type as ProductType,
  period: product.period as Period | null,
  store_products: storeProducts.map((key) => ({ store: key.store, store_product_id: key.storeProductId })),
  created_at: product.createdAt.toISOString(),
  updated_at: product.updatedAt.toISOString(),
})

export type ProductView = ReturnType<typeof productView>
