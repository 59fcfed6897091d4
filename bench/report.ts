import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { LoadResult } from './load.ts'
import type { Engine, ScenarioTarget } from './scenarios.ts'

export type Verdict = 'PASS' | 'FAIL' | 'INVALID' | 'REPORTED'

export interface ScenarioResult {
  scenario: string
  label: string
  baselineLabel: string
  target: ScenarioTarget
  /** Size of a real answer of the product, and of what the baseline answers. */
  bodyBytes: number
  baselineBodyBytes: number
  product: LoadResult
  baseline: LoadResult
  /** Median product req/s ÷ median baseline req/s. */
  ratio: number
  /** Per interleaved round, to show how stable the ratio is. */
  roundRatios: number[]
  productRounds: LoadResult[]
  baselineRounds: LoadResult[]
  /** PASS/FAIL on engines the target is judged on, REPORTED elsewhere, INVALID when a run had errors. */
  verdict: Verdict
  /** What the setup seeded and what the load sent, when the scenario says. */
  notes: string[]
  /** What `requestsPerSecond` counts, when not requests (webhook delivery: deliveries/s at the receiver). */
  unit?: string
  /** Figures of a scenario that measures on its own, beyond what the table shows. */
  details?: Record<string, unknown>
}

export interface EngineResult {
  engine: Engine
  status: 'measured' | 'skipped' | 'failed'
  reason?: string
  /** RSS of the Entitle child after its load, and of the read scenario's bare baseline (no database) to compare. */
  serverRssMiB?: number | null
  bareRssMiB?: number | null
  scenarios: ScenarioResult[]
}

export function verdictOf(
  engine: Engine,
  target: ScenarioTarget,
  product: LoadResult,
  baseline: LoadResult,
  ratio: number,
): Verdict {
  // Errors or non-2xx make req/s meaningless (fast 4xx/5xx inflate it), so such a run is never a PASS.
  if (product.problems.length > 0 || baseline.problems.length > 0) return 'INVALID'
  if (!target.judgedEngines.includes(engine)) return 'REPORTED'
  const p99Met = target.maxP99Ms === undefined || product.p99Ms < target.maxP99Ms
  return ratio >= target.minRatio && p99Met ? 'PASS' : 'FAIL'
}

function ms(value: number): string {
  return Number.isInteger(value) ? `${value} ms` : `${value.toFixed(1)} ms`
}

export function targetText(target: ScenarioTarget): string {
  const p99 = target.p99Of === undefined ? 'p99' : `p99 ${target.p99Of}`
  return `ratio >= ${target.minRatio}${target.maxP99Ms === undefined ? '' : `, ${p99} < ${target.maxP99Ms} ms`}`
}

const ENGINE_NAMES: Record<Engine, string> = { postgres: 'PostgreSQL', pglite: 'PGlite' }

function verdictText(result: ScenarioResult): string {
  switch (result.verdict) {
    case 'PASS':
      return 'met'
    case 'FAIL':
      return 'NOT MET'
    case 'INVALID':
      return 'INVALID (errors or non-2xx)'
    case 'REPORTED':
      return `reported (judged on ${result.target.judgedEngines.map((engine) => ENGINE_NAMES[engine]).join(', ')} only)`
  }
}

/** The one-line summary printed as soon as a scenario is measured. */
export function summaryLine(engine: string, result: ScenarioResult): string {
  const { product, baseline } = result
  const unit = result.unit ?? 'req/s'
  return (
    `${engine} ${result.label}: ${product.requestsPerSecond} ${unit} p50 ${ms(product.p50Ms)} p99 ${ms(product.p99Ms)}` +
    ` | ${result.baselineLabel}: ${baseline.requestsPerSecond} ${unit} p50 ${ms(baseline.p50Ms)} p99 ${ms(baseline.p99Ms)}` +
    ` | ratio ${result.ratio.toFixed(2)} (rounds ${result.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ')})` +
    ` | target ${targetText(result.target)}: ${verdictText(result)}`
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
  const header = [
    'engine',
    'scenario',
    'req/s',
    'p50',
    'p99',
    'baseline',
    'baseline req/s',
    'p50',
    'p99',
    'ratio',
    'target',
    'RSS MiB',
    'verdict',
  ]
  const rows = [header]
  for (const engine of engines) {
    if (engine.status !== 'measured') {
      rows.push([engine.engine, `${engine.status}: ${engine.reason ?? ''}`, ...header.slice(2).map(() => '')])
      continue
    }
    for (const result of engine.scenarios) {
      rows.push([
        engine.engine,
        result.label,
        String(result.product.requestsPerSecond),
        ms(result.product.p50Ms),
        ms(result.product.p99Ms),
        result.baselineLabel,
        String(result.baseline.requestsPerSecond),
        ms(result.baseline.p50Ms),
        ms(result.baseline.p99Ms),
        result.ratio.toFixed(2),
        targetText(result.target),
        String(engine.serverRssMiB ?? '?'),
        result.verdict === 'REPORTED' ? 'reported' : result.verdict,
      ])
    }
  }
  return table(rows)
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`)
}
