import { afterAll, beforeAll, expect, it } from 'vitest';
import { channelCallbackPath, channelProtocolPaths, signChannelMessage } from '../../src/channels/protocol.ts';
import { dayMs } from '../../src/domain/clock.ts';
import type { Actor } from '../../src/domain/access.ts';
import { orderRepository } from '../../src/repositories/order.repository.ts';
import { refundRepository } from '../../src/repositories/refund.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { tlsFixtures } from '../fixtures/keys/index.ts';
import { demoActor, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { FakeChannelServer } from '../reliability/fake-channel-server.ts';

const hour = 3_600_000;
const firstKey = 'first-channel-key-0123456789abcdefghijkl';
const secondKey = 'second-channel-key-0123456789abcdefghijk';
let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

/**
 * SPEC §7 "Channel change with live money": a superapp on the HTTP channel changes its channel's address (and key),
 * or its channel kind, while older orders are still open. Each order and refund keeps the connection it was created
 * under: its refunds, queries and callbacks go on through the old one; new orders take the new one; the replaced key
 * is accepted on callbacks for PAYTHROUGH_KEY_OVERLAP_HOURS only; the console counts what still uses the old one.
 */
describeOnEachDatabase('channel change with live money', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let saAdmin: Actor;
  let applicationId: string;
  let mchid: string;
  const servers: FakeChannelServer[] = [];

  const channelServer = async (key: string) => {
    const server = await new FakeChannelServer(key, context.clock, {
      keyPem: tlsFixtures.serverKeyPem,
      certPem: tlsFixtures.serverCertPem,
      hostname: tlsFixtures.hostname,
    }).start();
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { allowPrivateTargets: ['127.0.0.1/32'] }, backgroundJobs: false });
    manifest = await context.services.demoWorld.ensure();
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    mchid = client.merchant.mchid;
    applicationId = manifest.superapp.applicationId;
    saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    // The channels' HTTPS servers answer as the fixture host name on 127.0.0.1, under the fixture CA.
    context.services.gatewayChannels.configureConnector({
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      tls: { ca: tlsFixtures.caPem },
      timeoutMs: 2_000,
    });
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await context?.close();
  });

  const ours = async (outTradeNo: string) =>
    (await orderRepository.findByOutTradeNo(context.database.db, applicationId, mchid, outTradeNo))!;
  const callback = async (body: string, key: string) =>
    (
      await context.app.inject({
        method: 'POST',
        url: channelCallbackPath(applicationId),
        headers: { 'content-type': 'application/json', ...signChannelMessage(key, body, { nowMs: context.clock.nowMs() }) },
        payload: body,
      })
    ).statusCode;
  const useHttpChannel = (baseUrl: string, secret?: string) =>
    context.services.paymentConfig.update(saAdmin, applicationId, { channel: { kind: 'http', baseUrl, secret } });
  const pathsOf = (server: FakeChannelServer, outNo: string) =>
    server.requests.filter((request) => JSON.stringify(request.body).includes(outNo)).map((request) => request.path);

  async function paidOrder(server: FakeChannelServer, key: string, total = 1000) {
    const outTradeNo = number('CC');
    expect((await client.prepay({ outTradeNo, total })).statusCode).toBe(200);
    expect(await callback(server.event('payment.succeeded', server.pay(mchid, outTradeNo)), key)).toBe(204);
    expect((await ours(outTradeNo)).trade_state).toBe('SUCCESS');
    return outTradeNo;
  }

  it('new base URL and key: old orders refund, reconcile and call back through their old connection; new ones take the new', async () => {
    const oldChannel = await channelServer(firstKey);
    await useHttpChannel(oldChannel.url, firstKey);
    const paid = await paidOrder(oldChannel, firstKey);
    const unpaid = number('CU');
    expect((await client.prepay({ outTradeNo: unpaid, total: 700 })).statusCode).toBe(200);
    expect(pathsOf(oldChannel, unpaid)).toEqual([channelProtocolPaths.createOrder]);
    const expiring = number('CE');
    expect((await client.prepay({ outTradeNo: expiring, total: 800 })).statusCode).toBe(200);

    // The superapp moves its channel to another address and installs a new key (its old backend takes the new key too).
    const newChannel = await channelServer(secondKey);
    oldChannel.channelKey = secondKey;
    const view = await useHttpChannel(newChannel.url, secondKey);
    expect(view.channelSettings.baseUrl).toBe(newChannel.url);

    // A new order goes to the new address.
    const fresh = number('CN');
    expect((await client.prepay({ outTradeNo: fresh, total: 300 })).statusCode).toBe(200);
    expect(pathsOf(newChannel, fresh)).toEqual([channelProtocolPaths.createOrder]);
    expect(pathsOf(oldChannel, fresh)).toEqual([]);

    // A refund of the old order goes to the old address and settles by the old channel's callback, signed with the old key.
    const outRefundNo = number('CR');
    const refunded = await client.refund({ outTradeNo: paid, outRefundNo, refund: 400, total: 1000 });
    expect(refunded.statusCode).toBe(200);
    expect(pathsOf(oldChannel, outRefundNo)).toEqual([channelProtocolPaths.createRefund]);
    expect(pathsOf(newChannel, outRefundNo)).toEqual([]);
    const settled = oldChannel.settleRefund(mchid, outRefundNo, 'SUCCESS');
    expect(await callback(oldChannel.event('refund.succeeded', settled), firstKey)).toBe(204);
    expect((await client.queryRefund(outRefundNo)).body).toMatchObject({ status: 'SUCCESS' });

    // The unpaid old order is paid at the old channel and its callback is lost: the reconciler asks the old address.
    oldChannel.pay(mchid, unpaid);
    for (let step = 0; step < 6 && (await ours(unpaid)).trade_state === 'WAIT_PAY'; step += 1) {
      context.clock.advance(5 * 60_000);
      await context.services.reconcilerJob.runOnce();
    }
    expect((await ours(unpaid)).trade_state).toBe('SUCCESS');
    expect(pathsOf(oldChannel, unpaid)).toContain(channelProtocolPaths.queryOrder);
    expect(pathsOf(newChannel, unpaid)).toEqual([]);

    // The console shows the previous connection and what it still carries: two paid orders, one unpaid, no open refund.
    const config = await context.services.paymentConfig.get(saAdmin, applicationId);
    expect(config.previousConnections).toEqual([
      // The demo world's sandbox connection, with its yesterday's paid orders (SPEC §9.5; the one refunded in full is done).
      expect.objectContaining({ kind: 'sandbox', openOrders: 4, openRefunds: 0 }),
      expect.objectContaining({ kind: 'http', url: oldChannel.url, openOrders: 3, openRefunds: 0 }),
    ]);
    // Retirement leaves it (and the demo world's sandbox connection) alone while it carries open orders.
    await context.services.channelConnections.retireIdle();
    expect((await context.services.paymentConfig.get(saAdmin, applicationId)).previousConnections).toHaveLength(2);

    // Past the overlap the old key is refused on callbacks; the new key works for the old connection's orders.
    context.clock.advance(25 * hour);
    // The unpaid old order expired meanwhile: auto-close closes it on the old channel.
    await context.services.autoCloseJob.runOnce();
    expect((await ours(expiring)).trade_state).toBe('AUTO_CLOSED');
    expect(pathsOf(oldChannel, expiring)).toContain(channelProtocolPaths.closeOrder);
    expect(pathsOf(newChannel, expiring)).toEqual([]);
    const secondRefundNo = number('CR');
    expect((await client.refund({ outTradeNo: paid, outRefundNo: secondRefundNo, refund: 100, total: 1000 })).statusCode).toBe(200);
    expect(pathsOf(oldChannel, secondRefundNo)).toEqual([channelProtocolPaths.createRefund]);
    const secondSettled = oldChannel.settleRefund(mchid, secondRefundNo, 'SUCCESS');
    expect(await callback(oldChannel.event('refund.succeeded', secondSettled), firstKey)).toBe(401);
    expect((await refundRepository.findByOutRefundNo(context.database.db, applicationId, mchid, secondRefundNo))?.status).toBe(
      'PROCESSING',
    );
    expect(await callback(oldChannel.event('refund.succeeded', secondSettled), secondKey)).toBe(204);
    expect((await refundRepository.findByOutRefundNo(context.database.db, applicationId, mchid, secondRefundNo))?.status).toBe('SUCCESS');

    // Once no order on it can be refunded any more, the old connection is retired and the console stops listing it.
    context.clock.advance(366 * dayMs);
    expect(await context.services.channelConnections.retireIdle()).toBeGreaterThanOrEqual(1);
    expect((await context.services.paymentConfig.get(saAdmin, applicationId)).previousConnections).toEqual([]);
  });

  it('a callback signed with the replaced key is accepted inside the default overlap of 24 hours', async () => {
    const channel = await channelServer(firstKey);
    await useHttpChannel(channel.url, firstKey);
    const outTradeNo = number('CK');
    expect((await client.prepay({ outTradeNo, total: 500 })).statusCode).toBe(200);
    await useHttpChannel(channel.url, secondKey);
    channel.channelKey = secondKey;
    context.clock.advance(23 * hour);
    const paid = channel.pay(mchid, outTradeNo);
    expect(await callback(channel.event('payment.succeeded', paid), firstKey)).toBe(204);
    expect((await ours(outTradeNo)).trade_state).toBe('SUCCESS');
  });

  it('after a switch to host-reported: an HTTP-channel order refunds through its HTTP channel, whose callbacks still count', async () => {
    const httpChannel = await channelServer(firstKey);
    await useHttpChannel(httpChannel.url, firstKey);
    const paid = await paidOrder(httpChannel, firstKey, 900);
    await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'host_reported', webhookUrl: 'https://host.superapp.example/refund-webhook' },
    });
    await context.services.hostKeys.rotate(saAdmin, applicationId);

    // New orders are host-reported; the old order's refund still goes to the HTTP channel it was paid through.
    const fresh = number('CH');
    expect((await client.prepay({ outTradeNo: fresh, total: 200 })).statusCode).toBe(200);
    expect((await ours(fresh)).channel_kind).toBe('host_reported');
    const outRefundNo = number('CR');
    expect((await client.refund({ outTradeNo: paid, outRefundNo, refund: 500, total: 900 })).statusCode).toBe(200);
    expect(pathsOf(httpChannel, outRefundNo)).toEqual([channelProtocolPaths.createRefund]);
    const settled = httpChannel.settleRefund(mchid, outRefundNo, 'SUCCESS');
    expect(await callback(httpChannel.event('refund.succeeded', settled), firstKey)).toBe(204);
    expect((await client.queryRefund(outRefundNo)).body).toMatchObject({ status: 'SUCCESS' });

    const config = await context.services.paymentConfig.get(saAdmin, applicationId);
    expect(config.channelKind).toBe('host_reported');
    expect(config.previousConnections).toContainEqual(expect.objectContaining({ kind: 'http', url: httpChannel.url, openOrders: 1 }));

    // Once nothing on it can be refunded any more, the HTTP connection is retired and, no HTTP connection left, its key forgotten.
    expect((await context.services.gatewayChannels.channelKeysFor(applicationId))?.[0]).toBe(firstKey);
    context.clock.advance(366 * dayMs);
    await context.services.channelConnections.retireIdle();
    expect(await context.services.gatewayChannels.channelKeysFor(applicationId)).toBeNull();
    expect(await context.services.hostKeys.hostKeysOf(applicationId)).toHaveLength(1);
  });
});

describeOnEachDatabase('channel key replaced with PAYTHROUGH_KEY_OVERLAP_HOURS=0', (kind) => {
  let context: TestContext;

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { keyOverlapHours: 0 }, backgroundJobs: false });
  });
  afterAll(() => context?.close());

  it('revokes the replaced key at once: only the new key is accepted on callbacks', async () => {
    const manifest = await context.services.demoWorld.ensure();
    const applicationId = manifest.superapp.applicationId;
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    const baseUrl = 'https://channel.superapp.example/paythrough';
    await context.services.paymentConfig.update(saAdmin, applicationId, { channel: { kind: 'http', baseUrl, secret: firstKey } });
    expect(await context.services.gatewayChannels.channelKeysFor(applicationId)).toEqual([firstKey]);
    await context.services.paymentConfig.update(saAdmin, applicationId, { channel: { kind: 'http', baseUrl, secret: secondKey } });
    expect(await context.services.gatewayChannels.channelKeysFor(applicationId)).toEqual([secondKey]);
  });
});
