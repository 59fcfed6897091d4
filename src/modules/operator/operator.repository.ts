import { eq } from 'drizzle-orm'
import type { Database } from '../../db/open-database.ts'
import { operatorSettings } from '../../db/schema.ts'

export function createOperatorRepository(db: Database) {
  return {
    async getSetting(key: string): Promise<string | null> {
      const [row] = await db
        .select({ value: operatorSettings.value })
        .from(operatorSettings)
        .where(eq(operatorSettings.key, key))
      return row?.value ?? null
    },

    async setSetting(key: string, value: string, now: Date): Promise<void> {
      await db
        .insert(operatorSettings)
        .values({ key, value, updatedAt: now })
        .onConflictDoUpdate({ target: operatorSettings.key, set: { value, updatedAt: now } })
    },

    /** Sets the value only if the key is unset; answers whether this call set it. */
    async setSettingIfAbsent(key: string, value: string, now: Date): Promise<boolean> {
      const inserted = await db
        .insert(operatorSettings)
        .values({ key, value, updatedAt: now })
        .onConflictDoNothing()
        .returning({ key: operatorSettings.key })
      return inserted.length > 0
    },
  }
}

export type OperatorRepository = ReturnType<typeof createOperatorRepository>
