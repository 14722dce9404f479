import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { HttpChannel } from '../../src/channels/http/http-channel.ts';
import { ReconcilerJob } from '../../src/jobs/reconciler.ts';
import { channelCallbackPath, channelProtocolPaths, signChannelMessage } from '../../src/channels/protocol.ts';
import { OrderAnomaly } from '../../src/db/order-schema.ts';
import { orderRepository } from '../../src/repositories/order.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { merchantNotificationTopic } from '../../src/services/payments/notification.service.ts';
import { demoActor, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { badAnswerModes, FakeChannelServer, type FaultMode } from './fake-channel-server.ts';

/**
 * Issue 7 item 2, the channel side: Paythrough against a superapp channel (docs/channel-protocol.md)
 * that refuses connections, hangs, answers 5xx, garbage, wrong signatures or truncated JSON, answers
 * slowly, and sends duplicate, late and out-of-order callbacks. After every case: nothing lost, nothing
 * doubled, and once the channel is back every order and refund is in the channel's state.
 * PAYTHROUGH_FULL_RELIABILITY=1 runs the random storm with more orders.
 */
const full = process.env.PAYTHROUGH_FULL_RELIABILITY === '1';
const stormOrders = full ? 120 : 10;
const channelKey = 'fake-channel-key-0123456789abcdefghijkl';
/** The connector's deadline in these tests (production: 10 s); the fake's slow answers take 60 ms. */
const channelTimeoutMs = 250;
const minute = 60_000;
let sequence = 0;
/** The order numbers the running test made: the after-each check looks at these. */
let touched: string[] = [];
const number = (prefix: string) => {
  const outTradeNo = `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);
  touched.push(outTradeNo);
  return outTradeNo;
};
/** Each bad answer, work done and not done, on each operation; in CI the modes are shared out between the three operations. */
const casesFor = (operation: number): Array<[FaultMode, boolean]> =>
  badAnswerModes
    .filter((_mode, index) => full || index % 3 === operation)
    .flatMap((mode, index) =>
      (full ? [true, false] : [(index + operation) % 2 === 0]).map((applied) => [mode, applied] as [FaultMode, boolean]),
    );

describeOnEachDatabase('channel faults', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let fake: FakeChannelServer;
  let applicationId: string;
  let mchid: string;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    mchid = client.merchant.mchid;
    applicationId = manifest.superapp.applicationId;
    fake = await new FakeChannelServer(channelKey, context.clock).start();
    // The superapp's channel is the HTTP protocol (as the console stores it), served by the fake.
    await context.database.db
      .updateTable('superapp_payment_configs')
      .set({
        channel_kind: 'http',
        channel_settings_json: JSON.stringify({ baseUrl: fake.url }),
        channel_key_sealed: context.services.paymentConfig.sealChannelSecret(applicationId, channelKey),
      })
      .where('superapp_id', '=', applicationId)
      .execute();
    // The same connector the resolver builds, with a short deadline so timeouts cost 250 ms, not 10 s.
    context.services.gatewayChannels.register(
      'http',
      new HttpChannel({
        baseUrl: fake.url,
        channelKey,
        clock: context.clock,
        policy: { allowPrivateTargets: ['127.0.0.1/32'], sandboxRelaxed: true },
        timeoutMs: channelTimeoutMs,
      }),
    );
  });
  afterAll(async () => {
    await fake?.stop();
    await context?.close();
  });
  beforeEach(() => {
    touched = [];
  });
  afterEach(async () => {
    fake.clearFaults();
    fake.beforeAnswer = undefined;
    if (!fake.listening) await fake.start();
    await checkInvariants();
  });

  // --- the merchant, the channel's callbacks, the jobs ---------------------------------------------

  const ours = async (outTradeNo: string) =>
    (await orderRepository.findByOutTradeNo(context.database.db, applicationId, mchid, outTradeNo))!;
  const prepay = (outTradeNo: string, total = 1000) => client.prepay({ outTradeNo, total });
  const callback = async (body: string) =>
    (
      await context.app.inject({
        method: 'POST',
        url: channelCallbackPath(applicationId),
        headers: { 'content-type': 'application/json', ...signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() }) },
        payload: body,
      })
    ).statusCode;
  const reconcile = () => context.services.reconcilerJob.runOnce();
  const autoClose = () => context.services.autoCloseJob.runOnce();
  /** Moves time in steps, running the reconciler and auto-close as the server would. */
  async function runJobsFor(totalMs: number, stepMs = 10 * minute) {
    for (let elapsed = 0; elapsed < totalMs; elapsed += stepMs) {
      context.clock.advance(stepMs);
      await autoClose();
      await reconcile();
    }
  }
  async function paidOrder(outTradeNo: string, total = 1000) {
    expect((await prepay(outTradeNo, total)).statusCode).toBe(200);
    const paid = fake.pay(mchid, outTradeNo);
    expect(await callback(fake.event('payment.succeeded', paid))).toBe(204);
    expect((await ours(outTradeNo)).trade_state).toBe('SUCCESS');
    return paid;
  }
  const notifications = async (subjectType: 'order' | 'refund', subjectId: number) =>
    (
      await context.database.db
        .selectFrom('outbox')
        .select('payload_json')
        .where('topic', '=', merchantNotificationTopic)
        .where('subject_type', '=', subjectType)
        .where('subject_id', '=', String(subjectId))
        .execute()
    ).map((row) => (JSON.parse(row.payload_json) as { event_type: string }).event_type);

  /**
   * The promises, over every order of the HTTP channel: state as the channel has it (unless the check
   * is for an order still in flight), one applied payment, refunds within what was paid, and exactly one
   * notification per fact.
   */
  async function checkInvariants(options: { settled?: boolean; all?: boolean } = {}) {
    const { db } = context.database;
    let query = db.selectFrom('orders').selectAll().where('channel_kind', '=', 'http').where('mchid', '=', mchid);
    if (!options.all) query = query.where('out_trade_no', 'in', ['', ...touched]);
    const orders = await query.execute();
    for (const order of orders) {
      const where = `order ${order.out_trade_no} (${order.trade_state})`;
      const channelOrder = fake.order(order.mchid, order.out_trade_no);
      const payments = await db.selectFrom('channel_payments').selectAll().where('order_id', '=', order.id).execute();
      expect(
        payments.filter((p) => p.disposition === 'applied' || p.disposition === 'late_payment_refunded').length,
        where,
      ).toBeLessThanOrEqual(1);
      expect(new Set(payments.map((p) => p.channel_transaction_id)).size, where).toBe(payments.length);
      const refunds = await db.selectFrom('refunds').selectAll().where('order_id', '=', order.id).execute();
      const counted = refunds.filter((r) => r.kind !== 'duplicate_payment' && r.status !== 'CLOSED');
      expect(Number(order.refund_reserved), where).toBe(counted.reduce((sum, r) => sum + Number(r.amount_refund), 0));
      expect(Number(order.refund_reserved), where).toBeLessThanOrEqual(Number(order.amount_total));
      expect(Number(order.refund_succeeded), where).toBe(
        counted.filter((r) => r.status === 'SUCCESS').reduce((sum, r) => sum + Number(r.amount_refund), 0),
      );
      const orderEvents = await notifications('order', order.id);
      expect(orderEvents, where).toEqual(order.transaction_id ? ['TRANSACTION.SUCCESS'] : []);
      for (const refund of refunds) {
        const refundEvents = await notifications('refund', refund.id);
        expect(refundEvents, `refund ${refund.out_refund_no} (${refund.status})`).toEqual(
          refund.status === 'PROCESSING' ? [] : [`REFUND.${refund.status}`],
        );
        const channelRefund = fake.refund(refund.mchid, refund.out_refund_no);
        if (options.settled) expect(refund.status, `refund ${refund.out_refund_no}`).toBe(channelRefund?.state ?? 'CLOSED');
        // A refund the channel settled is never settled otherwise here.
        if (channelRefund && channelRefund.state !== 'PROCESSING' && refund.status !== 'PROCESSING')
          expect(refund.status).toBe(channelRefund.state);
      }
      if (channelOrder?.channel_transaction_id && order.channel_transaction_id)
        expect(order.channel_transaction_id, where).toBe(channelOrder.channel_transaction_id);
      if (!options.settled) continue;
      const expected = {
        WAIT_PAY: ['WAIT_PAY'],
        SUCCESS: ['SUCCESS', 'REFUND'],
        CLOSED: ['CLOSED', 'AUTO_CLOSED'],
        PAY_ERROR: ['PAY_ERROR'],
      }[channelOrder?.state ?? 'CLOSED'];
      expect(expected, `${where}: the channel has ${channelOrder?.state ?? 'nothing'}`).toContain(order.trade_state);
      expect(order.pending_operation, where).toBeNull();
    }
    return orders.length;
  }

  // --- the channel down or broken while Paythrough calls it -----------------------------------------

  const refusedTitle =
    'prepay while the channel refuses connections: SYSTEM_ERROR, ' + 'the kept order is reconciled, a retry gets the same prepay_id';
  it(refusedTitle, async () => {
    await fake.refuseConnections();
    const retried = number('DOWN');
    const abandoned = number('DOWN');
    for (const outTradeNo of [retried, abandoned]) {
      const answer = await prepay(outTradeNo);
      expect(answer.statusCode).toBe(500);
      expect(answer.body).toMatchObject({ code: 'SYSTEM_ERROR' });
      expect(answer.body.message).toMatch(/did not answer.*retry with the same parameters/);
      // Where the channel lives is the operator's business, not the merchant's.
      expect(JSON.stringify(answer.body)).not.toMatch(new RegExp(`${new URL(fake.url).host}|ECONNREFUSED|127\\.0\\.0\\.1`));
      expect(await ours(outTradeNo)).toMatchObject({ trade_state: 'WAIT_PAY', pending_operation: 'create', channel_order_id: null });
    }
    // Still down at the reconciler's first look: nothing is guessed, it looks again later.
    context.clock.advance(minute);
    await reconcile();
    expect((await ours(retried)).pending_operation).toBe('create');
    await fake.start();
    await runJobsFor(30 * minute);
    expect(fake.order(mchid, retried)).toBeUndefined();
    expect(await ours(retried)).toMatchObject({ trade_state: 'WAIT_PAY', pending_operation: null });
    const again = await prepay(retried);
    expect(again.statusCode).toBe(200);
    expect(again.body.prepay_id).toBe((await ours(retried)).prepay_id);
    expect(fake.order(mchid, retried)?.prepay_id).toBe(again.body.prepay_id);
    expect(await callback(fake.event('payment.succeeded', fake.pay(mchid, retried)))).toBe(204);
    // The abandoned one is closed at its expiry, on the channel first (which never had it).
    await runJobsFor(2 * 60 * minute);
    expect((await ours(abandoned)).trade_state).toBe('AUTO_CLOSED');
    expect((await ours(retried)).trade_state).toBe('SUCCESS');
    await checkInvariants({ settled: true });
  });

  it.each(casesFor(0))(
    'prepay answered with %s (work done: %s): SYSTEM_ERROR, then the reconciler and a retry agree with the channel',
    async (mode, applied) => {
      const outTradeNo = number('CRE');
      fake.inject({ mode, applied, path: channelProtocolPaths.createOrder });
      fake.inject({ mode, applied: true, path: channelProtocolPaths.queryOrder });
      const answer = await prepay(outTradeNo);
      expect(answer.statusCode).toBe(500);
      expect(answer.body.code).toBe('SYSTEM_ERROR');
      expect(Boolean(fake.order(mchid, outTradeNo))).toBe(applied);
      // The reconciler's first query meets the same fault: still unknown; the next one settles it.
      context.clock.advance(minute);
      await reconcile();
      expect((await ours(outTradeNo)).pending_operation).toBe('create');
      await runJobsFor(30 * minute);
      expect(await ours(outTradeNo)).toMatchObject({
        trade_state: 'WAIT_PAY',
        pending_operation: null,
        channel_order_id: applied ? fake.order(mchid, outTradeNo)!.channel_order_id : null,
      });
      const again = await prepay(outTradeNo);
      expect(again.statusCode).toBe(200);
      expect(fake.order(mchid, outTradeNo)!.prepay_id).toBe(again.body.prepay_id);
      expect(await callback(fake.event('payment.succeeded', fake.pay(mchid, outTradeNo)))).toBe(204);
      await checkInvariants({ settled: true });
    },
  );

  it.each(casesFor(1))('close answered with %s (work done: %s): SYSTEM_ERROR, then CLOSED on both sides', async (mode, applied) => {
    const outTradeNo = number('CLO');
    expect((await prepay(outTradeNo)).statusCode).toBe(200);
    fake.inject({ mode, applied, path: channelProtocolPaths.closeOrder });
    const answer = await client.close(outTradeNo);
    expect(answer.statusCode).toBe(500);
    expect(answer.body.code).toBe('SYSTEM_ERROR');
    expect(fake.order(mchid, outTradeNo)!.state).toBe(applied ? 'CLOSED' : 'WAIT_PAY');
    expect((await ours(outTradeNo)).pending_operation).toBe('close');
    await runJobsFor(10 * minute);
    expect(fake.order(mchid, outTradeNo)!.state).toBe('CLOSED');
    expect((await client.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('CLOSED');
    expect((await client.close(outTradeNo)).statusCode).toBe(204);
    await checkInvariants({ settled: true });
  });

  it.each(casesFor(2))('refund answered with %s (work done: %s): PROCESSING, sent once, settled to the channel', async (mode, applied) => {
    const outTradeNo = number('REF');
    await paidOrder(outTradeNo, 3000);
    fake.inject({ mode, applied, path: channelProtocolPaths.createRefund });
    fake.inject({ mode, applied: true, path: channelProtocolPaths.queryRefund });
    const outRefundNo = `R${outTradeNo}`;
    const answer = await client.refund({ outTradeNo, outRefundNo, refund: 1200, total: 3000 });
    expect(answer.statusCode).toBe(200);
    expect(answer.body.status).toBe('PROCESSING');
    expect(Boolean(fake.refund(mchid, outRefundNo))).toBe(applied);
    // More than what is left is refused at once, whatever the channel did with the first.
    expect((await client.refund({ outTradeNo, outRefundNo: `X${outRefundNo}`, refund: 1801, total: 3000 })).body.code).toBe(
      'INVALID_REQUEST',
    );
    await runJobsFor(40 * minute);
    expect(fake.refund(mchid, outRefundNo)?.state).toBe('PROCESSING');
    expect(
      fake.requests.filter(
        (r) => r.path === channelProtocolPaths.createRefund && (r.body as { out_refund_no: string }).out_refund_no === outRefundNo,
      ).length,
    ).toBe(applied ? 1 : 2);
    expect(await callback(fake.event('refund.succeeded', fake.settleRefund(mchid, outRefundNo, 'SUCCESS')))).toBe(204);
    expect((await client.queryRefund(outRefundNo)).body.status).toBe('SUCCESS');
    expect(await ours(outTradeNo)).toMatchObject({ trade_state: 'REFUND', refund_succeeded: 1200 });
    await checkInvariants({ settled: true });
  });

  it('slow answers within the deadline are ordinary answers', async () => {
    const outTradeNo = number('SLOW');
    fake.inject({ mode: 'slow', applied: true, times: 10 });
    const answer = await prepay(outTradeNo);
    expect(answer.statusCode).toBe(200);
    expect((await ours(outTradeNo)).channel_order_id).toBe(fake.order(mchid, outTradeNo)!.channel_order_id);
    expect(await callback(fake.event('payment.succeeded', fake.pay(mchid, outTradeNo)))).toBe(204);
    const refund = await client.refund({ outTradeNo, outRefundNo: `R${outTradeNo}`, refund: 1000, total: 1000 });
    expect(refund.statusCode).toBe(200);
    expect(
      (
        await context.database.db
          .selectFrom('refunds')
          .select('channel_refund_id')
          .where('out_refund_no', '=', `R${outTradeNo}`)
          .executeTakeFirstOrThrow()
      ).channel_refund_id,
    ).toBe(fake.refund(mchid, `R${outTradeNo}`)!.channel_refund_id);
    const closing = number('SLOW');
    expect((await prepay(closing)).statusCode).toBe(200);
    fake.inject({ mode: 'slow', applied: true });
    expect((await client.close(closing)).statusCode).toBe(204);
    expect((await ours(closing)).trade_state).toBe('CLOSED');
  });

  it('a payment whose callback is lost is found by querying long before a far expiry, and notified once', async () => {
    const outTradeNo = number('LOST');
    const timeExpire = new Date(context.clock.nowMs() + 30 * 24 * 60 * minute).toISOString();
    expect((await client.prepay({ outTradeNo, total: 4200, timeExpire })).statusCode).toBe(200);
    await runJobsFor(20 * minute);
    expect((await ours(outTradeNo)).trade_state).toBe('WAIT_PAY');
    fake.pay(mchid, outTradeNo);
    await runJobsFor(60 * minute);
    expect((await client.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('SUCCESS');
    await checkInvariants({ settled: true });
  });

  it('a close that timed out while the user paid: the order ends SUCCESS, notified once; closing again is ORDERPAID', async () => {
    const outTradeNo = number('RACE');
    expect((await prepay(outTradeNo)).statusCode).toBe(200);
    fake.inject({ mode: 'timeout', applied: false, path: channelProtocolPaths.closeOrder });
    expect((await client.close(outTradeNo)).statusCode).toBe(500);
    // The payment's callback is lost (the channel is down when it tries); the reconciler finds it.
    fake.pay(mchid, outTradeNo);
    await runJobsFor(5 * minute);
    expect((await ours(outTradeNo)).trade_state).toBe('SUCCESS');
    expect((await client.close(outTradeNo)).body.code).toBe('ORDERPAID');
    await checkInvariants({ settled: true });
  });

  it('auto-close with the channel down: the expiry waits for the channel, then follows it (closed, or paid meanwhile)', async () => {
    const closing = number('EXP');
    const paying = number('EXP');
    for (const outTradeNo of [closing, paying]) expect((await prepay(outTradeNo)).statusCode).toBe(200);
    await fake.refuseConnections();
    context.clock.advance(2 * 60 * minute + 1);
    await autoClose();
    expect(await ours(closing)).toMatchObject({ trade_state: 'WAIT_PAY', pending_operation: 'expire' });
    // Behind the outage the user paid one of them (the callback could not get through either).
    await fake.start();
    fake.pay(mchid, paying);
    await runJobsFor(20 * minute);
    expect((await ours(closing)).trade_state).toBe('AUTO_CLOSED');
    expect((await ours(paying)).trade_state).toBe('SUCCESS');
    await checkInvariants({ settled: true });
  });

  const firstPassTitle =
    'an unknown outcome is settled in the first reconciler pass ' + 'even when more than a batch of routine checks is due before it';
  it(firstPassTitle, async () => {
    const batchSize = 3;
    const watched = Array.from({ length: batchSize + 1 }, () => number('WATCH'));
    for (const outTradeNo of watched) expect((await prepay(outTradeNo)).statusCode).toBe(200);
    // A close whose answer is lost, asked about a little after the unpaid orders' routine checks fall due.
    context.clock.advance(4 * minute + 30_000);
    const closing = number('UNKN');
    expect((await prepay(closing)).statusCode).toBe(200);
    fake.inject({ mode: 'timeout', applied: true, path: channelProtocolPaths.closeOrder });
    expect((await client.close(closing)).statusCode).toBe(500);
    context.clock.advance(2 * minute);
    const { db } = context.database;
    const due = await db
      .selectFrom('orders')
      .select(['out_trade_no', 'pending_operation', 'reconcile_at'])
      .where('reconcile_at', '<=', context.clock.nowMs())
      .execute();
    const unknownCheck = due.find((order) => order.out_trade_no === closing)?.reconcile_at;
    expect(due.filter((order) => order.pending_operation !== null).map((order) => order.out_trade_no)).toEqual([closing]);
    expect(
      due.filter((order) => order.pending_operation === null && Number(order.reconcile_at) < Number(unknownCheck)).length,
    ).toBeGreaterThan(batchSize);
    const pass = await new ReconcilerJob(context.services.orders, context.services.refunds, batchSize).runOnce();
    expect(await ours(closing)).toMatchObject({ trade_state: 'CLOSED', pending_operation: null });
    expect(pass.orders).toBeGreaterThan(batchSize);
    // The routine checks are not starved either: they take their own batch; the next pass reaches the rest.
    await reconcile();
    for (const outTradeNo of watched) expect(Number((await ours(outTradeNo)).reconcile_at)).toBeGreaterThan(context.clock.nowMs());
    await checkInvariants({ settled: true });
  });

  // --- callbacks: duplicated, late, out of order ------------------------------------------------------

  it('a payment callback repeated (same event, fresh signatures) and confirmed by the reconciler is applied once', async () => {
    const outTradeNo = number('DUPE');
    expect((await prepay(outTradeNo)).statusCode).toBe(200);
    const body = fake.event('payment.succeeded', fake.pay(mchid, outTradeNo), 'evt-repeated');
    const statuses = await Promise.all([callback(body), callback(body), callback(body)]);
    expect(statuses).toEqual([204, 204, 204]);
    const paid = await ours(outTradeNo);
    expect(await callback(body)).toBe(204);
    await runJobsFor(2 * 60 * minute + 5 * minute);
    expect(await ours(outTradeNo)).toMatchObject({ trade_state: 'SUCCESS', transaction_id: paid.transaction_id, anomaly_flags: 0 });
    await checkInvariants({ settled: true });
  });

  it('a payment callback after auto-close is a late payment: SUCCESS, then a full refund; repeats change nothing', async () => {
    const outTradeNo = number('LATE');
    expect((await prepay(outTradeNo, 2500)).statusCode).toBe(200);
    context.clock.advance(2 * 60 * minute + 1);
    await autoClose();
    expect((await ours(outTradeNo)).trade_state).toBe('AUTO_CLOSED');
    const late = fake.event('payment.succeeded', fake.pay(mchid, outTradeNo, { late: true }));
    expect(await callback(late)).toBe(204);
    expect(await callback(late)).toBe(204);
    const order = await ours(outTradeNo);
    expect(order).toMatchObject({ trade_state: 'REFUND', refund_reserved: 2500 });
    const [refund] = await context.database.db.selectFrom('refunds').selectAll().where('order_id', '=', order.id).execute();
    expect(refund).toMatchObject({ kind: 'late_payment', amount_refund: 2500 });
    expect(fake.refund(mchid, refund!.out_refund_no)?.state).toBe('PROCESSING');
    const settled = fake.event('refund.succeeded', fake.settleRefund(mchid, refund!.out_refund_no, 'SUCCESS'));
    expect(await callback(settled)).toBe(204);
    expect(await callback(settled)).toBe(204);
    expect(await callback(late)).toBe(204);
    expect(await ours(outTradeNo)).toMatchObject({ trade_state: 'REFUND', refund_succeeded: 2500 });
    await checkInvariants({ settled: true });
  });

  it('callbacks arriving after the reconciler settled the same facts change nothing', async () => {
    // A payment whose callback was lost: the expiry finds it paid. Then the callback arrives, late.
    const outTradeNo = number('AFTER');
    expect((await prepay(outTradeNo, 2000)).statusCode).toBe(200);
    const paid = fake.pay(mchid, outTradeNo);
    await runJobsFor(2 * 60 * minute + 5 * minute);
    const settledOrder = await ours(outTradeNo);
    expect(settledOrder.trade_state).toBe('SUCCESS');
    expect(await callback(fake.event('payment.succeeded', paid))).toBe(204);
    expect((await ours(outTradeNo)).transaction_id).toBe(settledOrder.transaction_id);
    // A refund whose answer was lost and which the channel settled meanwhile: the reconciler records SUCCESS; the callback comes after.
    const outRefundNo = `R${outTradeNo}`;
    fake.inject({ mode: 'error5xx', applied: true, path: channelProtocolPaths.createRefund });
    expect((await client.refund({ outTradeNo, outRefundNo, refund: 800, total: 2000 })).body.status).toBe('PROCESSING');
    const channelRefund = fake.settleRefund(mchid, outRefundNo, 'SUCCESS');
    await runJobsFor(5 * minute);
    expect((await client.queryRefund(outRefundNo)).body.status).toBe('SUCCESS');
    expect(await callback(fake.event('refund.succeeded', channelRefund))).toBe(204);
    expect(await callback(fake.event('refund.closed', { ...channelRefund, state: 'CLOSED' }))).toBe(204);
    expect(await ours(outTradeNo)).toMatchObject({ refund_succeeded: 800, refund_reserved: 800 });
    await checkInvariants({ settled: true });
  });

  const outOfOrderTitle =
    'out of order: the refund callback before the refund answer, FAIL after SUCCESS, CLOSED after SUCCESS, ' + 'a refund event for nothing';
  it(outOfOrderTitle, async () => {
    const outTradeNo = number('ORD');
    const paid = await paidOrder(outTradeNo, 1500);
    // Failure reported after the success: the money is there, the order stays paid.
    expect(await callback(fake.event('payment.failed', { ...paid, state: 'PAY_ERROR', failure_reason: 'late failure' }))).toBe(204);
    expect((await ours(outTradeNo)).trade_state).toBe('SUCCESS');
    // The channel settles the refund and calls back before its answer to the refund request leaves.
    const outRefundNo = `R${outTradeNo}`;
    fake.beforeAnswer = async (path) => {
      if (path !== channelProtocolPaths.createRefund) return;
      expect(await callback(fake.event('refund.succeeded', fake.settleRefund(mchid, outRefundNo, 'SUCCESS')))).toBe(204);
    };
    expect((await client.refund({ outTradeNo, outRefundNo, refund: 500, total: 1500 })).statusCode).toBe(200);
    fake.beforeAnswer = undefined;
    expect((await client.queryRefund(outRefundNo)).body.status).toBe('SUCCESS');
    // A contradicting later event does not undo a settled refund.
    expect(await callback(fake.event('refund.closed', { ...fake.refund(mchid, outRefundNo)!, state: 'CLOSED' }))).toBe(204);
    expect(await ours(outTradeNo)).toMatchObject({ refund_succeeded: 500, refund_reserved: 500 });
    // A refund event before any refund exists here (a refund we never asked for) creates nothing.
    const stranger = { ...fake.refund(mchid, outRefundNo)!, out_refund_no: `NOPE${outTradeNo}`, channel_refund_id: 'FCR-unknown' };
    expect(await callback(fake.event('refund.succeeded', stranger))).toBe(204);
    expect(
      await context.database.db.selectFrom('refunds').select('id').where('out_refund_no', '=', stranger.out_refund_no).execute(),
    ).toEqual([]);
    // SUCCESS after FAIL: the channel took money for a failed order; it is recorded and refunded.
    const failing = number('ORD');
    expect((await prepay(failing)).statusCode).toBe(200);
    expect(await callback(fake.event('payment.failed', fake.failPayment(mchid, failing)))).toBe(204);
    expect((await ours(failing)).trade_state).toBe('PAY_ERROR');
    expect(await callback(fake.event('payment.succeeded', fake.pay(mchid, failing, { late: true })))).toBe(204);
    expect(await ours(failing)).toMatchObject({ trade_state: 'REFUND', refund_reserved: 1000 });
    // A second payment under another channel transaction is a duplicate: refunded from itself, the order untouched.
    const twice = fake.pay(mchid, outTradeNo, { late: true });
    expect(await callback(fake.event('payment.succeeded', twice))).toBe(204);
    const duplicate = await context.database.db
      .selectFrom('refunds')
      .selectAll()
      .where('kind', '=', 'duplicate_payment')
      .where('out_trade_no', '=', outTradeNo)
      .execute();
    expect(duplicate).toHaveLength(1);
    expect(await ours(outTradeNo)).toMatchObject({ refund_reserved: 500, channel_transaction_id: paid.channel_transaction_id });
    for (const refund of await context.database.db
      .selectFrom('refunds')
      .select(['mchid', 'out_refund_no'])
      .where('status', '=', 'PROCESSING')
      .where('channel_kind', '=', 'http')
      .execute()) {
      expect(await callback(fake.event('refund.succeeded', fake.settleRefund(refund.mchid, refund.out_refund_no, 'SUCCESS')))).toBe(204);
    }
    await checkInvariants({ settled: true });
  });

  const mismatchTitle =
    'a refund result about another amount or currency is never applied: ' + 'the order is flagged, the refund waits for a true answer';
  it(mismatchTitle, async () => {
    const outTradeNo = number('RMIS');
    await paidOrder(outTradeNo, 2000);
    const flagged = async () => ((await ours(outTradeNo)).anomaly_flags & OrderAnomaly.RefundMismatch) !== 0;
    // The channel's answer to the refund request names another amount: not recorded, not trusted.
    const outRefundNo = `R${outTradeNo}`;
    fake.beforeAnswer = async (path, answer) => {
      if (path === channelProtocolPaths.createRefund)
        Object.assign(answer as object, { amount: { refund: 1900, total: 2000, currency: 'CNY' } });
    };
    expect((await client.refund({ outTradeNo, outRefundNo, refund: 900, total: 2000 })).body.status).toBe('PROCESSING');
    fake.beforeAnswer = undefined;
    const stored = () =>
      context.database.db
        .selectFrom('refunds')
        .selectAll()
        .where('mchid', '=', mchid)
        .where('out_refund_no', '=', outRefundNo)
        .executeTakeFirstOrThrow();
    expect(await stored()).toMatchObject({ status: 'PROCESSING', channel_refund_id: null });
    expect(await flagged()).toBe(true);
    // Its callback and the reconciler's query say SUCCESS for 1900, then for 900 in another currency: neither settles it.
    const channelRefund = fake.refund(mchid, outRefundNo)!;
    channelRefund.amount = { ...channelRefund.amount, refund: 1900 };
    expect(await callback(fake.event('refund.succeeded', fake.settleRefund(mchid, outRefundNo, 'SUCCESS')))).toBe(204);
    await runJobsFor(20 * minute);
    channelRefund.amount = { ...channelRefund.amount, refund: 900, currency: 'USD' };
    expect(await callback(fake.event('refund.succeeded', { ...channelRefund }))).toBe(204);
    await runJobsFor(20 * minute);
    expect(await stored()).toMatchObject({ status: 'PROCESSING', success_time: null });
    expect(await ours(outTradeNo)).toMatchObject({ refund_succeeded: 0, refund_reserved: 900 });
    expect(await notifications('refund', (await stored()).id)).toEqual([]);
    // The flag shows in the Order record.
    const record = await context.services.orderRecords.detail(
      await demoActor(context, manifest.miniProgramTeam.users.admin.account),
      (await ours(outTradeNo)).id,
    );
    expect(record.order.anomalies).toEqual(['RefundMismatch']);
    // Once the channel answers with our refund's amount and currency, the reconciler settles it (the flag stays).
    channelRefund.amount = { ...channelRefund.amount, currency: 'CNY' };
    await runJobsFor(40 * minute);
    expect(await stored()).toMatchObject({ status: 'SUCCESS', channel_refund_id: channelRefund.channel_refund_id });
    expect(await ours(outTradeNo)).toMatchObject({ refund_succeeded: 900 });
    expect(await flagged()).toBe(true);
    await checkInvariants({ settled: true });
  });

  // --- everything at once ------------------------------------------------------------------------------

  // The full storm takes minutes on a busy machine: its own timeout (the CI one, 10 orders, keeps the default 30 s).
  it(
    `a storm of ${stormOrders} orders through random faults and outages ends in the channel's state`,
    async () => {
      const random = mulberry32(Number(process.env.PAYTHROUGH_RELIABILITY_SEED ?? 20260115) + (kind === 'postgres' ? 1 : 0));
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const maybeFault = (path: string) => {
        if (random() < 0.4) fake.inject({ mode: pick([...badAnswerModes, 'slow']), applied: random() < 0.5, path });
      };
      const pendingCallbacks: string[] = [];
      /** A callback is delivered, repeated, held back (delivered later, out of order) or lost. */
      const deliver = async (body: string) => {
        const fate = random();
        if (fate < 0.15) return;
        if (fate < 0.35) return void pendingCallbacks.push(body);
        expect(await callback(body)).toBe(204);
        if (fate > 0.85) expect(await callback(body)).toBe(204);
      };
      const numbers: string[] = [];
      for (let index = 0; index < stormOrders; index += 1) {
        if (random() < 0.1) await (fake.listening ? fake.refuseConnections() : fake.start());
        const outTradeNo = number('STORM');
        numbers.push(outTradeNo);
        const total = 100 * (1 + Math.floor(random() * 50));
        maybeFault(channelProtocolPaths.createOrder);
        let created = (await prepay(outTradeNo, total)).statusCode === 200;
        if (!created && random() < 0.6) {
          if (!fake.listening) await fake.start();
          created = (await prepay(outTradeNo, total)).statusCode === 200;
        }
        if (!created || !fake.order(mchid, outTradeNo)) continue;
        const fate = random();
        if (fate < 0.15) {
          maybeFault(channelProtocolPaths.closeOrder);
          await client.close(outTradeNo);
          continue;
        }
        if (fate < 0.25) {
          await deliver(fake.event('payment.failed', fake.failPayment(mchid, outTradeNo)));
          continue;
        }
        if (fate < 0.35) continue; // never paid: expires
        await deliver(fake.event('payment.succeeded', fake.pay(mchid, outTradeNo)));
        if ((await ours(outTradeNo)).trade_state !== 'SUCCESS') continue;
        for (let refundIndex = 0; refundIndex < 1 + Math.floor(random() * 3); refundIndex += 1) {
          const outRefundNo = `R${refundIndex}${outTradeNo}`;
          maybeFault(channelProtocolPaths.createRefund);
          const answer = await client.refund({ outTradeNo, outRefundNo, refund: Math.max(1, Math.floor((total * random()) / 2)), total });
          expect([200, 400]).toContain(answer.statusCode);
          const channelRefund = fake.refund(mchid, outRefundNo);
          if (!channelRefund || random() < 0.3) continue;
          const state = pick(['SUCCESS', 'SUCCESS', 'CLOSED', 'ABNORMAL'] as const);
          await deliver(fake.event(refundEventOf[state], fake.settleRefund(mchid, outRefundNo, state)));
        }
        if (random() < 0.3) await runJobsFor(minute);
      }
      // Held-back callbacks arrive last, in reverse (out of order); the channel recovers; time passes.
      for (const body of pendingCallbacks.reverse()) expect(await callback(body)).toBe(204);
      fake.clearFaults();
      if (!fake.listening) await fake.start();
      // The channel finishes the refunds it still has in hand; their callbacks are lost, the reconciler asks.
      await runJobsFor(30 * minute);
      for (const refund of fake.refunds.values())
        if (refund.state === 'PROCESSING') fake.settleRefund(refund.merchant_id, refund.out_refund_no, 'SUCCESS');
      await runJobsFor(3 * 60 * minute, 10 * minute);
      expect(await checkInvariants({ settled: true, all: true })).toBeGreaterThanOrEqual(numbers.length);
      for (const outTradeNo of numbers) expect((await ours(outTradeNo)).trade_state).not.toBe('WAIT_PAY');
    },
    full ? 10 * minute : undefined,
  );
});

const refundEventOf = { SUCCESS: 'refund.succeeded', CLOSED: 'refund.closed', ABNORMAL: 'refund.abnormal' } as const;

/** A small seeded PRNG, so a failing storm can be replayed with PAYTHROUGH_RELIABILITY_SEED. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
