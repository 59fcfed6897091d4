import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ConfigSchema } from '../../src/config.ts'
import { buildTestApp } from '../support/harness.ts'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** Routes the app serves that the OpenAPI document leaves out on purpose (`hide`, Swagger UI's own). */
const UNLISTED_ROUTES = [
  { method: 'GET', path: '/openapi.json' },
  { method: 'GET', path: '/docs' },
] as const

const OPENAPI_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])

interface Route {
  method: string
  path: string
}

/** The text between a `## ` heading that matches `title` and the next `## ` heading. */
function section(markdown: string, title: RegExp): string {
  const lines = markdown.split('\n')
  const start = lines.findIndex((line) => /^## /.test(line) && title.test(line))
  if (start < 0) return ''
  const end = lines.findIndex((line, index) => index > start && /^## /.test(line))
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n')
}

/** The contents of every fenced code block, trimmed. */
function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^[ \t]*```[^\n]*\n([\s\S]*?)^[ \t]*```/gm)].map((match) =>
    (match[1] ?? '').trim(),
  )
}

/** The first column of the configuration table: `VARIABLE` cells. */
function configurationTableVariables(markdown: string): string[] {
  return section(markdown, /configuration/i)
    .split('\n')
    .map((line) => /^\|\s*`?([A-Z][A-Z0-9_]*)`?\s*\|/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined)
}

function configurationRow(markdown: string, variable: string): string[] | undefined {
  const line = section(markdown, /configuration/i)
    .split('\n')
    .find((candidate) => new RegExp(`^\\|\\s*\`?${variable}\`?\\s*\\|`).test(candidate))
  return line
    ?.split('|')
    .slice(1, -1)
    .map((cell) => cell.trim())
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Matches the path anywhere in a text, with or without its trailing slash, whatever names a path parameter
 * (`{app_id}`, `:app_id`, `$APP_ID`, `gold`), and only as a whole path: `/admin/v1/apps` does not match
 * inside `/admin/v1/apps/$APP_ID`.
 */
function pathPattern(path: string): RegExp {
  const body = withoutTrailingSlash(path)
    .split('/')
    .map((segment) => (/^(\{[^}]+\}|:.+)$/.test(segment) ? '[^/\\s"\'`)]+' : escapeRegExp(segment)))
    .join('/')
  return new RegExp(`${body}/?(?=$|[\\s"'\`)?#,;])`)
}

/** The curl commands of the README's code blocks: a command runs from `curl` to the next one or the block's end. */
function curlCommands(markdown: string): string[] {
  const commands: string[] = []
  for (const block of codeBlocks(markdown)) {
    let current: string[] | null = null
    for (const line of block.split('\n')) {
      const trimmed = line.trim()
      if (/^curl\s/.test(trimmed)) {
        if (current) commands.push(current.join(' '))
        current = [trimmed]
      } else if (current) {
        current.push(trimmed)
      }
    }
    if (current) commands.push(current.join(' '))
  }
  return commands
}

function curlMethod(command: string): string {
  const explicit = /(?:^|\s)(?:-X|--request)\s*['"]?([A-Za-z]+)/.exec(command)?.[1]
  if (explicit) return explicit.toUpperCase()
  if (/(?:^|\s)(?:-I|--head)(?:\s|$)/.test(command)) return 'HEAD'
  if (/(?:^|\s)(?:-d|--data(?:-raw|-binary)?|-F|--form)\s/.test(command)) return 'POST'
  return 'GET'
}

/** Every method and path the app serves, from its generated OpenAPI document plus the unlisted routes. */
async function servedRoutes(): Promise<Route[]> {
  const h = await buildTestApp()
  const document = h.app.swagger() as { paths?: Record<string, Record<string, unknown>> }
  const routes: Route[] = []
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const method of Object.keys(operations)) {
      if (OPENAPI_METHODS.has(method)) routes.push({ method: method.toUpperCase(), path })
    }
  }
  for (const route of UNLISTED_ROUTES) {
    assert.ok(
      h.app.hasRoute({ method: route.method, url: route.path }),
      `${route.method} ${route.path} is listed as served but the app has no such route`,
    )
    routes.push({ ...route })
  }
  return routes
}

const routes = await servedRoutes()

describe('README.md', () => {
  it('has the two quick-start commands, each alone in a code block under "Quick start"', () => {
    const quickStart = section(readme, /quick start/i)
    assert.ok(quickStart, 'README.md has no "## Quick start" section')
    const blocks = codeBlocks(quickStart)
    assert.ok(blocks.includes('npm install && npm start'), 'missing the block `npm install && npm start`')
    assert.ok(blocks.includes('npm install && npm test'), 'missing the block `npm install && npm test`')
  })

  it('lists every ConfigSchema variable in its configuration table', () => {
    const documented = configurationTableVariables(readme)
    const missing = Object.keys(ConfigSchema.properties).filter((name) => !documented.includes(name))
    assert.deepEqual(missing, [], `variables missing from the configuration table: ${missing.join(', ')}`)
  })

  it('lists no variable in its configuration table that Entitle does not read', () => {
    const known = new Set(Object.keys(ConfigSchema.properties))
    const unknown = configurationTableVariables(readme).filter((name) => !known.has(name))
    assert.deepEqual(unknown, [], `the configuration table lists unknown variables: ${unknown.join(', ')}`)
  })

  it('gives the default of every configuration variable that has one', () => {
    const properties = ConfigSchema.properties as Record<string, { default?: unknown }>
    for (const [name, schema] of Object.entries(properties)) {
      if (schema.default === undefined) continue
      const row = configurationRow(readme, name)
      assert.ok(row, `no configuration row for ${name}`)
      assert.ok(
        (row[1] ?? '').includes(String(schema.default)),
        `${name}: the default column says "${row[1]}", the schema default is ${String(schema.default)}`,
      )
    }
  })

  it('finds routes to check', () => {
    assert.ok(routes.length >= 10, `only ${routes.length} routes found; is the OpenAPI document empty?`)
  })

  it('mentions the path of every route the app serves', () => {
    const missing = routes.filter((route) => !pathPattern(route.path).test(readme)).map((route) => route.path)
    assert.deepEqual([...new Set(missing)], [], `paths missing from README.md: ${missing.join(', ')}`)
  })

  it('has a curl example with the right method for every route the app serves', () => {
    const commands = curlCommands(readme)
    const missing = routes
      .filter(
        (route) =>
          !commands.some(
            (command) => curlMethod(command) === route.method && pathPattern(route.path).test(command),
          ),
      )
      .map((route) => `${route.method} ${route.path}`)
    assert.deepEqual(missing, [], `routes without a curl example in README.md: ${missing.join(', ')}`)
  })
})
