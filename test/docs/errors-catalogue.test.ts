import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors.ts'

const DOC_PATH = new URL('../../docs/errors.md', import.meta.url)
const doc = readFileSync(DOC_PATH, 'utf8')

interface DocumentedCode {
  code: string
  /** 3 for "### `code`". */
  level: number
  body: string
}

/** Every heading whose whole text is one backticked word is a code section; it runs to the next heading. */
function documentedCodes(markdown: string): DocumentedCode[] {
  const lines = markdown.split('\n')
  const sections: DocumentedCode[] = []
  let current: { code: string; level: number; lines: string[] } | null = null
  let inFence = false
  for (const line of lines) {
    if (/^\s*```/.test(line)) inFence = !inFence
    const heading = inFence ? null : /^(#{1,6})\s+(.*?)\s*$/.exec(line)
    if (heading) {
      if (current) sections.push({ code: current.code, level: current.level, body: current.lines.join('\n') })
      const code = /^`([^`]+)`$/.exec(heading[2] ?? '')?.[1]
      current = code ? { code, level: heading[1]?.length ?? 0, lines: [] } : null
      continue
    }
    current?.lines.push(line)
  }
  if (current) sections.push({ code: current.code, level: current.level, body: current.lines.join('\n') })
  return sections
}

/** The statuses on the section's "**HTTP status:**" line, in the order written. */
function documentedStatuses(body: string): number[] | null {
  const line = /^\*\*HTTP status(?:es)?:\*\*(.*)$/m.exec(body)?.[1]
  if (line === undefined) return null
  return [...line.matchAll(/\b[1-5]\d\d\b/g)].map((match) => Number(match[0]))
}

function cataloguedStatuses(code: ErrorCode): number[] {
  const entry: { status: number; otherStatuses?: readonly number[] } = ERROR_CATALOGUE[code]
  return [entry.status, ...(entry.otherStatuses ?? [])]
}

function jsonExamples(body: string): unknown[] {
  return [...body.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1] ?? ''))
}

/** A JSON:API error document (Stripe validation) read as the other envelopes' error_code and status_code. */
function envelopeCodes(example: unknown): { error_code?: unknown; status_code?: unknown } {
  const jsonApi = (example as { errors?: { code?: unknown; status?: unknown }[] }).errors?.[0]
  if (jsonApi && typeof jsonApi === 'object' && 'code' in jsonApi) {
    return { error_code: jsonApi.code, status_code: Number(jsonApi.status) }
  }
  return example as { error_code?: unknown; status_code?: unknown }
}

const sections = documentedCodes(doc)
const catalogueCodes = Object.keys(ERROR_CATALOGUE) as ErrorCode[]

describe('docs/errors.md against ERROR_CATALOGUE', () => {
  it('has a "### `code`" section for every code in the catalogue', () => {
    const missing = catalogueCodes.filter(
      (code) => !sections.some((section) => section.code === code && section.level === 3),
    )
    assert.deepEqual(
      missing,
      [],
      `codes without a "### \`code\`" section in docs/errors.md: ${missing.join(', ')}`,
    )
  })

  it('documents no code that the catalogue does not have', () => {
    const unknown = sections.map((section) => section.code).filter((code) => !(code in ERROR_CATALOGUE))
    assert.deepEqual(
      unknown,
      [],
      `docs/errors.md documents codes missing from ERROR_CATALOGUE: ${unknown.join(', ')}`,
    )
  })

  it('documents each code once', () => {
    const seen = new Set<string>()
    const duplicated = sections
      .map((section) => section.code)
      .filter((code) => seen.has(code) || !seen.add(code))
    assert.deepEqual(duplicated, [])
  })

  it("states each code's HTTP statuses as the catalogue has them, the default status first", () => {
    for (const code of catalogueCodes) {
      const section = sections.find((candidate) => candidate.code === code)
      if (!section) continue // reported by the first test
      const documented = documentedStatuses(section.body)
      assert.ok(documented, `the section of ${code} has no "**HTTP status:**" line`)
      const expected = cataloguedStatuses(code)
      assert.equal(
        documented[0],
        expected[0],
        `${code}: the first documented status is not the catalogue's default`,
      )
      assert.deepEqual(
        [...new Set(documented)].sort((a, b) => a - b),
        [...new Set(expected)].sort((a, b) => a - b),
        `${code}: documented statuses ${documented.join(', ')}, catalogue ${expected.join(', ')}`,
      )
    }
  })

  it('gives each code an example body whose error_code and status_code match the catalogue', () => {
    for (const section of sections) {
      if (!(section.code in ERROR_CATALOGUE)) continue
      const examples = jsonExamples(section.body).map(envelopeCodes)
      assert.ok(examples.length > 0, `the section of ${section.code} has no JSON example`)
      const statuses = cataloguedStatuses(section.code as ErrorCode)
      for (const example of examples) {
        assert.equal(example.error_code, section.code, `an example in ${section.code} has another error_code`)
        assert.ok(
          statuses.includes(example.status_code as number),
          `an example in ${section.code} has status_code ${String(example.status_code)}`,
        )
      }
    }
  })
})
