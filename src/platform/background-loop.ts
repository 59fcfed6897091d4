/**
 * A background task that runs in rounds: a round, then `intervalMs` of rest, until stopped. A round that
 * answers true found more work than it could take in one go and runs again at once, so a backlog is not
 * drained one batch per interval. A round that throws is reported and the loop goes on: the database may
 * be back by the next round. `wake()` says new work was queued in this process: the rest is cut short (or,
 * during a round, another round follows it at once), so the work does not wait for the next interval.
 *
 * @example
 * const loop = startBackgroundLoop({ intervalMs: 1000, round: () => service.runDueJobs(), onError })
 * loop.wake() // something was queued: look now
 * await loop.stop() // waits for the round in progress
 */
export function startBackgroundLoop(options: {
  intervalMs: number
  round: () => Promise<boolean>
  onError: (err: unknown) => void
}) {
  let stopped = false
  let running: Promise<void> = Promise.resolve()
  let inRound = false
  let wokenDuringRound = false
  let timer: NodeJS.Timeout | undefined

  const tick = () => {
    inRound = true
    running = (async () => {
      try {
        while (!stopped && (await options.round())) {}
      } catch (err) {
        options.onError(err)
      }
    })()
    running.finally(() => {
      inRound = false
      const again = wokenDuringRound
      wokenDuringRound = false
      if (!stopped) timer = setTimeout(tick, again ? 0 : options.intervalMs)
    })
  }
  timer = setTimeout(tick, options.intervalMs)

  return {
    wake(): void {
      if (stopped) return
      if (inRound) {
        wokenDuringRound = true
        return
      }
      if (timer) clearTimeout(timer)
      timer = setTimeout(tick, 0)
    },
    async stop(): Promise<void> {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}
