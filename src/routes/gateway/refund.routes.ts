import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf } from './gateway-caller.ts';
import { outRefundNoParams, refundBody, refundResponse, v3Errors } from './gateway-schemas.ts';

const tags = ['gateway (WeChat Pay API v3)'];

/** Domestic refunds: create and query (reference §3.4–3.5). */
export async function refundRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/refund/domestic/refunds',
    {
      schema: {
        summary: 'Refund a paid order, fully or partly (at most 50 per order)',
        tags,
        body: refundBody,
        response: { 200: refundResponse, ...v3Errors },
      },
    },
    async (request) => app.services.refunds.create(callerOf(request), request.body),
  );

  routes.get(
    '/refund/domestic/refunds/:out_refund_no',
    {
      schema: {
        summary: 'Query a refund by out_refund_no',
        tags,
        params: outRefundNoParams,
        response: { 200: refundResponse, ...v3Errors },
      },
    },
    async (request) => app.services.refunds.query(callerOf(request), request.params.out_refund_no),
  );
}
