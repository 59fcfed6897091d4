import type { FastifyInstance } from 'fastify'
import secureJsonParse from 'secure-json-parse'
import { AppError } from '../errors.ts'

const JSON_CONTENT_TYPES = ['application/json', 'application/vnd.api+json']

function rejectNul(_key: string, value: unknown): unknown {
  // PostgreSQL text and jsonb cannot hold U+0000; refusing it here keeps it from becoming a 500 later.
  if (typeof value === 'string' && value.includes('\u0000')) {
    throw new AppError('validation_error', 'Text may not contain the NUL character (\\u0000).', {
      source: 'non_field_errors',
    })
  }
  return value
}

/**
 * Parses JSON bodies with Adapty's errors: malformed JSON is 400 `parse_error`, an empty body is no body
 * (create profile may be sent with headers only), `__proto__` and `constructor.prototype` keys are dropped.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json'])
  app.addContentTypeParser(JSON_CONTENT_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') {
      done(null, undefined)
      return
    }
    let parsed: unknown
    try {
      parsed = secureJsonParse.parse(text, null, { protoAction: 'remove', constructorAction: 'remove' })
    } catch (error) {
      done(new AppError('parse_error', `JSON parse error - ${(error as Error).message}`), undefined)
      return
    }
    if (text.includes('\\u0000') || text.includes('\u0000')) {
      try {
        JSON.parse(text, rejectNul)
      } catch (error) {
        done(error as Error, undefined)
        return
      }
    }
    done(null, parsed)
  })
}
