import { uuidv7 } from 'uuidv7'

/** Id generation, injected so tests can predict ids. */
export interface IdGenerator {
  /** A time-ordered UUID (v7): new rows land at the end of their indexes. */
  uuid(): string
}

export const systemIds: IdGenerator = { uuid: () => uuidv7() }

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value)
}
