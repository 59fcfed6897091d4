import autocannon from 'autocannon'

/** One HTTP request shape, replayed by every autocannon connection. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH'
  path: string
  headers: Record<string, string>
  body?: string
  /**
   * Called for every request sent (autocannon's setupRequest), for writes that need a new id each time;
   * what it answers is merged into `headers` and replaces `body`. Runs in the load generator, so both sides
   * of a comparison should use one, or neither.
   */
  next?: () => { headers?: Record<string, string>; body: string }
}

export interface LoadOptions {
  connections: number
  durationSeconds: number
  /** Hard cap on requests, so a surprisingly fast target still ends the run early. */
  maxRequests: number
}

/** What the report needs from one autocannon run; `problems` is anything that makes the numbers suspect. */
export interface LoadResult {
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  totalRequests: number
  durationSeconds: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
  problems: string[]
}

export async function runLoad(
  baseUrl: string,
  request: RequestSpec,
  options: LoadOptions,
): Promise<LoadResult> {
  if (!baseUrl.startsWith('http://127.0.0.1:'))
    throw new Error(`refusing to load a non-loopback URL: ${baseUrl}`)
  const { next } = request
  const result = await autocannon({
    url: `${baseUrl}${request.path}`,
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(next === undefined
      ? {}
      : {
          requests: [
            {
              setupRequest: (built: autocannon.Request) => {
                const generated = next()
                return {
                  ...built,
                  headers: { ...built.headers, ...generated.headers },
                  body: generated.body,
                }
              },
            },
          ],
        }),
    connections: options.connections,
    duration: options.durationSeconds,
    maxOverallRequests: Math.max(options.maxRequests, options.connections),
    // A request slower than this is a failure, not a latency sample worth waiting for.
    timeout: 10,
  })
  const statusCodes: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0
  const problems: string[] = []
  if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx (${JSON.stringify(statusCodes)})`)
  if (result.errors > 0) problems.push(`${result.errors} errors (${result.timeouts} timeouts)`)
  if (result.requests.total === 0) problems.push('no completed requests')
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    totalRequests: result.requests.total,
    durationSeconds: result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    problems,
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** The median of each metric across rounds; problems from any round are kept, never averaged away. */
export function summarise(rounds: LoadResult[]): LoadResult {
  const sum = (pick: (round: LoadResult) => number) => rounds.reduce((total, round) => total + pick(round), 0)
  const statusCodes: Record<string, number> = {}
  for (const round of rounds)
    for (const [code, count] of Object.entries(round.statusCodes))
      statusCodes[code] = (statusCodes[code] ?? 0) + count
  return {
    requestsPerSecond: Math.round(median(rounds.map((round) => round.requestsPerSecond))),
    p50Ms: median(rounds.map((round) => round.p50Ms)),
    p99Ms: median(rounds.map((round) => round.p99Ms)),
    totalRequests: sum((round) => round.totalRequests),
    durationSeconds: sum((round) => round.durationSeconds),
    non2xx: sum((round) => round.non2xx),
    errors: sum((round) => round.errors),
    timeouts: sum((round) => round.timeouts),
    statusCodes,
    problems: rounds.flatMap((round, index) =>
      round.problems.map((problem) => `round ${index + 1}: ${problem}`),
    ),
  }
}
