import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf } from './gateway-caller.ts';
import { certificatesResponse, v3Errors } from './gateway-schemas.ts';

/** The platform certificates, each encrypted under the caller's own APIv3 key (reference §3.6). */
export async function certificateRoutes(app: FastifyInstance) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/certificates',
    {
      schema: {
        summary: 'Platform certificates, encrypted with your APIv3 key',
        tags: ['gateway (WeChat Pay API v3)'],
        response: { 200: certificatesResponse, ...v3Errors },
      },
    },
    async (request) => app.services.gatewayCertificates.list(callerOf(request)),
  );
}
