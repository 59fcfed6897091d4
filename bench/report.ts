import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { LoadResult } from './load.ts'

/** The goal the numbers are read against (stated for PostgreSQL at 50 connections). */
export const TARGET = { minRatio: 0.25, maxP99Ms: 10 }

export type Verdict = 'PASS' | 'FAIL' | 'INVALID' | 'REPORTED'

export interface ScenarioResult {
  scenario: string
  label: string
  bodyBytes: number
  product: LoadResult
  bare: LoadResult
  /** Median product req/s ÷ median bare req/s. */
  ratio: number
  /** Per interleaved round, to show how stable the ratio is. */
  roundRatios: number[]
  productRounds: LoadResult[]
  bareRounds: LoadResult[]
  verdict: Verdict
}

export interface EngineResult {
  engine: 'postgres' | 'pglite'
  status: 'measured' | 'skipped' | 'failed'
  reason?: string
  /** RSS of the Entitle child after its load, and of the bare baseline child for comparison. */
  serverRssMiB?: number | null
  bareRssMiB?: number | null
  scenarios: ScenarioResult[]
}

/** The targets are set for PostgreSQL; the embedded engine's figures are reported, not judged. */
export function verdictOf(
  engine: EngineResult['engine'],
  product: LoadResult,
  bare: LoadResult,
  ratio: number,
): Verdict {
  // Errors or non-2xx make req/s meaningless (fast 4xx/5xx inflate it), so such a run is never a PASS.
  if (product.problems.length > 0 || bare.problems.length > 0) return 'INVALID'
  if (engine !== 'postgres') return 'REPORTED'
  return ratio >= TARGET.minRatio && product.p99Ms < TARGET.maxP99Ms ? 'PASS' : 'FAIL'
}

function ms(value: number): string {
  return Number.isInteger(value) ? `${value} ms` : `${value.toFixed(1)} ms`
}

/** The one-line summary the brief asks for, printed as soon as a scenario is measured. */
export function summaryLine(engine: string, result: ScenarioResult): string {
  const { product, bare } = result
  return (
    `${engine} ${result.label}: ${product.requestsPerSecond} req/s p50 ${ms(product.p50Ms)} p99 ${ms(product.p99Ms)}` +
    ` | bare: ${bare.requestsPerSecond} req/s p50 ${ms(bare.p50Ms)} p99 ${ms(bare.p99Ms)}` +
    (result.verdict === 'REPORTED'
      ? ` | ratio ${result.ratio.toFixed(2)} (no target for this engine)`
      : ` | ratio ${result.ratio.toFixed(2)} (target >= ${TARGET.minRatio}) p99 target < ${TARGET.maxP99Ms} ms: ${result.verdict}`)
  )
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? []
  const line = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join(' | ')
      .trimEnd()
  const rule = widths.map((width) => '-'.repeat(width)).join('-|-')
  const [head, ...body] = rows
  return [line(head ?? []), rule, ...body.map(line)].join('\n')
}

export function resultsTable(engines: EngineResult[]): string {
  const rows = [
    [
      'engine',
      'scenario',
      'req/s',
      'p50',
      'p99',
      'bare req/s',
      'bare p50',
      'bare p99',
      'ratio',
      'RSS MiB',
      'verdict',
    ],
  ]
  for (const engine of engines) {
    if (engine.status !== 'measured') {
      rows.push([
        engine.engine,
        `${engine.status}: ${engine.reason ?? ''}`,
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
      ])
      continue
    }
    for (const result of engine.scenarios) {
      rows.push([
        engine.engine,
        result.label,
        String(result.product.requestsPerSecond),
        ms(result.product.p50Ms),
        ms(result.product.p99Ms),
        String(result.bare.requestsPerSecond),
        ms(result.bare.p50Ms),
        ms(result.bare.p99Ms),
        result.ratio.toFixed(2),
        String(engine.serverRssMiB ?? '?'),
        result.verdict,
      ])
    }
  }
  return table(rows)
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`)
}
