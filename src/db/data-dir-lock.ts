import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

export interface DataDirLock {
  path: string
  release(): void
}

/** Thrown when another live process already owns the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly ownerPid: number,
  ) {
    super(
      `Another Entitle process (pid ${ownerPid}) is using the data directory ${dataDir}. ` +
        'PGlite allows one process per directory: stop that process, or use a different DATA_DIR.',
    )
    this.name = 'DataDirLockedError'
  }
}

/** Lock files held by this process, so a second open in the same process is refused too. */
const heldHere = new Set<string>()

/**
 * When the process started, in clock ticks since boot (Linux). A pid alone is not an identity: in a container
 * Entitle is pid 1 on every start, and elsewhere a dead owner's pid can be reused by an unrelated process.
 */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 22; the command name (field 2) may contain spaces, so count from the closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function lockContent(pid: number): string {
  return `${pid} ${startTimeOf(pid) ?? '-'}`
}

/** Whether the process that wrote `content` is still running (the same process, not just the same pid). */
function ownerIsRunning(content: string): { running: boolean; pid: number } {
  const [pidText, startTime] = content.trim().split(' ')
  const pid = Number.parseInt(pidText ?? '', 10)
  if (!Number.isInteger(pid) || pid <= 0) return { running: false, pid }
  if (!isAlive(pid)) return { running: false, pid }
  const current = startTimeOf(pid)
  // Without /proc (not Linux) a live pid has to be trusted.
  if (current === null || startTime === undefined || startTime === '-') return { running: true, pid }
  return { running: current === startTime, pid }
}

/**
 * Takes the lock file of a PGlite data directory. Two processes writing one directory corrupt it
 * (pglite#327), so a second start must refuse; a lock left by a process that died is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, 'entitle.lock')
  if (heldHere.has(path)) throw new DataDirLockedError(dataDir, process.pid)
  const content = lockContent(process.pid)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, content)
      closeSync(fd)
      heldHere.add(path)
      let released = false
      return {
        path,
        release() {
          if (released) return
          released = true
          heldHere.delete(path)
          try {
            if (readFileSync(path, 'utf8') === content) unlinkSync(path)
          } catch {
            // Already gone: nothing to release.
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = ownerIsRunning(readFileSync(path, 'utf8'))
      // Our own pid in a lock we do not hold is a previous run of this container that died.
      if (owner.running && owner.pid !== process.pid) throw new DataDirLockedError(dataDir, owner.pid)
      unlinkSync(path)
    }
  }
  throw new Error(`Could not take the lock file ${path}`)
}
