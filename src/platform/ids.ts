import { randomFillSync } from 'node:crypto'
import { V7Generator } from 'uuidv7'

/** Id generation, injected so tests can predict ids. */
export interface IdGenerator {
  /** A time-ordered UUID (v7): new rows land at the end of their indexes. */
  uuid(): string
}

/**
 * The library's default draws 32 bytes of randomness at a time, a call into the crypto binding every few
 * ids; a set transaction makes several ids, and this was 1.5% of the server's time under load. 4 kB at a
 * time, from the same cryptographic source.
 */
class BufferedRandom {
  private readonly buffer = new Uint32Array(1024)
  private cursor = this.buffer.length

  nextUint32(): number {
    if (this.cursor >= this.buffer.length) {
      randomFillSync(this.buffer)
      this.cursor = 0
    }
    return this.buffer[this.cursor++] as number
  }
}

const generator = new V7Generator(new BufferedRandom())

export const systemIds: IdGenerator = { uuid: () => generator.generate().toString() }

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value)
}
