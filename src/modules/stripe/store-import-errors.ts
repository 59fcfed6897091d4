import { AppError } from '../../errors.ts'
import type { ImportFailure, NoProductsFound } from './store-import.ts'

/** A store that did not answer usefully: `not_found` is the endpoint's own error, the rest is 502. */
export function storeFetchError(
  failure: 'not_found' | 'unavailable',
  storeName: string,
  notFound: AppError,
): AppError {
  if (failure === 'not_found') return notFound
  return new AppError(
    'store_api_unavailable',
    `${storeName} did not answer in time or answered with an error; nothing was imported. Retry later.`,
  )
}

/** The catalog lacks a product of the purchase, or the purchase has nothing paid to import. */
export function noProductsError(failure: NoProductsFound, store: string, nothingPaid: string): AppError {
  return new AppError(
    'no_products_found',
    failure.unknown.length > 0
      ? `No products found for purchase: add ${failure.unknown.join(', ')} to the catalog under store ${store}.`
      : `No products found for purchase: ${nothingPaid}.`,
    { source: 'non_field_errors' },
  )
}

/** Failures of writing an import that the client can act on; none of them is expected in practice. */
export function importFailureError(failure: ImportFailure): AppError {
  switch (failure.kind) {
    case 'original_transaction_mismatch':
      return new AppError(
        'validation_error',
        `A transaction of this purchase is already recorded under \`${failure.recordedUnder}\`.`,
        { source: 'non_field_errors' },
      )
    case 'customer_user_id_taken':
    case 'customer_user_id_mismatch':
    case 'profile_not_found':
      // The profile was deleted or renamed while the import ran.
      return new AppError(
        'validation_error',
        'The profile of this customer_user_id changed during the import; retry.',
        { source: 'non_field_errors' },
      )
    case 'paid_access_level_does_not_exist':
    case 'profile_paid_access_level_does_not_exist':
    case 'revocation_date_more_than_expiration_date':
    case 'value_error':
      throw new Error(`a store import cannot fail with ${failure.kind}`)
  }
}
