import type { ValidateFunction } from 'ajv'
import type { FastifyInstance } from 'fastify'
import { compileResponseValidator } from './validation.ts'

/**
 * Test-mode guard: every reply must match the schema its route declares for that status, and every status
 * a route answers with must be declared. A mismatch fails the request (500), so the suite catches drift
 * between the contract and the handlers.
 */
export function enforceResponseSchemas(app: FastifyInstance): void {
  const compiled = new WeakMap<object, ValidateFunction>()
  app.addHook('onSend', async (request, reply, payload) => {
    const responses = request.routeOptions.schema?.response as Record<string, object> | undefined
    if (!responses || (payload !== undefined && payload !== null && typeof payload !== 'string'))
      return payload
    const schema = responses[String(reply.statusCode)]
    const where = `${request.method} ${request.routeOptions.url} answered ${reply.statusCode}`
    if (!schema) throw new Error(`${where}, a status its schema does not declare`)
    let validate = compiled.get(schema)
    if (!validate) {
      validate = compileResponseValidator(schema)
      compiled.set(schema, validate)
    }
    const body = payload === undefined || payload === null || payload === '' ? null : JSON.parse(payload)
    if (!validate(body))
      throw new Error(`${where} with a body that breaks its schema: ${JSON.stringify(validate.errors)}`)
    return payload
  })
}
