import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { callAction, managementClient } from '../helpers/management-client.ts';
import { insertRefund, orderRow, type OrderOwner } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs } from '../../src/domain/clock.ts';
import { businessDateOf, businessDayRange } from '../../src/domain/business-time.ts';

const hour = 60 * 60 * 1000;
// The management API signs with the real clock: the three days end today, in the business time zone.
const today = businessDateOf(Date.now(), 'Asia/Shanghai');
const day1 = businessDayRange(today, 'Asia/Shanghai')!.startMs - 2 * dayMs;
const [d1, d2, d3] = [0, 1, 2].map((offset) => businessDateOf(day1 + offset * dayMs + hour, 'Asia/Shanghai').replaceAll('-', ''));

describeOnEachDatabase('payment data for mini games (DescribeMNGPayment*, SPEC §8.7)', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let baseUrl: string;
  let owner: OrderOwner;

  /** A virtual order created at `createdAt`, paid `paidAfter` later (or unpaid). */
  async function virtualOrder(payer: string, createdAt: number, amount: number, paidAfter: number | null = 60_000) {
    const row = orderRow(owner, { createdAt, amount, payer, tradeState: paidAfter === null ? 'WAIT_PAY' : 'SUCCESS' });
    return context.database.db
      .insertInto('orders')
      .values({ ...row, payment_type: 2, success_time: paidAfter === null ? null : createdAt + paidAfter })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { timezone: 'Asia/Shanghai' } });
    manifest = await context.services.demoWorld.ensure();
    owner = {
      mnpId: manifest.miniPrograms.ready.mnpId,
      applicationId: manifest.superapp.applicationId,
      miniProgramTeamId: manifest.miniProgramTeam.teamId,
      superappTeamId: manifest.superapp.teamId,
    };
    // Before the range: p1 paid once already, so p1 is not a new payer on day 1.
    await virtualOrder('p1', day1 - 3 * dayMs, 100);
    // Day 1: p1 pays 6.00, p2 pays 18.00 and 6.00 (new), p3 orders and does not pay.
    await virtualOrder('p1', day1 + 1 * hour, 600);
    await virtualOrder('p2', day1 + 2 * hour, 1800);
    await virtualOrder('p2', day1 + 3 * hour, 600);
    await virtualOrder('p3', day1 + 4 * hour, 600, null);
    // Day 2: p1 orders again (retention day 1 of day 1's payers), p4 pays 1.00 (new) and is refunded 0.40 that day.
    await virtualOrder('p1', day1 + dayMs + hour, 600, null);
    const refunded = await virtualOrder('p4', day1 + dayMs + 2 * hour, 100);
    await insertRefund(context.database.db, { ...refunded, sandbox: refunded.sandbox }, { createdAt: day1 + dayMs + 3 * hour, amount: 40 });
    // Day 3: p2 orders again (retention day 2).
    await virtualOrder('p2', day1 + 2 * dayMs + hour, 600, null);
    // A standard order the same day: not in the mini game figures, and virtual ones not in the standard figures.
    await context.database.db
      .insertInto('orders')
      .values(orderRow(owner, { createdAt: day1 + hour, amount: 5000, payer: 'p9' }))
      .execute();
    context.clock.set(Date.now());
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    const address = context.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => context?.close());

  const call = (action: string, params: Record<string, unknown>) =>
    callAction(managementClient(baseUrl, manifest.miniProgramTeam.users.operator), action, { PlatformId: manifest.platformId, ...params });
  const mnp = () => manifest.miniPrograms.ready.mnpId;

  it('sums a period by paid day: payers distinct over it, new payers, ARPPU and the ratio with two places', async () => {
    const overview = await call('DescribeMNGPaymentOverview', { TimeBegin: d1, TimeEnd: d2, MNPId: mnp(), DataType: 0 });
    expect(overview).toMatchObject({
      DataTime: d2,
      PaidAmount: '31.00',
      PaidUserNum: 3,
      NewPaidUserNum: 2,
      NewUserPaidAmount: '25.00',
      // 31.00 / 3 payers
      ARPPu: '10.33',
      // 2 new payers of 4 users who created a virtual order (p1, p2, p3, p4) × 100
      NewPaidUseRatio: '50.00',
      RefundAmount: '0.40',
      RefundNum: 1,
    });
    expect(overview.UpdateTime).toBe(Math.floor(context.clock.nowMs() / 1000));
    // The same period in milliseconds.
    const inMs = await call('DescribeMNGPaymentOverview', { TimeBegin: day1, TimeEnd: day1 + 2 * dayMs - 1, MNPId: mnp(), DataType: 0 });
    expect(inMs).toMatchObject({ PaidAmount: '31.00', PaidUserNum: 3, NewPaidUserNum: 2 });
  });

  it('lists one MNGPaymentOverview per day, and draws its lines from QueryData', async () => {
    const detail = (await call('DescribeMNGPaymentReportDetail', { TimeBegin: d1, TimeEnd: d3, MNPId: mnp() })) as {
      DataTime: string;
      PaidAmount: string;
      NewPaidUserNum: number;
      NewPaidUseRatio: string;
      ARPPu: string;
    }[];
    expect(detail.map((day) => [day.DataTime, day.PaidAmount, day.NewPaidUserNum, day.NewPaidUseRatio, day.ARPPu])).toEqual([
      [d1, '30.00', 1, '33.33', '15.00'],
      [d2, '1.00', 1, '50.00', '1.00'],
      [d3, '0.00', 0, '0.00', '0.00'],
    ]);
    const queryData = Buffer.from(
      JSON.stringify({ Platform: 0, MnpId: mnp(), BeginDate: Number(d1), EndDate: Number(d3), DataType: '0', PaymentType: 2 }),
    ).toString('base64');
    const [line] = (await call('DescribeMNGPaymentLineChart', {
      ReportId: 'payment_data_analysis',
      IndexId: 'mng_paid_amount',
      QueryData: queryData,
    })) as { DataResult: string; IndexId: string }[];
    expect(line!.IndexId).toBe('mng_paid_amount');
    expect(JSON.parse(Buffer.from(line!.DataResult, 'base64').toString('utf8'))).toEqual([
      { DataTime: d1, Value: '30.00' },
      { DataTime: d2, Value: '1.00' },
      { DataTime: d3, Value: '0.00' },
    ]);
    const standardQuery = Buffer.from(
      JSON.stringify({ MnpId: mnp(), BeginDate: Number(d1), EndDate: Number(d1), PaymentType: 1 }),
    ).toString('base64');
    const refused = (await call('DescribeMNGPaymentLineChart', {
      ReportId: 'payment_data_analysis',
      IndexId: 'arppu',
      QueryData: standardQuery,
    })) as {
      error: { code: string };
    };
    expect(refused.error.code).toBe('InvalidParameterValue');
  });

  it('counts day-N retention of a day’s payers, null before day N comes', async () => {
    const retention = (await call('DescribeMNGPaymentRetentionAnalysis', {
      TimeBegin: d1,
      TimeEnd: d2,
      MNPId: mnp(),
    })) as Record<string, unknown>[];
    expect(retention[0]).toMatchObject({
      DataTime: d1,
      PaymentUserNum: 2,
      OneDayRetentionUsers: 1,
      TwoDayRetentionUsers: 1,
      ThreeDayRetentionUsers: null,
      ThirtyDayRetentionUsers: null,
    });
    expect(retention[1]).toMatchObject({ DataTime: d2, PaymentUserNum: 1, OneDayRetentionUsers: 0, TwoDayRetentionUsers: null });
  });

  it('keeps standard payment data to standard orders', async () => {
    const overview = await context.services.paymentData.overview((await import('../../src/domain/access.ts')).systemActor(), {
      timeBegin: day1,
      timeEnd: day1 + dayMs - 1,
      mnpIds: [mnp()],
    });
    expect(overview).toMatchObject({ OrderNum: 1, TotalAmount: '50.00' });
  });

  it('answers another team’s mini game like a made-up one', async () => {
    const asOutsider = (mnpId: string) =>
      callAction(managementClient(baseUrl, manifest.unboundTeam.users.admin), 'DescribeMNGPaymentOverview', {
        PlatformId: manifest.platformId,
        TimeBegin: d1,
        TimeEnd: d2,
        MNPId: mnpId,
      });
    const foreign = (await asOutsider(mnp())) as { error: { code: string; message: string } };
    const madeUp = (await asOutsider('mnp_made_up')) as { error: { code: string; message: string } };
    expect(foreign.error.code).toBe('ResourceNotFound');
    expect(madeUp.error.code).toBe('ResourceNotFound');
  });
});
