import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MerchantKeySource } from '../../services/payment-setup/index.ts';
import { actorOf } from './console-auth.ts';
import { credentialSchema, issuedKeySchema, mnpIdParams, platformKeySchema } from './payment-schemas.ts';
import { consoleErrors } from './schemas.ts';

const pemSchema = z.string().min(1).max(16_384);

/** Payment credentials of a mini program (SPEC §2.2) and the platform's public keys. */
export async function credentialRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { credentials, platformKeys } = app.services;
  const tags = ['console: payment credentials'];

  routes.get(
    '/mini-programs/:mnpId/payment-credentials',
    {
      config: { capability: 'payment_credentials.manage' },
      schema: {
        summary: 'The payment account: mchid, merchant certificates (serials), whether the APIv3 key is set',
        tags,
        params: mnpIdParams,
        response: { 200: credentialSchema, ...consoleErrors },
      },
    },
    async (request) => credentials.get(actorOf(request), request.params.mnpId),
  );

  routes.post(
    '/mini-programs/:mnpId/payment-credentials/private-key',
    {
      config: { capability: 'payment_credentials.manage' },
      schema: {
        summary: 'Download the platform-generated merchant private key, once (afterwards: reset for a new one)',
        tags,
        params: mnpIdParams,
        response: { 200: issuedKeySchema.extend({ privateKeyPem: z.string() }), ...consoleErrors },
      },
    },
    async (request) => credentials.downloadPrivateKey(actorOf(request), request.params.mnpId),
  );

  routes.post(
    '/mini-programs/:mnpId/payment-credentials/reset',
    {
      config: { capability: 'payment_credentials.manage' },
      schema: {
        summary: 'Reset the merchant certificate (revokes the old serial): platform-generated key (shown once), or your public key or CSR',
        tags,
        params: mnpIdParams,
        body: z.object({
          mode: z.enum(['generate', 'public_key', 'csr']),
          publicKeyPem: pemSchema.optional(),
          csrPem: pemSchema.optional(),
        }),
        response: { 201: issuedKeySchema, ...consoleErrors },
      },
    },
    async (request, reply) => {
      const { mode, publicKeyPem, csrPem } = request.body;
      // A missing PEM is refused by the service, after it has checked the caller's reach.
      const source: MerchantKeySource =
        mode === 'public_key' ? { mode, publicKeyPem: publicKeyPem ?? '' } : mode === 'csr' ? { mode, csrPem: csrPem ?? '' } : { mode };
      return reply.status(201).send(await credentials.resetKey(actorOf(request), request.params.mnpId, source));
    },
  );

  routes.put(
    '/mini-programs/:mnpId/payment-credentials/api-v3-key',
    {
      config: { capability: 'payment_credentials.manage' },
      schema: {
        summary: 'Set the APIv3 key: 32 characters mixing digits, upper- and lower-case letters; stored encrypted, never shown again',
        tags,
        params: mnpIdParams,
        body: z.object({ apiV3Key: z.string().length(32) }),
        response: { 200: z.object({ apiV3KeySetAt: z.number() }), ...consoleErrors },
      },
    },
    async (request) => credentials.setApiV3Key(actorOf(request), request.params.mnpId, request.body.apiV3Key),
  );

  routes.get(
    '/platform-keys',
    {
      config: { capability: 'self' },
      schema: {
        summary: "The platform's published signing keys (public key, X.509 certificate, serial and PUB_KEY_ID)",
        tags,
        response: { 200: z.object({ items: z.array(platformKeySchema) }), ...consoleErrors },
      },
    },
    async () => ({ items: await platformKeys.publishedKeys() }),
  );
}
