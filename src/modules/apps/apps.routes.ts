import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { AppError } from '../../errors.ts'
import { errorResponses, sendEmpty } from '../../http/common-schemas.ts'
import {
  AccessLevelList,
  AccessLevelParams,
  AccessLevelResponse,
  AppDetails,
  AppIdParams,
  AppList,
  AppSettingsResponse,
  CreateAccessLevelBody,
  CreateAppBody,
  CreatedAppResponse,
  KeyParams,
  RotatedKeyResponse,
  UpdateAppSettingsBody,
} from './apps.schemas.ts'
import type { AppsService, InvalidSetting, SettingsChanges } from './apps.service.ts'
import {
  accessLevelView,
  appDetailsView,
  appSummaryView,
  createdAppView,
  issuedKeyView,
  settingsView,
} from './apps.views.ts'

const TAGS = ['Admin: apps']
const SECURITY = [{ adminToken: [] }]
const READ = [401, 404, 500, 503] as const
const WRITE = [400, 401, 404, 413, 415, 500, 503] as const

export type AppsFailure =
  | 'app_not_found'
  | 'api_key_not_found'
  | 'last_secret_key'
  | 'access_level_exists'
  | 'access_level_not_found'
  | 'access_level_protected'
  | 'access_level_in_use'

export const FAILURE_MESSAGES: Record<AppsFailure, string> = {
  app_not_found: 'App not found.',
  api_key_not_found: 'This app has no API key with this id.',
  last_secret_key: 'This is the last secret key of the app; rotate to issue a new one before deleting it.',
  access_level_exists: 'This app already has an access level with this id.',
  access_level_not_found: 'This app has no access level with this id.',
  access_level_protected: 'The default access level premium cannot be deleted.',
  access_level_in_use:
    'A product of this app grants this access level; give the product another one or delete it first.',
}

function failure(code: AppsFailure | InvalidSetting): AppError {
  if (typeof code !== 'string') return new AppError(code.code, code.message, { source: code.source })
  return new AppError(code, FAILURE_MESSAGES[code], { source: null })
}

export function appsRoutes({
  service,
  defaultRateLimitPerMinute,
}: {
  service: AppsService
  defaultRateLimitPerMinute: number
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/apps',
      {
        schema: {
          operationId: 'adminCreateApp',
          summary: 'Create an app',
          description:
            'Creates an app with a secret and a public API key (shown only here) and the access level premium.',
          tags: TAGS,
          security: SECURITY,
          body: CreateAppBody,
          response: { 201: CreatedAppResponse, ...errorResponses('fields', WRITE) },
        },
      },
      async (request, reply) => {
        return reply.code(201).send(createdAppView(await service.createApp(request.body.name)))
      },
    )

    app.get(
      '/apps',
      {
        schema: {
          operationId: 'adminListApps',
          summary: 'List apps',
          tags: TAGS,
          security: SECURITY,
          response: { 200: AppList, ...errorResponses('fields', [401, 500, 503]) },
        },
      },
      async () => ({ data: (await service.listApps()).map(appSummaryView) }),
    )

    app.get(
      '/apps/:app_id',
      {
        schema: {
          operationId: 'adminGetApp',
          summary: 'Get an app',
          description: 'The app with its key ids and hints; keys themselves are never returned.',
          tags: TAGS,
          security: SECURITY,
          params: AppIdParams,
          response: { 200: AppDetails, ...errorResponses('fields', READ) },
        },
      },
      async (request) => {
        const result = await service.getApp(request.params.app_id)
        if (!result.ok) throw failure(result.error)
        return appDetailsView(result.value.app, result.value.keys, defaultRateLimitPerMinute)
      },
    )

    app.post(
      '/apps/:app_id/keys/rotate',
      {
        schema: {
          operationId: 'adminRotateSecretKey',
          summary: 'Issue a new secret key',
          description: 'Older keys keep working until deleted, so clients can move over without downtime.',
          tags: TAGS,
          security: SECURITY,
          params: AppIdParams,
          response: { 201: RotatedKeyResponse, ...errorResponses('fields', READ) },
        },
      },
      async (request, reply) => {
        const result = await service.rotateSecretKey(request.params.app_id)
        if (!result.ok) throw failure(result.error)
        return reply.code(201).send(issuedKeyView(result.value))
      },
    )

    app.delete(
      '/apps/:app_id/keys/:key_id',
      {
        schema: {
          operationId: 'adminDeleteKey',
          summary: 'Delete an API key',
          description:
            'The key stops working at once. The last secret key of an app cannot be deleted (409).',
          tags: TAGS,
          security: SECURITY,
          params: KeyParams,
          response: {
            204: Type.Null({ description: 'Deleted' }),
            ...errorResponses('fields', [...READ, 409]),
          },
        },
      },
      async (request, reply) => {
        const result = await service.deleteKey(request.params.app_id, request.params.key_id)
        if (!result.ok) throw failure(result.error)
        return sendEmpty(reply, 204)
      },
    )

    app.post(
      '/apps/:app_id/access-levels',
      {
        schema: {
          operationId: 'adminCreateAccessLevel',
          summary: 'Add an access level',
          tags: TAGS,
          security: SECURITY,
          params: AppIdParams,
          body: CreateAccessLevelBody,
          response: { 201: AccessLevelResponse, ...errorResponses('fields', [...WRITE, 409]) },
        },
      },
      async (request, reply) => {
        const result = await service.addAccessLevel(request.params.app_id, request.body.id)
        if (!result.ok) throw failure(result.error)
        return reply.code(201).send(accessLevelView(result.value))
      },
    )

    app.get(
      '/apps/:app_id/access-levels',
      {
        schema: {
          operationId: 'adminListAccessLevels',
          summary: 'List access levels',
          tags: TAGS,
          security: SECURITY,
          params: AppIdParams,
          response: { 200: AccessLevelList, ...errorResponses('fields', READ) },
        },
      },
      async (request) => {
        const result = await service.listAccessLevels(request.params.app_id)
        if (!result.ok) throw failure(result.error)
        return { data: result.value.map(accessLevelView) }
      },
    )

    app.delete(
      '/apps/:app_id/access-levels/:access_level_id',
      {
        schema: {
          operationId: 'adminDeleteAccessLevel',
          summary: 'Delete an access level',
          description:
            'premium, the default access level, cannot be deleted (409 `access_level_protected`), nor a level ' +
            'a product grants (409 `access_level_in_use`).',
          tags: TAGS,
          security: SECURITY,
          params: AccessLevelParams,
          response: {
            204: Type.Null({ description: 'Deleted' }),
            ...errorResponses('fields', [...READ, 409]),
          },
        },
      },
      async (request, reply) => {
        const result = await service.deleteAccessLevel(request.params.app_id, request.params.access_level_id)
        if (!result.ok) throw failure(result.error)
        return sendEmpty(reply, 204)
      },
    )

    app.get(
      '/apps/:app_id/settings',
      {
        schema: {
          operationId: 'adminGetAppSettings',
          summary: 'Get app settings',
          tags: TAGS,
          security: SECURITY,
          params: AppIdParams,
          response: { 200: AppSettingsResponse, ...errorResponses('fields', READ) },
        },
      },
      async (request) => {
        const result = await service.getSettings(request.params.app_id)
        if (!result.ok) throw failure(result.error)
        return settingsView(result.value, defaultRateLimitPerMinute)
      },
    )

    app.patch(
      '/apps/:app_id/settings',
      {
        schema: {
          operationId: 'adminUpdateAppSettings',
          summary: 'Change app settings',
          description:
            'Fields not sent are left as they are; `rate_limit_per_minute: null` returns to the server default. ' +
            "`exchange_rates` entries are merged into the app's table (a null value removes a currency); " +
            '`exchange_rates: null` returns to the bundled snapshot.',
          tags: TAGS,
          security: SECURITY,
          params: AppIdParams,
          body: UpdateAppSettingsBody,
          response: { 200: AppSettingsResponse, ...errorResponses('fields', WRITE) },
        },
      },
      async (request) => {
        const body = request.body
        const changes: SettingsChanges = {}
        if (body.rate_limit_per_minute !== undefined) changes.rateLimitPerMinute = body.rate_limit_per_minute
        if (body.sharing_mode !== undefined) changes.sharingMode = body.sharing_mode
        if (body.sandbox_sharing_mode !== undefined) changes.sandboxSharingMode = body.sandbox_sharing_mode
        if (body.exchange_rates !== undefined) changes.exchangeRates = body.exchange_rates
        const credentials = {
          stripeSecretKey: body.stripe_secret_key,
          stripeWebhookSecret: body.stripe_webhook_secret,
          paddleApiKey: body.paddle_api_key,
        }
        if (Object.values(credentials).some((secret) => secret !== undefined))
          changes.credentials = credentials
        const result = await service.updateSettings(request.params.app_id, changes)
        if (!result.ok) throw failure(result.error)
        return settingsView(result.value, defaultRateLimitPerMinute)
      },
    )
  }
}
