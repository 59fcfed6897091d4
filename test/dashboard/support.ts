import assert from 'node:assert/strict'
import type { LightMyRequestResponse } from 'fastify'
import { TEST_ADMIN_TOKEN, type TestApp } from '../support/harness.ts'

/** A signed-in dashboard visitor over inject: keeps its cookies and reads the CSRF token from pages. */

export interface Visitor {
  cookies: Map<string, string>
  get(url: string): Promise<LightMyRequestResponse>
  /** Posts a form with the CSRF token of the page last read (or `csrf` when given). */
  post(url: string, fields: Record<string, string>, csrf?: string): Promise<LightMyRequestResponse>
  csrf(): string
}

export function csrfOf(html: string): string {
  return /name="_csrf" value="([^"]*)"/.exec(html)?.[1] ?? ''
}

export function visitor(h: TestApp): Visitor {
  const cookies = new Map<string, string>()
  let lastCsrf = ''
  const cookieHeader = () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  const remember = (response: LightMyRequestResponse) => {
    const set = response.headers['set-cookie']
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair] = line.split(';')
      const [name, value] = (pair ?? '').split('=') as [string, string]
      if (/Max-Age=0/.test(line)) cookies.delete(name)
      else cookies.set(name, value)
    }
    const token = csrfOf(response.body)
    if (token) lastCsrf = token
    return response
  }
  return {
    cookies,
    csrf: () => lastCsrf,
    async get(url) {
      return remember(await h.app.inject({ method: 'GET', url, headers: { cookie: cookieHeader() } }))
    },
    async post(url, fields, csrf) {
      return remember(
        await h.app.inject({
          method: 'POST',
          url,
          headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ _csrf: csrf ?? lastCsrf, ...fields }).toString(),
        }),
      )
    },
  }
}

export async function signedIn(h: TestApp): Promise<Visitor> {
  const v = visitor(h)
  await v.get('/dashboard/sign-in')
  const response = await v.post('/dashboard/sign-in', { admin_token: TEST_ADMIN_TOKEN })
  assert.equal(response.statusCode, 303, response.body)
  assert.equal(response.headers.location, '/dashboard/apps')
  await v.get('/dashboard/apps')
  return v
}
