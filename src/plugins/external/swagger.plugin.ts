import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

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
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true }, config: { capability: 'public' } }, async () => app.swagger());
  },
  { name: 'swagger' },
);
