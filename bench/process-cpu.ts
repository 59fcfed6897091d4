import { readdirSync, readFileSync } from 'node:fs'

/** CPU accounting from /proc (Linux), shared by the bench's profiling and comparison tools. */

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
export const TICKS_PER_SECOND = 100

/** utime+stime of a process in clock ticks; 0 once it has exited. */
export function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

/** Every PostgreSQL process on the machine: backends of all databases and the server's own workers. */
export function postgresPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('postgres')
      } catch {
        return false
      }
    })
}

export function totalTicks(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + cpuTicks(pid), 0)
}

/** Idle and total jiffies of all CPUs (idle counts iowait too): two readings give the idle share between them. */
export function machineTicks(): { idle: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/) ?? []
  const numbers = fields.slice(1, 9).map(Number)
  return {
    idle: (numbers[3] ?? 0) + (numbers[4] ?? 0),
    total: numbers.reduce((sum, value) => sum + value, 0),
  }
}
