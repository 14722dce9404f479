import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';
import { type XpayAnswer, XpayErrcode, xpayCoinOperations, xpayOperations } from '../../services/virtual-payment/index.ts';

/** Where the merchant server API lives (SPEC §8.5: `{PUBLIC_URL}/xpay/<name>`). */
export const xpayPrefix = '/xpay';

/** An xpay body is a few hundred bytes (biz_meta ≤ 1024). */
const xpayBodyLimit = 16 * 1024;

const query = z.object({
  appid: z.string().max(64).optional(),
  pay_sig: z.string().max(256).optional(),
  access_token: z.string().optional(),
});
const xpayAnswer = z.looseObject({ errcode: z.number().int(), errmsg: z.string() });

const send = (reply: FastifyReply, answer: XpayAnswer) => reply.status(200).header('cache-control', 'no-store').send(answer);

/**
 * The merchant server API (SPEC §8.5, WeChat `xpay` shapes): `?appid=&pay_sig=`, JSON in, `errcode` / `errmsg` out,
 * always HTTP 200. The body is kept as raw bytes: `pay_sig` covers exactly what was sent.
 */
export async function xpayRoutes(app: FastifyInstance) {
  const { xpay } = app.services;
  guardRoutesWith(app, 'xpay-signature');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: xpayBodyLimit }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, { errcode: XpayErrcode.Invalid, errmsg: 'the body is too large' });
    if (error.statusCode && error.statusCode < 500)
      return send(reply, { errcode: XpayErrcode.Invalid, errmsg: 'the request is not an xpay call' });
    request.log.error({ err: error }, 'xpay request failed');
    return send(reply, { errcode: XpayErrcode.System, errmsg: 'system error: send it again later' });
  });
  app.setNotFoundHandler((_request, reply) => send(reply, { errcode: XpayErrcode.Invalid, errmsg: 'no such xpay API' }));
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const schema = (summary: string) => ({
    summary,
    description:
      'SPEC §8.5. Query `appid` (the mini program) and `pay_sig` = hex(HMAC-SHA256(AppKey, `/xpay/<name>&` + raw body)); ' +
      '`access_token` is ignored. Always HTTP 200 with `errcode` (0 ok) and `errmsg`.',
    tags: ['xpay'],
    querystring: query,
    response: { 200: xpayAnswer },
  });
  const summaries: Record<(typeof xpayOperations)[number], string> = {
    query_order: 'Query a virtual order (status 1–8, fees, times)',
    notify_provide_goods: 'Tell Paythrough the goods were delivered (status 4; delivery retries stop)',
    refund_order: 'Refund a virtual order (left_fee must be current)',
  };
  for (const operation of xpayOperations) {
    routes.post(
      `/${operation}`,
      { config: { capability: 'public' }, bodyLimit: xpayBodyLimit, schema: schema(summaries[operation]) },
      async (request, reply) =>
        send(reply, await xpay.call(operation, request.query, Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0))),
    );
  }
  for (const operation of xpayCoinOperations) {
    routes.post(
      `/${operation}`,
      { config: { capability: 'public' }, bodyLimit: xpayBodyLimit, schema: schema('Game coins are not offered (268490008)') },
      async (_request, reply) => send(reply, { errcode: XpayErrcode.CoinsNotOffered, errmsg: 'game coins are not offered' }),
    );
  }
}
