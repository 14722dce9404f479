import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from './gateway-caller.ts';
import {
  closeBody,
  mchidQuery,
  outTradeNoParams,
  prepayBody,
  prepayResponse,
  transactionIdParams,
  transactionResponse,
  v3Errors,
} from './gateway-schemas.ts';

const tags = ['gateway (WeChat Pay API v3)'];

/** JSAPI prepay, the two order queries and close (reference §3.1–3.3). */
export async function transactionRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/pay/transactions/jsapi',
    {
      schema: {
        summary: 'JSAPI / mini program prepay: the prepay_id for wx.requestPayment',
        tags,
        body: prepayBody,
        response: { 200: prepayResponse, ...v3Errors },
      },
    },
    async (request) => app.services.orders.prepay(callerOf(request), request.body),
  );

  routes.get(
    '/pay/transactions/out-trade-no/:out_trade_no',
    {
      schema: {
        summary: 'Query an order by out_trade_no',
        tags,
        params: outTradeNoParams,
        querystring: mchidQuery,
        response: { 200: transactionResponse, ...v3Errors },
      },
    },
    async (request) => app.services.orders.queryByOutTradeNo(callerOf(request), request.query.mchid, request.params.out_trade_no),
  );

  routes.get(
    '/pay/transactions/id/:transaction_id',
    {
      schema: {
        summary: 'Query a paid order by transaction_id',
        tags,
        params: transactionIdParams,
        querystring: mchidQuery,
        response: { 200: transactionResponse, ...v3Errors },
      },
    },
    async (request) => app.services.orders.queryByTransactionId(callerOf(request), request.query.mchid, request.params.transaction_id),
  );

  routes.post(
    '/pay/transactions/out-trade-no/:out_trade_no/close',
    {
      schema: {
        summary: 'Close an unpaid order (closing a closed order is 204 again)',
        tags,
        params: outTradeNoParams,
        body: closeBody,
        response: { 204: z.null(), ...v3Errors },
      },
    },
    async (request, reply) => {
      await app.services.orders.close(callerOf(request), request.body.mchid, request.params.out_trade_no);
      return reply.status(204).send(null);
    },
  );
}
