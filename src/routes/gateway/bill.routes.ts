import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from './gateway-caller.ts';
import { billDownloadQuery, tradeBillQuery, tradeBillResponse, v3Errors } from './gateway-schemas.ts';

const tags = ['gateway (WeChat Pay API v3)'];

/** Daily trade bills and their download (reference §3.7). */
export async function billRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/bill/tradebill',
    {
      schema: {
        summary: 'Apply for the trade bill of a business day (PAYTHROUGH_TIMEZONE); today so far is available',
        tags,
        querystring: tradeBillQuery,
        response: { 200: tradeBillResponse, ...v3Errors },
      },
    },
    async (request) =>
      app.services.bills.tradeBill(callerOf(request), {
        billDate: request.query.bill_date,
        billType: request.query.bill_type,
        tarType: request.query.tar_type,
      }),
  );

  routes.get(
    '/billdownload/file',
    {
      schema: {
        summary: 'Download a bill (a signed request; the SHA1 of the plain file is the hash announced)',
        tags,
        querystring: billDownloadQuery,
        response: { 200: z.any().describe('The bill file: text/csv, or application/x-gzip with tar_type=GZIP'), ...v3Errors },
      },
    },
    async (request, reply) => {
      const file = await app.services.bills.download(callerOf(request), request.query.token);
      return reply.type(file.gzip ? 'application/x-gzip' : 'text/csv; charset=utf-8').send(file.body);
    },
  );
}
