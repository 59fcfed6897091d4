import type { AccessLevelRow, AppRow } from '../../apps/apps.repository.ts'
import type { CatalogProduct } from '../../catalog/catalog.repository.ts'
import { PERIODS, PRODUCT_TYPES } from '../../catalog/catalog.schemas.ts'
import {
  DeleteInRow,
  Field,
  type FieldErrors,
  Notice,
  Page,
  type PageContext,
  PostForm,
  Select,
  Table,
} from './layout.tsx'

/** What the product form shows: what was typed, so a refused form comes back as it was sent. */
export interface ProductFormValues {
  product_id: string
  access_level_id: string
  type: string
  period: string
  store_products: string
}

export const storeProductsText = (product: CatalogProduct) =>
  product.storeProducts.map((key) => `${key.store}:${key.storeProductId}`).join('\n')

export function CatalogPage(props: {
  context: PageContext
  app: AppRow
  accessLevels: AccessLevelRow[]
  products: CatalogProduct[]
  notice?: { kind: 'success' | 'error'; text: string }
  levelErrors?: FieldErrors
  levelValue?: string
  productErrors?: FieldErrors
  productValues?: ProductFormValues
}) {
  const { app } = props
  const base = `/dashboard/apps/${app.id}/catalog`
  return (
    <Page title="Catalog" context={props.context} app={{ id: app.id, name: app.name, section: 'catalog' }}>
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      <section aria-labelledby="levels">
        <h2 id="levels">Access levels</h2>
        <ul class="chips">
          {props.accessLevels.map((level) => (
            <li>
              <code>{level.id}</code>
              {level.id !== 'premium' && (
                <PostForm
                  action={`${base}/access-levels/${encodeURIComponent(level.id)}/delete`}
                  context={props.context}
                  confirm={`Delete the access level ${level.id}?`}
                  class="inline"
                  label={`Delete the access level ${level.id}`}
                >
                  <button type="submit" class="link danger">
                    Delete
                  </button>
                </PostForm>
              )}
            </li>
          ))}
        </ul>
        <PostForm action={`${base}/access-levels`} context={props.context} label="New access level">
          <Field
            name="level_id"
            label="New access level id"
            required
            value={props.levelValue}
            errors={props.levelErrors}
          />
          <button type="submit">Add the access level</button>
        </PostForm>
      </section>
      <section aria-labelledby="products">
        <h2 id="products">Products</h2>
        {props.products.length === 0 ? (
          <p>No products yet: transactions of unknown products grant premium.</p>
        ) : (
          <Table headers={['Product', 'Access level', 'Type', 'Store products', '']}>
            {props.products.map(({ product, storeProducts }) => (
              <tr>
                <td>
                  <a href={`${base}/products/${encodeURIComponent(product.productId)}`}>
                    {product.productId}
                  </a>
                </td>
                <td>{product.accessLevelId}</td>
                <td>
                  {product.type}
                  {product.period ? ` (${product.period})` : ''}
                </td>
                <td>
                  {storeProducts.map((key) => (
                    <div>
                      <code>{`${key.store}:${key.storeProductId}`}</code>
                    </div>
                  ))}
                </td>
                <td>
                  <DeleteInRow
                    action={`${base}/products/${encodeURIComponent(product.productId)}/delete`}
                    context={props.context}
                    confirm={`Delete the product ${product.productId}?`}
                    label={`Delete the product ${product.productId}`}
                  />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <section aria-labelledby="new-product" class="card">
        <h2 id="new-product">New product</h2>
        <ProductForm
          action={`${base}/products`}
          context={props.context}
          accessLevels={props.accessLevels}
          values={props.productValues}
          errors={props.productErrors}
          submit="Add the product"
        />
      </section>
    </Page>
  )
}

export function ProductPage(props: {
  context: PageContext
  app: AppRow
  accessLevels: AccessLevelRow[]
  values: ProductFormValues
  errors?: FieldErrors
  notice?: { kind: 'success' | 'error'; text: string }
}) {
  const { app } = props
  const base = `/dashboard/apps/${app.id}/catalog`
  return (
    <Page
      title={`Product ${props.values.product_id}`}
      context={props.context}
      app={{ id: app.id, name: app.name, section: 'catalog' }}
    >
      {props.notice && <Notice kind={props.notice.kind}>{props.notice.text}</Notice>}
      <ProductForm
        action={`${base}/products/${encodeURIComponent(props.values.product_id)}`}
        context={props.context}
        accessLevels={props.accessLevels}
        values={props.values}
        errors={props.errors}
        submit="Save the product"
        existing
      />
      <p>
        <a href={base}>Back to the catalog</a>
      </p>
    </Page>
  )
}

function ProductForm(props: {
  action: string
  context: PageContext
  accessLevels: AccessLevelRow[]
  values?: ProductFormValues
  errors?: FieldErrors
  submit: string
  existing?: boolean
}) {
  const values = props.values
  const storeError = props.errors?.store_products
  return (
    <PostForm action={props.action} context={props.context} label={props.submit}>
      {props.existing ? (
        <input type="hidden" name="product_id" value={values?.product_id ?? ''} />
      ) : (
        <Field
          name="product_id"
          label="Product id"
          required
          value={values?.product_id}
          errors={props.errors}
          hint="Letters, digits, - . and _"
        />
      )}
      <Select
        name="access_level_id"
        label="Access level"
        options={props.accessLevels.map((level) => level.id)}
        value={values?.access_level_id ?? 'premium'}
        errors={props.errors}
      />
      <Select
        name="type"
        label="Type"
        options={PRODUCT_TYPES}
        value={values?.type ?? 'subscription'}
        errors={props.errors}
      />
      <Select
        name="period"
        label="Period (subscriptions only)"
        options={['', ...PERIODS]}
        value={values?.period ?? ''}
        errors={props.errors}
      />
      <div class={storeError ? 'field invalid' : 'field'}>
        <label for="field-store_products">Store products, one per line as store:store_product_id</label>
        <textarea
          id="field-store_products"
          name="store_products"
          rows={4}
          aria-describedby={storeError ? 'field-store_products-error' : undefined}
        >
          {values?.store_products ?? ''}
        </textarea>
        {storeError && (
          <small id="field-store_products-error" class="error" role="alert">
            {storeError}
          </small>
        )}
      </div>
      <button type="submit">{props.submit}</button>
    </PostForm>
  )
}
