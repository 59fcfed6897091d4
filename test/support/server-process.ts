import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import postgres from 'postgres'

const ROOT = join(import.meta.dirname, '..', '..')

export interface ServerProcess {
  child: ChildProcess
  output(): string
  /** Resolves with the base URL once the start banner is printed. */
  ready: Promise<string>
  exited: Promise<number | null>
}

/** Starts `src/main.ts serve` as a real process, the way `npm start` does. */
export function startServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      LOG_LEVEL: process.env.TEST_SERVER_LOG_LEVEL ?? 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${output}`)), 60_000)
    const check = () => {
      const match = /listening on (http:\/\/[^\s]+) \(/.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout?.on('data', check)
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before it was ready:\n${output}`))
    })
  })
  ready.catch(() => {})
  return { child, output: () => output, ready, exited }
}

/** A fresh, empty PostgreSQL database next to DATABASE_URL's, dropped by the returned cleanup. */
export async function freshPostgresDatabase(
  baseUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `entitle_t_${process.pid}_${Date.now().toString(36)}`
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  await admin.end()
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = postgres(baseUrl, { max: 1, onnotice: () => {} })
      await client.unsafe(`drop database if exists ${name} with (force)`)
      await client.end()
    },
  }
}
