import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { clientErrorStatus } from '../../domain/error-mapping.ts';
import { DemoMerchantError, demoGameCredentials, demoGoods } from '../../services/demo/index.ts';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';
import { repositoryRoot } from '../../config/repository-root.ts';

/**
 * The clickable demo (SPEC §4.4), present only while the sandbox is on:
 * - `/demo`: a superapp host page (a phone) running the demo mini program shop, with the host bridge;
 * - `/demo/shop`: the mini program itself (the page inside the phone);
 * - `/demo/merchant/...`: the shop's merchant server, its notify_url, its settings and what it received;
 * - `/demo/game`: the demo mini game (SPEC §8.9), `/demo/game/api/...` its merchant server, `/demo/game/delivery` its
 *   delivery URL.
 * Static pages and scripts come from `demo/` (CSP script-src 'self': no inline scripts).
 */
const demoFolder = path.join(repositoryRoot, 'demo');
const pages = {
  host: 'host.html',
  shop: 'shop.html',
  game: 'game.html',
  settings: 'settings.html',
  notifications: 'notifications.html',
} as const;
const assets: Record<string, string> = {
  'demo.css': 'text/css; charset=utf-8',
  'host.js': 'text/javascript; charset=utf-8',
  'shop.js': 'text/javascript; charset=utf-8',
  'game.js': 'text/javascript; charset=utf-8',
  'settings.js': 'text/javascript; charset=utf-8',
  'notifications.js': 'text/javascript; charset=utf-8',
};

/** This server's own address, for the demo merchant's calls to the gateway (PUBLIC_URL until it listens). */
function ownBaseUrl(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo | string | null;
  if (!address || typeof address === 'string') return app.config.publicUrl;
  const host =
    address.address === '0.0.0.0' || address.address === '::'
      ? '127.0.0.1'
      : address.family === 'IPv6'
        ? `[${address.address}]`
        : address.address;
  return `http://${host}:${address.port}`;
}

export async function demoRoutes(app: FastifyInstance) {
  guardRoutesWith(app, 'sandbox-only');
  const read = (name: string) => readFileSync(path.join(demoFolder, name), 'utf8');
  const pageText = Object.fromEntries(Object.entries(pages).map(([key, file]) => [key, read(file)])) as Record<keyof typeof pages, string>;
  const assetText = Object.fromEntries(Object.keys(assets).map((name) => [name, read(name)]));
  const merchant = app.services.createDemoMerchant(() => ownBaseUrl(app));
  const gameMerchant = app.services.createDemoGameMerchant(() => ownBaseUrl(app));
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const hidden = { config: { capability: 'public' as const }, schema: { hide: true } };

  app.setErrorHandler((error: { validation?: unknown; statusCode?: number; message: string; detail?: unknown }, request, reply) => {
    if (error instanceof DemoMerchantError)
      return reply.status(error.status).send({ message: error.message, detail: error.detail ?? null });
    if (error.validation || (error.statusCode && error.statusCode < 500))
      return reply.status(clientErrorStatus(error.statusCode)).send({ message: error.message });
    request.log.error({ err: error }, 'demo request failed');
    return reply.status(500).send({ message: 'The demo failed' });
  });

  const sendPage = (reply: FastifyReply, page: keyof typeof pages) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(pageText[page]);
  app.get('/demo', hidden, async (_request, reply) => sendPage(reply, 'host'));
  app.get('/demo/shop', hidden, async (_request, reply) => sendPage(reply, 'shop'));
  app.get('/demo/game', hidden, async (_request, reply) => sendPage(reply, 'game'));
  app.get('/demo/merchant/settings', hidden, async (_request, reply) => sendPage(reply, 'settings'));
  app.get('/demo/merchant/notifications', hidden, async (_request, reply) => sendPage(reply, 'notifications'));
  routes.get(
    '/demo/assets/:name',
    { ...hidden, schema: { hide: true, params: z.object({ name: z.string().max(64) }) } },
    async (request, reply) => {
      const type = assets[request.params.name];
      if (!type) return reply.status(404).send({ message: 'Not found' });
      return reply.type(type).header('cache-control', 'no-cache').send(assetText[request.params.name]);
    },
  );

  // The shop's merchant server: what its mini program calls.
  routes.get('/demo/merchant/api/shop', hidden, async () => {
    const found = await merchant.credentials();
    return {
      configured: !!found,
      source: found?.source ?? null,
      mnpId: found?.credentials.mnpId ?? null,
      mchid: found?.credentials.mchid ?? null,
      notifyUrl: merchant.notifyUrl,
      goods: demoGoods,
    };
  });
  routes.post(
    '/demo/merchant/api/settings',
    { ...hidden, schema: { hide: true, body: z.record(z.string(), z.string().max(8192)) } },
    async (request) => {
      const body = request.body;
      await merchant.saveCredentials({
        mnpId: body.mnpId ?? '',
        mchid: body.mchid ?? '',
        serialNo: body.serialNo ?? '',
        privateKeyPem: body.privateKeyPem ?? '',
        apiV3Key: body.apiV3Key ?? '',
        platformSerial: body.platformSerial ?? '',
        platformPublicKeyPem: body.platformPublicKeyPem ?? '',
      });
      return { saved: true };
    },
  );
  routes.post(
    '/demo/merchant/api/orders',
    {
      ...hidden,
      schema: { hide: true, body: z.object({ goodsId: z.string().max(32), quantity: z.number().int().min(1).max(9).default(1) }) },
    },
    async (request) => merchant.placeOrder(request.body.goodsId, request.body.quantity),
  );
  routes.get('/demo/merchant/api/orders', hidden, async () => ({ orders: await merchant.orders() }));
  routes.get(
    '/demo/merchant/api/orders/:outTradeNo',
    { ...hidden, schema: { hide: true, params: z.object({ outTradeNo: z.string().max(64) }) } },
    async (request) => merchant.queryOrder(request.params.outTradeNo),
  );
  routes.post(
    '/demo/merchant/api/orders/:outTradeNo/refund',
    { ...hidden, schema: { hide: true, params: z.object({ outTradeNo: z.string().max(64) }) } },
    async (request) => merchant.refund(request.params.outTradeNo),
  );
  routes.get('/demo/merchant/api/notifications', hidden, async () => ({ notifications: await merchant.notifications() }));

  // The mini game's merchant server: what the game calls.
  routes.get('/demo/game/api/game', hidden, async () => {
    const game = await demoGameCredentials(app.services.demoWorld);
    return { configured: !!game, mnpId: game?.mnpId ?? null, offerId: game?.offerId ?? null, items: game?.items ?? [] };
  });
  // What the host knows of its signed-in player (a real host keeps the session key on its server).
  routes.get('/demo/game/api/session', hidden, async () => {
    const game = await demoGameCredentials(app.services.demoWorld);
    if (!game) throw new DemoMerchantError(409, 'The demo world has no mini game with virtual payment yet');
    return { mnpId: game.mnpId, openid: game.openid, sessionKey: game.sessionKey };
  });
  routes.post(
    '/demo/game/api/purchases',
    {
      ...hidden,
      schema: { hide: true, body: z.object({ productId: z.string().max(64), quantity: z.number().int().min(1).max(9).default(1) }) },
    },
    async (request) => gameMerchant.signPurchase(request.body.productId, request.body.quantity),
  );
  routes.get('/demo/game/api/purchases', hidden, async () => ({
    purchases: await gameMerchant.purchases(),
    inventory: await gameMerchant.inventory(),
  }));
  routes.post(
    '/demo/game/api/purchases/:outTradeNo/refund',
    { ...hidden, schema: { hide: true, params: z.object({ outTradeNo: z.string().max(64) }) } },
    async (request) => gameMerchant.refund(request.params.outTradeNo),
  );

  // The notify_url reads the exact body bytes: the signature covers them.
  await app.register(async (notify) => {
    notify.removeAllContentTypeParsers();
    notify.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    notify.post('/demo/merchant/notify', hidden, async (request, reply) => {
      const result = await merchant.receiveNotification(
        request.headers as Record<string, unknown>,
        typeof request.body === 'string' ? request.body : '',
      );
      if (result.ok) return reply.status(204).send();
      return reply.status(401).send({ code: 'FAIL', message: result.message });
    });
    // The game's delivery URL: acknowledged as the platform expects, refused with a non-2xx (it is retried).
    notify.post('/demo/game/delivery', hidden, async (request, reply) => {
      const result = await gameMerchant.receiveDelivery(
        request.headers as Record<string, unknown>,
        typeof request.body === 'string' ? request.body : '',
      );
      if (result.ok) return reply.send({ returnCode: '0', data: 'OK' });
      return reply.status(401).send({ message: result.message });
    });
  });
}
