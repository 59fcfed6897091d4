import { AppError } from '../../errors.ts'
import { type Identification, readIdentification } from './profile-identity.ts'
import type { ProfileWriteFailure } from './profiles.service.ts'

export const IDENTIFICATION_REQUIRED =
  'Either the adapty-profile-id or the adapty-customer-user-id header is required.'

/** The identification headers of a request, or the 400 every profile-scoped endpoint answers without them. */
export function requireIdentification(headers: Parameters<typeof readIdentification>[0]): Identification {
  const read = readIdentification(headers)
  if (!read.ok)
    throw new AppError('validation_error', IDENTIFICATION_REQUIRED, { source: 'non_field_errors' })
  return read.value
}

/**
 * Maps a failure that any profile-scoped endpoint can meet. `notFound` is the endpoint's own answer for a
 * missing profile, which Adapty's contract varies by endpoint family.
 */
export function profileFailureError(failure: ProfileWriteFailure, notFound: () => AppError): AppError {
  switch (failure.kind) {
    case 'profile_not_found':
      return notFound()
    case 'customer_user_id_mismatch':
      return new AppError(
        'validation_error',
        'Does not match the customer user id of the profile given by adapty-profile-id.',
        { source: 'adapty-customer-user-id' },
      )
    case 'customer_user_id_taken':
      return new AppError(
        'validation_error',
        'Another profile of this app already has this customer user id.',
        {
          source: 'adapty-customer-user-id',
        },
      )
    case 'invalid_custom_attributes':
      return new AppError('validation_error', failure.message, { source: failure.source })
  }
}
