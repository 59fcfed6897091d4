import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

/** The repository root: children run from here so `src/main.ts` and `tsx` resolve as with `npm start`. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

// Entitle's own variables; the bench sets them per child so the caller's shell cannot leak a DATABASE_URL
// into the PGlite run (or a DATA_DIR into the PostgreSQL one).
const CONTROLLED_ENV = ['PORT', 'HOST', 'DATA_DIR', 'DATABASE_URL', 'ADMIN_TOKEN', 'LOG_LEVEL']

const OUTPUT_TAIL_CHARS = 4000

export interface ServerChild {
  name: string
  pid: number
  baseUrl: string
  /** The last few KB of stdout+stderr, shown when something fails. */
  output(): string
  stop(): Promise<void>
}

const running = new Set<ServerChild>()

/** Asks the kernel for a free loopback port; the tiny race before the child binds it is fine on a bench box. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

/**
 * Starts `node --import tsx <script> ...args` on 127.0.0.1 and a free port, then waits until GET /health
 * answers 200. The child is node itself (no npm/tsx wrapper), so its pid is the one whose RSS we read.
 */
export async function startServer(options: {
  name: string
  script: string
  args?: string[]
  env: Record<string, string>
  startTimeoutMs?: number
  /** Another checkout of Entitle to run the script from (default: this one). */
  cwd?: string
}): Promise<ServerChild> {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of CONTROLLED_ENV) delete env[key]
  Object.assign(env, options.env, { PORT: String(port), HOST: '127.0.0.1' })

  const child = spawn(process.execPath, ['--import', 'tsx', options.script, ...(options.args ?? [])], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let tail = ''
  const collect = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)

  const handle: ServerChild = {
    name: options.name,
    pid: child.pid ?? -1,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => tail,
    stop: async () => {
      running.delete(handle)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      // The server drains in-flight requests on SIGTERM; after the load stops there are none, so a few
      // seconds is plenty. SIGKILL guarantees the bench never leaves a process behind.
      if (!(await waitForExit(child, 5_000))) {
        child.kill('SIGKILL')
        await waitForExit(child, 2_000)
      }
    },
  }
  running.add(handle)

  try {
    await waitForHealth(handle, child, options.startTimeoutMs ?? 60_000)
  } catch (error) {
    await handle.stop()
    throw error
  }
  return handle
}

async function waitForHealth(handle: ServerChild, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${handle.name} exited (code ${child.exitCode}, signal ${child.signalCode}) before /health answered.\n${handle.output()}`,
      )
    }
    try {
      const response = await fetch(`${handle.baseUrl}/health`, { signal: AbortSignal.timeout(2_000) })
      await response.arrayBuffer()
      if (response.status === 200) return
      last = `status ${response.status}`
    } catch (error) {
      last = (error as Error).message
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(
    `${handle.name} did not answer GET /health with 200 within ${timeoutMs} ms (${last}).\n${handle.output()}`,
  )
}

/** Stops every child still running; safe to call twice (SIGINT during a normal shutdown). */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop()))
}

/** Resident memory of a process in MiB, from /proc (Linux only; null elsewhere or once it has exited). */
export function rssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
    return match?.[1] ? Math.round(Number(match[1]) / 1024) : null
  } catch {
    return null
  }
}
