import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelOrderKey, ChannelResult, ChannelOrder, PaymentChannel } from '../../src/channels/channel.ts';
import { OrderAnomaly } from '../../src/db/order-schema.ts';
import { channelPaymentRepository, paymentStateHistoryRepository } from '../../src/repositories/channel-payment.repository.ts';
import { paymentStatsRepository } from '../../src/repositories/payment-stats.repository.ts';
import { refundRepository } from '../../src/repositories/refund.repository.ts';
import { outboxRepository } from '../../src/repositories/outbox.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { enableFreshMiniProgram, payInSandbox, readyMerchant, V3InjectClient, orderOfMerchant } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const hour = 60 * 60 * 1000;
let sequence = 0;
const orderNo = (prefix = 'ORD') => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

describeOnEachDatabase('orders through the v3 gateway (sandbox channel)', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  const db = () => context.database.db;
  const orderOf = async (outTradeNo: string) => (await orderOfMerchant(db(), client.merchant, outTradeNo))!;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
  });
  afterAll(() => context?.close());

  it('prepays, and a repeat with the same fields returns the same prepay_id', async () => {
    const outTradeNo = orderNo();
    const first = await client.prepay({ outTradeNo, attach: 'cart-7' });
    expect(first.statusCode).toBe(200);
    expect(first.body.prepay_id).toMatch(/^wx\d{14}[0-9a-f]{20}$/);
    const again = await client.prepay({ outTradeNo, attach: 'cart-7' });
    expect(again.body.prepay_id).toBe(first.body.prepay_id);

    const query = await client.queryByOutTradeNo(outTradeNo);
    expect(query.statusCode).toBe(200);
    expect(query.body).toMatchObject({
      appid: client.merchant.mnpId,
      mchid: client.merchant.mchid,
      mch_id: client.merchant.mchid,
      out_trade_no: outTradeNo,
      trade_state: 'WAIT_PAY',
      attach: 'cart-7',
      amount: { total: 1000, currency: 'CNY' },
      payer: { openid: 'openid-demo' },
    });
    expect(query.body.transaction_id).toBeUndefined();
    const order = await orderOf(outTradeNo);
    expect(order).toMatchObject({
      sandbox: 1,
      channel_kind: 'sandbox',
      pending_operation: null,
      application_id: manifest.superapp.applicationId,
    });
    expect(order.channel_order_id).toMatch(/^sbx_ord_/);
    expect(order.time_expire - order.created_at).toBe(2 * hour);
  });

  it('takes an amount of up to 100,000,000,000 minor units; a larger one is PARAM_ERROR and no order', async () => {
    const largest = orderNo('MAX');
    expect((await client.prepay({ outTradeNo: largest, total: 100_000_000_000 })).statusCode).toBe(200);
    const tooLarge = orderNo('BIG');
    const refused = await client.prepay({ outTradeNo: tooLarge, total: 100_000_000_001 });
    expect([refused.statusCode, refused.body.code]).toEqual([400, 'PARAM_ERROR']);
    expect(refused.body.detail).toMatchObject({ field: '/amount/total' });
    expect(await orderOfMerchant(db(), client.merchant, tooLarge)).toBeUndefined();
  });

  it('refuses the same out_trade_no with any idempotency field changed (403 OUT_TRADE_NO_USED)', async () => {
    const outTradeNo = orderNo();
    expect((await client.prepay({ outTradeNo })).statusCode).toBe(200);
    for (const change of [
      { total: 1001 },
      { description: 'Tea' },
      { attach: 'x' },
      { notifyUrl: 'https://merchant.example/other' },
      { openid: 'someone-else' },
      { timeExpire: '2026-01-15T20:00:00+08:00' },
    ]) {
      const answer = await client.prepay({ outTradeNo, ...change });
      expect(answer.statusCode, JSON.stringify(change)).toBe(403);
      expect(answer.body.code).toBe('OUT_TRADE_NO_USED');
    }
  });

  it('gives one order to concurrent identical prepays', async () => {
    const outTradeNo = orderNo('CONC');
    const answers = await Promise.all(Array.from({ length: 12 }, () => client.prepay({ outTradeNo })));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(12).fill(200));
    expect(new Set(answers.map((a) => a.body.prepay_id)).size).toBe(1);
    const rows = await db().selectFrom('orders').select('id').where('out_trade_no', '=', outTradeNo).execute();
    expect(rows).toHaveLength(1);
    const sandboxRows = await db().selectFrom('sandbox_orders').select('id').where('out_trade_no', '=', outTradeNo).execute();
    expect(sandboxRows).toHaveLength(1);
  });

  it('pays through the sandbox: SUCCESS with a minted transaction_id, queryable both ways, notified', async () => {
    const outTradeNo = orderNo();
    const { body } = await client.prepay({ outTradeNo });
    const paid = await payInSandbox(context.app, body.prepay_id);
    expect(paid.statusCode).toBe(200);
    const byNumber = await client.queryByOutTradeNo(outTradeNo);
    expect(byNumber.body).toMatchObject({ trade_state: 'SUCCESS', trade_type: 'JSAPI', amount: { total: 1000, payer_total: 1000 } });
    expect(byNumber.body.transaction_id).toMatch(/^\d{28,32}$/);
    expect(byNumber.body.success_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    const byId = await client.queryByTransactionId(byNumber.body.transaction_id);
    expect(byId.body).toEqual(byNumber.body);

    const order = await orderOf(outTradeNo);
    expect(order.channel_transaction_id).toMatch(/^sbx_pay_/);
    const events = await outboxRepository.listBySubject(db(), 'order', String(order.id));
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.payload_json)).toMatchObject({
      event_type: 'TRANSACTION.SUCCESS',
      resource: { trade_state: 'SUCCESS', transaction_id: order.transaction_id },
    });
    const history = await paymentStateHistoryRepository.listOf(db(), 'order', order.id);
    expect(history.map((h) => [h.from_state, h.to_state])).toEqual([
      [null, 'WAIT_PAY'],
      ['WAIT_PAY', 'SUCCESS'],
    ]);

    // The same payment reported again changes nothing.
    await context.services.orders.applyPayment(order.id, {
      channelTransactionId: order.channel_transaction_id!,
      amount: 1000,
      currency: 'CNY',
      payerOpenid: null,
      paidAt: null,
    });
    expect(await outboxRepository.listBySubject(db(), 'order', String(order.id))).toHaveLength(1);

    const repeat = await client.prepay({ outTradeNo });
    expect([repeat.statusCode, repeat.body.code]).toEqual([400, 'ORDERPAID']);
    const close = await client.close(outTradeNo);
    expect([close.statusCode, close.body.code]).toEqual([400, 'ORDERPAID']);
  });

  it('closes an unpaid order (204, again 204), on the channel too; a closed number cannot be prepaid again', async () => {
    const outTradeNo = orderNo();
    const { body } = await client.prepay({ outTradeNo });
    const closed = await client.close(outTradeNo);
    expect(closed.statusCode).toBe(204);
    expect(closed.rawBody).toBe('');
    expect((await client.close(outTradeNo)).statusCode).toBe(204);
    expect((await client.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('CLOSED');
    expect(
      (await db().selectFrom('sandbox_orders').select('state').where('prepay_id', '=', body.prepay_id).executeTakeFirst())?.state,
    ).toBe('CLOSED');
    const repeat = await client.prepay({ outTradeNo });
    expect([repeat.statusCode, repeat.body.code]).toEqual([400, 'ORDER_CLOSED']);
    // A user can no longer pay it at the cashier.
    expect((await payInSandbox(context.app, body.prepay_id)).statusCode).toBeGreaterThanOrEqual(400);
  });

  it('marks a failed payment PAY_ERROR', async () => {
    const outTradeNo = orderNo();
    const { body } = await client.prepay({ outTradeNo });
    expect((await payInSandbox(context.app, body.prepay_id, { fail: true })).statusCode).toBe(200);
    expect((await client.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('PAY_ERROR');
  });

  it('auto-closes orders past time_expire (default 2 hours), the channel first', async () => {
    const outTradeNo = orderNo('AUTO');
    const shortLived = orderNo('AUTO');
    const { body } = await client.prepay({ outTradeNo });
    const expiry = new Date(context.clock.nowMs() + 10 * 60_000).toISOString();
    await client.prepay({ outTradeNo: shortLived, timeExpire: expiry });
    context.clock.advance(11 * 60_000);
    await context.services.autoCloseJob.runOnce();
    expect((await client.queryByOutTradeNo(shortLived)).body.trade_state).toBe('AUTO_CLOSED');
    expect((await client.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('WAIT_PAY');
    context.clock.advance(2 * hour);
    await context.services.autoCloseJob.runOnce();
    expect((await client.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('AUTO_CLOSED');
    expect(
      (await db().selectFrom('sandbox_orders').select('state').where('prepay_id', '=', body.prepay_id).executeTakeFirst())?.state,
    ).toBe('CLOSED');
    expect((await client.prepay({ outTradeNo })).body.code).toBe('ORDER_CLOSED');
  });

  it('records a late payment, makes the order SUCCESS and refunds it in full at once', async () => {
    const outTradeNo = orderNo('LATE');
    const { body } = await client.prepay({ outTradeNo, total: 2500 });
    expect((await client.close(outTradeNo)).statusCode).toBe(204);
    expect((await payInSandbox(context.app, body.prepay_id, { late: true })).statusCode).toBe(200);

    const order = await orderOf(outTradeNo);
    expect(order.trade_state).toBe('REFUND');
    expect(order.anomaly_flags & OrderAnomaly.LatePayment).toBeTruthy();
    expect(order.refund_reserved).toBe(2500);
    const [payment] = await channelPaymentRepository.listByOrder(db(), order.id);
    expect(payment).toMatchObject({ disposition: 'late_payment_refunded', amount: 2500 });
    const [refund] = await refundRepository.listByOrder(db(), order.id);
    expect(refund).toMatchObject({ kind: 'late_payment', reason: 'late payment', amount_refund: 2500, status: 'PROCESSING' });
    // In the namespace the gateway refuses to merchants, so no merchant can take the number first.
    expect(refund!.out_refund_no).toBe(`_PT_LATE_${order.transaction_id}`);
    expect(refund!.channel_refund_id).toMatch(/^sbx_ref_/);
    const history = await paymentStateHistoryRepository.listOf(db(), 'order', order.id);
    expect(history.map((h) => h.to_state)).toEqual(['WAIT_PAY', 'CLOSED', 'SUCCESS', 'REFUND']);
    const notified = await outboxRepository.listBySubject(db(), 'order', String(order.id));
    expect(notified.map((n) => JSON.parse(n.payload_json).event_type)).toEqual(['TRANSACTION.SUCCESS']);

    // The sandbox completes refunds after its delay; its event settles ours and notifies.
    context.clock.advance(10_000);
    await context.services.sandbox!.tick();
    expect((await refundRepository.findById(db(), refund!.id))?.status).toBe('SUCCESS');
    expect(
      (await outboxRepository.listBySubject(db(), 'refund', String(refund!.id))).map((n) => JSON.parse(n.payload_json).event_type),
    ).toEqual(['REFUND.SUCCESS']);
  });

  it("takes the channel's paid time as success_time when plausible; one before the order is flagged TimeDrift", async () => {
    const believed = orderNo('TIME');
    await client.prepay({ outTradeNo: believed, total: 300 });
    context.clock.advance(30_000);
    const paidAt = context.clock.nowMs() - 10_000;
    const order = await orderOf(believed);
    await context.services.orders.applyPayment(order.id, {
      channelTransactionId: 'chan-time-1',
      amount: 300,
      currency: 'CNY',
      payerOpenid: null,
      paidAt,
    });
    expect(await orderOf(believed)).toMatchObject({
      trade_state: 'SUCCESS',
      success_time: paidAt,
      success_learned_at: context.clock.nowMs(),
    });

    const drifted = orderNo('DRIFT');
    await client.prepay({ outTradeNo: drifted, total: 300 });
    const before = await orderOf(drifted);
    await context.services.orders.applyPayment(before.id, {
      channelTransactionId: 'chan-time-2',
      amount: 300,
      currency: 'CNY',
      payerOpenid: null,
      paidAt: before.created_at - 1,
    });
    const after = await orderOf(drifted);
    expect(after).toMatchObject({ trade_state: 'SUCCESS', success_time: context.clock.nowMs() });
    expect(after.anomaly_flags & OrderAnomaly.TimeDrift).toBe(OrderAnomaly.TimeDrift);
  });

  it('a create the channel refuses leaves a closed order with the refusal in its history; a retry takes the row over', async () => {
    const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
    let refuse = true;
    const refusing: PaymentChannel = {
      kind: 'sandbox',
      createOrder: async (input) =>
        refuse ? { outcome: 'rejected', code: 'PARAM_ERROR', message: 'the payer is blocked' } : sandbox.createOrder(input),
      queryOrder: (key) => sandbox.queryOrder(key),
      closeOrder: (key) => sandbox.closeOrder(key),
      queryRefund: (key) => sandbox.queryRefund(key),
      refund: (input) => sandbox.refund(input),
    };
    context.services.gatewayChannels.register('sandbox', refusing);
    try {
      const ordersCountedAt = async (at: number) => {
        const filter = { scope: { all: true as const }, currency: 'CNY', mnpIds: [client.merchant.mnpId], paymentType: 1 as const };
        const figures = await paymentStatsRepository.ordersFigures(db(), filter, at, at + 1);
        return figures.reduce((sum, row) => sum + Number(row.order_count), 0);
      };
      const countedBefore = await ordersCountedAt(context.clock.nowMs());
      const outTradeNo = orderNo('REFUSED');
      const refused = await client.prepay({ outTradeNo, total: 800 });
      expect([refused.statusCode, refused.body.code]).toEqual([400, 'PARAM_ERROR']);
      const closed = await orderOf(outTradeNo);
      expect(closed).toMatchObject({ trade_state: 'CLOSED', channel_refused: 1, pending_operation: null, amount_total: 800 });
      // Not an unpaid order: the payment figures do not count it.
      expect(await ordersCountedAt(closed.created_at)).toBe(countedBefore);
      const history = await paymentStateHistoryRepository.listOf(db(), 'order', closed.id);
      expect(history.map((entry) => [entry.to_state, entry.reason])).toEqual([
        ['WAIT_PAY', 'prepay'],
        ['CLOSED', 'the channel refused to create it: PARAM_ERROR the payer is blocked'],
      ]);

      // The corrected retry, other fields and all, goes through in the same row with a new prepay_id.
      refuse = false;
      const retried = await client.prepay({ outTradeNo, total: 900, description: 'corrected' });
      expect(retried.statusCode).toBe(200);
      expect(retried.body.prepay_id).not.toBe(closed.prepay_id);
      const open = await orderOf(outTradeNo);
      expect(open).toMatchObject({
        id: closed.id,
        trade_state: 'WAIT_PAY',
        channel_refused: 0,
        amount_total: 900,
        description: 'corrected',
      });
      expect(open.channel_order_id).toMatch(/^sbx_ord_/);
      const after = await paymentStateHistoryRepository.listOf(db(), 'order', closed.id);
      expect(after.map((entry) => entry.to_state)).toEqual(['WAIT_PAY', 'CLOSED', 'WAIT_PAY']);
      // A plain repeat of the retry is the same order, as any repeat is.
      expect((await client.prepay({ outTradeNo, total: 900, description: 'corrected' })).body.prepay_id).toBe(retried.body.prepay_id);
    } finally {
      context.services.gatewayChannels.register('sandbox', sandbox);
    }
  });

  it('refuses and flags a payment whose amount or currency differs; never applies it', async () => {
    const outTradeNo = orderNo('MIS');
    await client.prepay({ outTradeNo, total: 700 });
    const order = await orderOf(outTradeNo);
    await context.services.orders.applyPayment(order.id, {
      channelTransactionId: 'chan-mismatch-1',
      amount: 701,
      currency: 'CNY',
      payerOpenid: null,
      paidAt: null,
    });
    await context.services.orders.applyPayment(order.id, {
      channelTransactionId: 'chan-mismatch-2',
      amount: 700,
      currency: 'USD',
      payerOpenid: null,
      paidAt: null,
    });
    const after = await orderOf(outTradeNo);
    expect(after.trade_state).toBe('WAIT_PAY');
    expect(after.anomaly_flags & OrderAnomaly.MismatchRefused).toBeTruthy();
    expect((await channelPaymentRepository.listByOrder(db(), order.id)).map((p) => p.disposition)).toEqual([
      'mismatch_refused',
      'mismatch_refused',
    ]);
  });

  describe('a duplicate payment (another channel transaction for a paid order)', () => {
    it('is recorded, flagged and refunded in full without touching the refundable amount', async () => {
      const refundsSent: { channelTransactionId: string | null; refund: number }[] = [];
      const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
      const spy: PaymentChannel = {
        kind: 'sandbox',
        createOrder: (input) => sandbox.createOrder(input),
        queryOrder: (key) => sandbox.queryOrder(key),
        closeOrder: (key) => sandbox.closeOrder(key),
        queryRefund: (key) => sandbox.queryRefund(key),
        async refund(input) {
          refundsSent.push({ channelTransactionId: input.channelTransactionId, refund: input.amount.refund });
          return {
            outcome: 'ok',
            value: {
              channelRefundId: 'dup-refund-1',
              merchantId: input.merchantId,
              outRefundNo: input.outRefundNo,
              outTradeNo: input.outTradeNo,
              state: 'PROCESSING',
              amount: input.amount,
              reason: input.reason,
              createdAt: context.clock.nowMs(),
              settledAt: null,
            },
          };
        },
      };
      context.services.gatewayChannels.register('sandbox', spy);
      try {
        const outTradeNo = orderNo('DUP');
        const { body } = await client.prepay({ outTradeNo, total: 900 });
        await payInSandbox(context.app, body.prepay_id);
        const order = await orderOf(outTradeNo);
        await context.services.orders.applyPayment(order.id, {
          channelTransactionId: 'another-channel-payment',
          amount: 900,
          currency: 'CNY',
          payerOpenid: 'openid-demo',
          paidAt: null,
        });
        const after = await orderOf(outTradeNo);
        expect(after).toMatchObject({ trade_state: 'SUCCESS', refund_reserved: 0, refund_count: 0 });
        expect(after.anomaly_flags & OrderAnomaly.DuplicatePayment).toBeTruthy();
        expect((await channelPaymentRepository.listByOrder(db(), order.id)).map((p) => p.disposition)).toEqual([
          'applied',
          'duplicate_refunded',
        ]);
        const [refund] = await refundRepository.listByOrder(db(), order.id);
        expect(refund).toMatchObject({
          kind: 'duplicate_payment',
          amount_refund: 900,
          status: 'PROCESSING',
          channel_refund_id: 'dup-refund-1',
        });
        expect(refundsSent).toEqual([{ channelTransactionId: 'another-channel-payment', refund: 900 }]);
        // The merchant can still refund the whole original payment.
        const merchantRefund = await client.refund({ outTradeNo, outRefundNo: `${outTradeNo}-R`, refund: 900, total: 900 });
        expect(merchantRefund.statusCode).toBe(200);
      } finally {
        context.services.gatewayChannels.register('sandbox', sandbox);
      }
    });
  });

  describe('channel timeouts are settled by the reconciler to the channel state', () => {
    /** The sandbox, but `close` and `createOrder` reach it and then time out, as a lost answer would. */
    function answerLost(sandbox: PaymentChannel, lose: { create?: boolean; close?: boolean; closeNeverArrives?: boolean }): PaymentChannel {
      const unknown = <T>(): ChannelResult<T> => ({ outcome: 'unknown', reason: 'timeout after 10000 ms' }) as ChannelResult<T>;
      return {
        kind: 'sandbox',
        async createOrder(input) {
          const result = await sandbox.createOrder(input);
          return lose.create ? unknown() : result;
        },
        queryOrder: (key) => sandbox.queryOrder(key),
        async closeOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>> {
          if (lose.closeNeverArrives) return unknown();
          const result = await sandbox.closeOrder(key);
          return lose.close ? unknown() : result;
        },
        refund: (input) => sandbox.refund(input),
        queryRefund: (key) => sandbox.queryRefund(key),
      };
    }

    it('a close whose answer was lost: SYSTEM_ERROR now, CLOSED once the reconciler asked the channel', async () => {
      const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
      const outTradeNo = orderNo('TMO');
      await client.prepay({ outTradeNo });
      context.services.gatewayChannels.register('sandbox', answerLost(sandbox, { close: true }));
      try {
        const close = await client.close(outTradeNo);
        expect([close.statusCode, close.body.code]).toEqual([500, 'SYSTEM_ERROR']);
        expect(await orderOf(outTradeNo)).toMatchObject({ trade_state: 'WAIT_PAY', pending_operation: 'close' });
        // Not due yet.
        await context.services.reconcilerJob.runOnce();
        expect((await orderOf(outTradeNo)).trade_state).toBe('WAIT_PAY');
        context.clock.advance(61_000);
        await context.services.reconcilerJob.runOnce();
        expect(await orderOf(outTradeNo)).toMatchObject({ trade_state: 'CLOSED', pending_operation: null, reconcile_at: null });
      } finally {
        context.services.gatewayChannels.register('sandbox', sandbox);
      }
    });

    it('a close the channel carried out before this process died: the reconciler closes it here too', async () => {
      const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
      const outTradeNo = orderNo('TMK');
      await client.prepay({ outTradeNo });
      // The channel closes the order, then the process "dies": nothing after the call runs.
      const dying: PaymentChannel = {
        ...answerLost(sandbox, {}),
        async closeOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>> {
          await sandbox.closeOrder(key);
          throw new Error('process killed');
        },
      };
      context.services.gatewayChannels.register('sandbox', dying);
      try {
        expect((await client.close(outTradeNo)).statusCode).toBe(500);
      } finally {
        context.services.gatewayChannels.register('sandbox', sandbox);
      }
      expect(await orderOf(outTradeNo)).toMatchObject({ trade_state: 'WAIT_PAY', pending_operation: 'close' });
      context.clock.advance(61_000);
      await context.services.reconcilerJob.runOnce();
      expect(await orderOf(outTradeNo)).toMatchObject({ trade_state: 'CLOSED', pending_operation: null, reconcile_at: null });
    });

    it('a close the channel refuses changes nothing here: no close is left pending', async () => {
      const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
      const outTradeNo = orderNo('TMR');
      await client.prepay({ outTradeNo });
      const before = await orderOf(outTradeNo);
      const refusing: PaymentChannel = {
        ...answerLost(sandbox, {}),
        closeOrder: async () => ({ outcome: 'rejected', code: 'PARAM_ERROR', message: 'refused' }),
      };
      context.services.gatewayChannels.register('sandbox', refusing);
      try {
        expect((await client.close(outTradeNo)).statusCode).toBeGreaterThanOrEqual(400);
      } finally {
        context.services.gatewayChannels.register('sandbox', sandbox);
      }
      expect(await orderOf(outTradeNo)).toMatchObject({
        trade_state: 'WAIT_PAY',
        pending_operation: before.pending_operation,
        reconcile_at: before.reconcile_at,
      });
    });

    it('a close that never arrived while the user paid: the reconciler finds the payment and the order is SUCCESS', async () => {
      const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
      const outTradeNo = orderNo('TMP');
      const { body } = await client.prepay({ outTradeNo });
      context.services.gatewayChannels.register('sandbox', answerLost(sandbox, { closeNeverArrives: true }));
      try {
        expect((await client.close(outTradeNo)).statusCode).toBe(500);
        // The payment event is lost too (the sink refuses it), so only the reconciler can learn of it.
        const attach = context.services.channelEvents;
        const sink = {
          handle: async () => {
            throw new Error('sink down');
          },
        };
        attach.attach(sink);
        try {
          expect((await payInSandbox(context.app, body.prepay_id)).statusCode).toBe(200);
        } finally {
          attach.attach(context.services.orders);
        }
        expect((await orderOf(outTradeNo)).trade_state).toBe('WAIT_PAY');
        context.clock.advance(61_000);
        await context.services.reconcilerJob.runOnce();
        const order = await orderOf(outTradeNo);
        expect(order).toMatchObject({ trade_state: 'SUCCESS', pending_operation: null });
        expect(order.channel_transaction_id).toMatch(/^sbx_pay_/);
        expect((await client.close(outTradeNo)).body.code).toBe('ORDERPAID');
      } finally {
        context.services.gatewayChannels.register('sandbox', sandbox);
      }
    });

    const lostAnswerTitle =
      'a create whose answer was lost: SYSTEM_ERROR, ' +
      'then the reconciler records the channel order and a retry gets the same prepay_id';
    it(lostAnswerTitle, async () => {
      const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
      const outTradeNo = orderNo('TMC');
      context.services.gatewayChannels.register('sandbox', answerLost(sandbox, { create: true }));
      let prepayId: string;
      try {
        const first = await client.prepay({ outTradeNo });
        expect([first.statusCode, first.body.code]).toEqual([500, 'SYSTEM_ERROR']);
        const pending = await orderOf(outTradeNo);
        expect(pending).toMatchObject({ trade_state: 'WAIT_PAY', pending_operation: 'create', channel_order_id: null });
        prepayId = pending.prepay_id;
        context.clock.advance(61_000);
        await context.services.reconcilerJob.runOnce();
        const settled = await orderOf(outTradeNo);
        expect(settled.channel_order_id).toMatch(/^sbx_ord_/);
        expect(settled.pending_operation).toBeNull();
      } finally {
        context.services.gatewayChannels.register('sandbox', sandbox);
      }
      const retry = await client.prepay({ outTradeNo });
      expect(retry.body.prepay_id).toBe(prepayId);
    });
  });

  describe('credential scope', () => {
    it("another mini program's certificate under the same mchid sees ORDER_NOT_EXIST", async () => {
      const outTradeNo = orderNo('SCOPE');
      const { body } = await client.prepay({ outTradeNo });
      await payInSandbox(context.app, body.prepay_id);
      const transactionId = (await client.queryByOutTradeNo(outTradeNo)).body.transaction_id;
      const other = new V3InjectClient(context.app, await enableFreshMiniProgram(context, manifest), context.clock);
      expect(other.merchant.mchid).toBe(client.merchant.mchid);
      for (const answer of [
        await other.queryByOutTradeNo(outTradeNo),
        await other.queryByTransactionId(transactionId),
        await other.refund({ outTradeNo, outRefundNo: `${outTradeNo}-X`, refund: 1, total: 1000 }),
        await other.close(outTradeNo),
      ]) {
        expect([answer.statusCode, answer.body.code]).toEqual([404, 'ORDER_NOT_EXIST']);
      }
      // Its own prepay under another mini program's appid is refused; its own works.
      const foreign = await other.request('POST', '/v3/pay/transactions/jsapi', {
        appid: client.merchant.mnpId,
        mchid: other.merchant.mchid,
        description: 'x',
        out_trade_no: orderNo('FRN'),
        notify_url: 'https://m.example/n',
        amount: { total: 1 },
        payer: { openid: 'o' },
      });
      expect([foreign.statusCode, foreign.body.code]).toEqual([400, 'APPID_MCHID_NOT_MATCH']);
      expect((await other.prepay({ outTradeNo: orderNo('OWN') })).statusCode).toBe(200);
      // The same out_trade_no is taken for the whole mchid.
      expect((await other.prepay({ outTradeNo })).body.code).toBe('OUT_TRADE_NO_USED');
      // And the mchid query parameter must be the caller's.
      expect((await client.queryByOutTradeNo(outTradeNo, '1900000102')).body.code).toBe('ORDER_NOT_EXIST');
    });
  });

  it('validates requests as PARAM_ERROR with a JSON pointer', async () => {
    const zero = await client.request('POST', '/v3/pay/transactions/jsapi', {
      appid: client.merchant.mnpId,
      mchid: client.merchant.mchid,
      description: 'x',
      out_trade_no: orderNo(),
      notify_url: 'https://m.example/n',
      amount: { total: 0 },
      payer: { openid: 'o' },
    });
    expect(zero.statusCode).toBe(400);
    expect(zero.body).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '/amount/total', location: 'body' } });
    const currency = await client.prepay({ outTradeNo: orderNo(), currency: 'USD' });
    expect(currency.body).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '/amount/currency', value: 'USD' } });
    const query = await client.request('GET', '/v3/pay/transactions/out-trade-no/ABCDEFG');
    expect(query.body).toMatchObject({ code: 'PARAM_ERROR', detail: { field: 'mchid', location: 'query' } });
    const shortNumber = await client.prepay({ outTradeNo: 'abc' });
    expect(shortNumber.body).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '/out_trade_no' } });
    const plainHttpNotify = await client.prepay({ outTradeNo: orderNo(), notifyUrl: 'https://m.example/n?x=1' });
    expect(plainHttpNotify.body).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '/notify_url' } });
    const unknown = await client.request('GET', '/v3/pay/no-such-api');
    expect([unknown.statusCode, unknown.body.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);
  });
});
