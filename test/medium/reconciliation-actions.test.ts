import { afterAll, beforeAll, expect, it } from 'vitest';
import { hourMs } from '../../src/domain/clock.ts';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../src/domain/business-time.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { payInSandbox, readyMerchant, V3InjectClient, eventually } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * The actions of matching (SPEC §9.3) against the in-process sandbox: money the channel has and Paythrough never heard
 * of (its events lost) goes through the payment.succeeded path on the channel's answer, a PROCESSING refund the
 * channel settled takes the channel's view; a re-run, and the lost events arriving at last, refund nothing twice.
 */
describeOnEachDatabase('reconciliation actions', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let applicationId: string;
  let day: string;
  const timezone = 'Asia/Shanghai';
  const number = (name: string) => `RA-${kind}-${name}`;
  const lostEvents = { handle: async () => Promise.reject(new Error('the event is lost on its way')) };

  const exceptionsOfDay = () =>
    context.database.db
      .selectFrom('reconciliation_exceptions')
      .select(['kind', 'out_trade_no', 'status', 'action', 'resolved_by'])
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', day)
      .orderBy('out_trade_no')
      .orderBy('kind')
      .execute();
  const refundsOf = (outTradeNo: string) =>
    context.database.db
      .selectFrom('refunds')
      .select(['out_refund_no', 'status', 'amount_refund'])
      .where('application_id', '=', applicationId)
      .where('out_trade_no', '=', outTradeNo)
      .execute();

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    manifest = await context.services.demoWorld.ensure();
    applicationId = manifest.superapp.applicationId;
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    const today = businessDateOf(context.clock.nowMs(), timezone);
    context.clock.set(businessTimeOn(addCalendarDays(today, 1), '11:00', timezone));
    day = businessDateOf(context.clock.nowMs(), timezone);

    // A refund Paythrough asked for, and a paid order, while the sandbox's events still arrive.
    const refunded = await client.prepay({ outTradeNo: number('refunded'), total: 3000 });
    await payInSandbox(context.app, refunded.body.prepay_id);
    await eventually(async () => (await client.queryByOutTradeNo(number('refunded'))).body.trade_state === 'SUCCESS');
    expect(
      (await client.refund({ outTradeNo: number('refunded'), outRefundNo: number('refund'), refund: 1000, total: 3000 })).statusCode,
    ).toBe(200);
    const unpaid = await client.prepay({ outTradeNo: number('lost'), total: 1000 });
    const closed = await client.prepay({ outTradeNo: number('late'), total: 2000 });
    expect((await client.close(number('late'))).statusCode).toBe(204);

    // From here on the sandbox's events are lost: the user pays, a closed order is paid late, the refund succeeds.
    context.services.channelEvents.attach(lostEvents);
    expect((await payInSandbox(context.app, unpaid.body.prepay_id)).statusCode).toBe(200);
    expect((await payInSandbox(context.app, closed.body.prepay_id, { late: true })).statusCode).toBe(200);
    expect((await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${number('refund')}/succeed` })).statusCode).toBe(200);
    // And the channel lists a payment for an order Paythrough never had.
    const extra = await context.app.inject({
      method: 'POST',
      url: '/sandbox/v1/statement-faults',
      payload: { application_id: applicationId, bill_date: day, kind: 'extra', out_trade_no: number('unknown') },
    });
    expect(extra.statusCode).toBeLessThan(300);
    expect((await client.queryByOutTradeNo(number('lost'))).body.trade_state).toBe('WAIT_PAY');
    expect((await client.queryRefund(number('refund'))).body.status).toBe('PROCESSING');

    context.clock.set(businessTimeOn(addCalendarDays(day, 1), '10:05', timezone));
  });
  afterAll(() => context?.close());

  it('pays, refunds a late payment and settles a refund on the channel’s answers; an unknown order stays OPEN', async () => {
    const [run] = await context.services.statementReconciliation.reconcileDay(day, applicationId);
    expect(run).toMatchObject({ status: 'DONE' });
    expect(await exceptionsOfDay()).toEqual([
      {
        kind: 'MISSING_AT_PAYTHROUGH',
        out_trade_no: number('late'),
        status: 'AUTO_RESOLVED',
        action: 'late payment refunded',
        resolved_by: 'system',
      },
      { kind: 'MISSING_AT_PAYTHROUGH', out_trade_no: number('lost'), status: 'AUTO_RESOLVED', action: 'paid', resolved_by: 'system' },
      {
        kind: 'STATE_MISMATCH',
        out_trade_no: number('refunded'),
        status: 'AUTO_RESOLVED',
        action: 'settled to SUCCESS',
        resolved_by: 'system',
      },
      { kind: 'MISSING_AT_PAYTHROUGH', out_trade_no: number('unknown'), status: 'OPEN', action: null, resolved_by: null },
    ]);
    expect((await client.queryByOutTradeNo(number('lost'))).body.trade_state).toBe('SUCCESS');
    expect((await client.queryRefund(number('refund'))).body.status).toBe('SUCCESS');
    expect(await refundsOf(number('late'))).toEqual([expect.objectContaining({ amount_refund: 2000 })]);
    expect(await refundsOf(number('lost'))).toEqual([]);
    // The report counts what the actions recorded: every payment but the unknown order's.
    const report = JSON.parse(run!.report_json!);
    expect([report.ours[0].payment_count, report.channel[0].payment_count]).toEqual([3, 4]);
  });

  it('refunds nothing twice: not on a re-run, not when the lost events arrive at last', async () => {
    const before = await exceptionsOfDay();
    const [run] = await context.services.statementReconciliation.reconcileDay(day, applicationId);
    expect(run).toMatchObject({ status: 'DONE' });
    expect(await exceptionsOfDay()).toEqual(before);
    expect(await refundsOf(number('late'))).toHaveLength(1);

    context.services.channelEvents.attach(context.services.orders);
    // The sandbox tries lost events again after a while.
    context.clock.advance(2 * hourMs);
    expect(await context.services.sandbox!.deliverPendingEvents()).toBeGreaterThanOrEqual(3);
    expect(await refundsOf(number('late'))).toHaveLength(1);
    expect(await refundsOf(number('lost'))).toEqual([]);
    const payments = await context.database.db
      .selectFrom('channel_payments')
      .innerJoin('orders', 'orders.id', 'channel_payments.order_id')
      .select(['orders.out_trade_no', 'channel_payments.disposition'])
      .where('orders.application_id', '=', applicationId)
      .where('orders.out_trade_no', 'in', [number('lost'), number('late')])
      .orderBy('orders.out_trade_no')
      .execute();
    expect(payments).toEqual([
      { out_trade_no: number('late'), disposition: 'late_payment_refunded' },
      { out_trade_no: number('lost'), disposition: 'applied' },
    ]);
  });
});
