import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChannelResult, PaymentChannel } from '../../src/channels/channel.ts';
import { orderRepository } from '../../src/repositories/order.repository.ts';
import { outboxRepository } from '../../src/repositories/outbox.repository.ts';
import { refundRepository } from '../../src/repositories/refund.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { payInSandbox, readyMerchant, V3InjectClient, orderOfMerchant, refundOfMerchant } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs as day } from '../../src/domain/clock.ts';

let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

describeOnEachDatabase('refunds through the v3 gateway', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  const db = () => context.database.db;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
  });
  afterAll(() => context?.close());

  async function paidOrder(total = 1000) {
    const outTradeNo = number('PAID');
    const { body } = await client.prepay({ outTradeNo, total });
    expect((await payInSandbox(context.app, body.prepay_id)).statusCode).toBe(200);
    const order = (await orderOfMerchant(db(), client.merchant, outTradeNo))!;
    return { outTradeNo, transactionId: order.transaction_id!, id: order.id };
  }

  it('refunds partially twice; the order becomes REFUND with the first; both are queryable and settle', async () => {
    const order = await paidOrder(1000);
    const first = await client.refund({
      transactionId: order.transactionId,
      outRefundNo: `${order.outTradeNo}-1`,
      refund: 300,
      total: 1000,
      reason: 'one cup short',
    });
    expect(first.statusCode).toBe(200);
    expect(first.body).toMatchObject({
      out_refund_no: `${order.outTradeNo}-1`,
      transaction_id: order.transactionId,
      out_trade_no: order.outTradeNo,
      status: 'PROCESSING',
      channel: 'ORIGINAL',
      amount: { refund: 300, total: 1000, currency: 'CNY' },
    });
    expect(first.body.refund_id).toMatch(/^\d{30}$/);
    expect((await client.queryByOutTradeNo(order.outTradeNo)).body.trade_state).toBe('REFUND');
    const second = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-2`, refund: 700, total: 1000 });
    expect(second.statusCode).toBe(200);
    const tooMuch = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-3`, refund: 1, total: 1000 });
    expect([tooMuch.statusCode, tooMuch.body.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(tooMuch.body.message).toMatch(/refundable amount 0/);

    const queried = await client.queryRefund(`${order.outTradeNo}-1`);
    expect(queried.body).toEqual(first.body);
    // The sandbox completes them after its delay.
    context.clock.advance(6_000);
    await context.services.sandbox!.tick();
    const settled = await client.queryRefund(`${order.outTradeNo}-2`);
    expect(settled.body.status).toBe('SUCCESS');
    expect(settled.body.success_time).toMatch(/\+08:00$/);
    const stored = (await orderRepository.findById(db(), order.id))!;
    expect(stored).toMatchObject({ refund_reserved: 1000, refund_succeeded: 1000, refund_count: 2, trade_state: 'REFUND' });
    const refunds = await refundRepository.listByOrder(db(), order.id);
    for (const refund of refunds) {
      const events = await outboxRepository.listBySubject(db(), 'refund', String(refund.id));
      expect(events.map((event) => JSON.parse(event.payload_json).event_type)).toEqual(['REFUND.SUCCESS']);
    }
  });

  it('is idempotent per out_refund_no: the same amount is the same refund, another amount is refused', async () => {
    const order = await paidOrder(500);
    const outRefundNo = `${order.outTradeNo}-R`;
    const first = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo, refund: 200, total: 500 });
    const again = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo, refund: 200, total: 500 });
    expect(again.body.refund_id).toBe(first.body.refund_id);
    const other = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo, refund: 201, total: 500 });
    expect([other.statusCode, other.body.code]).toEqual([400, 'INVALID_REQUEST']);
    expect((await orderRepository.findById(db(), order.id))!.refund_reserved).toBe(200);
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, () =>
        client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${outRefundNo}-C`, refund: 100, total: 500 }),
      ),
    );
    expect(new Set(concurrent.map((answer) => answer.body.refund_id)).size).toBe(1);
    expect((await orderRepository.findById(db(), order.id))!).toMatchObject({ refund_reserved: 300, refund_count: 2 });
  });

  it('never refunds more than was paid under 50 concurrent requests', async () => {
    const order = await paidOrder(1000);
    // 50 requests of 30 (1500 in all) against 1000 paid: exactly 33 fit.
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-${index}`, refund: 30, total: 1000 }),
      ),
    );
    const accepted = answers.filter((answer) => answer.statusCode === 200);
    const refused = answers.filter((answer) => answer.statusCode !== 200);
    expect(accepted).toHaveLength(33);
    expect(refused.every((answer) => answer.body.code === 'INVALID_REQUEST')).toBe(true);
    const refunds = await refundRepository.listByOrder(db(), order.id);
    expect(refunds.reduce((sum, refund) => sum + refund.amount_refund, 0)).toBe(990);
    expect((await orderRepository.findById(db(), order.id))!).toMatchObject({ refund_reserved: 990, refund_count: 33 });
    // And what the channel was asked to refund agrees.
    const channelRefunds = await db()
      .selectFrom('sandbox_refunds')
      .select('amount_refund')
      .where('out_trade_no', '=', order.outTradeNo)
      .execute();
    expect(channelRefunds.reduce((sum, row) => sum + Number(row.amount_refund), 0)).toBe(990);
  });

  it('admits against the order as it is in the transaction, not as it was read before it', async () => {
    const order = await paidOrder(1000);
    const current = (await orderRepository.findById(db(), order.id))!;
    // The order as read before the refund's transaction: fully reserved by a refund that has since closed.
    const stale = vi
      .spyOn(orderRepository, 'findByOutTradeNo')
      .mockResolvedValueOnce({ ...current, trade_state: 'REFUND', refund_reserved: 1000, refund_count: 1 });
    try {
      const answer = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: number('FRESH'), refund: 400, total: 1000 });
      expect(answer.statusCode, JSON.stringify(answer.body)).toBe(200);
    } finally {
      stale.mockRestore();
    }
    expect((await orderRepository.findById(db(), order.id))!).toMatchObject({
      trade_state: 'REFUND',
      refund_reserved: 400,
      refund_count: 1,
    });
    // And the other way round: read as fully refundable, though 400 is reserved now; 700 does not fit.
    const before = vi.spyOn(orderRepository, 'findByOutTradeNo').mockResolvedValueOnce(current);
    try {
      const answer = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: number('STALE'), refund: 700, total: 1000 });
      expect(answer.statusCode).toBe(400);
    } finally {
      before.mockRestore();
    }
    expect((await orderRepository.findById(db(), order.id))!).toMatchObject({ refund_reserved: 400, refund_count: 1 });
  });

  it('takes at most 50 refunds per order', async () => {
    const order = await paidOrder(100);
    for (let index = 0; index < 50; index += 1) {
      expect(
        (await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-${index}`, refund: 1, total: 100 }))
          .statusCode,
      ).toBe(200);
    }
    const fiftyFirst = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-50`, refund: 1, total: 100 });
    expect([fiftyFirst.statusCode, fiftyFirst.body.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(fiftyFirst.body.message).toMatch(/at most 50 refunds/);
  });

  it('refuses unpaid orders, a wrong total, unknown orders, and refunds more than 365 days after payment', async () => {
    const unpaid = number('UNPAID');
    await client.prepay({ outTradeNo: unpaid });
    const notPaid = await client.refund({ outTradeNo: unpaid, outRefundNo: `${unpaid}-1`, refund: 1, total: 1000 });
    expect([notPaid.statusCode, notPaid.body.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(notPaid.body.message).toMatch(/not paid/);

    const order = await paidOrder(1000);
    const wrongTotal = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-T`, refund: 1, total: 999 });
    expect(wrongTotal.body.code).toBe('INVALID_REQUEST');
    const unknown = await client.refund({ outTradeNo: 'NOSUCHORDER1', outRefundNo: 'NOSUCH-1', refund: 1, total: 1 });
    expect([unknown.statusCode, unknown.body.code]).toEqual([404, 'ORDER_NOT_EXIST']);
    const neither = await client.request('POST', '/v3/refund/domestic/refunds', {
      out_refund_no: 'x1',
      amount: { refund: 1, total: 1, currency: 'CNY' },
    });
    expect(neither.body).toMatchObject({ code: 'PARAM_ERROR', detail: { field: '/transaction_id' } });
    const missing = await client.queryRefund('NO-SUCH-REFUND');
    expect([missing.statusCode, missing.body.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);

    context.clock.advance(365 * day - 60_000);
    expect(
      (await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-IN`, refund: 1, total: 1000 })).statusCode,
    ).toBe(200);
    context.clock.advance(2 * 60_000);
    const late = await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-OUT`, refund: 1, total: 1000 });
    expect([late.statusCode, late.body.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(late.body.message).toMatch(/365 days/);
  });

  it('refuses merchant refund numbers in the _PT_ namespace, and a refund above the order total, as PARAM_ERROR', async () => {
    const order = await paidOrder(1000);
    const reserved = await client.refund({
      outTradeNo: order.outTradeNo,
      outRefundNo: `_PT_LATE_${order.transactionId}`,
      refund: 1,
      total: 1000,
    });
    expect([reserved.statusCode, reserved.body.code]).toEqual([400, 'PARAM_ERROR']);
    expect(reserved.body.detail).toMatchObject({ field: '/out_refund_no' });
    const aboveTotal = await client.refund({
      outTradeNo: order.outTradeNo,
      outRefundNo: `${order.outTradeNo}-BIG`,
      refund: 1001,
      total: 1000,
    });
    expect([aboveTotal.statusCode, aboveTotal.body.code]).toEqual([400, 'PARAM_ERROR']);
    expect(await refundRepository.listByOrder(db(), order.id)).toEqual([]);
  });

  it('an ABNORMAL refund is asked about again until its channel settles it', async () => {
    const order = await paidOrder(1000);
    const outRefundNo = `${order.outTradeNo}-AB`;
    await client.refund({ outTradeNo: order.outTradeNo, outRefundNo, refund: 250, total: 1000 });
    expect((await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${outRefundNo}/abnormal` })).statusCode).toBe(200);
    const abnormal = (await refundOfMerchant(db(), client.merchant, outRefundNo))!;
    expect(abnormal.status).toBe('ABNORMAL');
    expect(abnormal.reconcile_at).not.toBeNull();

    // Still ABNORMAL at the channel: asked again later, no more than 30 minutes on.
    context.clock.set(abnormal.reconcile_at!);
    await context.services.reconcilerJob.runOnce();
    const asked = (await refundRepository.findById(db(), abnormal.id))!;
    expect(asked.status).toBe('ABNORMAL');
    expect(asked.reconcile_at).toBeGreaterThan(abnormal.reconcile_at!);
    expect(asked.reconcile_at! - context.clock.nowMs()).toBeLessThanOrEqual(30 * 60_000);

    // The channel settles it without telling (its callback lost): the next question finds it.
    await db().updateTable('sandbox_refunds').set({ state: 'SUCCESS' }).where('out_refund_no', '=', outRefundNo).execute();
    context.clock.set(asked.reconcile_at!);
    await context.services.reconcilerJob.runOnce();
    expect(await refundRepository.findById(db(), abnormal.id)).toMatchObject({ status: 'SUCCESS', reconcile_at: null });
    expect((await orderRepository.findById(db(), order.id))!.refund_succeeded).toBe(250);
  });

  it('releases the reservation of a CLOSED refund; an ABNORMAL one keeps it', async () => {
    const order = await paidOrder(1000);
    await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-C`, refund: 600, total: 1000 });
    await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-A`, refund: 400, total: 1000 });
    const close = await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${order.outTradeNo}-C/close` });
    expect(close.statusCode).toBe(200);
    const abnormal = await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${order.outTradeNo}-A/abnormal` });
    expect(abnormal.statusCode).toBe(200);
    expect((await client.queryRefund(`${order.outTradeNo}-C`)).body.status).toBe('CLOSED');
    expect((await client.queryRefund(`${order.outTradeNo}-A`)).body.status).toBe('ABNORMAL');
    expect((await orderRepository.findById(db(), order.id))!).toMatchObject({ refund_reserved: 400, refund_succeeded: 0 });
    // What CLOSED gave back can be refunded again.
    expect(
      (await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-D`, refund: 600, total: 1000 })).statusCode,
    ).toBe(200);
    const types = [];
    for (const refund of await refundRepository.listByOrder(db(), order.id)) {
      types.push(
        ...(await outboxRepository.listBySubject(db(), 'refund', String(refund.id))).map(
          (event) => JSON.parse(event.payload_json).event_type,
        ),
      );
    }
    expect(types.sort()).toEqual(['REFUND.ABNORMAL', 'REFUND.CLOSED']);

    // ABNORMAL is not a dead end: the channel's later SUCCESS is applied, counted and notified.
    const abnormalRefund = (await refundOfMerchant(db(), client.merchant, `${order.outTradeNo}-A`))!;
    const later = await context.services.sandbox!.scopedTo(manifest.superapp.applicationId).queryRefund({
      merchantId: client.merchant.mchid,
      outRefundNo: abnormalRefund.out_refund_no,
    });
    expect(later.outcome).toBe('ok');
    if (later.outcome !== 'ok') return;
    await context.services.refunds.recordChannelView(abnormalRefund, { ...later.value, state: 'PROCESSING' });
    expect((await client.queryRefund(`${order.outTradeNo}-A`)).body.status).toBe('ABNORMAL');
    await context.services.refunds.recordChannelView(abnormalRefund, { ...later.value, state: 'SUCCESS' });
    expect((await client.queryRefund(`${order.outTradeNo}-A`)).body.status).toBe('SUCCESS');
    expect((await orderRepository.findById(db(), order.id))!).toMatchObject({ refund_succeeded: 400 });
    const notified = await outboxRepository.listBySubject(db(), 'refund', String(abnormalRefund.id));
    expect(notified.map((event) => JSON.parse(event.payload_json).event_type)).toEqual(['REFUND.ABNORMAL', 'REFUND.SUCCESS']);
  });

  describe('a refund whose channel call timed out', () => {
    function refundTimesOut(sandbox: PaymentChannel, options: { arrives: boolean }): PaymentChannel {
      return {
        kind: 'sandbox',
        createOrder: (input) => sandbox.createOrder(input),
        queryOrder: (key) => sandbox.queryOrder(key),
        closeOrder: (key) => sandbox.closeOrder(key),
        async refund(input) {
          if (options.arrives) await sandbox.refund(input);
          return { outcome: 'unknown', reason: 'timeout after 10000 ms' } as ChannelResult<never>;
        },
        queryRefund: (key) => sandbox.queryRefund(key),
      };
    }

    it('stays PROCESSING (accepted) and the reconciler settles it to the channel state', async () => {
      const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
      const order = await paidOrder(1000);
      context.services.gatewayChannels.register('sandbox', refundTimesOut(sandbox, { arrives: true }));
      try {
        const answer = await client.refund({
          outTradeNo: order.outTradeNo,
          outRefundNo: `${order.outTradeNo}-TO`,
          refund: 250,
          total: 1000,
        });
        expect(answer.statusCode).toBe(200);
        expect(answer.body.status).toBe('PROCESSING');
      } finally {
        context.services.gatewayChannels.register('sandbox', sandbox);
      }
      const refund = (await refundOfMerchant(db(), client.merchant, `${order.outTradeNo}-TO`))!;
      expect(refund.channel_refund_id).toBeNull();
      // The channel completed it; no event reaches us (the sandbox is not ticked); the reconciler asks.
      context.clock.advance(61_000);
      await context.services.reconcilerJob.runOnce();
      const settled = (await refundRepository.findById(db(), refund.id))!;
      expect(settled).toMatchObject({ status: 'SUCCESS', reconcile_at: null });
      expect(settled.channel_refund_id).toMatch(/^sbx_ref_/);
    });

    it('when the request never reached the channel, the reconciler sends it again and it completes', async () => {
      const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
      const order = await paidOrder(1000);
      context.services.gatewayChannels.register('sandbox', refundTimesOut(sandbox, { arrives: false }));
      try {
        expect(
          (await client.refund({ outTradeNo: order.outTradeNo, outRefundNo: `${order.outTradeNo}-LOST`, refund: 250, total: 1000 }))
            .statusCode,
        ).toBe(200);
      } finally {
        context.services.gatewayChannels.register('sandbox', sandbox);
      }
      const refund = (await refundOfMerchant(db(), client.merchant, `${order.outTradeNo}-LOST`))!;
      expect(
        await db().selectFrom('sandbox_refunds').select('id').where('out_refund_no', '=', refund.out_refund_no).execute(),
      ).toHaveLength(0);
      context.clock.advance(61_000);
      await context.services.reconcilerJob.runOnce();
      expect(
        await db().selectFrom('sandbox_refunds').select('id').where('out_refund_no', '=', refund.out_refund_no).execute(),
      ).toHaveLength(1);
      expect((await refundRepository.findById(db(), refund.id))!.status).toBe('PROCESSING');
      context.clock.advance(10 * 60_000);
      await context.services.reconcilerJob.runOnce();
      expect((await refundRepository.findById(db(), refund.id))!.status).toBe('SUCCESS');
    });
  });
});
