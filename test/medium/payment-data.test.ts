import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { systemActor } from '../../src/domain/access.ts';
import { paymentStatsRepository } from '../../src/repositories/payment-stats.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { callAction, managementClient } from '../helpers/management-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs } from '../../src/domain/clock.ts';

// Shanghai is UTC+8: 2026-03-01 00:00 there is 2026-02-28T16:00Z.
const day1 = Date.UTC(2026, 1, 28, 16, 0, 0);
const hour = 60 * 60 * 1000;

describeOnEachDatabase('payment data (DescribePaymentDataOverview / Detail)', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let baseUrl: string;
  let nextId = 1;

  async function insertOrder(fields: {
    mnpId: string;
    createdAt: number;
    amount: number;
    payer: string;
    paid?: boolean;
    refunded?: number;
    currency?: string;
    sandbox?: number;
    platform?: number;
    teamId?: string;
  }) {
    const id = nextId++;
    await context.database.db
      .insertInto('orders')
      .values({
        prepay_id: `prepay-${kind}-${id}`,
        transaction_id: fields.paid ? `4200000000000000000000000${String(id).padStart(5, '0')}` : null,
        mchid: 'm1',
        out_trade_no: `out-${id}`,
        mnp_id: fields.mnpId,
        application_id: manifest.superapp.applicationId,
        mini_program_team_id: fields.teamId ?? manifest.miniProgramTeam.teamId,
        superapp_team_id: manifest.superapp.teamId,
        description: 'test',
        attach: null,
        notify_url: 'https://merchant.example/notify',
        amount_total: fields.amount,
        currency: fields.currency ?? 'CNY',
        payer_openid: fields.payer,
        time_expire: fields.createdAt + 2 * hour,
        client_platform: fields.platform ?? 0,
        sandbox: fields.sandbox ?? 1,
        trade_state: fields.refunded ? 'REFUND' : fields.paid ? 'SUCCESS' : 'WAIT_PAY',
        channel_kind: 'sandbox',
        channel_order_id: null,
        channel_transaction_id: null,
        cashier_token: null,
        fingerprint: `f${id}`,
        refund_reserved: fields.refunded ?? 0,
        refund_count: fields.refunded ? 1 : 0,
        refund_succeeded: fields.refunded ?? 0,
        anomaly_flags: 0,
        pending_operation: null,
        reconcile_at: null,
        created_at: fields.createdAt,
        updated_at: fields.createdAt,
        success_time: fields.paid ? fields.createdAt + 60_000 : null,
        closed_at: null,
      })
      .execute();
  }

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    const ready = manifest.miniPrograms.ready.mnpId;
    const fresh = manifest.miniPrograms.fresh.mnpId;
    // Day 1: three orders by two users, two paid (one refunded 5.00), one unpaid.
    await insertOrder({ mnpId: ready, createdAt: day1 + 1 * hour, amount: 1000, payer: 'u1', paid: true, refunded: 500, platform: 2 });
    await insertOrder({ mnpId: ready, createdAt: day1 + 2 * hour, amount: 2550, payer: 'u2', paid: true, platform: 3 });
    await insertOrder({ mnpId: fresh, createdAt: day1 + 3 * hour, amount: 199, payer: 'u1' });
    // Day 2 (just after local midnight, still the previous UTC day): one paid order by u1.
    await insertOrder({ mnpId: ready, createdAt: day1 + dayMs + 5 * 60_000, amount: 300, payer: 'u1', paid: true });
    // Not counted: another currency, a production order when asking for sandbox, outside the window.
    await insertOrder({ mnpId: ready, createdAt: day1 + 4 * hour, amount: 999, payer: 'u3', paid: true, currency: 'USD' });
    await insertOrder({ mnpId: ready, createdAt: day1 + 4 * hour, amount: 777, payer: 'u4', paid: true, sandbox: 0 });
    await insertOrder({ mnpId: ready, createdAt: day1 - 1, amount: 5, payer: 'u5', paid: true });
    // Amounts as large as a prepay once accepted: three of them add up past 2^53.
    for (const payer of ['j1', 'j2', 'j3']) {
      await insertOrder({ mnpId: ready, createdAt: day1 + 5 * hour, amount: 2 ** 52 + 1, payer, paid: true, currency: 'JPY' });
    }
    context.clock.set(Date.now());
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    const address = context.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => context?.close());

  const query = { TimeBegin: day1, TimeEnd: day1 + 2 * dayMs - 1, DataType: 0 };

  it('sums amounts exactly past 2^53 (decimal strings, never a rounded float or a 500)', async () => {
    const overview = await callAction(managementClient(baseUrl, manifest.miniProgramTeam.users.operator), 'DescribePaymentDataOverview', {
      PlatformId: manifest.platformId,
      ...query,
      Currency: 'JPY',
    });
    expect(overview).toMatchObject({ OrderNum: 3, TotalAmount: '13510798882111491', PaidAmount: '13510798882111491', UnpaidAmount: '0' });
  });

  it('sums the range with distinct users over the whole range, amounts as major-unit strings', async () => {
    const call = (params: Record<string, unknown>) =>
      callAction(managementClient(baseUrl, manifest.miniProgramTeam.users.operator), 'DescribePaymentDataOverview', {
        PlatformId: manifest.platformId,
        ...params,
      });
    const overview = await call(query);
    expect(overview).toMatchObject({
      OrderMNPNum: 2,
      OrderNum: 4,
      OrderPaidNum: 3,
      OrderUnpaidNum: 1,
      OrderRefundNum: 1,
      OrderUserNum: 2,
      PaidUserNum: 2,
      TotalAmount: '40.49',
      PaidAmount: '38.50',
      UnpaidAmount: '1.99',
      RefundAmount: '5.00',
      DataTime: '20260302',
    });
    expect((await call({ ...query, Platform: 2 })).OrderNum).toBe(1);
    expect((await call({ ...query, MNPIds: [manifest.miniPrograms.fresh.mnpId] })).OrderNum).toBe(1);
    expect((await call({ ...query, DataType: 1 })).TotalAmount).toBe('7.77');
    expect((await call({ ...query, DataType: undefined, Currency: 'USD' })).TotalAmount).toBe('9.99');
  });

  it('lists one entry per business day, zero days included', async () => {
    const detail = await context.services.paymentData.detail(systemActor(), {
      timeBegin: day1,
      timeEnd: day1 + 3 * dayMs - 1,
      dataType: 0,
    });
    expect(detail.map((entry) => [entry.DataTime, entry.OrderNum, entry.PaidAmount])).toEqual([
      ['20260301', 3, '35.50'],
      ['20260302', 1, '3.00'],
      ['20260303', 0, '0.00'],
    ]);
  });

  it('draws a standard line chart per business day from QueryData, as the TCSAS clients send it', async () => {
    const queryData = (fields: Record<string, unknown>) => Buffer.from(JSON.stringify(fields)).toString('base64');
    const chart = (params: Record<string, unknown>) =>
      callAction(managementClient(baseUrl, manifest.miniProgramTeam.users.operator), 'DescribePaymentDataLineChart', {
        PlatformId: manifest.platformId,
        ReportId: 'payment_data_analysis',
        ...params,
      });
    const days = { Platform: 0, BeginDate: 20260301, EndDate: 20260303, DataType: '0', PaymentType: 1 };
    const points = (data: unknown) => {
      const [line] = data as { DataResult: string; ExecSql: null; ExecTime: number; IndexId: string }[];
      expect(line).toMatchObject({ ExecSql: null, ExecTime: expect.any(Number) });
      return JSON.parse(Buffer.from(line!.DataResult, 'base64').toString('utf8')) as unknown;
    };
    expect(points(await chart({ IndexId: 'paid_amount', QueryData: queryData(days) }))).toEqual([
      { DataTime: '20260301', Value: '35.50' },
      { DataTime: '20260302', Value: '3.00' },
      { DataTime: '20260303', Value: '0.00' },
    ]);
    expect(points(await chart({ IndexId: 'order_user_num', QueryData: queryData(days) }))).toEqual([
      { DataTime: '20260301', Value: '2' },
      { DataTime: '20260302', Value: '1' },
      { DataTime: '20260303', Value: '0' },
    ]);
    const fresh = { ...days, MnpId: manifest.miniPrograms.fresh.mnpId };
    expect(points(await chart({ IndexId: 'order_unpaid_num', QueryData: queryData(fresh) }))).toEqual([
      { DataTime: '20260301', Value: '1' },
      { DataTime: '20260302', Value: '0' },
      { DataTime: '20260303', Value: '0' },
    ]);
    // Production orders only (DataType "1" inside QueryData is a string, as SAS sends it).
    expect(points(await chart({ IndexId: 'total_amount', QueryData: queryData({ ...days, DataType: '1' }) }))).toEqual([
      { DataTime: '20260301', Value: '7.77' },
      { DataTime: '20260302', Value: '0.00' },
      { DataTime: '20260303', Value: '0.00' },
    ]);
    const refused = async (params: Record<string, unknown>) => ((await chart(params)) as { error: { code: string } }).error.code;
    expect(await refused({ IndexId: 'mng_paid_amount', QueryData: queryData(days) })).toBe('InvalidParameterValue');
    expect(await refused({ IndexId: 'paid_amount', QueryData: queryData({ ...days, PaymentType: 2 }) })).toBe('InvalidParameterValue');
    expect(await refused({ IndexId: 'paid_amount', QueryData: 'not base64 json' })).toBe('InvalidParameterValue');
    expect(await refused({ IndexId: 'paid_amount' })).toBe('InvalidParameter');
    expect(await refused({ IndexId: 'paid_amount', QueryData: queryData({ ...days, BeginDate: 20260230 }) })).toBe('InvalidParameterValue');
    expect(await refused({ IndexId: 'paid_amount', QueryData: queryData({ ...days, EndDate: 20270401 }) })).toBe(
      'InvalidParameterValue.TimeRangeExceeded',
    );
    expect(await refused({ IndexId: 'paid_amount', QueryData: queryData({ ...days, MnpId: 'mnp_made_up' }) })).toBe('ResourceNotFound');
  });

  it('refuses review staff, hides other tenants, and validates the range', async () => {
    const call = (user: { secretId: string; secretKey: string }, params: Record<string, unknown>) =>
      callAction(managementClient(baseUrl, user), 'DescribePaymentDataOverview', { PlatformId: manifest.platformId, ...params });
    expect((await call(manifest.superapp.users.reviewer, query)).error.code).toBe('UnauthorizedOperation');
    expect((await call(manifest.superapp.users.operator, query)).OrderNum).toBe(4);
    expect((await call(manifest.unboundTeam.users.admin, { ...query, MNPIds: [manifest.miniPrograms.ready.mnpId] })).error.code).toBe(
      'ResourceNotFound',
    );
    expect((await call(manifest.unboundTeam.users.admin, query)).OrderNum).toBe(0);
    expect((await call(manifest.miniProgramTeam.users.admin, { ...query, TimeEnd: day1 - 1 })).error.code).toBe('InvalidParameterValue');
    expect((await call(manifest.miniProgramTeam.users.admin, { TimeBegin: day1 })).error.code).toBe('InvalidParameter');
  });

  it('refreshes the daily figures one at a time: concurrent callers share the next refresh and still see their orders', async () => {
    await context.services.paymentStats.refresh();
    const day3 = day1 + 2 * dayMs;
    const ready = manifest.miniPrograms.ready.mnpId;
    await insertOrder({ mnpId: ready, createdAt: day3 + hour, amount: 100, payer: 'u6', paid: true });
    await insertOrder({ mnpId: ready, createdAt: day3 + 2 * hour, amount: 200, payer: 'u7', paid: true });
    const lock = vi.spyOn(paymentStatsRepository, 'lockForWrite');
    try {
      // Each refresh used to wait for the stats lock inside its own transaction, holding a pooled connection.
      await Promise.all(Array.from({ length: 6 }, () => context.services.paymentStats.refresh()));
      expect(lock.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      lock.mockRestore();
    }
    const detail = await context.services.paymentData.detail(systemActor(), { timeBegin: day3, timeEnd: day3 + dayMs - 1, dataType: 0 });
    expect(detail.map((entry) => [entry.DataTime, entry.OrderNum, entry.PaidAmount])).toEqual([['20260303', 2, '3.00']]);
  });
});
