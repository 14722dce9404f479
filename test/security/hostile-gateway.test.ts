import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';
import {
  allIds,
  bodySchema,
  createHostileWorld,
  describeHostile,
  discoverAppRoutes,
  expectHostileRequestHandled,
  expectRefusalsWithinBudget,
  fillUrl,
  forgedV3Authorization,
  forgetBaseline,
  hostileHeaderValue,
  hostileId,
  hostileJsonBody,
  hostileQuery,
  hostileSeed,
  paramNames,
  propertyParameters,
  refusalBudgetFor,
  sampleBody,
  v3Authorization,
  type AppRoute,
  type HostileWorld,
} from './hostile-input.ts';

/**
 * Hostile input on the v3 gateway: every /v3 route, read from the app, gets forged
 * credentials (must be refused with a signed {code, message}) and genuinely signed requests carrying
 * malformed ids, queries and bodies (never a 5xx; a refusal changes nothing).
 * PAYTHROUGH_FULL_RELIABILITY=1 runs ten times as many cases; PAYTHROUGH_HOSTILE_SEED replays a seed.
 */

const routes = (await discoverAppRoutes()).filter((route) => route.surface === 'gateway');

/** The valid request of each gateway route that the generators start from; a new route needs an entry here. */
const validRequests: Record<string, (world: HostileWorld) => { query: string; body?: unknown }> = {
  'POST /v3/pay/transactions/jsapi': (world) => ({
    query: '',
    body: {
      appid: world.merchant.mnpId,
      mchid: world.merchant.mchid,
      description: 'Hostile',
      out_trade_no: `HX${Date.now()}`,
      notify_url: 'https://merchant.example/notify',
      amount: { total: 100, currency: 'CNY' },
      payer: { openid: 'openid-hostile' },
    },
  }),
  'GET /v3/pay/transactions/out-trade-no/:out_trade_no': (world) => ({ query: `?mchid=${world.merchant.mchid}` }),
  'POST /v3/pay/transactions/out-trade-no/:out_trade_no/close': (world) => ({ query: '', body: { mchid: world.merchant.mchid } }),
  'GET /v3/pay/transactions/id/:transaction_id': (world) => ({ query: `?mchid=${world.merchant.mchid}` }),
  'POST /v3/refund/domestic/refunds': (world) => ({
    query: '',
    body: {
      out_trade_no: world.ids.outTradeNos[0],
      out_refund_no: `HR${Date.now()}`,
      reason: 'hostile',
      amount: { refund: 1, total: 1000, currency: 'CNY' },
    },
  }),
  'GET /v3/refund/domestic/refunds/:out_refund_no': () => ({ query: '' }),
  'GET /v3/certificates': () => ({ query: '' }),
  'GET /v3/bill/tradebill': () => ({ query: '?bill_date=2026-01-14&bill_type=ALL' }),
  'GET /v3/billdownload/file': () => ({ query: '?token=x' }),
};
const keyOf = (route: AppRoute) => `${route.method} ${route.url}`;

describe('hostile gateway input: generators', () => {
  it(`cover every /v3 route the app has (seed ${hostileSeed})`, () => {
    expect(routes.length).toBeGreaterThanOrEqual(9);
    for (const route of routes)
      expect(validRequests[keyOf(route)], `no hostile-input generator for ${keyOf(route)}: add one to validRequests`).toBeDefined();
  });
});

describe('hostile gateway input: the signature-failure limit', () => {
  it('past PAYTHROUGH_SIGNATURE_FAILURE_LIMIT failures an address gets 429 FREQUENCY_LIMITED as a signed v3 error', async () => {
    const limited = await createTestContext('sqlite', { config: { signatureFailureLimit: 3 } });
    try {
      const forged = () =>
        limited.app.inject({
          method: 'GET',
          url: '/v3/certificates',
          remoteAddress: '203.0.113.7',
          headers: { accept: 'application/json', authorization: 'WECHATPAY2-SHA256-RSA2048 forged' },
        });
      for (let i = 0; i < 3; i++) expect((await forged()).statusCode).toBe(401);
      const refused = await forged();
      expect([refused.statusCode, refused.json()]).toEqual([429, { code: 'FREQUENCY_LIMITED', message: expect.any(String) }]);
      expect(refused.headers['wechatpay-signature']).toBeTruthy();
    } finally {
      await limited.close();
    }
  });
});

describeHostile('hostile gateway input', (kind) => {
  let world: HostileWorld;
  let context: TestContext;

  beforeAll(async () => {
    // Hundreds of forged signatures come from one address here: the limiter's own behaviour is checked above and in brute-force.test.ts.
    context = await createTestContext(kind, { config: { signatureFailureLimit: 1_000_000 } });
    world = await createHostileWorld(context);
  });
  afterAll(() => context?.close());
  beforeEach(() => context && forgetBaseline(context));

  const base = kind === 'sqlite' ? 5 : 2;

  /** A request to the route with hostile ids, query and body (bodies only where the route takes one). */
  const hostileRequest = (route: AppRoute) => {
    const valid = validRequests[keyOf(route)]!(world);
    const takesBody = route.method === 'POST';
    return fc.record({
      params: fc.record(Object.fromEntries(paramNames(route.url).map((name) => [name, hostileId(allIds(world))]))),
      query: fc.oneof(
        fc.constant(valid.query),
        hostileQuery,
        hostileQuery.map((extra) => `${valid.query}${valid.query ? extra.replace('?', '&') : extra}`),
      ),
      body: takesBody ? hostileJsonBody(valid.body ?? sampleBody(bodySchema(route))) : fc.constant(undefined),
      extraHeader: fc.option(
        fc.tuple(fc.constantFrom('wechatpay-serial', 'accept', 'user-agent', 'x-forwarded-for', 'request-id'), hostileHeaderValue),
      ),
    });
  };

  for (const route of routes) {
    describe(keyOf(route), () => {
      it('forged, stale or misplaced signatures are refused with a signed v3 error; nothing changes', async () => {
        await fc.assert(
          fc.asyncProperty(
            hostileRequest(route).chain((request) => {
              const url = fillUrl(route.url, request.params) + request.query;
              const payload = request.body?.payload ?? '';
              return fc.tuple(fc.constant({ request, url, payload }), forgedV3Authorization(world, route.method, url, payload));
            }),
            async ([{ request, url, payload }, authorization]) => {
              const headers: Record<string, string> = { accept: 'application/json' };
              if (authorization.value !== undefined) headers.authorization = authorization.value;
              if (request.body?.contentType) headers['content-type'] = request.body.contentType;
              if (request.extraHeader) headers[request.extraHeader[0]] = request.extraHeader[1];
              const response = await expectHostileRequestHandled(
                context,
                'gateway',
                { method: route.method, url, headers, ...(route.method === 'POST' ? { payload } : {}) },
                { mayAccept: false, what: `forged (${authorization.kind})` },
              );
              expect([401, 400, 404, 413, 415]).toContain(response.statusCode);
            },
          ),
          propertyParameters(base),
        );
      });

      it('genuinely signed requests with hostile ids, queries and bodies: never a 5xx, a refusal changes nothing', async () => {
        await fc.assert(
          fc.asyncProperty(hostileRequest(route), async (request) => {
            const url = fillUrl(route.url, request.params) + request.query;
            const payload = request.body?.payload ?? '';
            const signed = () => {
              const headers: Record<string, string> = {
                accept: 'application/json',
                authorization: v3Authorization(world, route.method, url, route.method === 'POST' ? payload : ''),
              };
              if (request.body?.contentType) headers['content-type'] = request.body.contentType;
              if (request.extraHeader) headers[request.extraHeader[0]] = request.extraHeader[1];
              return { method: route.method, url, headers, ...(route.method === 'POST' ? { payload } : {}) };
            };
            context.clock.advance(1);
            await expectHostileRequestHandled(context, 'gateway', signed(), {
              mayAccept: true,
              what: `signed (${request.body?.kind ?? 'no body'})`,
              resend: signed,
            });
          }),
          propertyParameters(base + 3),
        );
      });
    });
  }

  it(`every refusal was timed: p99 server CPU ≤ ${refusalBudgetFor(kind)} ms per surface (SPEC §7)`, () => {
    expectRefusalsWithinBudget(kind, ['gateway']);
  });
});
