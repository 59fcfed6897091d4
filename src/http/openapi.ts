import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/**
 * The OpenAPI 3.1 document is generated from the route schemas (so it cannot drift from what is served)
 * and shown at /docs with assets bundled in the package: nothing loads from outside the server.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Entitle',
        version,
        description:
          "Self-hostable subscription and entitlement server. `/api/v2/server-side-api/…` is wire-compatible with Adapty's " +
          'server-side API v2; `/admin/v1/…` is the operator API.',
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'Authorization',
            description: 'The app secret key: `Api-Key secret_live_…`',
          },
          adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
          stripeSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'Stripe-Signature',
            description: "Stripe's signature of the webhook, checked with the app's stripe_webhook_secret",
          },
        },
      },
      tags: [
        { name: 'Profile', description: 'Create, read, update and delete profiles' },
        {
          name: 'Purchases',
          description: 'Set transactions, grant and revoke access levels; the answer is the profile',
        },
        { name: 'Integration', description: 'Identifiers of the profile in analytics and attribution tools' },
        { name: 'Refund Saver', description: 'Per-user Refund Saver settings' },
        {
          name: 'Stripe',
          description: 'Import Stripe purchases and keep them in sync through Stripe webhooks',
        },
        { name: 'Paddle', description: 'Import Paddle purchases' },
        { name: 'Admin: apps', description: 'Operator API: apps, keys, access levels, settings' },
        { name: 'Admin: catalog', description: 'Products: which store products grant which access level' },
        { name: 'Admin: events', description: 'The event feed: every subscription event in write order' },
        { name: 'Operations', description: 'Health and documentation' },
      ],
    },
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
