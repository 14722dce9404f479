import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { guardRoutesWith } from '../app/route-guards.ts';

/** `/openapi.json` (generated from the route schemas) and the browsable `/docs`. */
export const swaggerPlugin = fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Paythrough',
          description: 'Console API (session cookie + CSRF header), WeChat Pay v3-compatible gateway, host API.',
          version: '0.1.0',
        },
        components: {
          securitySchemes: {
            consoleSession: { type: 'apiKey', in: 'cookie', name: 'paythrough_session' },
          },
        },
      },
      transform: jsonSchemaTransform,
    });
    // Encapsulated, so that the guard stamps the documents' routes only.
    await app.register(async (documents) => {
      guardRoutesWith(documents, 'public');
      await documents.register(swaggerUi, { routePrefix: '/docs' });
      documents.get('/openapi.json', { schema: { hide: true }, config: { capability: 'public' } }, async () => app.swagger());
    });
  },
  { name: 'swagger' },
);
