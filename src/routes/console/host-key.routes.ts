import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from './console-auth.ts';
import { applicationIdParams } from './payment-schemas.ts';
import { consoleErrors } from './schemas.ts';

const hostKeySchema = z.object({
  applicationId: z.string(),
  hostKey: z.string().describe('Shown once: Paythrough keeps it sealed and never shows it again'),
  issuedAt: z.number().describe('ms since the epoch'),
});

/** The host key of a host-reported superapp (SPEC §4.5): issued or rotated by its Administrator, shown once, audited. */
export async function hostKeyRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  routes.post(
    '/superapps/:applicationId/payment-config/host-key',
    {
      config: { capability: 'payment_config.manage' },
      schema: {
        summary: 'Issue (or rotate) the host key a host-reported superapp signs its host reports with; the old key stops working at once',
        tags: ['console: payment configuration'],
        params: applicationIdParams,
        response: { 200: hostKeySchema, ...consoleErrors },
      },
    },
    async (request) => app.services.hostKeys.rotate(actorOf(request), request.params.applicationId, request.id),
  );
}
