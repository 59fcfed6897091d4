import {
  call,
  createBenchApp,
  createProfiles,
  expectStatus,
  MINUTE_MS,
  setTransactionStream,
  streamTag,
  subscriptionBody,
} from './bench-api.ts'
import { type LoadResult, median } from './load.ts'
import { type ScenarioResult, verdictOf } from './report.ts'
import type { Engine, MeasureContext, MeasuredScenario } from './scenarios.ts'
import {
  baselineRound,
  IN_FLIGHT,
  loadResult,
  measureLatency,
  productRound,
  quantile,
  round1,
  writeBacklog,
} from './webhook-phases.ts'
import { startReceiver } from './webhook-receiver.ts'

/**
 * Webhook delivery, measured at a receiver on 127.0.0.1 that answers `200 {}` at once (webhook-receiver.ts).
 *
 * Throughput: how fast the delivery worker drains a backlog, against a bare sign-and-POST loop in a child
 * process (bare-webhook-sender.ts) sending as many real delivered bodies to the same receiver, 64 in flight.
 * Both are deliveries/s from the first to the last arrival at the receiver. The backlog is made once: set
 * transactions written before the app has an endpoint (so nothing is queued and nothing drains while they
 * are written), then, per round, `POST /admin/v1/apps/{app_id}/events/redeliver` for their time range
 * queues one delivery per event in one statement and wakes the worker. From there it is the real pipeline
 * (claim with SKIP LOCKED, read the events, render and store the body, sign, POST, log the attempt); only
 * the queueing, which happens inside the set transactions' own commits in normal operation, is not timed.
 * Draining a standing backlog rather than following a write load keeps the write path out of the number
 * and lets every round drain the same deliveries.
 *
 * Latency: with the endpoint set, set transactions at a modest fixed rate (open loop), each the first
 * purchase of a profile of its own (so exactly 2 events: subscription_started, access_level_updated); for
 * each event, the time from the set-transaction answer (its commit is done by then) to its delivery's
 * arrival, matched by the `transaction_id` in the delivered body. Both clocks are this process's. A delivery may arrive before
 * the answer has been read here, so the smallest values can be below zero.
 */

const ADMIN_APPS = '/admin/v1/apps'
/** Set transactions in the backlog; most write 2 events, renewals that leave the access level as it was 1. */
const BACKLOG_TRANSACTIONS: Record<Engine, number> = { postgres: 4_000, pglite: 1_000 }
const BACKLOG_PROFILES = 200
const LATENCY_RATE_PER_SECOND = 100
const LATENCY_SECONDS = 5
const DAY_MS = 24 * 60 * MINUTE_MS

const sum = (rounds: LoadResult[], pick: (round: LoadResult) => number) =>
  rounds.reduce((total, round) => total + pick(round), 0)
const roundProblems = (rounds: LoadResult[]) =>
  rounds.flatMap((round, index) => round.problems.map((problem) => `round ${index + 1}: ${problem}`))

async function measure(context: MeasureContext): Promise<ScenarioResult> {
  const { engine, baseUrl, adminToken, log } = context
  const admin = { authorization: `Bearer ${adminToken}` }
  const setupStarted = performance.now()
  // An app of its own: its endpoint must not make the other scenarios' set transactions queue deliveries.
  const app = await createBenchApp(baseUrl, adminToken)
  const tag = streamTag()
  const chainStart = Date.now() - 30 * DAY_MS
  const buyers = Array.from({ length: BACKLOG_PROFILES }, (_, index) => `bench-webhook-${tag}-${index}`)
  // The latency phase's profiles too, now: creating them must not be timed, nor make events under way.
  const latecomers = Array.from(
    { length: LATENCY_RATE_PER_SECOND * LATENCY_SECONDS },
    (_, index) => `bench-webhook-${tag}-first-${index}`,
  )
  await createProfiles(baseUrl, app, [...buyers, ...latecomers])
  const firstPurchases = latecomers.map((customerUserId, index) => {
    const transactionId = `w${tag}-first-${index}`
    return {
      headers: { 'adapty-customer-user-id': customerUserId },
      body: JSON.stringify(subscriptionBody(transactionId, transactionId, 0, chainStart)),
    }
  })
  // The backlog: the set-transaction scenario's mix (renewals mostly) over 200 profiles, before the
  // endpoint exists. [from, to) is what each round asks to be delivered again.
  const stream = setTransactionStream(buyers, chainStart)
  const backlogStarted = performance.now()
  const from = new Date(Date.now() - 1_000)
  const written = await writeBacklog(baseUrl, app, stream.next, BACKLOG_TRANSACTIONS[engine])
  const backlogSeconds = (performance.now() - backlogStarted) / 1000
  const to = new Date(Date.now() + 1_000)
  await new Promise((resolve) => setTimeout(resolve, to.getTime() - Date.now() + 50))
  const receiver = await startReceiver()
  const endpointPath = `${ADMIN_APPS}/${app.appId}/webhooks/production`
  try {
    const saved = await call(baseUrl, 'PUT', endpointPath, admin, { url: receiver.url })
    expectStatus(saved, [200, 201], `PUT ${ADMIN_APPS}/{app_id}/webhooks/production`)
    if (receiver.verifications() === 0) throw new Error('setup failed: the endpoint was saved unverified')
    const note =
      `${written} set transactions over ${buyers.length} profiles written as the backlog (no endpoint yet)` +
      ` in ${backlogSeconds.toFixed(1)} s (setup ${((performance.now() - setupStarted) / 1000).toFixed(1)} s);` +
      ` latency: ${firstPurchases.length} first purchases at ${LATENCY_RATE_PER_SECOND}/s`
    log(`  webhook delivery: ${note}`)

    const latency = await measureLatency(baseUrl, app, receiver, firstPurchases, LATENCY_RATE_PER_SECOND)
    const lat = (q: number) => round1(quantile(latency.samplesMs, q))
    log(
      `  latency: ${latency.samplesMs.length} deliveries, commit → first attempt p50 ${lat(0.5)} ms,` +
        ` p90 ${lat(0.9)} ms, p99 ${lat(0.99)} ms, max ${lat(1)} ms` +
        (latency.missing > 0 ? `, ${latency.missing} missing` : ''),
    )
    if (latency.templates.length === 0) throw new Error('no delivery arrived during the latency phase')

    const productRounds: LoadResult[] = []
    const baselineRounds: LoadResult[] = []
    const productDetails: Record<string, unknown>[] = []
    const baselineDetails: Record<string, unknown>[] = []
    let deliveries = 0
    const runProduct = async () => {
      const round = await productRound(baseUrl, adminToken, app, { from, to }, receiver)
      deliveries ||= round.queued
      productRounds.push(round.result)
      productDetails.push(round.detail)
    }
    const runBaseline = async () => {
      const round = await baselineRound(receiver, deliveries, latency.templates)
      baselineRounds.push(round.result)
      baselineDetails.push(round.detail)
    }
    for (let index = 0; index < context.rounds; index++) {
      // Interleaved, alternating who goes first, as run.ts does for the load scenarios. The first round's
      // product side also tells how many deliveries the backlog makes, which the baseline then sends.
      if (index % 2 === 0) {
        await runProduct()
        await runBaseline()
      } else {
        await runBaseline()
        await runProduct()
      }
      log(
        `  round ${index + 1}/${context.rounds}: worker ${productRounds.at(-1)?.requestsPerSecond} deliveries/s,` +
          ` bare sign + POST ${baselineRounds.at(-1)?.requestsPerSecond} deliveries/s (${deliveries} deliveries each)`,
      )
    }
    const stray = receiver.stray()

    const productRate = Math.round(median(productRounds.map((round) => round.requestsPerSecond)))
    const baselineRate = Math.round(median(baselineRounds.map((round) => round.requestsPerSecond)))
    const latencyProblems = [
      ...(latency.missing > 0 ? [`latency: ${latency.missing} events had no delivery within 10 s`] : []),
      ...(latency.statusCodes['200'] === latency.requests
        ? []
        : [`latency: set transactions answered ${JSON.stringify(latency.statusCodes)}`]),
      ...(stray > 0 ? [`${stray} deliveries arrived outside any phase (late or duplicates)`] : []),
    ]
    const product = loadResult({
      requestsPerSecond: productRate,
      p50Ms: lat(0.5),
      p99Ms: lat(0.99),
      totalRequests: sum(productRounds, (round) => round.totalRequests),
      durationSeconds: sum(productRounds, (round) => round.durationSeconds),
      non2xx: latency.requests - (latency.statusCodes['200'] ?? 0),
      errors: sum(productRounds, (round) => round.errors) + latency.missing,
      timeouts: sum(productRounds, (round) => round.timeouts),
      statusCodes: latency.statusCodes,
      problems: [...roundProblems(productRounds), ...latencyProblems],
    })
    const baseline = loadResult({
      requestsPerSecond: baselineRate,
      p50Ms: median(baselineRounds.map((round) => round.p50Ms)),
      p99Ms: median(baselineRounds.map((round) => round.p99Ms)),
      totalRequests: sum(baselineRounds, (round) => round.totalRequests),
      durationSeconds: sum(baselineRounds, (round) => round.durationSeconds),
      non2xx: sum(baselineRounds, (round) => round.non2xx),
      errors: sum(baselineRounds, (round) => round.errors),
      timeouts: sum(baselineRounds, (round) => round.timeouts),
      problems: roundProblems(baselineRounds),
    })
    const ratio = productRate / baselineRate
    const baselineBodyBytes = Math.round(
      latency.templates.reduce((total, template) => total + Buffer.byteLength(template.body), 0) /
        latency.templates.length,
    )
    return {
      scenario: webhookDelivery.id,
      label: webhookDelivery.label,
      baselineLabel: webhookDelivery.baselineLabel,
      target: webhookDelivery.target,
      bodyBytes: latency.bodyBytes,
      baselineBodyBytes,
      product,
      baseline,
      ratio,
      roundRatios: productRounds.map(
        (round, index) =>
          Math.round((round.requestsPerSecond / (baselineRounds[index]?.requestsPerSecond || 1)) * 1000) /
          1000,
      ),
      productRounds,
      baselineRounds,
      verdict: verdictOf(engine, webhookDelivery.target, product, baseline, ratio),
      notes: [
        note,
        'deliveries/s: first to last arrival at the receiver; p50/p99 (product): set-transaction answer to the' +
          ' first delivery of each of its events; p50/p99 (baseline): one POST of the bare sender',
      ],
      unit: 'deliveries/s',
      details: {
        backlogTransactions: written,
        deliveriesPerRound: deliveries,
        inFlight: { worker: `${IN_FLIGHT} per process`, bareSender: IN_FLIGHT },
        productRounds: productDetails,
        baselineRounds: baselineDetails,
        latency: {
          ratePerSecond: LATENCY_RATE_PER_SECOND,
          seconds: LATENCY_SECONDS,
          requests: latency.requests,
          deliveries: latency.samplesMs.length,
          missing: latency.missing,
          minMs: lat(0),
          p50Ms: lat(0.5),
          p90Ms: lat(0.9),
          p99Ms: lat(0.99),
          maxMs: lat(1),
        },
        templateEventTypes: latency.templates.map((template) => template.eventType),
        strayDeliveries: stray,
      },
    }
  } finally {
    // Cancels whatever is still queued for the endpoint, so nothing is delivered after the receiver is gone.
    await call(baseUrl, 'DELETE', endpointPath, admin).catch(() => {})
    await receiver.close()
  }
}

/** Webhook delivery: the worker draining a backlog vs a bare sign-and-POST loop, and commit → delivery latency. */
export const webhookDelivery: MeasuredScenario = {
  id: 'webhook-delivery',
  label: 'webhook delivery (worker drain)',
  baselineLabel: 'bare sign + POST loop, 64 in flight',
  target: { minRatio: 0.25, maxP99Ms: 1000, p99Of: 'commit → first attempt', judgedEngines: ['postgres'] },
  serverEnv: { WEBHOOK_ALLOW_PRIVATE: 'true' },
  measure,
}
