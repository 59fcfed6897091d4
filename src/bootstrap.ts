import type { Config } from './config.ts'
import type { CreatedApp } from './modules/apps/apps.service.ts'
import type { AdminTokenSetup } from './modules/operator/operator.service.ts'
import type { Services } from './services.ts'

export interface FirstStart {
  adminToken: AdminTokenSetup
  /** Present only on the very first start of an empty database. */
  defaultApp?: CreatedApp
}

/**
 * Prepares the operator's credentials: the admin token (from ADMIN_TOKEN, or generated once) and, on an empty
 * database, the app `default` with the access level premium.
 */
export async function bootstrap(services: Services, config: Config): Promise<FirstStart> {
  const adminToken = await services.operator.ensureAdminToken(config.ADMIN_TOKEN)
  const claimed = await services.operator.claimFirstStart()
  if (!claimed || (await services.apps.countApps()) > 0) return { adminToken }
  return { adminToken, defaultApp: await services.apps.createApp('default') }
}

/** What the operator reads on the console at start; secrets appear here once and nowhere else. */
export function startBanner(firstStart: FirstStart, baseUrl: string, databaseDescription: string): string {
  const lines = [`Entitle is listening on ${baseUrl} (${databaseDescription}).`]
  if (firstStart.adminToken.source === 'generated') {
    lines.push(
      '',
      'Admin token (shown once; only its hash is stored, keep it somewhere safe):',
      `  ${firstStart.adminToken.token}`,
    )
  }
  const created = firstStart.defaultApp
  if (created) {
    lines.push(
      '',
      `Created the app "default" (app_id ${created.app.id}) with the access level "premium".`,
      'Its secret API key (shown once; only its hash is stored):',
      `  ${created.secretApiKey}`,
      `Public SDK key: ${created.publicApiKey}`,
      '',
      'Try it:',
      `  curl -X POST ${baseUrl}/api/v2/server-side-api/profile/ \\`,
      `    -H 'Authorization: Api-Key ${created.secretApiKey}' \\`,
      "    -H 'adapty-customer-user-id: user-1'",
    )
  } else {
    lines.push(
      '',
      'API keys are shown only when they are made. To get one:',
      `  curl -X POST ${baseUrl}/admin/v1/apps -H 'Authorization: Bearer <ADMIN_TOKEN>' \\`,
      `    -H 'content-type: application/json' -d '{"name": "my-app"}'`,
      '  or, with the server stopped (embedded mode) or any time on PostgreSQL: npm run entitle -- apps create --name my-app',
    )
  }
  return lines.join('\n')
}
