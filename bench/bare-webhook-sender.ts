import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import http from 'node:http'

/**
 * The baseline of the webhook-delivery scenario, run as a child process like the Entitle server it is
 * compared with: the least a webhook sender does per delivery. The bodies are rendered before the clock
 * starts (real delivered bodies, each with an id of its own); then, with BENCH_WEBHOOK_CONCURRENCY requests
 * in flight, each one is signed as Standard Webhooks says (HMAC-SHA256 of `id.timestamp.body` with a 32-byte
 * key, base64) and POSTed through a keep-alive agent, and its answer read. No database, no bookkeeping.
 *
 * Env: BENCH_WEBHOOK_URL (the receiver), BENCH_WEBHOOK_COUNT, BENCH_WEBHOOK_CONCURRENCY,
 * BENCH_WEBHOOK_TEMPLATES (JSON: [{ "eventId": …, "body": … }], the id is replaced in each copy).
 * Prints one JSON line: { sent, non2xx, errors, seconds, p50Ms, p99Ms }.
 */

interface Template {
  eventId: string
  body: string
}

const url = process.env.BENCH_WEBHOOK_URL
const count = Number(process.env.BENCH_WEBHOOK_COUNT)
const concurrency = Number(process.env.BENCH_WEBHOOK_CONCURRENCY)
const templates = JSON.parse(process.env.BENCH_WEBHOOK_TEMPLATES ?? '[]') as Template[]
if (!url || !(count > 0) || !(concurrency > 0) || templates.length === 0) {
  process.stderr.write(
    'bare-webhook-sender: BENCH_WEBHOOK_URL, _COUNT, _CONCURRENCY and _TEMPLATES are required\n',
  )
  process.exit(2)
}

const target = new URL(url)
const key = randomBytes(32)
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
const deliveries = Array.from({ length: count }, (_, index) => {
  const template = templates[index % templates.length] as Template
  const id = randomUUID()
  return { id, body: template.body.replaceAll(template.eventId, id) }
})

const latencies: number[] = []
let non2xx = 0
let errors = 0

function post(delivery: { id: string; body: string }): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now()
    const timestamp = Math.floor(Date.now() / 1000)
    const signature = createHmac('sha256', key)
      .update(`${delivery.id}.${timestamp}.${delivery.body}`)
      .digest('base64')
    const request = http.request(target, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(delivery.body),
        'user-agent': 'bench-bare-sender/1',
        'webhook-id': delivery.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${signature}`,
      },
    })
    request.setTimeout(10_000, () => request.destroy(new Error('timeout')))
    request.on('error', () => {
      errors += 1
      resolve()
    })
    request.on('response', (response) => {
      response.resume()
      response.on('end', () => {
        const status = response.statusCode ?? 0
        if (status < 200 || status > 299) non2xx += 1
        latencies.push(performance.now() - started)
        resolve()
      })
    })
    request.end(delivery.body)
  })
}

let next = 0
const worker = async () => {
  while (next < deliveries.length) {
    const delivery = deliveries[next++] as { id: string; body: string }
    await post(delivery)
  }
}
const started = performance.now()
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
const seconds = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const at = (quantile: number) =>
  Math.round((latencies[Math.min(latencies.length - 1, Math.floor(quantile * latencies.length))] ?? 0) * 10) /
  10
process.stdout.write(
  `${JSON.stringify({ sent: count, non2xx, errors, seconds, p50Ms: at(0.5), p99Ms: at(0.99) })}\n`,
)
agent.destroy()
