import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { callAction, managementClient } from '../helpers/management-client.ts';
import { insertOrder, insertRefund, type OrderOwner } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs as day } from '../../src/domain/clock.ts';
import { addCalendarDays, businessDateOf } from '../../src/domain/business-time.ts';
import { demoYesterdayOutTradeNo } from '../../src/services/demo/demo-yesterday.ts';

const hour = 60 * 60 * 1000;

/** DescribePaymentOrderList / DescribePaymentRefundList (SPEC §3, §7) through the published CommonClient. */
describeOnEachDatabase('record list actions through CommonClient', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let now: number;
  /** The demo world's yesterday's orders, newest first. */
  let demoYesterdayOrders: string[];
  let call: (user: { secretId: string; secretKey: string }, action: string, params?: Record<string, unknown>) => Promise<any>;
  let refundedOrder: Awaited<ReturnType<typeof insertOrder>>;

  beforeAll(async () => {
    context = await createTestContext(kind);
    now = Date.now();
    context.clock.set(now);
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    const address = context.app.server.address();
    const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    // The demo world is built two months back, so that its yesterday (SPEC §9.5: five orders and a refund of the
    // ready mini program) lies behind this file's own records.
    context.clock.set(now - 60 * day);
    manifest = await context.services.demoWorld.ensure();
    context.clock.set(now);
    const demoDay = addCalendarDays(businessDateOf(now - 60 * day, context.config.timezone), -1);
    demoYesterdayOrders = [4, 3, 2, 1, 0].map((index) => demoYesterdayOutTradeNo(demoDay, index));
    call = (user, action, params = {}) =>
      callAction(managementClient(baseUrl, user), action, { PlatformId: manifest.platformId, ...params });
    const owner = (mnpId: string): OrderOwner => ({
      mnpId,
      applicationId: manifest.superapp.applicationId,
      miniProgramTeamId: manifest.miniProgramTeam.teamId,
      superappTeamId: manifest.superapp.teamId,
    });
    const db = context.database.db;
    for (let index = 0; index < 30; index++) {
      await insertOrder(db, owner(index % 2 ? manifest.miniPrograms.ready.mnpId : manifest.miniPrograms.fresh.mnpId), {
        createdAt: now - (index + 1) * hour,
        outTradeNo: `LIST-${index}`,
        amount: 1000 + index,
        tradeState: index % 3 ? 'SUCCESS' : 'CLOSED',
      });
    }
    refundedOrder = await insertOrder(db, owner(manifest.miniPrograms.ready.mnpId), {
      createdAt: now - 40 * day,
      outTradeNo: 'REFUNDED-1',
      amount: 10_000,
      tradeState: 'REFUND',
      refundSucceeded: 1000,
    });
    await insertRefund(db, refundedOrder, { createdAt: now - 39 * day, amount: 1000, status: 'SUCCESS', outRefundNo: 'RF-1' });
    await insertRefund(db, refundedOrder, { createdAt: now - 2 * day, amount: 2000, status: 'PROCESSING', outRefundNo: 'RF-2' });
    await insertRefund(db, refundedOrder, { createdAt: now - 1 * day, amount: 3000, status: 'CLOSED', outRefundNo: 'RF-3' });
    await insertRefund(db, refundedOrder, { createdAt: now - 1 * day, amount: 500, status: 'ABNORMAL', outRefundNo: 'RF-4' });
  });
  afterAll(() => context?.close());

  it('lists orders with the SPEC fields, Limit 20 by default, Offset paging, filters', async () => {
    const operator = manifest.miniProgramTeam.users.operator;
    const first = await call(operator, 'DescribePaymentOrderList');
    expect(first.Total).toBe(31 + demoYesterdayOrders.length);
    expect(first.List).toHaveLength(20);
    expect(Object.keys(first.List[0]).sort()).toEqual(
      [
        'Currency',
        'CreateTime',
        'DeliveryStatus',
        'Description',
        'MNPId',
        'MchId',
        'OutTradeNo',
        'PayerOpenId',
        'PaymentType',
        'ProductId',
        'Quantity',
        'RefundTotal',
        'Status',
        'SuccessTime',
        'Total',
        'TradeState',
        'TransactionId',
      ].sort(),
    );
    expect(first.List[0]).toMatchObject({
      OutTradeNo: 'LIST-0',
      Total: '10.00',
      Currency: 'CNY',
      TradeState: 'CLOSED',
      SuccessTime: null,
      CreateTime: now - hour,
      RefundTotal: '0.00',
      // A standard order (SPEC §8.6): the virtual fields are null.
      PaymentType: 1,
      ProductId: null,
      Quantity: null,
      DeliveryStatus: null,
      Status: null,
    });
    const second = await call(operator, 'DescribePaymentOrderList', { Offset: 20, Limit: 20 });
    expect(second.List.map((order: { OutTradeNo: string }) => order.OutTradeNo)).toEqual([
      ...Array.from({ length: 10 }, (_, index) => `LIST-${index + 20}`),
      'REFUNDED-1',
      ...demoYesterdayOrders,
    ]);
    const byState = await call(operator, 'DescribePaymentOrderList', {
      TradeState: 'CLOSED',
      MNPIds: [manifest.miniPrograms.fresh.mnpId],
      Limit: 100,
    });
    expect(
      byState.List.every(
        (order: { TradeState: string; MNPId: string }) =>
          order.TradeState === 'CLOSED' && order.MNPId === manifest.miniPrograms.fresh.mnpId,
      ),
    ).toBe(true);
    expect(byState.Total).toBe(5);
    const window = await call(operator, 'DescribePaymentOrderList', { TimeBegin: now - 3 * hour, TimeEnd: now - hour });
    expect(window.List.map((order: { OutTradeNo: string }) => order.OutTradeNo)).toEqual(['LIST-0', 'LIST-1', 'LIST-2']);
    const exact = await call(operator, 'DescribePaymentOrderList', { TransactionId: refundedOrder.transaction_id });
    // RefundTotal counts PROCESSING and SUCCESS refunds (10.00 + 20.00), not CLOSED or ABNORMAL ones.
    expect(exact.List).toEqual([
      expect.objectContaining({ OutTradeNo: 'REFUNDED-1', Total: '100.00', RefundTotal: '30.00', TradeState: 'REFUND' }),
    ]);
  });

  it('refuses Limit above 100 and Offset above 10,000; review staff are refused; another team finds nothing', async () => {
    const operator = manifest.miniProgramTeam.users.operator;
    expect((await call(operator, 'DescribePaymentOrderList', { Limit: 101 })).error.code).toBe('InvalidParameterValue');
    expect((await call(operator, 'DescribePaymentOrderList', { Offset: 10_001 })).error.code).toBe('InvalidParameterValue');
    expect((await call(operator, 'DescribePaymentRefundList', { Limit: 101 })).error.code).toBe('InvalidParameterValue');
    expect((await call(operator, 'DescribePaymentOrderList', { Offset: 10_000, Limit: 100 })).List).toEqual([]);
    expect((await call(manifest.superapp.users.reviewer, 'DescribePaymentOrderList')).error.code).toBe('UnauthorizedOperation');
    expect((await call(manifest.superapp.users.operator, 'DescribePaymentOrderList')).Total).toBe(31 + demoYesterdayOrders.length);
    expect(await call(manifest.unboundTeam.users.admin, 'DescribePaymentOrderList')).toEqual({ Total: 0, List: [] });
    expect(
      (await call(manifest.unboundTeam.users.admin, 'DescribePaymentOrderList', { MNPIds: [manifest.miniPrograms.ready.mnpId] })).error
        .code,
    ).toBe('ResourceNotFound');
    expect(await call(manifest.unboundTeam.users.admin, 'DescribePaymentRefundList', { OrderNo: 'REFUNDED-1' })).toEqual({
      Total: 0,
      List: [],
    });
  });

  it('lists refunds: the past 7 days by default, 12 months with a number, refused beyond', async () => {
    const developer = manifest.miniProgramTeam.users.developer;
    const recent = await call(developer, 'DescribePaymentRefundList');
    expect(recent.List.map((refund: { OutRefundNo: string }) => refund.OutRefundNo).sort()).toEqual(['RF-2', 'RF-3', 'RF-4']);
    expect(Object.keys(recent.List[0]).sort()).toEqual(
      [
        'CreateTime',
        'Currency',
        'MNPId',
        'OutRefundNo',
        'OutTradeNo',
        'PaymentType',
        'Reason',
        'Refund',
        'RefundId',
        'Status',
        'SuccessTime',
        'Total',
        'TransactionId',
      ].sort(),
    );
    const byOrder = await call(developer, 'DescribePaymentRefundList', { OrderNo: 'REFUNDED-1' });
    expect(byOrder.Total).toBe(4);
    expect(byOrder.List.at(-1)).toMatchObject({
      OutRefundNo: 'RF-1',
      Refund: '10.00',
      Total: '100.00',
      Status: 'SUCCESS',
      OutTradeNo: 'REFUNDED-1',
      TransactionId: refundedOrder.transaction_id,
    });
    const byRefundNo = await call(developer, 'DescribePaymentRefundList', { RefundNo: byOrder.List.at(-1).RefundId });
    expect(byRefundNo.List.map((refund: { OutRefundNo: string }) => refund.OutRefundNo)).toEqual(['RF-1']);
    expect((await call(developer, 'DescribePaymentRefundList', { OrderNo: 'REFUNDED-1', Status: 'PROCESSING' })).Total).toBe(1);
    const tooOld = await call(developer, 'DescribePaymentRefundList', { TimeBegin: now - 400 * day, TimeEnd: now });
    expect(tooOld.error.code).toBe('InvalidParameterValue.TimeRangeExceeded');
    expect(tooOld.error.message).toMatch(/12 months/);
  });
});
