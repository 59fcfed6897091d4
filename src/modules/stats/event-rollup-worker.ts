import type { Logger } from 'pino'
import { startBackgroundLoop } from '../../platform/background-loop.ts'
import type { EventRollup } from './event-rollup.ts'

/**
 * How often each process looks for apps to roll up. The overview is exact without the rollup (it counts the
 * events past the watermark live); the interval only bounds how many events that live part has to count.
 */
export const EVENT_ROLLUP_INTERVAL_MS = 5000

/**
 * Runs the stats rollup in the background of every server process. Several processes on one PostgreSQL
 * share the work: each app's step is claimed with FOR UPDATE SKIP LOCKED on its state row.
 */
export function startEventRollupWorker(rollup: EventRollup, logger: Pick<Logger, 'error'>) {
  return startBackgroundLoop({
    intervalMs: EVENT_ROLLUP_INTERVAL_MS,
    // True: a backlog bigger than a batch, which goes on at once instead of a batch per interval.
    round: () => rollup.runOnce(),
    onError: (err) => logger.error({ err }, 'stats rollup failed; retrying next round'),
  })
}
