import type { FastifyInstance } from 'fastify'
import secureJsonParse from 'secure-json-parse'
import { AppError } from '../errors.ts'

const JSON_CONTENT_TYPES = ['application/json', 'application/vnd.api+json']

// Escapes that produce strings PostgreSQL cannot store: NUL, and UTF-16 surrogates (which are only valid in
// pairs; a lone one makes jsonb reject the value). Raw bytes cannot produce either: invalid UTF-8 decodes to U+FFFD.
const RISKY_ESCAPE = /\\u(0000|[dD][89a-fA-F])/

function sanitizeStrings(_key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value
  if (value.includes('\u0000')) {
    throw new AppError('validation_error', 'Text may not contain the NUL character (\\u0000).', {
      source: 'non_field_errors',
    })
  }
  // A lone surrogate becomes U+FFFD, as it would had the client sent it as raw bytes.
  return value.isWellFormed() ? value : value.toWellFormed()
}

/**
 * Parses JSON bodies with Adapty's errors: malformed JSON is 400 `parse_error`, an empty body is no body
 * (create profile may be sent with headers only), `__proto__` and `constructor.prototype` keys are dropped.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  // Only JSON is accepted: anything else (text/plain included) is 415 rather than a confusing 400.
  app.removeAllContentTypeParsers()
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
    if (RISKY_ESCAPE.test(text)) {
      try {
        parsed = secureJsonParse.parse(text, sanitizeStrings, {
          protoAction: 'remove',
          constructorAction: 'remove',
        })
      } catch (error) {
        done(error as Error, undefined)
        return
      }
    }
    done(null, parsed)
  })
}
