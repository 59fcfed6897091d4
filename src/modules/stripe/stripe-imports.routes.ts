import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AppError } from '../../errors.ts'
import { errorResponses } from '../../http/common-schemas.ts'
import { formatDateTime } from '../../platform/datetime.ts'
import type { StripeImportRow } from './stripe-imports.repository.ts'
import {
  ImportListQuery,
  ImportListResponse,
  ImportParams,
  ImportResponse,
  ImportsParams,
  StartImportBody,
} from './stripe-imports.schemas.ts'
import type { StartFailure, StripeImportsService } from './stripe-imports.service.ts'

const TAGS = ['Admin: Stripe imports']
const SECURITY = [{ adminToken: [] }]
const READ = [400, 401, 404, 500, 503] as const
const WRITE = [400, 401, 404, 413, 415, 500, 503] as const

export function importView(job: StripeImportRow) {
  return {
    id: job.id,
    status: job.status,
    customer_user_id: job.customerUserId,
    stripe_customer_id: job.stripeCustomerId,
    tokens: job.tokens,
    total: job.total,
    done: job.done,
    results: job.results,
    error: job.error,
    attempts: job.attempts,
    created_at: formatDateTime(job.createdAt),
    started_at: job.startedAt ? formatDateTime(job.startedAt) : null,
    finished_at: job.finishedAt ? formatDateTime(job.finishedAt) : null,
  }
}

export function startFailureError(failure: StartFailure): AppError {
  switch (failure.code) {
    case 'app_not_found':
      return new AppError('app_not_found', 'App not found.')
    case 'stripe_secret_key_not_found':
      return new AppError(
        'stripe_secret_key_not_found',
        'Stripe secret key not found: set stripe_secret_key in the app settings.',
      )
    case 'validation_error':
      return new AppError('validation_error', failure.message, { source: failure.source })
  }
}

const notFound = () => new AppError('stripe_import_not_found', 'Stripe import not found.')

export function stripeImportsRoutes({
  service,
}: {
  service: StripeImportsService
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/apps/:app_id/stripe/imports',
      {
        schema: {
          operationId: 'adminStartStripeImport',
          summary: "Import a Stripe customer's purchases",
          description:
            'Queues an import of every subscription and one-time payment of a Stripe customer ' +
            '(`stripe_customer_id`), or of the purchases named (`tokens`), into the profile of ' +
            '`customer_user_id`, as the Stripe validation endpoint does for one purchase. It runs in the ' +
            'background: follow it with the GET below. Purchases already up to date are left as they are, ' +
            'so running an import again is safe.',
          tags: TAGS,
          security: SECURITY,
          params: ImportsParams,
          body: StartImportBody,
          response: { 202: ImportResponse, ...errorResponses('fields', WRITE) },
        },
      },
      async (request, reply) => {
        const result = await service.start(request.params.app_id.toLowerCase(), {
          customerUserId: request.body.customer_user_id,
          stripeCustomerId: request.body.stripe_customer_id ?? null,
          tokens: request.body.tokens ?? [],
        })
        if (!result.ok) throw startFailureError(result.error)
        reply.code(202)
        return importView(result.value)
      },
    )

    app.get(
      '/apps/:app_id/stripe/imports',
      {
        schema: {
          operationId: 'adminListStripeImports',
          summary: 'Stripe imports, newest first',
          tags: TAGS,
          security: SECURITY,
          params: ImportsParams,
          querystring: ImportListQuery,
          response: { 200: ImportListResponse, ...errorResponses('fields', READ) },
        },
      },
      async (request) => {
        const jobs = await service.list(request.params.app_id.toLowerCase(), request.query.limit ?? 20)
        if (!jobs.ok) throw startFailureError(jobs.error)
        return { data: jobs.value.map(importView) }
      },
    )

    app.get(
      '/apps/:app_id/stripe/imports/:import_id',
      {
        schema: {
          operationId: 'adminGetStripeImport',
          summary: 'A Stripe import: its progress, and the outcome of each purchase',
          tags: TAGS,
          security: SECURITY,
          params: ImportParams,
          response: { 200: ImportResponse, ...errorResponses('fields', READ) },
        },
      },
      async (request) => {
        const job = await service.get(
          request.params.app_id.toLowerCase(),
          request.params.import_id.toLowerCase(),
        )
        if (!job) throw notFound()
        return importView(job)
      },
    )
  }
}
