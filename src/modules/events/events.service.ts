import { createHash } from 'node:crypto'
import { fail, ok, type Result } from '../../platform/result.ts'
import type { EventsRepository, FeedEvent } from './events.repository.ts'

/**
 * The event feed: an app's events in the order they were written, paged with an opaque cursor. The cursor
 * names a position in the outbox, so paging is stable while new events arrive.
 */

const CURSOR_PREFIX = 'ev1:'

// A check on the position, so that a cursor cut short or edited is refused instead of read from elsewhere.
const check = (digits: string) => createHash('sha256').update(digits).digest('base64url').slice(0, 6)

export function encodeCursor(feedSeq: number): string {
  const digits = String(feedSeq)
  return Buffer.from(`${CURSOR_PREFIX}${digits}.${check(digits)}`).toString('base64url')
}

export function decodeCursor(cursor: string): bigint | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return null
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const match = /^ev1:(\d{1,18})\.([A-Za-z0-9_-]{6})$/.exec(text)
  if (!match || check(match[1] ?? '') !== match[2]) return null
  return BigInt(match[1] ?? '0')
}

export type FeedFailure = 'app_not_found' | 'invalid_cursor'

export function createEventsService({ repo }: { repo: EventsRepository }) {
  return {
    async feed(
      appId: string,
      options: { after?: string; limit: number; profileId?: string },
    ): Promise<Result<{ events: FeedEvent[]; nextCursor: string | null }, FeedFailure>> {
      const after = options.after === undefined ? 0n : decodeCursor(options.after)
      if (after === null) return fail('invalid_cursor')
      if (!(await repo.appExists(appId))) return fail('app_not_found')
      const events = await repo.page(appId, after, options.limit, options.profileId)
      const last = events.at(-1)
      return ok({
        events,
        // The last position read, even on a short page: a poller keeps it and asks again later.
        nextCursor: last ? encodeCursor(last.feedSeq) : (options.after ?? null),
      })
    },
  }
}

export type EventsService = ReturnType<typeof createEventsService>
