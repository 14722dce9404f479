import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ChannelOrder, ChannelRefund, ChannelResult, CreateChannelOrderInput } from '../../src/channels/channel.ts';
import { SandboxChannel } from '../../src/channels/sandbox/sandbox-channel.ts';
import { sandboxRepository } from '../../src/repositories/sandbox.repository.ts';
import { RecordingSink } from '../helpers/recording-sink.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

function value<T>(result: ChannelResult<T>): T {
  if (result.outcome !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.value;
}

describeOnEachDatabase('sandbox channel', (kind) => {
  let context: TestContext;
  let sink: RecordingSink;
  let sandbox: SandboxChannel;
  let sequence = 0;
  const refundDelayMs = 30_000;

  beforeAll(async () => {
    context = await createTestContext(kind);
    sink = new RecordingSink();
    sandbox = new SandboxChannel({
      db: context.database.db,
      clock: context.clock,
      sink,
      publicUrl: 'http://127.0.0.1:8080/',
      refundDelayMs,
    });
  });
  afterAll(() => context?.close());
  beforeEach(() => {
    sink.clear();
    sink.failNext = 0;
  });

  const orderInput = (overrides: Partial<CreateChannelOrderInput> = {}): CreateChannelOrderInput => {
    sequence += 1;
    return {
      merchantId: '1900000001',
      appId: 'mnp_demo',
      outTradeNo: `T${sequence}`,
      prepayId: `wx_prepay_${sequence}`,
      amount: { total: 1000, currency: 'CNY' },
      description: 'Coffee',
      expiresAt: context.clock.nowMs() + 2 * 3600_000,
      attach: null,
      payer: { openid: 'o_payer' },
      ...overrides,
    };
  };

  async function paidOrder(total = 1000): Promise<ChannelOrder> {
    const input = orderInput({ amount: { total, currency: 'CNY' } });
    value(await sandbox.createOrder(input));
    const paid = value(await sandbox.succeedPayment(input.prepayId));
    sink.clear();
    return paid;
  }

  it('creates an order with a cashier link, and repeats answer the same order', async () => {
    const input = orderInput();
    const created = value(await sandbox.createOrder(input));
    expect(created).toMatchObject({
      merchantId: '1900000001',
      outTradeNo: input.outTradeNo,
      prepayId: input.prepayId,
      state: 'WAIT_PAY',
      amount: { total: 1000, currency: 'CNY' },
    });
    expect(created.channelOrderId).toMatch(/^sbx_ord_/);
    expect(created.cashierUrl).toBe(`http://127.0.0.1:8080/sandbox/cashier/${created.cashierToken}`);
    expect(value(await sandbox.createOrder(input))).toEqual(created);
    expect(value(await sandbox.queryOrder({ merchantId: input.merchantId, outTradeNo: input.outTradeNo }))).toEqual(created);
  });

  it('refuses the same out_trade_no with other parameters, and a prepay_id of another order', async () => {
    const input = orderInput();
    value(await sandbox.createOrder(input));
    expect(await sandbox.createOrder({ ...input, amount: { total: 999, currency: 'CNY' } })).toMatchObject({
      outcome: 'rejected',
      code: 'OUT_TRADE_NO_USED',
    });
    expect(await sandbox.createOrder({ ...input, description: 'Tea' })).toMatchObject({ outcome: 'rejected', code: 'OUT_TRADE_NO_USED' });
    expect(await sandbox.createOrder({ ...orderInput(), prepayId: input.prepayId })).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_REQUEST',
    });
    // The same number under another merchant is another order.
    expect(await sandbox.createOrder({ ...input, merchantId: '1900000002', prepayId: `${input.prepayId}-b` })).toMatchObject({
      outcome: 'ok',
    });
  });

  it('answers ORDER_NOT_EXIST for unknown orders', async () => {
    expect(await sandbox.queryOrder({ merchantId: '1900000001', outTradeNo: 'nope' })).toMatchObject({
      outcome: 'rejected',
      code: 'ORDER_NOT_EXIST',
    });
    expect(await sandbox.closeOrder({ merchantId: '1900000001', outTradeNo: 'nope' })).toMatchObject({
      outcome: 'rejected',
      code: 'ORDER_NOT_EXIST',
    });
  });

  it('pays an order once, tells the sink once, and repeats change nothing', async () => {
    const input = orderInput();
    value(await sandbox.createOrder(input));
    const paid = value(await sandbox.succeedPayment(input.prepayId, { payerOpenid: 'o_other' }));
    expect(paid).toMatchObject({ state: 'SUCCESS', payerOpenid: 'o_other', paidAt: context.clock.nowMs() });
    expect(paid.channelTransactionId).toMatch(/^sbx_pay_/);
    expect(sink.types()).toEqual(['payment.succeeded']);
    expect(sink.events[0]!.source).toEqual({ channelKind: 'sandbox', applicationId: null });
    expect(sink.events[0]!.event).toMatchObject({ type: 'payment.succeeded', occurredAt: context.clock.nowMs(), order: paid });
    expect(value(await sandbox.succeedPayment(input.prepayId))).toEqual(paid);
    expect(sink.types()).toEqual(['payment.succeeded']);
    expect(await sandbox.closeOrder({ merchantId: input.merchantId, outTradeNo: input.outTradeNo })).toMatchObject({
      outcome: 'rejected',
      code: 'ORDER_PAID',
    });
    expect(await sandbox.failPayment(input.prepayId)).toMatchObject({ outcome: 'rejected', code: 'ORDER_PAID' });
  });

  it('fails a payment: PAY_ERROR, one payment.failed event', async () => {
    const input = orderInput();
    value(await sandbox.createOrder(input));
    const failed = value(await sandbox.failPayment(input.prepayId, 'insufficient balance'));
    expect(failed).toMatchObject({
      state: 'PAY_ERROR',
      failureReason: 'insufficient balance',
      channelTransactionId: null,
      payerOpenid: null,
    });
    expect(value(await sandbox.failPayment(input.prepayId))).toEqual(failed);
    expect(sink.types()).toEqual(['payment.failed']);
    expect(await sandbox.succeedPayment(input.prepayId)).toMatchObject({ outcome: 'rejected', code: 'INVALID_REQUEST' });
  });

  it('closes an unpaid order (again: same answer) and refuses to pay it, unless told the money arrived late', async () => {
    const input = orderInput();
    value(await sandbox.createOrder(input));
    const closed = value(await sandbox.closeOrder({ merchantId: input.merchantId, outTradeNo: input.outTradeNo }));
    expect(closed).toMatchObject({ state: 'CLOSED', closedAt: context.clock.nowMs() });
    expect(value(await sandbox.closeOrder({ merchantId: input.merchantId, outTradeNo: input.outTradeNo }))).toEqual(closed);
    expect(await sandbox.succeedPayment(input.prepayId)).toMatchObject({ outcome: 'rejected', code: 'ORDER_CLOSED' });
    expect(sink.events).toHaveLength(0);
    const late = value(await sandbox.succeedPayment(input.prepayId, { late: true }));
    expect(late).toMatchObject({ state: 'SUCCESS', closedAt: closed.closedAt });
    expect(sink.types()).toEqual(['payment.succeeded']);
  });

  it('captures an order past its expiry time (the channel leaves closing to Paythrough)', async () => {
    const input = orderInput({ expiresAt: context.clock.nowMs() + 60_000 });
    value(await sandbox.createOrder(input));
    context.clock.advance(120_000);
    expect(value(await sandbox.succeedPayment(input.prepayId)).state).toBe('SUCCESS');
  });

  it('refunds: PROCESSING, then SUCCESS after the delay on the clock (ticker or query), one event', async () => {
    const order = await paidOrder(1000);
    const refund = value(
      await sandbox.refund({
        merchantId: order.merchantId,
        outTradeNo: order.outTradeNo,
        outRefundNo: `R-${order.outTradeNo}`,
        channelTransactionId: order.channelTransactionId,
        amount: { refund: 300, total: 1000, currency: 'CNY' },
        reason: 'broken cup',
      }),
    );
    expect(refund).toMatchObject({
      state: 'PROCESSING',
      amount: { refund: 300, total: 1000, currency: 'CNY' },
      reason: 'broken cup',
      settledAt: null,
    });
    expect(refund.channelRefundId).toMatch(/^sbx_ref_/);
    context.clock.advance(refundDelayMs - 1);
    expect((await sandbox.tick()).refundsSettled).toBe(0);
    expect(value(await sandbox.queryRefund({ merchantId: order.merchantId, outRefundNo: refund.outRefundNo })).state).toBe('PROCESSING');
    context.clock.advance(1);
    // A query after the delay sees it settled even before the ticker ran.
    const settled = value(await sandbox.queryRefund({ merchantId: order.merchantId, outRefundNo: refund.outRefundNo }));
    expect(settled).toMatchObject({ state: 'SUCCESS', settledAt: context.clock.nowMs() });
    expect((await sandbox.tick()).refundsSettled).toBe(0);
    expect(sink.types()).toEqual(['refund.succeeded']);
    expect(sink.events[0]!.event).toMatchObject({ refund: settled });
  });

  it('the ticker completes due refunds by itself', async () => {
    const order = await paidOrder(500);
    const key = { merchantId: order.merchantId, outRefundNo: `R-tick-${order.outTradeNo}` };
    value(
      await sandbox.refund({
        ...key,
        outTradeNo: order.outTradeNo,
        channelTransactionId: null,
        amount: { refund: 500, total: 500, currency: 'CNY' },
        reason: null,
      }),
    );
    context.clock.advance(refundDelayMs);
    expect(await sandbox.tick()).toMatchObject({ refundsSettled: 1 });
    expect(sink.types()).toEqual(['refund.succeeded']);
  });

  it('refunds are idempotent by out_refund_no and refuse other parameters under it', async () => {
    const order = await paidOrder(1000);
    const input = {
      merchantId: order.merchantId,
      outTradeNo: order.outTradeNo,
      outRefundNo: `R-idem-${order.outTradeNo}`,
      channelTransactionId: null,
      amount: { refund: 100, total: 1000, currency: 'CNY' },
      reason: null,
    };
    const first = value(await sandbox.refund(input));
    expect(value(await sandbox.refund(input))).toEqual(first);
    expect(await sandbox.refund({ ...input, amount: { ...input.amount, refund: 101 } })).toMatchObject({
      outcome: 'rejected',
      code: 'OUT_REFUND_NO_USED',
    });
  });

  it('never refunds more than was paid, even under concurrent requests; CLOSED gives the amount back, ABNORMAL keeps it', async () => {
    const order = await paidOrder(1000);
    const refundOf = (n: number, amount: number) =>
      sandbox.refund({
        merchantId: order.merchantId,
        outTradeNo: order.outTradeNo,
        outRefundNo: `R-c${n}-${order.outTradeNo}`,
        channelTransactionId: null,
        amount: { refund: amount, total: 1000, currency: 'CNY' },
        reason: null,
      });
    const results = await Promise.all(Array.from({ length: 8 }, (_, n) => refundOf(n, 300)));
    const accepted = results.filter((r) => r.outcome === 'ok') as Array<{ outcome: 'ok'; value: ChannelRefund }>;
    expect(accepted).toHaveLength(3);
    expect(results.filter((r) => r.outcome === 'rejected' && r.code === 'NOT_ENOUGH')).toHaveLength(5);
    expect((await sandboxRepository.findOrder(context.database.db, '', order.merchantId, order.outTradeNo))!.refund_reserved).toBe(900);

    expect(await refundOf(100, 101)).toMatchObject({ outcome: 'rejected', code: 'NOT_ENOUGH' });
    value(await sandbox.settleRefund(accepted[0]!.value.outRefundNo, 'CLOSED'));
    expect(value(await refundOf(101, 400)).state).toBe('PROCESSING');
    value(await sandbox.settleRefund(accepted[1]!.value.outRefundNo, 'ABNORMAL', { merchantId: order.merchantId }));
    expect(await refundOf(102, 1)).toMatchObject({ outcome: 'rejected', code: 'NOT_ENOUGH' });
    expect(sink.types()).toEqual(['refund.closed', 'refund.abnormal']);
  });

  it('refuses refunds of unpaid orders, with another amount basis, or another payment', async () => {
    const input = orderInput();
    value(await sandbox.createOrder(input));
    const base = {
      merchantId: input.merchantId,
      outTradeNo: input.outTradeNo,
      outRefundNo: `R-u-${input.outTradeNo}`,
      channelTransactionId: null,
      amount: { refund: 1, total: 1000, currency: 'CNY' },
      reason: null,
    };
    expect(await sandbox.refund(base)).toMatchObject({ outcome: 'rejected', code: 'ORDER_NOT_PAID' });
    expect(await sandbox.refund({ ...base, outTradeNo: 'missing' })).toMatchObject({ outcome: 'rejected', code: 'ORDER_NOT_EXIST' });
    value(await sandbox.succeedPayment(input.prepayId));
    expect(await sandbox.refund({ ...base, amount: { refund: 1, total: 999, currency: 'CNY' } })).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_REQUEST',
    });
    expect(await sandbox.refund({ ...base, amount: { refund: 1, total: 1000, currency: 'USD' } })).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_REQUEST',
    });
    expect(await sandbox.refund({ ...base, channelTransactionId: 'sbx_pay_other' })).toMatchObject({
      outcome: 'rejected',
      code: 'INVALID_REQUEST',
    });
    expect(await sandbox.queryRefund({ merchantId: input.merchantId, outRefundNo: 'nope' })).toMatchObject({
      outcome: 'rejected',
      code: 'REFUND_NOT_EXIST',
    });
  });

  it('settles a refund at once through the control call; settling again the same way is a no-op, another way is refused', async () => {
    const order = await paidOrder(200);
    const outRefundNo = `R-s-${order.outTradeNo}`;
    value(
      await sandbox.refund({
        merchantId: order.merchantId,
        outTradeNo: order.outTradeNo,
        outRefundNo,
        channelTransactionId: null,
        amount: { refund: 200, total: 200, currency: 'CNY' },
        reason: null,
      }),
    );
    expect(value(await sandbox.settleRefund(outRefundNo, 'SUCCESS')).state).toBe('SUCCESS');
    expect(value(await sandbox.settleRefund(outRefundNo, 'SUCCESS')).state).toBe('SUCCESS');
    expect(await sandbox.settleRefund(outRefundNo, 'CLOSED')).toMatchObject({ outcome: 'rejected', code: 'INVALID_REQUEST' });
    expect(await sandbox.settleRefund('nope', 'SUCCESS')).toMatchObject({ outcome: 'rejected', code: 'REFUND_NOT_EXIST' });
    expect(sink.types()).toEqual(['refund.succeeded']);
  });

  it('asks for the merchant when a refund number is ambiguous', async () => {
    const a = await paidOrder(100);
    const inputB = orderInput({ merchantId: '1900000009', amount: { total: 100, currency: 'CNY' } });
    value(await sandbox.createOrder(inputB));
    value(await sandbox.succeedPayment(inputB.prepayId));
    const outRefundNo = `R-amb-${a.outTradeNo}`;
    for (const [merchantId, outTradeNo] of [
      [a.merchantId, a.outTradeNo],
      [inputB.merchantId, inputB.outTradeNo],
    ] as const) {
      value(
        await sandbox.refund({
          merchantId,
          outTradeNo,
          outRefundNo,
          channelTransactionId: null,
          amount: { refund: 100, total: 100, currency: 'CNY' },
          reason: null,
        }),
      );
    }
    expect(await sandbox.settleRefund(outRefundNo, 'SUCCESS')).toMatchObject({ outcome: 'rejected', code: 'INVALID_REQUEST' });
    expect(value(await sandbox.settleRefund(outRefundNo, 'SUCCESS', { merchantId: '1900000009' })).merchantId).toBe('1900000009');
  });

  it('keeps events the sink refused and delivers them later, in order, on the clock', async () => {
    const input = orderInput();
    value(await sandbox.createOrder(input));
    sink.failNext = 2;
    value(await sandbox.succeedPayment(input.prepayId));
    expect(sink.events).toHaveLength(0);
    expect(sink.refused).toBeGreaterThanOrEqual(1);
    // Not due yet: nothing happens.
    expect(await sandbox.deliverPendingEvents()).toBe(0);
    context.clock.advance(5_000);
    expect(await sandbox.deliverPendingEvents()).toBe(0);
    context.clock.advance(15_000);
    expect(await sandbox.deliverPendingEvents()).toBe(1);
    expect(sink.types()).toEqual(['payment.succeeded']);
    expect(sink.events[0]!.event).toMatchObject({ order: { prepayId: input.prepayId, state: 'SUCCESS' } });
    const stored = (await sandboxRepository.listEvents(context.database.db)).find((e) => e.payload_json.includes(input.prepayId))!;
    expect(stored).toMatchObject({ attempts: 3, next_attempt_at: null, last_error: null });
    expect(stored.delivered_at).not.toBeNull();
  });
});
