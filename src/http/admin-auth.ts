import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.ts'
import type { OperatorService } from '../modules/operator/operator.service.ts'

/** onRequest hook for /admin: `Authorization: Bearer <ADMIN_TOKEN>`. */
export function adminAuthHook(tokens: Pick<OperatorService, 'verifyAdminToken'>) {
  return async (request: FastifyRequest): Promise<void> => {
    const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')
    const token = match?.[1]
    if (!token || token.length > 200 || !(await tokens.verifyAdminToken(token))) {
      throw new AppError(
        'not_authenticated',
        'A valid admin token is required: Authorization: Bearer <ADMIN_TOKEN>.',
        {
          source: 'non_field_errors',
        },
      )
    }
  }
}
