import type { Clock } from '../../platform/clock.ts'
import { renderDeliveryBody } from './delivery-body.ts'
import { type PostOutcome, postJson } from './webhook-client.ts'
import { signatureHeader } from './webhook-signing.ts'
import type {
  AttemptRecord,
  ClaimedDelivery,
  DeliveryEvent,
  EndpointRow,
  WebhooksRepository,
} from './webhooks.repository.ts'

/**
 * The delivery workers' loop. Every process runs one; they share the work through the database: a claim
 * takes due deliveries with FOR UPDATE SKIP LOCKED and moves their due time past the attempt's lease in the
 * same statement, then the POST happens outside any transaction, then the outcome is logged. A process that
 * dies mid-attempt leaves deliveries that fall due again when their lease ends: at least once, never lost.
 */

export interface DeliverySettings {
  timeoutMs: number
  retryBaseMs: number
  allowPrivate: boolean
  /** Retries after the first attempt (Adapty: 9). */
  maxRetries: number
  /** No retry is scheduled later than this after the event (Adapty: 24 h). */
  retryWindowMs: number
  /** Attempts running at once in this process ... */
  concurrency: number
  /** ... and for one app, so that a slow or dead endpoint cannot take every slot. */
  perAppConcurrency: number
  pollMs: number
  /**
   * A finished attempt frees one slot; claiming for each one alone would cost a claim and two reads per
   * delivery. Slots freed within this many ms are claimed for together (new events still wake at once).
   */
  claimGatherMs: number
}

export const DEFAULT_DELIVERY_SETTINGS: DeliverySettings = {
  timeoutMs: 10_000,
  retryBaseMs: 60_000,
  allowPrivate: false,
  maxRetries: 9,
  retryWindowMs: 24 * 3_600_000,
  concurrency: 64,
  perAppConcurrency: 32,
  pollMs: 250,
  claimGatherMs: 5,
}

/** 200–404 ends an event's delivery (Adapty's rule: a 404 means "stop", not "retry"). */
export const isFinalStatus = (status: number | null) => status !== null && status >= 200 && status <= 404

export function retryDelayMs(settings: Pick<DeliverySettings, 'retryBaseMs'>, attemptsMade: number): number {
  return settings.retryBaseMs * 2 ** (attemptsMade - 1)
}

export interface AttemptHeaders {
  eventId: string
  body: string
  endpoint: EndpointRow
  now: Date
}

/** The headers of one attempt: Standard Webhooks' three, and the customer's Authorization verbatim. */
export function deliveryHeaders({ eventId, body, endpoint, now }: AttemptHeaders): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000)
  const secrets = [endpoint.signingSecret]
  if (
    endpoint.previousSigningSecret &&
    endpoint.previousSecretExpiresAt &&
    endpoint.previousSecretExpiresAt > now
  ) {
    secrets.push(endpoint.previousSigningSecret)
  }
  return {
    'user-agent': 'Entitle-Webhooks/1',
    'webhook-id': eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets, eventId, timestamp, body),
    ...(endpoint.authorization ? { authorization: endpoint.authorization } : {}),
  }
}

export function createDeliveryWorker(deps: {
  repo: WebhooksRepository
  clock: Clock
  settings: DeliverySettings
}) {
  const { repo, clock, settings } = deps
  let onError: (error: unknown) => void = () => {}
  const running = new Map<string, number>()
  let total = 0
  let loop: Promise<void> | null = null
  let stopping = false
  let wakeUp: (() => void) | null = null
  let wakeRequested = false
  let gatherTimer: NodeJS.Timeout | null = null
  const inFlight = new Set<Promise<void>>()

  const busyApps = () =>
    [...running].filter(([, count]) => count >= settings.perAppConcurrency).map(([app]) => app)

  async function bodyOf(
    claimed: ClaimedDelivery,
    event: DeliveryEvent,
    endpoint: EndpointRow,
  ): Promise<string> {
    if (claimed.body !== null) return claimed.body
    let trialPrice = null
    const properties = event.payload.event_properties as Record<string, unknown> | undefined
    if (endpoint.sendTrialPrice && event.eventType === 'trial_started' && properties) {
      trialPrice = await repo.trialPrice(
        event.appId,
        String(properties.store),
        String(properties.transaction_id),
      )
    }
    return renderDeliveryBody(event.payload, endpoint, { userAttributes: event.customAttributes, trialPrice })
  }

  /**
   * Attempts are logged in batches: one statement for all the outcomes that came in while the previous
   * one was written. An attempt's slot is held until its outcome is stored, so a stop waits for the log;
   * a process that dies before writing it leaves the delivery to be retried when its lease ends.
   */
  const unwritten: { record: AttemptRecord; written: () => void; failed: (error: unknown) => void }[] = []
  let writing = false

  async function writeAttempts(): Promise<void> {
    while (unwritten.length > 0) {
      const batch = unwritten.splice(0, 500)
      try {
        await repo.recordAttempts(batch.map((entry) => entry.record))
        for (const entry of batch) entry.written()
      } catch (error) {
        for (const entry of batch) entry.failed(error)
      }
    }
    writing = false
  }

  function logAttempt(record: AttemptRecord): Promise<void> {
    return new Promise((written, failed) => {
      unwritten.push({ record, written, failed })
      if (writing) return
      writing = true
      setImmediate(writeAttempts)
    })
  }

  async function attempt(claimed: ClaimedDelivery) {
    const now = clock.now()
    const { event, endpoint } = claimed
    if (!endpoint) return repo.dropDelivery(claimed.id, 'cancelled', now)
    if (!event) return repo.dropDelivery(claimed.id, 'failed', now)
    const body = await bodyOf(claimed, event, endpoint)
    const outcome: PostOutcome = await postJson(
      endpoint.url,
      deliveryHeaders({ eventId: event.id, body, endpoint, now }),
      body,
      { timeoutMs: settings.timeoutMs, allowPrivate: settings.allowPrivate },
    )
    const after = clock.now()
    const final = isFinalStatus(outcome.statusCode)
    const nextAt = new Date(after.getTime() + retryDelayMs(settings, claimed.attempts))
    const retriesLeft =
      claimed.attempts <= settings.maxRetries &&
      nextAt.getTime() <= claimed.createdAt.getTime() + settings.retryWindowMs
    await logAttempt({
      appId: claimed.appId,
      deliveryId: claimed.id,
      eventId: claimed.eventId,
      attempt: claimed.attempts,
      url: endpoint.url,
      attemptedAt: now,
      statusCode: outcome.statusCode,
      latencyMs: outcome.latencyMs,
      responseExcerpt: outcome.excerpt,
      error: outcome.error,
      succeeded: outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300,
      status: final ? 'delivered' : retriesLeft ? 'pending' : 'failed',
      nextAttemptAt: final || !retriesLeft ? null : nextAt,
      body,
    })
  }

  function track(claimed: ClaimedDelivery, work: Promise<void>): Promise<void> {
    running.set(claimed.appId, (running.get(claimed.appId) ?? 0) + 1)
    total += 1
    const done = work
      .catch((error) => onError(error))
      .finally(() => {
        total -= 1
        const left = (running.get(claimed.appId) ?? 1) - 1
        if (left === 0) running.delete(claimed.appId)
        else running.set(claimed.appId, left)
        inFlight.delete(done)
        wakeSoon()
      })
    inFlight.add(done)
    return done
  }

  /** Claims what is due and this process has room for, and starts those attempts. Answers them. */
  async function claimAndStart(): Promise<Promise<void>[]> {
    // A claim never takes more than one app's share, and apps at their share are left out of it: a dead
    // endpoint can hold at most its share of the slots while other apps' deliveries go on.
    const room = Math.min(settings.concurrency - total, settings.perAppConcurrency)
    if (room <= 0) return []
    const now = clock.now()
    // Long enough for the attempt and its logging; a process that died is retried soon after.
    const lease = new Date(now.getTime() + settings.timeoutMs * 2 + 2_000)
    const claimed = await repo.claimDue(now, room, busyApps(), lease)
    return claimed.map((delivery) => track(delivery, attempt(delivery)))
  }

  function wakeSoon(): void {
    if (gatherTimer) return
    gatherTimer = setTimeout(wake, settings.claimGatherMs)
  }

  function wake(): void {
    if (gatherTimer) {
      clearTimeout(gatherTimer)
      gatherTimer = null
    }
    wakeRequested = true
    const resolve = wakeUp
    wakeUp = null
    resolve?.()
  }

  async function run(): Promise<void> {
    while (!stopping) {
      wakeRequested = false
      try {
        const started = await claimAndStart()
        if (started.length > 0 && total < settings.concurrency) continue
      } catch (error) {
        onError(error)
      }
      if (stopping) break
      if (wakeRequested) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.pollMs)
        wakeUp = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  return {
    /** Attempts everything due now, once, and waits for those attempts (tests and the CLI drive this). */
    async deliverDue(): Promise<number> {
      let count = 0
      for (;;) {
        const started = await claimAndStart()
        if (started.length === 0) break
        count += started.length
        await Promise.all(started)
      }
      return count
    },
    wake,
    start(reportError?: (error: unknown) => void): void {
      if (reportError) onError = reportError
      if (loop) return
      stopping = false
      loop = run()
    },
    /** Stops claiming and waits for the attempts under way (each ends within its timeout). */
    async stop(): Promise<void> {
      stopping = true
      wake()
      await loop
      loop = null
      await Promise.all([...inFlight])
    },
  }
}

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>
