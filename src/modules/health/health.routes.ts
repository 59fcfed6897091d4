import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

/**
 * `GET /health`: 200 once migrations are applied and the database answers, 503 otherwise (and while the
 * server is shutting down), so a load balancer stops sending traffic before connections close.
 */
export function healthRoutes({ isReady }: { isReady: () => Promise<boolean> }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/health',
      {
        schema: {
          operationId: 'health',
          summary: 'Readiness',
          tags: ['Operations'],
          response: {
            200: Type.Object({ status: Type.Literal('ok') }),
            503: Type.Object({ status: Type.Literal('unavailable') }),
          },
        },
      },
      async (_request, reply) =>
        (await isReady())
          ? { status: 'ok' as const }
          : reply.code(503).send({ status: 'unavailable' as const }),
    )
  }
}
