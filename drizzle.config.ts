import { defineConfig } from 'drizzle-kit'

// `npm run db:generate` writes the next SQL migration into migrations/; commit it and review the SQL.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/db/schema.ts', './src/db/schema-background.ts'],
  out: './migrations',
})
