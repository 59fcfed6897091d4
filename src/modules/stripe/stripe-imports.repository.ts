import type { DatabaseHandle, PreparedStatement } from '../../db/open-database.ts'
import { sameAppSql } from '../../db/tenant-scope.ts'

/**
 * Stripe imports that run in the background: queued by an operator, claimed by the worker of any process.
 * A claim takes the oldest queued import, or one whose runner's lease ran out, with FOR UPDATE SKIP LOCKED
 * and counts the attempt in the same statement; the attempt number then fences every later write, so a
 * runner that lost its lease (a long pause, a partition) cannot overwrite the one that took over.
 */

export type ImportStatus = 'queued' | 'running' | 'succeeded' | 'failed'

export type PurchaseOutcome = 'imported' | 'no_products_found' | 'failed'

export interface PurchaseResult {
  token: string
  outcome: PurchaseOutcome
  message: string | null
}

export interface StripeImportRow {
  id: string
  appId: string
  customerUserId: string
  stripeCustomerId: string | null
  tokens: string[]
  status: ImportStatus
  total: number | null
  done: number
  results: PurchaseResult[]
  error: string | null
  attempts: number
  createdAt: Date
  startedAt: Date | null
  finishedAt: Date | null
}

const statement = (name: string, text: string): PreparedStatement => ({ name, text })

const COLUMNS = `id, app_id, customer_user_id, stripe_customer_id, tokens::text as tokens, status, total, done,
  results::text as results, error, attempts, created_at, started_at, finished_at`

export const SQL = {
  insert: statement(
    'stripe_import_insert',
    `insert into stripe_imports (id, app_id, customer_user_id, stripe_customer_id, tokens, status, results, created_at)
     values ($1, $2, $3, $4, $5::text::jsonb, 'queued', '[]'::jsonb, $6::timestamptz)
     returning ${COLUMNS}`,
  ),
  get: statement(
    'stripe_import_get',
    `select ${COLUMNS} from stripe_imports where ${sameAppSql('app_id', '$1')} and id = $2`,
  ),
  list: statement(
    'stripe_import_list',
    `select ${COLUMNS} from stripe_imports where app_id = $1 order by stripe_imports.created_at desc, id desc limit $2`,
  ),
  claim: statement(
    'stripe_import_claim',
    `with next as (
       select id from stripe_imports
        where status = 'queued' or (status = 'running' and lease_until <= $1::timestamptz)
        order by created_at
        limit 1
        for update skip locked
     )
     update stripe_imports s
        set status = 'running', attempts = s.attempts + 1, lease_until = $2::timestamptz,
            started_at = coalesce(s.started_at, $1::timestamptz), done = 0, total = null, results = '[]'::jsonb
       from next
      where s.id = next.id
      returning s.${COLUMNS}`,
  ),
  progress: statement(
    'stripe_import_progress',
    `update stripe_imports
        set total = $3, done = $4, results = $5::text::jsonb, lease_until = $6::timestamptz
      where id = $1 and attempts = $2 and status = 'running'
      returning id`,
  ),
  finish: statement(
    'stripe_import_finish',
    `update stripe_imports
        set status = $3, error = $4, finished_at = $5::timestamptz, lease_until = null
      where id = $1 and attempts = $2 and status = 'running'
      returning id`,
  ),
}

interface ImportRecord {
  id: string
  app_id: string
  customer_user_id: string
  stripe_customer_id: string | null
  tokens: string
  status: ImportStatus
  total: number | null
  done: number
  results: string
  error: string | null
  attempts: number
  created_at: Date | string
  started_at: Date | string | null
  finished_at: Date | string | null
}

const dateOf = (value: Date | string | null): Date | null => (value === null ? null : new Date(value))

function rowOf(record: ImportRecord): StripeImportRow {
  return {
    id: record.id,
    appId: record.app_id,
    customerUserId: record.customer_user_id,
    stripeCustomerId: record.stripe_customer_id,
    tokens: JSON.parse(record.tokens) as string[],
    status: record.status,
    total: record.total === null ? null : Number(record.total),
    done: Number(record.done),
    results: JSON.parse(record.results) as PurchaseResult[],
    error: record.error,
    attempts: Number(record.attempts),
    createdAt: new Date(record.created_at),
    startedAt: dateOf(record.started_at),
    finishedAt: dateOf(record.finished_at),
  }
}

export interface NewImport {
  id: string
  appId: string
  customerUserId: string
  stripeCustomerId: string | null
  tokens: string[]
  createdAt: Date
}

/** Who runs an import now: its id and the attempt number that fences the runner's writes. */
export interface ImportLease {
  id: string
  attempt: number
}

export function createStripeImportsRepository({ rawQuery }: Pick<DatabaseHandle, 'rawQuery'>) {
  return {
    async insert(input: NewImport): Promise<StripeImportRow> {
      const [record] = await rawQuery<ImportRecord>(SQL.insert, [
        input.id,
        input.appId,
        input.customerUserId,
        input.stripeCustomerId,
        JSON.stringify(input.tokens),
        input.createdAt.toISOString(),
      ])
      return rowOf(record as ImportRecord)
    },

    async get(appId: string, id: string): Promise<StripeImportRow | null> {
      const [record] = await rawQuery<ImportRecord>(SQL.get, [appId, id])
      return record ? rowOf(record) : null
    },

    async list(appId: string, limit: number): Promise<StripeImportRow[]> {
      return (await rawQuery<ImportRecord>(SQL.list, [appId, limit])).map(rowOf)
    },

    /** The next import to run, now leased to the caller until `leaseUntil`; a re-run starts from scratch. */
    async claim(now: Date, leaseUntil: Date): Promise<StripeImportRow | null> {
      const [record] = await rawQuery<ImportRecord>(SQL.claim, [now.toISOString(), leaseUntil.toISOString()])
      return record ? rowOf(record) : null
    },

    /** False when the lease was lost: another runner has the import now. */
    async progress(
      lease: ImportLease,
      progress: { total: number; done: number; results: PurchaseResult[] },
      leaseUntil: Date,
    ): Promise<boolean> {
      const rows = await rawQuery(SQL.progress, [
        lease.id,
        lease.attempt,
        progress.total,
        progress.done,
        JSON.stringify(progress.results),
        leaseUntil.toISOString(),
      ])
      return rows.length > 0
    },

    async finish(
      lease: ImportLease,
      outcome: { status: 'succeeded' | 'failed'; error: string | null },
      at: Date,
    ): Promise<boolean> {
      const rows = await rawQuery(SQL.finish, [
        lease.id,
        lease.attempt,
        outcome.status,
        outcome.error,
        at.toISOString(),
      ])
      return rows.length > 0
    },
  }
}

export type StripeImportsRepository = ReturnType<typeof createStripeImportsRepository>
