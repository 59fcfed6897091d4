import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  PERIODS,
  type Period,
  PRODUCT_ID_MAX_LENGTH,
  PRODUCT_ID_PATTERN,
  PRODUCT_TYPES,
  type ProductType,
  STORE_MAX_LENGTH,
  STORE_PATTERN,
  STORE_PRODUCT_ID_MAX_LENGTH,
} from '../catalog/catalog.schemas.ts'
import type { CatalogFailure, NewProduct } from '../catalog/catalog.service.ts'
import type { DashboardDeps, DashboardRequestTools, FormBody } from './dashboard.routes.tsx'
import { noticeFrom } from './dashboard-apps.routes.tsx'
import { CatalogPage, type ProductFormValues, ProductPage, storeProductsText } from './pages/catalog-page.tsx'
import type { FieldErrors } from './pages/layout.tsx'

/** Access levels and products: the same rules as the admin API, with each message next to its field. */

const HIDDEN = { schema: { hide: true } }
const ID_PATTERN = new RegExp(PRODUCT_ID_PATTERN)
const STORE_ID_PATTERN = new RegExp(STORE_PATTERN)

const NOTICES = {
  level_added: { kind: 'success' as const, text: 'Access level added.' },
  level_deleted: { kind: 'success' as const, text: 'Access level deleted.' },
  access_level_in_use: {
    kind: 'error' as const,
    text: 'A product grants this access level: change or delete the product first.',
  },
  access_level_not_found: { kind: 'error' as const, text: 'That access level no longer exists.' },
  access_level_protected: { kind: 'error' as const, text: 'premium is every app’s default level; it stays.' },
  product_added: { kind: 'success' as const, text: 'Product added.' },
  product_saved: { kind: 'success' as const, text: 'Product saved.' },
  product_deleted: { kind: 'success' as const, text: 'Product deleted.' },
  product_not_found: { kind: 'error' as const, text: 'That product no longer exists.' },
}

const formValues = (form: FormBody): ProductFormValues => ({
  product_id: (form.product_id ?? '').trim(),
  access_level_id: form.access_level_id ?? '',
  type: form.type ?? '',
  period: form.period ?? '',
  store_products: form.store_products ?? '',
})

/** The product a form describes, or the message for each field that is wrong. */
function readProduct(values: ProductFormValues): { product: NewProduct } | { errors: FieldErrors } {
  const errors: FieldErrors = {}
  if (!ID_PATTERN.test(values.product_id) || values.product_id.length > PRODUCT_ID_MAX_LENGTH)
    errors.product_id = `Up to ${PRODUCT_ID_MAX_LENGTH} letters, digits, - . and _.`
  if (!PRODUCT_TYPES.includes(values.type as ProductType)) errors.type = `One of ${PRODUCT_TYPES.join(', ')}.`
  if (values.period !== '' && !PERIODS.includes(values.period as Period)) errors.period = 'Choose a period.'
  if (values.access_level_id === '') errors.access_level_id = 'Choose an access level.'
  const storeProducts: NewProduct['storeProducts'] = []
  for (const [index, line] of values.store_products.split(/\r?\n/).entries()) {
    const text = line.trim()
    if (text === '') continue
    const at = text.indexOf(':')
    const store = text.slice(0, at)
    const storeProductId = text.slice(at + 1)
    if (
      at <= 0 ||
      !STORE_ID_PATTERN.test(store) ||
      store.length > STORE_MAX_LENGTH ||
      storeProductId === '' ||
      /\s/.test(storeProductId) ||
      storeProductId.length > STORE_PRODUCT_ID_MAX_LENGTH
    ) {
      errors.store_products = `Line ${index + 1}: write store:store_product_id, for example app_store:com.example.monthly.`
      break
    }
    storeProducts.push({ store, storeProductId })
  }
  if (Object.keys(errors).length > 0) return { errors }
  return {
    product: {
      productId: values.product_id,
      accessLevelId: values.access_level_id,
      type: values.type as ProductType,
      period: values.period === '' ? null : (values.period as Period),
      storeProducts,
    },
  }
}

const failureErrors = (failure: CatalogFailure): FieldErrors => ({
  [(failure.source ?? 'product_id').split('.')[0] as string]: failure.message,
})

export function dashboardCatalogRoutes(deps: DashboardDeps & { tools: DashboardRequestTools }) {
  const { tools } = deps
  const { context, notFound } = tools
  const params = (request: FastifyRequest) =>
    request.params as { appId: string; levelId?: string; productId?: string }

  async function catalogPage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Partial<Parameters<typeof CatalogPage>[0]> = {},
    status = 200,
  ) {
    const { appId } = params(request)
    const [found, levels, products] = await Promise.all([
      deps.apps.getApp(appId),
      deps.apps.listAccessLevels(appId),
      deps.catalog.listProducts(appId),
    ])
    if (!found.ok || !levels.ok || !products.ok) return notFound(request, reply)
    return tools.html(
      reply,
      <CatalogPage
        context={context(request)}
        app={found.value.app}
        accessLevels={levels.value}
        products={products.value}
        notice={noticeFrom(request, NOTICES)}
        {...extra}
      />,
      status,
    )
  }

  async function productPage(
    request: FastifyRequest,
    reply: FastifyReply,
    values: ProductFormValues,
    extra: { errors?: FieldErrors; notice?: { kind: 'success' | 'error'; text: string } },
    status = 200,
  ) {
    const { appId } = params(request)
    const [found, levels] = await Promise.all([deps.apps.getApp(appId), deps.apps.listAccessLevels(appId)])
    if (!found.ok || !levels.ok) return notFound(request, reply)
    return tools.html(
      reply,
      <ProductPage
        context={context(request)}
        app={found.value.app}
        accessLevels={levels.value}
        values={values}
        {...extra}
      />,
      status,
    )
  }

  return async (app: FastifyInstance): Promise<void> => {
    const base = (appId: string) => `/dashboard/apps/${appId}/catalog`

    app.get('/dashboard/apps/:appId/catalog', HIDDEN, (request, reply) => catalogPage(request, reply))

    app.post('/dashboard/apps/:appId/catalog/access-levels', HIDDEN, async (request, reply) => {
      const { appId } = params(request)
      const id = (tools.form(request).level_id ?? '').trim()
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
        const levelErrors = { level_id: 'Up to 64 letters, digits, - . and _.' }
        return catalogPage(request, reply, { levelErrors, levelValue: id }, 400)
      }
      const added = await deps.apps.addAccessLevel(appId, id)
      if (added.ok) return reply.redirect(`${base(appId)}?notice=level_added`, 303)
      if (added.error === 'app_not_found') return notFound(request, reply)
      const levelErrors = { level_id: 'This app already has an access level with this id.' }
      return catalogPage(request, reply, { levelErrors, levelValue: id }, 409)
    })

    app.post(
      '/dashboard/apps/:appId/catalog/access-levels/:levelId/delete',
      HIDDEN,
      async (request, reply) => {
        const { appId, levelId } = params(request)
        const deleted = await deps.apps.deleteAccessLevel(appId, levelId ?? '')
        if (!deleted.ok && deleted.error === 'app_not_found') return notFound(request, reply)
        return reply.redirect(`${base(appId)}?notice=${deleted.ok ? 'level_deleted' : deleted.error}`, 303)
      },
    )

    app.post('/dashboard/apps/:appId/catalog/products', HIDDEN, async (request, reply) => {
      const { appId } = params(request)
      const values = formValues(tools.form(request))
      const read = readProduct(values)
      if ('errors' in read)
        return catalogPage(request, reply, { productErrors: read.errors, productValues: values }, 400)
      const created = await deps.catalog.createProduct(appId, read.product)
      if (created.ok) return reply.redirect(`${base(appId)}?notice=product_added`, 303)
      if (created.error.code === 'app_not_found') return notFound(request, reply)
      const status = created.error.code === 'validation_error' ? 400 : 409
      return catalogPage(
        request,
        reply,
        { productErrors: failureErrors(created.error), productValues: values },
        status,
      )
    })

    app.get('/dashboard/apps/:appId/catalog/products/:productId', HIDDEN, async (request, reply) => {
      const { appId, productId } = params(request)
      const found = await deps.catalog.getProduct(appId, productId ?? '')
      if (!found.ok) return notFound(request, reply, found.error.code === 'app_not_found' ? 'app' : 'product')
      const { product } = found.value
      return productPage(
        request,
        reply,
        {
          product_id: product.productId,
          access_level_id: product.accessLevelId,
          type: product.type,
          period: product.period ?? '',
          store_products: storeProductsText(found.value),
        },
        { notice: noticeFrom(request, NOTICES) },
      )
    })

    app.post('/dashboard/apps/:appId/catalog/products/:productId', HIDDEN, async (request, reply) => {
      const { appId, productId } = params(request)
      const values = { ...formValues(tools.form(request)), product_id: productId ?? '' }
      const read = readProduct(values)
      if ('errors' in read) return productPage(request, reply, values, { errors: read.errors }, 400)
      const { productId: _id, ...changes } = read.product
      const saved = await deps.catalog.updateProduct(appId, productId ?? '', changes)
      if (saved.ok) {
        return reply.redirect(
          `${base(appId)}/products/${encodeURIComponent(productId ?? '')}?notice=product_saved`,
          303,
        )
      }
      if (saved.error.code === 'app_not_found' || saved.error.code === 'product_not_found') {
        return notFound(request, reply, saved.error.code === 'app_not_found' ? 'app' : 'product')
      }
      const status = saved.error.code === 'validation_error' ? 400 : 409
      return productPage(request, reply, values, { errors: failureErrors(saved.error) }, status)
    })

    app.post('/dashboard/apps/:appId/catalog/products/:productId/delete', HIDDEN, async (request, reply) => {
      const { appId, productId } = params(request)
      const deleted = await deps.catalog.deleteProduct(appId, productId ?? '')
      if (!deleted.ok && deleted.error.code === 'app_not_found') return notFound(request, reply)
      return reply.redirect(
        `${base(appId)}?notice=${deleted.ok ? 'product_deleted' : deleted.error.code}`,
        303,
      )
    })
  }
}
