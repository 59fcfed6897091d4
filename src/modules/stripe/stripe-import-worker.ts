import type { Logger } from 'pino'
import { startBackgroundLoop } from '../../platform/background-loop.ts'
import type { StripeImportsService } from './stripe-imports.service.ts'

/** How often each process looks for imports another process queued or a dead runner left behind. */
export const IMPORT_POLL_MS = 1000

/**
 * Runs queued Stripe imports in the background of every server process. Processes on one PostgreSQL share
 * them through the claim (FOR UPDATE SKIP LOCKED); an import queued in this process wakes its worker at once.
 */
export function startStripeImportWorker(
  service: StripeImportsService,
  logger: Pick<Logger, 'error'>,
  intervalMs = IMPORT_POLL_MS,
) {
  const loop = startBackgroundLoop({
    intervalMs,
    // True: an import was run, so another may be waiting.
    round: () => service.runNext(),
    onError: (err) => logger.error({ err }, 'a Stripe import failed; it runs again when its lease ends'),
  })
  const stopListening = service.onQueued(loop.wake)
  return {
    async stop(): Promise<void> {
      stopListening()
      await loop.stop()
    },
  }
}
