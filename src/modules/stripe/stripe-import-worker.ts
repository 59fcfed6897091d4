/**
 * Runs queued Stripe imports in the background of every server process. Processes on one PostgreSQL share
 * them through the claim (FOR UPDATE SKIP LOCKED); a queued import wakes this process's worker at once, and
 * the poll picks up what another process queued or what a dead runner left behind.
 */

export const IMPORT_POLL_MS = 1000

export function createStripeImportWorker(deps: { runNext(): Promise<boolean>; pollMs?: number }) {
  const pollMs = deps.pollMs ?? IMPORT_POLL_MS
  let started = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | null = null
  let wokenWhileRunning = false
  let onError: (error: unknown) => void = () => {}

  function schedule(delayMs: number): void {
    if (timer) clearTimeout(timer)
    if (!stopped) timer = setTimeout(tick, delayMs)
  }

  function tick(): void {
    if (running) {
      wokenWhileRunning = true
      return
    }
    running = (async () => {
      try {
        while (!stopped && (await deps.runNext())) {}
      } catch (error) {
        onError(error)
      }
    })().finally(() => {
      running = null
      const again = wokenWhileRunning
      wokenWhileRunning = false
      schedule(again ? 0 : pollMs)
    })
  }

  return {
    start(reportError: (error: unknown) => void): void {
      if (started) return
      started = true
      onError = reportError
      schedule(0)
    },
    /** Something was queued: look now rather than at the next poll (only once started). */
    wake(): void {
      if (started && !stopped) schedule(0)
    },
    async stop(): Promise<void> {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}

export type StripeImportWorker = ReturnType<typeof createStripeImportWorker>
