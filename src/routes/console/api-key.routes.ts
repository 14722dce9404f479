import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from './console-auth.ts';
import { apiKeySchema, consoleErrors } from './schemas.ts';

/** The caller's own management-API keys. */
export async function apiKeyRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api-keys',
    {
      config: { capability: 'self' },
      schema: {
        summary: 'Your API keys (SecretKeys are never shown again)',
        tags: ['console: API keys'],
        response: { 200: z.object({ items: z.array(apiKeySchema) }), ...consoleErrors },
      },
    },
    async (request) => ({ items: await app.services.apiKeys.listOwn(actorOf(request)) }),
  );

  routes.post(
    '/api-keys',
    {
      config: { capability: 'self' },
      schema: {
        summary: 'Create an API key; the SecretKey is in this answer only',
        tags: ['console: API keys'],
        body: z.object({ description: z.string().trim().max(200).default('') }),
        response: { 201: apiKeySchema.extend({ secretKey: z.string() }), ...consoleErrors },
      },
    },
    async (request, reply) => reply.status(201).send(await app.services.apiKeys.create(actorOf(request), request.body.description)),
  );

  routes.delete(
    '/api-keys/:keyId',
    {
      config: { capability: 'self' },
      schema: {
        summary: 'Revoke an API key',
        tags: ['console: API keys'],
        params: z.object({ keyId: z.string().min(1).max(64) }),
        response: { 204: z.null(), ...consoleErrors },
      },
    },
    async (request, reply) => {
      await app.services.apiKeys.revoke(actorOf(request), request.params.keyId);
      return reply.status(204).send(null);
    },
  );
}
