/**
 * A token bucket per API key: a smoothed rate of `limitPerMinute`, with a burst allowance of ten seconds'
 * worth of requests (at least one). State is per process; see docs/operations.md for several processes.
 */
export interface RateLimiter {
  /** Takes one token; answers 0 when allowed, else the seconds to wait before a token is free. */
  take(key: string, limitPerMinute: number, nowMs: number): number
}

interface Bucket {
  tokens: number
  updatedMs: number
  limitPerMinute: number
}

const BURST_SECONDS = 10
const MAX_BUCKETS = 100_000

export function createRateLimiter(): RateLimiter {
  const buckets = new Map<string, Bucket>()
  return {
    take(key, limitPerMinute, nowMs) {
      const capacity = Math.max(1, Math.floor((limitPerMinute / 60) * BURST_SECONDS))
      const perMs = limitPerMinute / 60_000
      let bucket = buckets.get(key)
      if (!bucket || bucket.limitPerMinute !== limitPerMinute) {
        if (!bucket && buckets.size >= MAX_BUCKETS) {
          // Idle buckets are full buckets: dropping the oldest loses nothing a client could notice.
          const oldest = buckets.keys().next().value
          if (oldest !== undefined) buckets.delete(oldest)
        }
        bucket = { tokens: capacity, updatedMs: nowMs, limitPerMinute }
        buckets.set(key, bucket)
      }
      // A clock stepped back refills nothing but must not take tokens away either.
      bucket.tokens = Math.min(capacity, bucket.tokens + Math.max(0, nowMs - bucket.updatedMs) * perMs)
      bucket.updatedMs = nowMs
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000))
    },
  }
}
