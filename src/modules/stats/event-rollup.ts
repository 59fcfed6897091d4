import type { Clock } from '../../platform/clock.ts'
import type { EventRollupRepository, RollupState } from './event-rollup.repository.ts'

/**
 * The stats rollup: counts each app's events by UTC day and type into event_day_counts, up to a watermark
 * (a feed_seq) per app, so the overview reads a few hundred counters and only the events past the watermark
 * instead of every event of the period.
 *
 * Why a checkpoint and a lag instead of rolling up to the newest event: feed_seq comes from an identity
 * that hands values out when a row is inserted, not when its transaction commits, so a transaction holding
 * 41 can commit after the one holding 42. A watermark moved to 42 as soon as 42 is visible would leave 41
 * out of the rollup and, being below the watermark, out of the live tail too: lost for good. The identity
 * hands its values out in increasing order (CACHE 1: no process keeps a private block of them), so every
 * event numbered up to M, the highest visible at time T, was inserted before T. Event writes are short
 * transactions that never wait on the network; once the lag has passed since T they have committed or rolled
 * back, and nothing numbered up to M can appear any more. So a worker records (T, M) and moves the watermark
 * to M only after T + lag. T comes from the clock of whichever process recorded it: processes sharing a
 * PostgreSQL need clocks in sync to well within the lag (NTP).
 */

export interface RollupSettings {
  /** How long after a checkpoint its events count as final; far longer than any event-writing transaction. */
  lagMs: number
  /** Events folded per transaction, so that a backlog (a first start on a big database) goes in short steps. */
  batchSize: number
}

export const DEFAULT_ROLLUP_SETTINGS: RollupSettings = { lagMs: 60_000, batchSize: 50_000 }

export function createEventRollup(deps: {
  repo: EventRollupRepository
  clock: Clock
  settings?: Partial<RollupSettings>
}) {
  const settings = { ...DEFAULT_ROLLUP_SETTINGS, ...deps.settings }
  const isDue = (checkpoint: RollupState['checkpoint'], now: Date) =>
    checkpoint !== null && checkpoint.at.getTime() + settings.lagMs <= now.getTime()

  /**
   * One step for one app, in one transaction holding its state row: fold a due checkpoint's events (or a
   * batch of them), then, with no checkpoint left open, take a new one. Answers whether more is due at once.
   */
  async function step(appId: string): Promise<boolean> {
    const claimed = await deps.repo.withClaim(appId, async (state, app) => {
      let { rolledUpTo, checkpoint } = state
      if (checkpoint && isDue(checkpoint, deps.clock.now())) {
        rolledUpTo = await app.fold(rolledUpTo, checkpoint.seq, settings.batchSize)
        if (rolledUpTo >= checkpoint.seq) checkpoint = null
      }
      if (!checkpoint) {
        const latest = await app.latestSeq()
        // The clock is read after the maximum, so T is no earlier than the moment M was seen.
        if (latest > rolledUpTo) checkpoint = { seq: latest, at: deps.clock.now() }
      }
      if (rolledUpTo !== state.rolledUpTo || checkpoint !== state.checkpoint) {
        await app.save({ rolledUpTo, checkpoint }, deps.clock.now())
      }
      return isDue(checkpoint, deps.clock.now())
    })
    // Null: another worker holds the app right now; it does the work.
    return claimed?.value ?? false
  }

  return {
    settings,

    /**
     * One round over the apps with events past their watermark. Answers true when some app has more due
     * at once (a backlog bigger than a batch), so the caller can go again without waiting.
     */
    async runOnce(): Promise<boolean> {
      const now = deps.clock.now()
      // An open checkpoint that is not due yet needs nothing before the lag has passed: no claim for it.
      const pending = (await deps.repo.pending()).filter(
        (app) => !app.checkpoint || isDue(app.checkpoint, now),
      )
      let more = false
      for (const app of pending) more = (await step(app.appId)) || more
      return more
    },
  }
}

export type EventRollup = ReturnType<typeof createEventRollup>
