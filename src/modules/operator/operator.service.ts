import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../../platform/clock.ts'
import { generateAdminToken, sha256Hex } from '../../platform/secrets.ts'
import type { OperatorRepository } from './operator.repository.ts'

const ADMIN_TOKEN_HASH = 'admin_token_sha256'
const FIRST_START_DONE = 'first_start_done_at'

export type AdminTokenSetup =
  | { source: 'environment' }
  | { source: 'stored' }
  /** The only time the token is ever shown: it is printed once and only its hash is kept. */
  | { source: 'generated'; token: string }

/** The operator's own state: the admin token and the first-start marker. */
export function createOperatorService({ repo, clock }: { repo: OperatorRepository; clock: Clock }) {
  return {
    /**
     * ADMIN_TOKEN, when set, becomes the token (its hash is stored, so it stays valid if the variable is later
     * dropped). Without it, the stored hash is kept; on the very first start a token is generated.
     */
    async ensureAdminToken(environmentToken: string | undefined): Promise<AdminTokenSetup> {
      if (environmentToken) {
        await repo.setSetting(ADMIN_TOKEN_HASH, sha256Hex(environmentToken), clock.now())
        return { source: 'environment' }
      }
      const token = generateAdminToken()
      // Two processes starting at once on one PostgreSQL: only the one whose insert wins prints a token.
      const created = await repo.setSettingIfAbsent(ADMIN_TOKEN_HASH, sha256Hex(token), clock.now())
      return created ? { source: 'generated', token } : { source: 'stored' }
    },

    /**
     * True for exactly one caller over the database's life: the first start, which creates the default app.
     * Several processes starting together on one PostgreSQL cannot both win.
     */
    async claimFirstStart(): Promise<boolean> {
      return repo.setSettingIfAbsent(FIRST_START_DONE, clock.now().toISOString(), clock.now())
    },

    /** Replaces the admin token; the old one stops working at once. */
    async rotateAdminToken(): Promise<string> {
      const token = generateAdminToken()
      await repo.setSetting(ADMIN_TOKEN_HASH, sha256Hex(token), clock.now())
      return token
    },

    /**
     * A secret every process sharing the database derives the same way, that changes when the admin token
     * does: dashboard sessions are signed with it, so rotating the token signs everyone out.
     */
    async sessionSigningKey(): Promise<Buffer | null> {
      const stored = await repo.getSetting(ADMIN_TOKEN_HASH)
      return stored
        ? createHmac('sha256', Buffer.from(stored, 'hex')).update('dashboard-session-v1').digest()
        : null
    },

    async verifyAdminToken(presented: string): Promise<boolean> {
      const stored = await repo.getSetting(ADMIN_TOKEN_HASH)
      if (!stored) return false
      const expected = Buffer.from(stored, 'hex')
      const actual = Buffer.from(sha256Hex(presented), 'hex')
      return expected.length === actual.length && timingSafeEqual(expected, actual)
    },
  }
}

export type OperatorService = ReturnType<typeof createOperatorService>
