import Fastify from 'fastify'

/**
 * The baseline for `npm run bench`: a Fastify server with no plugins, hooks, schemas or database, answering
 * a fixed JSON body. The bench gives it the real response body of the scenario it is compared with, so both
 * sides send the same bytes and the ratio isolates what Entitle adds (auth, validation, database, views).
 *
 * Env: PORT, HOST, BENCH_BARE_PATH (the route, same as the real one so request lines match),
 * BENCH_BARE_BODY (the exact body text to send).
 */
const body = process.env.BENCH_BARE_BODY
const path = process.env.BENCH_BARE_PATH
if (!body || !path) {
  process.stderr.write('bare-server: BENCH_BARE_BODY and BENCH_BARE_PATH are required\n')
  process.exit(2)
}

const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true } })

// A pre-serialized string: the cheapest way Fastify can send this body, i.e. the upper bound for the route.
app.get(path, async (_request, reply) => reply.type('application/json; charset=utf-8').send(body))
app.get('/health', async () => ({ status: 'ok' }))

const shutdown = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' })
