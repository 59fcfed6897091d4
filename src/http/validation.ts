import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsImport from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import { AppError } from '../errors.ts'

// ajv-formats ships CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv

function newAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    // TypeBox adds keywords of its own (`~kind`, descriptions in odd places); they are not errors.
    strict: false,
  })
  addFormats(ajv)
  return ajv
}

// Headers, path parameters and query strings arrive as text, so they are coerced to the declared types.
// Bodies are JSON: a number where a string is expected is the client's mistake, so bodies are not coerced.
const coercingAjv = newAjv(true)
const bodyAjv = newAjv(false)

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const validate = (httpPart === 'body' ? bodyAjv : coercingAjv).compile(schema as object)
  return validate as ValidateFunction
}

/** A response validator for tests: every reply must match the schema its route declares. */
export function compileResponseValidator(schema: object): ValidateFunction {
  return bodyAjv.compile(schema)
}

/** `/custom_attributes/0/key` becomes `custom_attributes.0.key`; a missing property names itself. */
function fieldPath(error: ErrorObject): string | null {
  const segments = error.instancePath.split('/').filter(Boolean)
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty))
  if (error.keyword === 'additionalProperties') segments.push(String(error.params.additionalProperty))
  return segments.length > 0 ? segments.join('.') : null
}

function describe(error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
      return 'This field is required.'
    case 'type': {
      const expected = String(error.params.type).split(',').join(' or ')
      return `Must be ${expected}.`
    }
    case 'enum':
      return `Must be one of: ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}.`
    case 'maxLength':
      return `Ensure this field has no more than ${error.params.limit} characters.`
    case 'minLength':
      return error.params.limit === 1
        ? 'This field may not be blank.'
        : `Ensure this field has at least ${error.params.limit} characters.`
    case 'maxItems':
      return `Ensure this field has no more than ${error.params.limit} elements.`
    case 'minItems':
      return `Ensure this field has at least ${error.params.limit} elements.`
    case 'format':
      return `Must be a valid ${error.params.format}.`
    case 'pattern':
      return 'Contains characters that are not allowed.'
    default: {
      const message = error.message ?? 'is invalid'
      return `${message.charAt(0).toUpperCase()}${message.slice(1)}.`
    }
  }
}

/** Turns Fastify's schema-validation failure into Adapty's `validation_error`, naming the field. */
export function validationFailure(errors: ErrorObject[]): AppError {
  const first = errors[0]
  if (!first) return new AppError('validation_error', 'Invalid input.', { source: 'non_field_errors' })
  const source = fieldPath(first) ?? 'non_field_errors'
  const message =
    first.instancePath === '' && first.keyword === 'type' ? 'Expected a JSON object.' : describe(first)
  return new AppError('validation_error', message, { source })
}
