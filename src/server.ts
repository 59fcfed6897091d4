import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp, type Phase } from './app.ts'
import { bootstrap, startBanner } from './bootstrap.ts'
import type { Config } from './config.ts'
import { databaseTargetFrom } from './db/database-target.ts'
import { openDatabase } from './db/open-database.ts'
import { startScheduler } from './modules/entitlements/scheduler.ts'
import { startEventRollupWorker } from './modules/stats/event-rollup-worker.ts'
import { startStripeImportWorker } from './modules/stripe/stripe-import-worker.ts'
import { createServices } from './services.ts'

function createLogger(config: Config) {
  // Pretty output only for a person at a terminal; machines get JSON lines (fastify/demo's rule).
  return pino({
    level: config.LOG_LEVEL,
    redact: ['req.headers.authorization'],
    ...(process.stdout.isTTY
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } }
      : {}),
  })
}

/**
 * `npm start`: open the database, listen, migrate, bootstrap, serve, and stop cleanly on SIGINT/SIGTERM.
 * The port opens before the migrations run, so /health can say 503 while they do (a deploy that waits for
 * a long migration lock is visibly "starting", not refusing connections).
 */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config)
  const database = await openDatabase(databaseTargetFrom(config))
  let phase: Phase = 'starting'
  let app: FastifyInstance | undefined
  let scheduler: ReturnType<typeof startScheduler> | undefined
  let statsRollup: ReturnType<typeof startEventRollupWorker> | undefined
  let stripeImports: ReturnType<typeof startStripeImportWorker> | undefined
  let services: ReturnType<typeof createServices> | undefined
  try {
    services = createServices(database, { config })
    const running = services
    const server = await buildApp({ services, config, logger, phase: () => phase })
    app = server

    closeWithGrace({ delay: 15_000, logger }, async ({ signal, err }) => {
      if (err) logger.error({ err }, 'stopping after an uncaught error')
      else logger.info({ signal }, 'stopping: finishing in-flight requests')
      phase = 'stopping'
      await scheduler?.stop()
      await statsRollup?.stop()
      await server.close()
      await running.webhooks.worker.stop()
      await stripeImports?.stop()
      // A request whose client went away still has its write finishing: let it, then close the database.
      await running.entitlements.drain()
      await database.close()
      logger.info('stopped cleanly')
    })

    await server.listen({ port: config.PORT, host: config.HOST })
    await database.migrate()
    logger.info({ database: database.description }, 'migrations applied')
    const firstStart = await bootstrap(running, config)
    phase = 'ready'
    scheduler = startScheduler(running.entitlements, logger)
    statsRollup = startEventRollupWorker(running.statsRollup, logger)
    running.webhooks.worker.start((err) => logger.error({ err }, 'webhook delivery failed'))
    stripeImports = startStripeImportWorker(running.stripeImports, logger)

    const address = server.server.address()
    const port = typeof address === 'object' && address ? address.port : config.PORT
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST
    const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    process.stdout.write(`\n${startBanner(firstStart, baseUrl, database.description)}\n\n`)
  } catch (error) {
    // A failed migration must not leave a port open that answers 503 forever.
    await scheduler?.stop().catch(() => {})
    await statsRollup?.stop().catch(() => {})
    await services?.webhooks.worker.stop().catch(() => {})
    await stripeImports?.stop().catch(() => {})
    await app?.close().catch(() => {})
    await database.close().catch(() => {})
    throw error
  }
}
