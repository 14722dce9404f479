import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ChannelResult, CreateChannelOrderInput } from '../../src/channels/channel.ts';
import { channelCallbackRoutes } from '../../src/routes/channel-callbacks/callback.routes.ts';
import { HttpChannel } from '../../src/channels/http/http-channel.ts';
import { channelCallbackPath, channelProtocolPaths, orderToWire, signChannelMessage } from '../../src/channels/protocol.ts';
import { startSandboxServer, type RunningSandboxServer } from '../../src/cli/sandbox-server.ts';
import { RecordingSink } from '../helpers/recording-sink.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const channelKey = 'k3y-for-the-sandbox-channel-0123456789';
const applicationId = 'app_http_channel_test';

function value<T>(result: ChannelResult<T>): T {
  if (result.outcome !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.value;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describeOnEachDatabase('HTTP channel protocol against the sandbox running as its own server', (kind) => {
  let context: TestContext;
  let sandboxServer: RunningSandboxServer;
  let receiver: FastifyInstance;
  let channel: HttpChannel;
  const sink = new RecordingSink();
  let sequence = 0;

  beforeAll(async () => {
    context = await createTestContext(kind);
    // Paythrough's side: the callback endpoint, with a recording sink standing in for the gateway.
    receiver = Fastify();
    await receiver.register(channelCallbackRoutes, {
      channelKeysFor: async (id) => (id === applicationId ? [channelKey] : null),
      sink,
      nonces: context.services.nonces,
      clock: context.clock,
      signatureFailures: context.services.signatureFailures,
    });
    await receiver.listen({ port: 0, host: '127.0.0.1' });
    const receiverUrl = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    // The sandbox's own store: its tables in this test's database (a second connection).
    const schema =
      kind === 'postgres'
        ? String((await sql<{ s: string }>`select current_schema() as s`.execute(context.database.db)).rows[0]!.s)
        : undefined;
    sandboxServer = await startSandboxServer({
      databaseUrl: context.config.databaseUrl,
      ...(schema ? { postgresSchema: schema } : {}),
      channelKey,
      callbackUrl: `${receiverUrl}${channelCallbackPath(applicationId)}`,
      refundDelayMs: 10_000,
      tickIntervalMs: 0,
      clock: context.clock,
    });
    channel = new HttpChannel({
      baseUrl: `${sandboxServer.url}/`,
      channelKey,
      clock: context.clock,
      policy: { allowPrivateTargets: [], sandboxRelaxed: true },
    });
  });
  afterAll(async () => {
    await sandboxServer?.stop();
    await receiver?.close();
    await context?.close();
  });
  beforeEach(() => {
    sink.clear();
    sink.failNext = 0;
  });

  const orderInput = (): CreateChannelOrderInput => {
    sequence += 1;
    return {
      merchantId: '1900000001',
      appId: 'mnp_http',
      outTradeNo: `H${sequence}`,
      prepayId: `wx_h_${sequence}_${kind}`,
      amount: { total: 2000, currency: 'CNY' },
      description: '测试商品',
      expiresAt: context.clock.nowMs() + 7200_000,
      attach: 'a=1',
      payer: { openid: 'o_http' },
    };
  };

  it('creates, repeats and queries orders over signed HTTP', async () => {
    const input = orderInput();
    const created = value(await channel.createOrder(input));
    expect(created).toMatchObject({ outTradeNo: input.outTradeNo, prepayId: input.prepayId, state: 'WAIT_PAY' });
    expect(created.cashierUrl).toBe(`${sandboxServer.url}/sandbox/cashier/${created.cashierToken}`);
    expect(created.expiresAt).toBe(input.expiresAt);
    expect(value(await channel.createOrder(input))).toEqual(created);
    expect(value(await channel.queryOrder({ merchantId: input.merchantId, outTradeNo: input.outTradeNo }))).toEqual(created);
    expect(await channel.createOrder({ ...input, amount: { total: 1, currency: 'CNY' } })).toMatchObject({
      outcome: 'rejected',
      code: 'OUT_TRADE_NO_USED',
    });
    expect(await channel.queryOrder({ merchantId: input.merchantId, outTradeNo: 'missing' })).toMatchObject({
      outcome: 'rejected',
      code: 'ORDER_NOT_EXIST',
    });
  });

  it('delivers the payment event to Paythrough as a signed callback', async () => {
    const input = orderInput();
    value(await channel.createOrder(input));
    const paid = value(await sandboxServer.sandbox.succeedPayment(input.prepayId, { payerOpenid: 'o_paid' }));
    expect(sink.types()).toEqual(['payment.succeeded']);
    expect(sink.events[0]!.source).toEqual({ channelKind: 'http', applicationId });
    expect(sink.events[0]!.event).toMatchObject({ type: 'payment.succeeded', order: { ...paid, cashierUrl: paid.cashierUrl } });
    expect(await channel.closeOrder({ merchantId: input.merchantId, outTradeNo: input.outTradeNo })).toMatchObject({
      outcome: 'rejected',
      code: 'ORDER_PAID',
    });
  });

  it('refunds over HTTP; the refund completes after the delay and its event arrives', async () => {
    const input = orderInput();
    value(await channel.createOrder(input));
    const paid = value(await sandboxServer.sandbox.succeedPayment(input.prepayId));
    sink.clear();
    const refundInput = {
      merchantId: input.merchantId,
      outTradeNo: input.outTradeNo,
      outRefundNo: `RH-${sequence}`,
      channelTransactionId: paid.channelTransactionId,
      amount: { refund: 500, total: 2000, currency: 'CNY' },
      reason: '七天无理由',
    };
    const refund = value(await channel.refund(refundInput));
    expect(refund).toMatchObject({ state: 'PROCESSING', reason: '七天无理由', amount: { refund: 500, total: 2000, currency: 'CNY' } });
    expect(value(await channel.refund(refundInput))).toEqual(refund);
    expect(await channel.refund({ ...refundInput, amount: { ...refundInput.amount, refund: 2000 } })).toMatchObject({
      outcome: 'rejected',
      code: 'OUT_REFUND_NO_USED',
    });
    context.clock.advance(10_000);
    await sandboxServer.sandbox.tick();
    expect(sink.types()).toEqual(['refund.succeeded']);
    expect(value(await channel.queryRefund({ merchantId: input.merchantId, outRefundNo: refundInput.outRefundNo })).state).toBe('SUCCESS');
    expect(await channel.queryRefund({ merchantId: input.merchantId, outRefundNo: 'missing' })).toMatchObject({
      outcome: 'rejected',
      code: 'REFUND_NOT_EXIST',
    });
  });

  it('closes unpaid orders, again and again', async () => {
    const input = orderInput();
    value(await channel.createOrder(input));
    const closed = value(await channel.closeOrder({ merchantId: input.merchantId, outTradeNo: input.outTradeNo }));
    expect(closed.state).toBe('CLOSED');
    expect(value(await channel.closeOrder({ merchantId: input.merchantId, outTradeNo: input.outTradeNo }))).toEqual(closed);
  });

  it('the callback is retried until Paythrough accepts it', async () => {
    const input = orderInput();
    value(await channel.createOrder(input));
    sink.failNext = 1;
    value(await sandboxServer.sandbox.succeedPayment(input.prepayId));
    expect(sink.events).toHaveLength(0);
    context.clock.advance(5_000);
    await sandboxServer.sandbox.tick();
    expect(sink.types()).toEqual(['payment.succeeded']);
  });

  it('the sandbox server refuses unsigned, tampered, stale and replayed requests', async () => {
    const url = `${sandboxServer.url}${channelProtocolPaths.queryOrder}`;
    const body = JSON.stringify({ merchant_id: '1900000001', out_trade_no: 'H1' });
    const send = (headers: Record<string, string>, payload = body) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
    const unsigned = await send({});
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ code: 'SIGN_ERROR' });
    const signed = signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() });
    expect((await send({ ...signed }, body.replace('H1', 'H2'))).status).toBe(401);
    expect((await send({ ...signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() - 301_000 }) })).status).toBe(401);
    expect(
      (await send({ ...signChannelMessage('another-key-another-key-another-key!', body, { nowMs: context.clock.nowMs() }) })).status,
    ).toBe(401);
    const first = await send({ ...signed });
    expect(first.status).toBe(200);
    const replay = await send({ ...signed });
    expect(replay.status).toBe(401);
    expect((await replay.json()).message).toMatch(/replay/);
    const malformed = JSON.stringify({ merchant_id: '1900000001' });
    const invalid = await send({ ...signChannelMessage(channelKey, malformed, { nowMs: context.clock.nowMs() }) }, malformed);
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ code: 'PARAM_ERROR' });
  });

  it("Paythrough's callback endpoint refuses forged, replayed and unknown-superapp callbacks", async () => {
    const port = (receiver.server.address() as AddressInfo).port;
    const input = orderInput();
    const created = value(await channel.createOrder(input));
    const body = JSON.stringify({
      event_id: 'evt-forged',
      event_type: 'payment.succeeded',
      occurred_time: new Date(context.clock.nowMs()).toISOString(),
      order: orderToWire({ ...created, state: 'SUCCESS' }),
    });
    const post = (path: string, headers: Record<string, string>, payload = body) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: payload,
      });
    expect(
      (
        await post(channelCallbackPath(applicationId), {
          ...signChannelMessage('forged-key-forged-key-forged-key-forged', body, { nowMs: context.clock.nowMs() }),
        })
      ).status,
    ).toBe(401);
    expect(
      (await post(channelCallbackPath('app_other'), { ...signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() }) })).status,
    ).toBe(404);
    const signed = signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() });
    expect((await post(channelCallbackPath(applicationId), { ...signed })).status).toBe(204);
    expect((await post(channelCallbackPath(applicationId), { ...signed })).status).toBe(401);
    const bad = JSON.stringify({ event_id: 'x', event_type: 'payment.refunded' });
    expect(
      (await post(channelCallbackPath(applicationId), { ...signChannelMessage(channelKey, bad, { nowMs: context.clock.nowMs() }) }, bad))
        .status,
    ).toBe(400);
    sink.failNext = 1;
    const next = signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() });
    expect((await post(channelCallbackPath(applicationId), { ...next })).status).toBe(500);
    expect(sink.types()).toEqual(['payment.succeeded']);
  });
});

describeOnEachDatabase('HTTP channel connector: unknown outcomes', (kind) => {
  let context: TestContext;
  let server: Server;
  let baseUrl: string;
  let behaviour: (body: string) => { status: number; body: string; sign?: string | false; hang?: boolean };

  beforeAll(async () => {
    context = await createTestContext(kind);
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const plan = behaviour(Buffer.concat(chunks).toString());
        if (plan.hang) return;
        const headers = plan.sign === false ? {} : signChannelMessage(plan.sign ?? channelKey, plan.body, { nowMs: context.clock.nowMs() });
        response.writeHead(plan.status, { 'content-type': 'application/json', ...headers }).end(plan.body);
      });
    });
    baseUrl = await listen(server);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await context?.close();
  });

  const connector = (timeoutMs?: number) =>
    new HttpChannel({
      baseUrl,
      channelKey,
      clock: context.clock,
      policy: { allowPrivateTargets: [], sandboxRelaxed: true },
      ...(timeoutMs ? { timeoutMs } : {}),
    });
  const key = { merchantId: '1900000001', outTradeNo: 'U1' };
  const wireOrder = (outTradeNo: string) =>
    JSON.stringify({
      channel_order_id: 'o1',
      merchant_id: '1900000001',
      appid: 'a',
      out_trade_no: outTradeNo,
      prepay_id: 'p',
      state: 'WAIT_PAY',
      amount: { total: 1, currency: 'CNY' },
      description: 'd',
      expire_time: '2026-01-15T06:00:00.000Z',
      channel_transaction_id: null,
      payer_openid: null,
      paid_time: null,
      closed_time: null,
      failure_reason: null,
      cashier_token: 't',
      cashier_url: null,
    });

  it('a valid signed answer is ok', async () => {
    behaviour = () => ({ status: 200, body: wireOrder('U1') });
    expect(await connector().queryOrder(key)).toMatchObject({
      outcome: 'ok',
      value: { outTradeNo: 'U1', expiresAt: Date.parse('2026-01-15T06:00:00.000Z') },
    });
  });

  it.each([
    ['a 5xx', () => ({ status: 503, body: '{"code":"SYSTEM_ERROR","message":"busy"}' }), /HTTP 503/],
    ['an unsigned answer', () => ({ status: 200, body: wireOrder('U1'), sign: false as const }), /not authentic/],
    [
      'an answer signed with another key',
      () => ({ status: 200, body: wireOrder('U1'), sign: 'some-other-key-some-other-key-123456' }),
      /not authentic/,
    ],
    [
      'an unsigned refusal',
      () => ({ status: 404, body: '{"code":"ORDER_NOT_EXIST","message":"x"}', sign: false as const }),
      /not authentic/,
    ],
    ['an answer about another order', () => ({ status: 200, body: wireOrder('U2') }), /another order/],
    ['an answer off the protocol', () => ({ status: 200, body: '{"state":"PAID"}' }), /does not follow the protocol/],
    ['a refusal with an unknown code', () => ({ status: 400, body: '{"code":"WHATEVER","message":"x"}' }), /not a channel error/],
    ['a redirect', () => ({ status: 302, body: '{}' }), /unexpected status/],
    ['not JSON', () => ({ status: 200, body: 'OK' }), /not JSON/],
  ])('%s is an unknown outcome that may have applied', async (_name, plan, reason) => {
    behaviour = plan;
    const result = await connector().queryOrder(key);
    expect(result).toMatchObject({ outcome: 'unknown', mayHaveApplied: true });
    if (result.outcome === 'unknown') expect(result.reason).toMatch(reason);
  });

  it('a signed refusal is rejected with its code', async () => {
    behaviour = () => ({ status: 404, body: '{"code":"ORDER_NOT_EXIST","message":"no such order"}' });
    expect(await connector().queryOrder(key)).toEqual({ outcome: 'rejected', code: 'ORDER_NOT_EXIST', message: 'no such order' });
  });

  it('a timeout is unknown and may have applied', async () => {
    behaviour = () => ({ status: 200, body: '', hang: true });
    expect(
      await connector(200).createOrder({
        ...key,
        appId: 'a',
        prepayId: 'p',
        amount: { total: 1, currency: 'CNY' },
        description: 'd',
        expiresAt: context.clock.nowMs(),
        attach: null,
        payer: { openid: 'o' },
      }),
    ).toMatchObject({
      outcome: 'unknown',
      mayHaveApplied: true,
    });
  });

  it('an unreachable channel, or one the outbound policy refuses, certainly did not apply', async () => {
    const closed = createServer();
    const closedUrl = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = new HttpChannel({
      baseUrl: closedUrl,
      channelKey,
      clock: context.clock,
      policy: { allowPrivateTargets: [], sandboxRelaxed: true },
    });
    expect(await unreachable.queryOrder(key)).toMatchObject({ outcome: 'unknown', mayHaveApplied: false });
    const refused = new HttpChannel({
      baseUrl,
      channelKey,
      clock: context.clock,
      policy: { allowPrivateTargets: [], sandboxRelaxed: false },
    });
    const result = await refused.queryOrder(key);
    expect(result).toMatchObject({ outcome: 'unknown', mayHaveApplied: false });
    if (result.outcome === 'unknown') expect(result.reason).toMatch(/refused/);
  });
});
