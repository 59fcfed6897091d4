import type { Logger } from 'pino'
import { startBackgroundLoop } from '../../platform/background-loop.ts'
import type { EntitlementsService } from './entitlements.service.ts'

/** How often each process looks for due work; an expiry is told at most this late. */
export const SCHEDULER_INTERVAL_MS = 1000

/**
 * Runs due jobs (expiries, grant starts, scheduled revokes) in the background of every server process.
 * Several processes on one PostgreSQL share the work: each job is claimed with FOR UPDATE SKIP LOCKED.
 */
export function startScheduler(service: EntitlementsService, logger: Pick<Logger, 'error'>) {
  return startBackgroundLoop({
    intervalMs: SCHEDULER_INTERVAL_MS,
    // A full batch means more may be due: go again at once instead of waiting a whole interval.
    round: async () => (await service.runDueJobs(100)) === 100,
    onError: (err) => logger.error({ err }, 'scheduled jobs failed; retrying next round'),
  })
}
