import { type AddressInfo, connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';
import {
  checkAnswer,
  createHostileWorld,
  expectRefusalsWithinBudget,
  measuredSend,
  recordRefusal,
  refusalBudgetFor,
  describeHostile,
  fillUrl,
  discoverAppRoutes,
  stateOf,
  changedTables,
  type AppRoute,
  type HostileWorld,
  type Surface,
} from './hostile-input.ts';

/**
 * Bodies over a size limit: every route that takes a body, read from the app, gets
 * one byte more than its limit (1 MiB, the host API 64 KiB) and must refuse it in its own format —
 * 413 with {code, message} / {error} on the gateway, console, channel, sandbox, bridge and demo; the
 * TC3 envelope (HTTP 200, Code RequestSizeLimitExceeded) on the management API; a 200 XML FAIL on
 * the host API, an HTTP 200 errcode 268490002 on the xpay API — with nothing changed. Over a socket, a declared
 * Content-Length over the limit is answered before a single body byte is sent (refused early, never buffered).
 */

const appBodyLimit = 1024 * 1024;
const hostBodyLimit = 64 * 1024;
const xpayBodyLimit = 16 * 1024;

const routes = (await discoverAppRoutes()).filter((route) => ['POST', 'PUT', 'PATCH'].includes(route.method));

// The virtual payment verification takes small bodies as the xpay API does (SPEC §8.2).
const virtualBodyLimit = 16 * 1024;
const limitOf = (route: AppRoute) =>
  route.surface === 'host'
    ? hostBodyLimit
    : route.surface === 'xpay'
      ? xpayBodyLimit
      : route.url === '/bridge/v1/verify-virtual-payment'
        ? virtualBodyLimit
        : appBodyLimit;
const keyOf = (route: AppRoute) => `${route.method} ${route.url}`;

/** A well-formed body (XML for the host API, JSON elsewhere) of exactly `bytes` bytes. */
function bodyOfSize(route: AppRoute, bytes: number): string {
  const [open, close] = route.surface === 'host' ? ['<xml><p>', '</p></xml>'] : ['{"padding":"', '"}'];
  return `${open}${'x'.repeat(bytes - open.length - close.length)}${close}`;
}

/** The refusal each surface gives a body over its limit. */
function expectTooLarge(surface: Surface, response: { statusCode: number; body: string }) {
  switch (surface) {
    case 'management':
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body).Response.Error).toMatchObject({
        Code: 'RequestSizeLimitExceeded',
        Message: expect.stringMatching(/too large/i),
      });
      return;
    case 'host':
      expect(response.statusCode).toBe(200);
      expect(response.body).toMatch(/^<xml><return_code>FAIL<\/return_code><return_msg>The body is too large<\/return_msg>/);
      return;
    case 'xpay':
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ errcode: 268490002, errmsg: expect.stringMatching(/too large/i) });
      return;
    default:
      expect(response.statusCode, response.body).toBe(413);
      expect(response.body).toMatch(/too large/i);
  }
}

describe('size limits: generators', () => {
  it('cover every route that takes a body', () => {
    expect(routes.length).toBeGreaterThan(40);
    for (const route of routes) expect(route.surface, `${keyOf(route)} has no surface`).toBeDefined();
  });
});

describeHostile('bodies over the size limit', (kind) => {
  let context: TestContext;
  let world: HostileWorld;
  let listening: FastifyInstance;
  let port: number;
  let session: { cookie: string; csrf: string };

  beforeAll(async () => {
    context = await createTestContext(kind);
    world = await createHostileWorld(context);
    listening = await buildApp(context, { backgroundJobs: false });
    await listening.listen({ port: 0, host: '127.0.0.1' });
    port = (listening.server.address() as AddressInfo).port;
    const signIn = await context.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { account: world.manifest.superAdmin.account, password: world.manifest.superAdmin.password },
    });
    session = {
      cookie: `paythrough_session=${signIn.cookies.find((c) => c.name === 'paythrough_session')!.value}`,
      csrf: (signIn.json() as { csrfToken: string }).csrfToken,
    };
  });
  afterAll(async () => {
    await listening?.close();
    await context?.close();
  });

  const urlOf = (route: AppRoute) =>
    fillUrl(route.url, {
      applicationId: world.ids.applicationIds[0]!,
      teamId: world.ids.teamIds[1]!,
      mnpId: world.ids.mnpIds[0]!,
      userId: world.ids.userIds[0]!,
      orderId: world.ids.orderIds[0]!,
      outTradeNo: 'x',
      prepay_id: world.ids.prepayIds[0]!,
      out_trade_no: world.ids.outTradeNos[0]!,
      token: 't',
      action: 'pay',
      outcome: 'succeed',
    });
  const headersOf = (route: AppRoute): Record<string, string> => ({
    'content-type': route.surface === 'host' ? 'application/xml' : 'application/json',
    ...(route.surface === 'console' ? { cookie: session.cookie, 'x-csrf-token': session.csrf } : {}),
    ...(route.surface === 'management'
      ? {
          'x-tc-action': 'DescribePaymentOrderList',
          'x-tc-version': '2025-01-06',
          'x-tc-timestamp': String(Math.floor(context.clock.nowMs() / 1000)),
        }
      : {}),
  });

  it('one byte over the limit: refused in the surface format on every route, nothing changes', async () => {
    for (const route of routes) {
      const before = await stateOf(context);
      const payload = bodyOfSize(route, limitOf(route) + 1);
      expect(Buffer.byteLength(payload)).toBe(limitOf(route) + 1);
      const request = { method: route.method, url: urlOf(route), headers: headersOf(route), payload };
      const measured = await measuredSend(context.app, request);
      const { response } = measured;
      checkAnswer(route.surface!, response, `${keyOf(route)} over its limit`);
      expectTooLarge(route.surface!, response);
      expect(changedTables(before, await stateOf(context)), keyOf(route)).toEqual([]);
      await recordRefusal(context, route.surface!, request, measured, `${keyOf(route)} one byte over its limit`);
    }
  });

  it('exactly at the limit is not refused for its size', async () => {
    for (const route of routes.filter((r) => ['gateway', 'console', 'host'].includes(r.surface!))) {
      const payload = bodyOfSize(route, limitOf(route));
      const response = await context.app.inject({ method: route.method as 'POST', url: urlOf(route), headers: headersOf(route), payload });
      expect(response.body, keyOf(route)).not.toMatch(/too large/i);
    }
  });

  it('a declared Content-Length over the limit is answered before any body byte is sent', async () => {
    const bySurface = new Map<Surface, AppRoute>();
    for (const route of routes) if (!bySurface.has(route.surface!)) bySurface.set(route.surface!, route);
    for (const [surface, route] of bySurface) {
      const headers = { ...headersOf(route), host: '127.0.0.1', 'content-length': String(100 * 1024 * 1024), connection: 'close' };
      const head = `${route.method} ${urlOf(route)} HTTP/1.1\r\n${Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}`)
        .join('\r\n')}\r\n\r\n`;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(head));
        let received = '';
        socket.setTimeout(10_000, () => reject(new Error(`${surface}: no answer without the body: the server waits for 100 MB`)));
        socket.on('data', (chunk) => {
          received += chunk.toString('utf8');
          if (received.includes('\r\n\r\n')) {
            socket.destroy();
            resolve(received);
          }
        });
        socket.on('error', reject);
      });
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
      expect(status, `${surface} ${keyOf(route)}: ${answer.slice(0, 200)}`).toBe(
        surface === 'management' || surface === 'host' || surface === 'xpay' ? 200 : 413,
      );
    }
  });

  it(`every refusal was timed: p99 server CPU ≤ ${refusalBudgetFor(kind)} ms per surface (SPEC §7)`, () => {
    expectRefusalsWithinBudget(kind, [...new Set(routes.map((route) => route.surface!))]);
  });
});
