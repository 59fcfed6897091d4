import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.ts'
import { errorResponses, sendEmpty } from '../../http/common-schemas.ts'
import { AppIdParams } from '../apps/apps.schemas.ts'
import {
  CreateProductBody,
  type CreateProductInput,
  ProductList,
  ProductParams,
  ProductResponse,
  type StoreProductInput,
  UpdateProductBody,
  type UpdateProductInput,
} from './catalog.schemas.ts'
import type { CatalogFailure, CatalogService, NewProduct, ProductChanges } from './catalog.service.ts'
import { productView } from './catalog.views.ts'

const TAGS = ['Admin: catalog']
const SECURITY = [{ adminToken: [] }]
const READ = [401, 404, 500, 503] as const
const WRITE = [400, 401, 404, 409, 413, 415, 500, 503] as const

export function catalogFailure(failure: CatalogFailure): AppError {
  return new AppError(failure.code, failure.message, { source: failure.source })
}

const storeProductKeys = (list: StoreProductInput[]) =>
  list.map((item) => ({ store: item.store, storeProductId: item.store_product_id }))

/** The service's input from a create body (the CLI builds the same body). */
export function newProductFrom(body: CreateProductInput): NewProduct {
  return {
    productId: body.product_id,
    accessLevelId: body.access_level_id,
    type: body.type,
    period: body.period ?? null,
    storeProducts: storeProductKeys(body.store_products ?? []),
  }
}

export function productChangesFrom(body: UpdateProductInput): ProductChanges {
  const changes: ProductChanges = {}
  if (body.access_level_id !== undefined) changes.accessLevelId = body.access_level_id
  if (body.type !== undefined) changes.type = body.type
  if (body.period !== undefined) changes.period = body.period
  if (body.store_products !== undefined) changes.storeProducts = storeProductKeys(body.store_products)
  return changes
}

export function catalogRoutes({ service }: { service: CatalogService }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/apps/:app_id/products',
      {
        schema: {
          operationId: 'adminCreateProduct',
          summary: 'Add a product',
          description:
            'A product grants its access level to whoever buys one of its store products. A subscription needs ' +
            'a period; one_time and consumable products have none. 409 `product_exists` when the app has the ' +
            'product_id, `store_product_taken` when another product has one of the store products.',
          tags: TAGS,
          security: SECURITY,
          params: AppIdParams,
          body: CreateProductBody,
          response: { 201: ProductResponse, ...errorResponses('fields', WRITE) },
        },
      },
      async (request, reply) => {
        const result = await service.createProduct(request.params.app_id, newProductFrom(request.body))
        if (!result.ok) throw catalogFailure(result.error)
        return reply.code(201).send(productView(result.value))
      },
    )

    app.get(
      '/apps/:app_id/products',
      {
        schema: {
          operationId: 'adminListProducts',
          summary: 'List products',
          tags: TAGS,
          security: SECURITY,
          params: AppIdParams,
          response: { 200: ProductList, ...errorResponses('fields', READ) },
        },
      },
      async (request) => {
        const result = await service.listProducts(request.params.app_id)
        if (!result.ok) throw catalogFailure(result.error)
        return { data: result.value.map(productView) }
      },
    )

    app.get(
      '/apps/:app_id/products/:product_id',
      {
        schema: {
          operationId: 'adminGetProduct',
          summary: 'Get a product',
          tags: TAGS,
          security: SECURITY,
          params: ProductParams,
          response: { 200: ProductResponse, ...errorResponses('fields', READ) },
        },
      },
      async (request) => {
        const result = await service.getProduct(request.params.app_id, request.params.product_id)
        if (!result.ok) throw catalogFailure(result.error)
        return productView(result.value)
      },
    )

    app.patch(
      '/apps/:app_id/products/:product_id',
      {
        schema: {
          operationId: 'adminUpdateProduct',
          summary: 'Change a product',
          description:
            'Fields not sent stay as they are; `store_products` replaces the whole list. A product that ' +
            'stops being a subscription loses its period.',
          tags: TAGS,
          security: SECURITY,
          params: ProductParams,
          body: UpdateProductBody,
          response: { 200: ProductResponse, ...errorResponses('fields', WRITE) },
        },
      },
      async (request) => {
        const result = await service.updateProduct(
          request.params.app_id,
          request.params.product_id,
          productChangesFrom(request.body),
        )
        if (!result.ok) throw catalogFailure(result.error)
        return productView(result.value)
      },
    )

    app.delete(
      '/apps/:app_id/products/:product_id',
      {
        schema: {
          operationId: 'adminDeleteProduct',
          summary: 'Delete a product',
          description: 'Its store products are released, so other products of the app may claim them.',
          tags: TAGS,
          security: SECURITY,
          params: ProductParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses('fields', READ) },
        },
      },
      async (request, reply) => {
        const result = await service.deleteProduct(request.params.app_id, request.params.product_id)
        if (!result.ok) throw catalogFailure(result.error)
        return sendEmpty(reply, 204)
      },
    )
  }
}
