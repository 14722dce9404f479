import type { FastifyInstance, FastifyRequest } from 'fastify';
import { signV3Response } from '../../crypto/wechatpay-v3.ts';
import { JsonLimitError, parseBoundedJson } from '../../domain/bounded-json.ts';
import { AppError } from '../../domain/errors.ts';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';
import { billRoutes } from './bill.routes.ts';
import { certificateRoutes } from './certificate.routes.ts';
import { toV3Error } from './gateway-errors.ts';
import { refundRoutes } from './refund.routes.ts';
import { transactionRoutes } from './transaction.routes.ts';

import './gateway-caller.ts';

export const gatewayPrefix = '/v3';

const header = (request: FastifyRequest, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * The WeChat Pay API v3-compatible gateway (SPEC §4.1), one surface under `/v3`: one auth hook
 * (WECHATPAY2-SHA256-RSA2048 over the raw method, target and body), every answer signed with the
 * platform key (204s and errors included), errors from the one v3 mapper.
 */
export async function gatewayRoutes(app: FastifyInstance) {
  app.decorateRequest('gatewayCaller', null);
  guardRoutesWith(app, 'v3-signature');

  // The signature covers the exact body bytes: keep them, and parse JSON ourselves once the signature holds.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    done(null, undefined);
  });

  // Before validation: an unsigned request learns nothing about its fields and costs no parsing (SPEC §7).
  app.addHook('preValidation', async (request) => {
    request.gatewayCaller = await app.services.signatureFailures.guard('v3', request.ip, () =>
      app.services.gatewayAuth.authenticate({
        authorization: header(request, 'authorization'),
        method: request.raw.method ?? request.method,
        url: request.raw.url ?? request.url,
        body: request.rawBody ?? '',
      }),
    );
    const raw = request.rawBody ?? '';
    if (raw === '') return;
    try {
      request.body = parseBoundedJson(raw);
    } catch (error) {
      const message = error instanceof JsonLimitError ? error.message : 'The request body is not valid JSON';
      throw new AppError('InvalidParameter', message, { field: '/', issue: 'not JSON', location: 'body' });
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    // A 204 has no body whatever the serializer produced: sign (and send) exactly nothing.
    if (reply.statusCode === 204) payload = '';
    const body =
      payload === undefined || payload === null ? '' : typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : undefined;
    // Streams are not signed (none is sent today); everything else is, as the clients require for 2xx.
    if (body === undefined) return payload;
    // An authenticated request carries the configuration generation it read: the keys come from memory.
    const generation = request.gatewayCaller?.configGeneration;
    const now = app.clock.nowMs();
    const key = await app.services.platformKeys.signingKey(now, generation);
    // A client naming any published platform certificate serial (Wechatpay-Serial) is in certificate mode: it gets
    // the signing certificate's serial, also across a rotation; others get the public-key id.
    const named = header(request, 'wechatpay-serial');
    const certificateMode =
      named !== undefined &&
      (named === key.serialNo ||
        (await app.services.platformKeys.publishedKeys(now, generation)).some((published) => published.serialNo === named));
    const serial = certificateMode ? key.serialNo : key.publicKeyId;
    const headers = signV3Response({ serial, privateKey: key.privateKey }, body, { nowMs: now, requestId: request.id });
    reply.headers({ ...headers });
    return payload;
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toV3Error(error);
    if (status >= 500) request.log.error({ err: error }, 'gateway request failed');
    return reply.status(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).type('application/json').send({ code: 'RESOURCE_NOT_EXISTS', message: 'No such API' }),
  );

  await app.register(transactionRoutes);
  await app.register(refundRoutes);
  await app.register(certificateRoutes);
  await app.register(billRoutes);
}
