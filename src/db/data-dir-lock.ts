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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the pid lock file of a PGlite data directory. Two processes writing one directory corrupt it
 * (pglite#327), so a second start must refuse; a lock left by a process that died is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, 'entitle.lock')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      let released = false
      return {
        path,
        release() {
          if (released) return
          released = true
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path)
          } catch {
            // Already gone: nothing to release.
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const ownerPid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
      if (Number.isInteger(ownerPid) && ownerPid !== process.pid && isAlive(ownerPid)) {
        throw new DataDirLockedError(dataDir, ownerPid)
      }
      if (ownerPid === process.pid) throw new DataDirLockedError(dataDir, ownerPid)
      unlinkSync(path)
    }
  }
  throw new Error(`Could not take the lock file ${path}`)
}
