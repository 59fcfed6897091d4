import type { ValidateFunction } from 'ajv'
import type { TSchema } from 'typebox'
import type { Config } from '../config.ts'
import { validationFailure, validatorCompiler } from '../http/validation.ts'
import { type AppsFailure, FAILURE_MESSAGES } from '../modules/apps/apps.routes.ts'
import type { Result } from '../platform/result.ts'
import type { Services } from '../services.ts'

/** What the command groups share: the input, the outcome, and how usage errors and failures are told. */

export class UsageError extends Error {}

/** What a command answers: the JSON the admin API would give, and the lines a person reads. */
export interface CommandOutput {
  json: unknown
  text: string
}

export type CommandOutcome = Result<CommandOutput, { message: string }>

export interface CommandInput {
  positionals: string[]
  name?: string
  rateLimit?: string
  sharingMode?: string
  sandboxSharingMode?: string
  accessLevel?: string
  type?: string
  period?: string
  storeProducts?: string[]
  url?: string
  authorization?: string
  events?: string
  eventNames?: string[]
  sendUserAttributes?: boolean
  sendTrialPrice?: boolean
  overlapSeconds?: string
  eventId?: string
  status?: string
  after?: string
  limit?: string
  from?: string
  to?: string
  environment?: string
}

export type Command = (services: Services, config: Config, input: CommandInput) => Promise<CommandOutcome>

export function need(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`missing ${what}`)
  return value
}

export function done(json: unknown, text: string): CommandOutcome {
  return { ok: true, value: { json, text } }
}

/** A failure of a service: its error code and message, as the admin API would answer them. */
export function failed(
  failure: AppsFailure | { code: string; source: string | null; message: string },
): CommandOutcome {
  if (typeof failure === 'string')
    return { ok: false, error: { message: `${failure}: ${FAILURE_MESSAGES[failure]}` } }
  const where = failure.source && failure.source !== 'non_field_errors' ? `${failure.source}: ` : ''
  return { ok: false, error: { message: `${failure.code}: ${where}${failure.message}` } }
}

/** The admin API's validator of a body (`body`, not coerced) or a query string (`querystring`, coerced). */
export function compileValidator(schema: TSchema, httpPart: 'body' | 'querystring'): ValidateFunction {
  return validatorCompiler({ schema, method: 'POST', url: '', httpPart }) as ValidateFunction
}

/**
 * Checks `value` the way the admin API checks its request; a problem is a usage error naming the option
 * the field came from (`options`, keyed by the field's first path segment).
 */
export function checkOptions(
  validate: ValidateFunction,
  value: unknown,
  options: Record<string, string>,
): void {
  if (validate(value)) return
  const invalid = validationFailure(validate.errors ?? [])
  const field = invalid.source?.split('.')[0] ?? ''
  throw new UsageError(`${options[field] ?? (invalid.source || 'input')}: ${invalid.message}`)
}
