import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { type ServerChild, startServer } from './child-servers.ts'
import type { RequestSpec } from './load.ts'
import type { Engine, PreparedScenario } from './scenarios.ts'

/** Starting (and checking) the baseline a load scenario is compared with: see `Baseline` in scenarios.ts. */

const BARE_SERVER = 'bench/bare-server.ts'
const BARE_INSERT_SERVER = 'bench/bare-insert-server.ts'

/** Sends one request as the load would and insists on a 200 with `expectedBody`. */
async function expectAnswer(baseUrl: string, request: RequestSpec, expectedBody: string | null, who: string) {
  const generated = request.next?.()
  const response = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: { ...request.headers, ...generated?.headers },
    ...(generated ? { body: generated.body } : request.body === undefined ? {} : { body: request.body }),
    signal: AbortSignal.timeout(5_000),
  })
  const text = await response.text()
  if (response.status !== 200 || (expectedBody !== null && text !== expectedBody)) {
    throw new Error(
      `${who} answered ${response.status} with ${text.length} chars, not the reference body: ${text.slice(0, 300)}`,
    )
  }
}

/** The baseline side of a scenario: where to send which request, and how to clean up after. */
export interface BaselineSide {
  baseUrl: string
  request: RequestSpec
  /** The bare child, whose RSS is reported; null when the baseline is the Entitle server itself. */
  pid: number | null
  stop(): Promise<void>
}

async function dropTable(url: string, table: string): Promise<void> {
  const client = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await client.unsafe(`drop table if exists ${table}`)
  } finally {
    await client.end({ timeout: 1 }).catch(() => {})
  }
}

export async function startBaseline(
  cleanups: Array<() => void>,
  engine: Engine,
  databaseEnv: Record<string, string>,
  server: ServerChild,
  prepared: PreparedScenario,
): Promise<BaselineSide> {
  const { baseline } = prepared
  if (baseline.kind === 'same-server') {
    await expectAnswer(server.baseUrl, baseline.request, null, 'the baseline request')
    return { baseUrl: server.baseUrl, request: baseline.request, pid: null, stop: async () => {} }
  }
  if (baseline.kind === 'bare-body') {
    const bare = await startServer({
      name: 'bare fastify',
      script: BARE_SERVER,
      env: { BENCH_BARE_BODY: baseline.referenceBody, BENCH_BARE_PATH: prepared.request.path },
    })
    try {
      await expectAnswer(bare.baseUrl, prepared.request, baseline.referenceBody, 'bare server')
    } catch (error) {
      await bare.stop()
      throw error
    }
    return { baseUrl: bare.baseUrl, request: prepared.request, pid: bare.pid, stop: () => bare.stop() }
  }
  // bare-insert: the same database engine, through a scratch table that exists only for this scenario.
  const table = `bench_bare_insert_${process.pid}_${Date.now().toString(36)}`
  let dataDir: string | null = null
  let env: Record<string, string>
  if (engine === 'postgres') {
    env = { DATABASE_URL: databaseEnv.DATABASE_URL as string }
  } else {
    // A PGlite data directory belongs to one process: the baseline gets its own, as fresh as Entitle's.
    const directory = mkdtempSync(join(tmpdir(), 'entitle-bench-bare-'))
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }))
    dataDir = directory
    env = { DATA_DIR: directory }
  }
  const removeScratch = async () => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    // The child drops the table on SIGTERM; this covers a child that had to be killed.
    else await dropTable(env.DATABASE_URL as string, table).catch(() => {})
  }
  let bare: ServerChild
  try {
    bare = await startServer({
      name: `bare fastify + insert (${engine})`,
      script: BARE_INSERT_SERVER,
      env: {
        ...env,
        BENCH_BARE_BODY: baseline.referenceBody,
        BENCH_BARE_PATH: baseline.request.path,
        BENCH_BARE_TABLE: table,
      },
    })
  } catch (error) {
    await removeScratch()
    throw error
  }
  const stop = async () => {
    await bare.stop()
    await removeScratch()
  }
  try {
    await expectAnswer(bare.baseUrl, baseline.request, baseline.referenceBody, 'bare insert server')
  } catch (error) {
    await stop()
    throw error
  }
  return { baseUrl: bare.baseUrl, request: baseline.request, pid: bare.pid, stop }
}
