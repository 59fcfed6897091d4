import { parseArgs } from 'node:util'
import { type Config, parseConfig } from '../config.ts'
import { DataDirLockedError } from '../db/data-dir-lock.ts'
import { databaseTargetFrom } from '../db/database-target.ts'
import { openDatabase } from '../db/open-database.ts'
import { isDatabaseUnavailable } from '../db/transaction.ts'
import { serve } from '../server.ts'
import { createServices } from '../services.ts'
import { UsageError } from './command-support.ts'
import { COMMANDS, USAGE } from './commands.ts'

function loadConfig(): Config {
  const parsed = parseConfig(process.env)
  if (parsed.ok) return parsed.config
  process.stderr.write(
    `Invalid configuration:\n${parsed.problems.map((problem) => `  ${problem}`).join('\n')}\n`,
  )
  process.exit(1)
}

/** Runs one command line; answers the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const [group = 'serve', action, ...rest] = positionals
  const config = loadConfig()
  try {
    if (group === 'serve') {
      await serve(config)
      return -1 // keep running
    }
    const database = await openDatabase(databaseTargetFrom(config))
    try {
      await database.migrate()
      if (group === 'migrate') {
        process.stdout.write(
          values.json ? '{"migrated":true}\n' : `Migrations applied (${database.description}).\n`,
        )
        return 0
      }
      const command = COMMANDS[`${group} ${action ?? ''}`]
      if (!command) throw new UsageError(`unknown command: ${[group, action].filter(Boolean).join(' ')}`)
      const outcome = await command(createServices(database, { config }), config, {
        positionals: rest,
        name: values.name,
        rateLimit: values['rate-limit'],
        sharingMode: values['sharing-mode'],
        sandboxSharingMode: values['sandbox-sharing-mode'],
        accessLevel: values['access-level'],
        type: values.type,
        period: values.period,
        storeProducts: values['store-product'],
        url: values.url,
        authorization: values.authorization,
        events: values.events,
        eventNames: values['event-name'],
        sendUserAttributes: values['send-user-attributes'],
        sendTrialPrice: values['send-trial-price'],
        overlapSeconds: values['overlap-seconds'],
        eventId: values['event-id'],
        status: values.status,
        after: values.after,
        limit: values.limit,
        from: values.from,
        to: values.to,
        environment: values.environment,
      })
      if (!outcome.ok) {
        process.stderr.write(`${outcome.error.message}\n`)
        return 1
      }
      process.stdout.write(
        `${values.json ? JSON.stringify(outcome.value.json, null, 2) : outcome.value.text}\n`,
      )
      return 0
    } finally {
      await database.close()
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`)
      return 2
    }
    if (error instanceof DataDirLockedError) {
      process.stderr.write(`${error.message}\n`)
      return 1
    }
    if (isDatabaseUnavailable(error)) {
      process.stderr.write(
        `The database is not reachable: ${(error as Error).message}. Check DATABASE_URL and that PostgreSQL runs.\n`,
      )
      return 1
    }
    throw error
  }
}

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  'rate-limit': { type: 'string' },
  'sharing-mode': { type: 'string' },
  'sandbox-sharing-mode': { type: 'string' },
  'access-level': { type: 'string' },
  type: { type: 'string' },
  period: { type: 'string' },
  'store-product': { type: 'string', multiple: true },
  url: { type: 'string' },
  authorization: { type: 'string' },
  events: { type: 'string' },
  'event-name': { type: 'string', multiple: true },
  'send-user-attributes': { type: 'boolean' },
  'send-trial-price': { type: 'boolean' },
  'overlap-seconds': { type: 'string' },
  'event-id': { type: 'string' },
  status: { type: 'string' },
  after: { type: 'string' },
  limit: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  environment: { type: 'string' },
} as const
