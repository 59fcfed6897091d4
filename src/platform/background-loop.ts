/**
 * A background task that runs in rounds: a round, then `intervalMs` of rest, until stopped. A round that
 * answers true found more work than it could take in one go and runs again at once, so a backlog is not
 * drained one batch per interval. A round that throws is reported and the loop goes on: the database may
 * be back by the next round.
 *
 * @example
 * const loop = startBackgroundLoop({ intervalMs: 1000, round: () => service.runDueJobs(), onError })
 * await loop.stop() // waits for the round in progress
 */
export function startBackgroundLoop(options: {
  intervalMs: number
  round: () => Promise<boolean>
  onError: (err: unknown) => void
}) {
  let stopped = false
  let running: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined

  const tick = () => {
    running = (async () => {
      try {
        while (!stopped && (await options.round())) {}
      } catch (err) {
        options.onError(err)
      }
    })()
    running.finally(() => {
      if (!stopped) timer = setTimeout(tick, options.intervalMs)
    })
  }
  timer = setTimeout(tick, options.intervalMs)

  return {
    async stop(): Promise<void> {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}
