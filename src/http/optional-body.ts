import type { FastifyRequest } from 'fastify'

/**
 * preValidation hook for endpoints whose body Adapty treats as optional (create profile is documented with
 * headers only): no body validates as an empty object.
 */
export async function absentBodyIsEmptyObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {}
}
