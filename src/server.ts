import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { buildApp } from './app.ts'
import { bootstrap, startBanner } from './bootstrap.ts'
import type { Config } from './config.ts'
import { databaseTargetFrom } from './db/database-target.ts'
import { openDatabase } from './db/open-database.ts'
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

/** `npm start`: open the database, migrate, bootstrap, serve, and stop cleanly on SIGINT/SIGTERM. */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config)
  const database = await openDatabase(databaseTargetFrom(config))
  let shuttingDown = false
  try {
    await database.migrate()
    logger.info({ database: database.description }, 'migrations applied')
    const services = createServices(database)
    const firstStart = await bootstrap(services, config)
    const app = await buildApp({ services, config, logger, isShuttingDown: () => shuttingDown })

    closeWithGrace({ delay: 15_000, logger }, async ({ signal, err }) => {
      if (err) logger.error({ err }, 'stopping after an uncaught error')
      else logger.info({ signal }, 'stopping: finishing in-flight requests')
      shuttingDown = true
      await app.close()
      await database.close()
      logger.info('stopped cleanly')
    })

    await app.listen({ port: config.PORT, host: config.HOST })
    const address = app.server.address()
    const port = typeof address === 'object' && address ? address.port : config.PORT
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST
    const baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    process.stdout.write(`\n${startBanner(firstStart, baseUrl, database.description)}\n\n`)
  } catch (error) {
    await database.close().catch(() => {})
    throw error
  }
}
