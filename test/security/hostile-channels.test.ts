import { xpayCoinOperations, xpayOperations } from '../../src/services/virtual-payment/index.ts';
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';
import {
  allIds,
  bodySchema,
  channelHeaders,
  createHostileWorld,
  describeHostile,
  discoverAppRoutes,
  expectHostileRequestHandled,
  expectRefusalsWithinBudget,
  fillUrl,
  forgetBaseline,
  hostileHeaderValue,
  hostileId,
  hostileJsonBody,
  hostileQuery,
  hostileSeed,
  hostileString,
  hostileXml,
  paramNames,
  propertyParameters,
  refusalBudgetFor,
  sampleBody,
  type AppRoute,
  type HostileWorld,
  type Surface,
} from './hostile-input.ts';

/**
 * Hostile input on the channel-facing and public surfaces: the HTTP channel's
 * callback route (unsigned, forged, replayed-for-another-body and genuinely signed malformed events),
 * the host API (XML with DTDs and entities, malformed XML, JSON, signed and unsigned; always a 200
 * XML answer), the sandbox control API and cashier, the host bridge, the demo, /metrics, and every
 * read-only page or document — every route read from the app.
 * PAYTHROUGH_FULL_RELIABILITY=1 runs ten times as many cases; PAYTHROUGH_HOSTILE_SEED replays a seed.
 */

const surfaces: Surface[] = ['channel-callback', 'host', 'xpay', 'sandbox', 'bridge', 'demo', 'metrics', 'static'];
const appRoutes = await discoverAppRoutes();
const routes = appRoutes.filter((route) => route.surface && surfaces.includes(route.surface));
const keyOf = (route: AppRoute) => `${route.method} ${route.url}`;

/** Valid bodies of the public POST routes without an OpenAPI body schema; a new such route needs one here. */
const validBodies: Record<string, (world: HostileWorld) => unknown> = {
  'POST /channel/v1/superapps/:applicationId/events': (world) => ({
    event_id: 'evt-hostile',
    event_type: 'payment.succeeded',
    occurred_time: new Date(world.context.clock.nowMs()).toISOString(),
    order: {
      channel_order_id: 'c',
      merchant_id: '1900000001',
      appid: world.ids.mnpIds[0],
      out_trade_no: world.ids.outTradeNos[0],
      prepay_id: world.ids.prepayIds[0],
      state: 'SUCCESS',
      amount: { total: 1, currency: 'CNY' },
      description: 'd',
      expire_time: new Date(world.context.clock.nowMs()).toISOString(),
      channel_transaction_id: 't',
      payer_openid: 'o',
      paid_time: null,
      closed_time: null,
      failure_reason: null,
      cashier_token: null,
      cashier_url: null,
    },
  }),
  'POST /demo/merchant/notify': () => ({
    id: 'n',
    event_type: 'TRANSACTION.SUCCESS',
    resource: { algorithm: 'AEAD_AES_256_GCM', ciphertext: 'x', nonce: 'n', associated_data: 'transaction' },
  }),
  'POST /demo/merchant/api/settings': () => ({ mnpId: 'x' }),
  'POST /demo/merchant/api/orders': () => ({ goodsId: 'coffee', quantity: 1 }),
  'POST /demo/merchant/api/orders/:outTradeNo/refund': () => ({}),
  'POST /demo/game/delivery': () => ({
    EventType: 'event',
    Event: 'minigame_game_pay_goods_deliver_notify',
    PayModel: 'goods',
    Payload: '{"OutTradeNo":"GAME1"}',
    PayEventSig: '00',
  }),
  'POST /demo/game/api/purchases': () => ({ productId: 'gem_pack_60', quantity: 1 }),
  'POST /demo/game/api/purchases/:outTradeNo/refund': () => ({}),
  'POST /sandbox/v1/cashier/:token/:action': () => ({}),
  'POST /sandbox/v1/statement-faults': (world) => ({
    application_id: world.ids.applicationIds[0],
    bill_date: '2026-01-14',
    kind: 'drop',
    out_trade_no: world.ids.outTradeNos[0],
  }),
  'POST /sandbox/v1/statement-faults/clear': (world) => ({ application_id: world.ids.applicationIds[0], bill_date: '2026-01-14' }),
  // The merchant server API (SPEC §8.5): without the AppKey's pay_sig every one is refused.
  ...Object.fromEntries(
    [...xpayOperations, ...xpayCoinOperations].map((name) => [
      `POST /xpay/${name}`,
      (world: HostileWorld) => ({
        openid: 'o',
        order_id: world.ids.outTradeNos[0],
        refund_order_id: 'RF12345678',
        left_fee: 1,
        refund_fee: 1,
        refund_reason: '0',
        req_from: '1',
        env: 0,
      }),
    ]),
  ),
  'POST /superapp/pay/queryPreOrder': (world) => ({ appid: world.ids.mnpIds[0], nonce_str: 'n', prepay_id: world.ids.prepayIds[0] }),
  'POST /superapp/pay/payOrder': (world) => ({
    prepay_id: world.hostReported.prepayId,
    out_trade_no: world.hostReported.outTradeNo,
    total_fee: String(world.hostReported.total),
    transaction_id: 'host-txn',
  }),
  'POST /superapp/pay/refundResult': (world) => ({
    mchid: '1900777777',
    out_refund_no: world.ids.outRefundNos[0],
    refund_status: 'SUCCESS',
  }),
};
/**
 * Routes that accept anything well formed by design, sandbox only: the demo shop's own settings and orders, and the
 * statement faults (a fault may name an order the sandbox does not have: that is the `extra` fault's purpose).
 */
const acceptingByDesign = new Set([
  'POST /demo/merchant/api/settings',
  'POST /demo/merchant/api/orders',
  'POST /demo/merchant/api/orders/:outTradeNo/refund',
  'POST /sandbox/v1/statement-faults',
  'POST /sandbox/v1/statement-faults/clear',
]);

describe('hostile channel, host, sandbox, bridge, demo and static input: generators', () => {
  it(`every route of the app belongs to a surface with generators (seed ${hostileSeed})`, () => {
    const unclassified = appRoutes.filter((route) => !route.surface).map(keyOf);
    expect(unclassified, 'routes no hostile-input suite knows: classify them in surfaceOf (test/security/hostile-input.ts)').toEqual([]);
    for (const route of routes.filter((r) => r.method === 'POST')) {
      expect(
        validBodies[keyOf(route)] ?? bodySchema(route),
        `no hostile-input generator for ${keyOf(route)}: add a valid body to validBodies`,
      ).toBeDefined();
    }
    expect(new Set(routes.map((route) => route.surface))).toEqual(new Set(surfaces));
  });
});

describeHostile('hostile channel, host, sandbox, bridge, demo and static input', (kind) => {
  let context: TestContext;
  let world: HostileWorld;

  let gateway: FastifyInstance;

  beforeAll(async () => {
    // /metrics on (its bearer token is not among the generated headers): hostile scrapes get its 401.
    context = await createTestContext(kind, { config: { metricsToken: 'hostile-suite-metrics-token-0123456789' } });
    world = await createHostileWorld(context);
    // The demo merchant calls the gateway over HTTP: a second app on the same database listens for it (no jobs).
    gateway = await buildApp(context, { backgroundJobs: false });
    await gateway.listen({ port: 0, host: '127.0.0.1' });
    (context.config as { publicUrl: string }).publicUrl = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await gateway?.close();
    await context?.close();
  });
  beforeEach(() => context && forgetBaseline(context));

  const base = kind === 'sqlite' ? 2 : 1;

  const validBody = (route: AppRoute) => validBodies[keyOf(route)]?.(world) ?? sampleBody(bodySchema(route));
  const hostileRequest = (route: AppRoute) =>
    fc.record({
      params: fc.record(
        Object.fromEntries(
          paramNames(route.url).map((name) => [
            name,
            name === 'applicationId' ? hostileId([...world.ids.applicationIds, world.httpChannel.applicationId]) : hostileId(allIds(world)),
          ]),
        ),
      ),
      wildcard: hostileString.map((value) => encodeURIComponent(value.slice(0, 300))),
      query: fc.oneof(fc.constant(''), hostileQuery),
      body: route.method === 'POST' ? hostileJsonBody(validBody(route)) : fc.constant(undefined),
      extraHeader: fc.option(
        fc.tuple(
          fc.constantFrom(
            'authorization',
            'cookie',
            'paythrough-timestamp',
            'paythrough-nonce',
            'paythrough-signature',
            'range',
            'if-none-match',
            'accept-encoding',
          ),
          hostileHeaderValue,
        ),
      ),
    });

  for (const route of routes) {
    const surface = route.surface!;
    describe(keyOf(route), () => {
      const hostileTitle =
        'hostile ids, queries, headers and bodies: never a 5xx or a leak, ' + 'answers in the surface format, a refusal changes nothing';
      it(hostileTitle, async () => {
        await fc.assert(
          fc.asyncProperty(hostileRequest(route), async (generated) => {
            const headers: Record<string, string> = {};
            if (generated.extraHeader) headers[generated.extraHeader[0]] = generated.extraHeader[1];
            if (generated.body?.contentType) headers['content-type'] = generated.body.contentType;
            const url = fillUrl(route.url, { ...generated.params, '*': generated.wildcard }) + generated.query;
            // Unsigned: the callback route and signed host messages must refuse; the sandbox, bridge and demo decide by content.
            const mayAccept =
              surface !== 'channel-callback' && (route.method === 'GET' || acceptingByDesign.has(keyOf(route)) || surface === 'host');
            await expectHostileRequestHandled(
              context,
              surface,
              { method: route.method, url, headers, ...(generated.body ? { payload: generated.body.payload } : {}) },
              { mayAccept, what: `${surface} (${generated.body?.kind ?? 'no body'})` },
            );
          }),
          propertyParameters(base * (route.method === 'POST' ? 3 : 1)),
        );
      });
    });
  }

  const callbacksTitle =
    'HTTP channel callbacks: forged or misplaced signatures are refused; ' +
    'genuinely signed malformed events never get a 5xx and change nothing when refused';
  it(callbacksTitle, async () => {
    const route = routes.find((r) => r.surface === 'channel-callback')!;
    const url = fillUrl(route.url, { applicationId: world.httpChannel.applicationId });
    const key = world.httpChannel.channelKey;
    await fc.assert(
      fc.asyncProperty(
        hostileJsonBody(validBody(route)),
        fc.constantFrom('genuine', 'another body', 'another key', 'stale', 'garbage'),
        fc.option(hostileHeaderValue),
        async (body, signing, garbage) => {
          const now = context.clock.nowMs();
          const signed =
            signing === 'genuine'
              ? channelHeaders(key, body.payload, now)
              : signing === 'another body'
                ? channelHeaders(key, `${body.payload} `, now)
                : signing === 'another key'
                  ? channelHeaders(`${key}x`, body.payload, now)
                  : signing === 'stale'
                    ? channelHeaders(key, body.payload, now - 301_000)
                    : {
                        'Paythrough-Timestamp': String(Math.floor(now / 1000)),
                        'Paythrough-Nonce': 'n',
                        'Paythrough-Signature': garbage ?? '',
                      };
          const headers = { ...signed, ...(body.contentType ? { 'content-type': body.contentType } : {}) };
          const resign = () => ({
            method: 'POST',
            url,
            headers: { ...headers, ...channelHeaders(key, body.payload, context.clock.nowMs()) },
            payload: body.payload,
          });
          context.clock.advance(1);
          await expectHostileRequestHandled(
            context,
            'channel-callback',
            { method: 'POST', url, headers, payload: body.payload },
            {
              mayAccept: signing === 'genuine',
              what: `callback signed ${signing} (${body.kind})`,
              ...(signing === 'genuine' ? { resend: resign } : {}),
            },
          );
        },
      ),
      propertyParameters(base * 6),
    );
  });

  it('host API: XML with DTDs, entities and malformed structure, signed or not, is a 200 XML FAIL; nothing changes', async () => {
    const hostRoutes = routes.filter((r) => r.surface === 'host');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...hostRoutes),
        hostileXml,
        fc.boolean(),
        fc.constantFrom('application/xml', 'text/xml', 'application/json', 'text/plain'),
        async (route, xml, sign, type) => {
          const headers: Record<string, string> = {
            'content-type': type,
            ...(sign ? channelHeaders(world.hostReported.hostKey, xml, context.clock.nowMs()) : {}),
          };
          context.clock.advance(1);
          await expectHostileRequestHandled(
            context,
            'host',
            { method: 'POST', url: route.url, headers, payload: xml },
            { mayAccept: false, what: `host XML (${sign ? 'signed' : 'unsigned'})` },
          );
        },
      ),
      propertyParameters(base * 6),
    );
  });

  it('host API: genuinely signed hostile JSON and XML fields never get a 5xx; a FAIL changes nothing', async () => {
    const hostRoutes = routes.filter((r) => r.surface === 'host');
    const fields = fc.dictionary(
      fc.constantFrom(
        'prepay_id',
        'appid',
        'total_fee',
        'out_trade_no',
        'fee_type',
        'transaction_id',
        'result_code',
        'time_end',
        'mchid',
        'out_refund_no',
        'refund_status',
        'refund_fee',
        'refund_id',
        'nonce_str',
      ),
      hostileString.map((value) => value.slice(0, 500)),
      { maxKeys: 6 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...hostRoutes), fields, fc.boolean(), async (route, generated, asXml) => {
        const message = { prepay_id: world.hostReported.prepayId, ...generated };
        const escape = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;');
        const payload = asXml
          ? `<xml>${Object.entries(message)
              .map(([name, value]) => `<${name}>${escape(value)}</${name}>`)
              .join('')}</xml>`
          : JSON.stringify(message);
        const signed = () => ({
          method: 'POST',
          url: route.url,
          headers: {
            'content-type': asXml ? 'application/xml' : 'application/json',
            ...channelHeaders(world.hostReported.hostKey, payload, context.clock.nowMs()),
          },
          payload,
        });
        context.clock.advance(1);
        await expectHostileRequestHandled(context, 'host', signed(), {
          mayAccept: true,
          what: `host signed ${asXml ? 'XML' : 'JSON'}`,
          resend: signed,
        });
      }),
      propertyParameters(base * 6),
    );
  });

  it(`every refusal was timed: p99 server CPU ≤ ${refusalBudgetFor(kind)} ms per surface (SPEC §7)`, () => {
    expectRefusalsWithinBudget(kind, surfaces);
  });
});
