import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PaymentBridgeService } from '../../services/payments/index.ts';
import type { VirtualOrderService } from '../../services/virtual-payment/index.ts';
import { jsonLimitProblem } from '../../domain/bounded-json.ts';
import { clientErrorStatus } from '../../domain/error-mapping.ts';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';
import { repositoryRoot } from '../../config/repository-root.ts';

export interface BridgeRoutesOptions {
  bridge: PaymentBridgeService;
  virtualOrders: VirtualOrderService;
}

/** Where `npm ci` (prepare) puts the bundled browser bridge. */
export const bridgeBundleRoot = path.join(repositoryRoot, 'bridge/dist');

const verifyBody = z.object({
  appId: z.string().min(1).max(32),
  timeStamp: z.string().min(1).max(16),
  nonceStr: z.string().min(1).max(64),
  package: z.string().min(1).max(128),
  signType: z.string().min(1).max(16),
  paySign: z.string().min(1).max(1024),
});

const okAnswer = z.object({
  result: z.literal('ok'),
  prepay_id: z.string(),
  cashier_url: z.string().nullable(),
  cashier_token: z.string().nullable(),
  channel: z.string(),
  sandbox: z.boolean(),
  order: z.object({
    out_trade_no: z.string(),
    description: z.string(),
    amount: z.object({ total: z.number().int(), currency: z.string() }),
    time_expire: z.string(),
  }),
});
const failAnswer = z.object({ result: z.literal('fail'), code: z.string(), reason: z.string() });

/** SPEC §8.2: `signData` is the exact string the merchant server signed; fields are checked by the service (−15001 when missing). */
const verifyVirtualBody = z.object({
  appId: z.string().max(64).optional(),
  method: z.string().max(64).optional(),
  signData: z.string().max(8192).optional(),
  paySig: z.string().max(256).optional(),
  signature: z.string().max(256).optional(),
  openid: z.string().max(256).optional(),
  sessionVerified: z.unknown().optional(),
});
const virtualOkAnswer = z.object({
  result: z.literal('ok'),
  wx_order_id: z.string(),
  order_id: z.string(),
  cashier_url: z.string().nullable(),
  cashier_token: z.string().nullable(),
  channel: z.string(),
  sandbox: z.boolean(),
  order: z.object({
    product_id: z.string(),
    quantity: z.number().int(),
    order_fee: z.number().int(),
    paid_fee: z.number().int(),
    currency: z.string(),
    time_expire: z.string(),
  }),
});
const virtualFailAnswer = z.object({ result: z.literal('fail'), errCode: z.number().int(), code: z.string(), reason: z.string() });
/** A virtual verification's body is small; the host key's signature covers its raw bytes. */
const virtualBodyLimit = 16 * 1024;

/**
 * The superapp host bridge (SPEC §4.4): the bundled `paythrough-bridge.js` a host page loads, and the one
 * public call it makes. The answer reveals the order summary only, and only for a paySign that verifies.
 */
export async function bridgeRoutes(app: FastifyInstance, options: BridgeRoutesOptions) {
  guardRoutesWith(app, 'pay-sign');
  const routes = app.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler((error: { validation?: unknown; statusCode?: number; message: string }, request, reply) => {
    if (error.validation || (error.statusCode && error.statusCode < 500))
      return reply.status(clientErrorStatus(error.statusCode)).send({ result: 'fail', code: 'INVALID_PARAMS', reason: error.message });
    request.log.error({ err: error }, 'bridge request failed');
    return reply.status(500).send({ result: 'fail', code: 'SYSTEM_ERROR', reason: 'Paythrough could not check the payment' });
  });

  routes.post(
    '/bridge/v1/verify-payment',
    {
      config: { capability: 'public' },
      schema: {
        summary: "Host bridge: check a mini program's requestPayment parameters and name the cashier to open",
        tags: ['bridge'],
        body: verifyBody,
        response: { 200: z.union([okAnswer, failAnswer]), 400: failAnswer, 413: failAnswer, 415: failAnswer },
      },
    },
    async (request) => {
      const verified = await options.bridge.verify(request.body);
      if (!verified.ok) return { result: 'fail' as const, code: verified.code, reason: verified.reason };
      return {
        result: 'ok' as const,
        prepay_id: verified.prepayId,
        cashier_url: verified.cashierUrl,
        cashier_token: verified.cashierToken,
        channel: verified.channel,
        sandbox: verified.sandbox,
        order: {
          out_trade_no: verified.order.outTradeNo,
          description: verified.order.description,
          amount: verified.order.amount,
          time_expire: new Date(verified.order.timeExpire).toISOString(),
        },
      };
    },
  );

  // The superapp backend's host-key signature covers the body as sent: the raw bytes are kept beside the parsed JSON.
  await app.register(async (virtual) => {
    const rawBodies = new WeakMap<FastifyRequest, Buffer>();
    virtual.removeContentTypeParser('application/json');
    virtual.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: virtualBodyLimit }, (request, body, done) => {
      const text = (body as Buffer).toString('utf8');
      const problem = text.trim() === '' ? 'Body cannot be empty when content-type is set to application/json' : jsonLimitProblem(text);
      let parsed: unknown;
      try {
        if (problem === undefined) parsed = JSON.parse(text);
      } catch {
        return done(Object.assign(new Error('The JSON body does not parse'), { statusCode: 400 }), undefined);
      }
      if (problem !== undefined) return done(Object.assign(new Error(problem), { statusCode: 400 }), undefined);
      rawBodies.set(request, body as Buffer);
      done(null, parsed);
    });
    virtual.withTypeProvider<ZodTypeProvider>().post(
      '/bridge/v1/verify-virtual-payment',
      {
        config: { capability: 'public' },
        bodyLimit: virtualBodyLimit,
        schema: {
          summary: 'Host bridge: verify a virtual payment (signData + paySig), create the order and name the cashier to open',
          description:
            'SPEC §8.2. Outside the sandbox the superapp backend signs the call with its host key ' +
            '(`Paythrough-Timestamp`, `Paythrough-Nonce`, `Paythrough-Signature`, as the host API).',
          tags: ['bridge'],
          body: verifyVirtualBody,
          response: { 200: z.union([virtualOkAnswer, virtualFailAnswer]), 400: failAnswer, 413: failAnswer, 415: failAnswer },
        },
      },
      async (request) => {
        const verified = await options.virtualOrders.verify(request.body, {
          headers: request.headers,
          rawBody: rawBodies.get(request) ?? Buffer.alloc(0),
        });
        if (!verified.ok) return { result: 'fail' as const, errCode: verified.errCode, code: verified.code, reason: verified.reason };
        return {
          result: 'ok' as const,
          wx_order_id: verified.wxOrderId,
          order_id: verified.orderId,
          cashier_url: verified.cashierUrl,
          cashier_token: verified.cashierToken,
          channel: verified.channel,
          sandbox: verified.sandbox,
          order: {
            product_id: verified.order.productId,
            quantity: verified.order.quantity,
            order_fee: verified.order.orderFee,
            paid_fee: verified.order.paidFee,
            currency: verified.order.currency,
            time_expire: new Date(verified.order.timeExpire).toISOString(),
          },
        };
      },
    );
  });

  if (existsSync(bridgeBundleRoot)) {
    // The bundle itself is a public file.
    await app.register(async (bundle) => {
      guardRoutesWith(bundle, 'public');
      await bundle.register(fastifyStatic, {
        root: bridgeBundleRoot,
        prefix: '/bridge/',
        decorateReply: false,
        setHeaders: (reply) => reply.header('cache-control', 'no-cache'),
      });
    });
  } else {
    app.log.warn(`The host bridge is not built (${bridgeBundleRoot}); run "npm run build:bridge"`);
  }
}
