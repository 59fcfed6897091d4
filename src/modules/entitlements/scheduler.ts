import type { Logger } from 'pino'
import type { EntitlementsService } from './entitlements.service.ts'

/** How often each process looks for due work; an expiry is told at most this late. */
export const SCHEDULER_INTERVAL_MS = 1000

/**
 * Runs due jobs (expiries, grant starts, scheduled revokes) in the background of every server process.
 * Several processes on one PostgreSQL share the work: each job is claimed with FOR UPDATE SKIP LOCKED.
 */
export function startScheduler(service: EntitlementsService, logger: Pick<Logger, 'error'>) {
  let stopped = false
  let running: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined

  const tick = () => {
    running = (async () => {
      try {
        // A full batch means more may be due: go again at once instead of waiting a whole interval.
        while (!stopped && (await service.runDueJobs(100)) === 100) {}
      } catch (err) {
        logger.error({ err }, 'scheduled jobs failed; retrying next round')
      }
    })()
    running.finally(() => {
      if (!stopped) timer = setTimeout(tick, SCHEDULER_INTERVAL_MS)
    })
  }
  timer = setTimeout(tick, SCHEDULER_INTERVAL_MS)

  return {
    async stop(): Promise<void> {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}
