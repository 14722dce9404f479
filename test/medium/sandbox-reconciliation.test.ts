import { afterAll, beforeAll, expect, it } from 'vitest';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../src/domain/business-time.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { payInSandbox, readyMerchant, V3InjectClient, eventually } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Daily reconciliation end to end against the in-process sandbox's own statement (SPEC §9.1, §9.3): a day the
 * sandbox agrees with is clean; the statement faults the sandbox control API injects each give their outcome.
 */
describeOnEachDatabase('daily reconciliation against the sandbox statement', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let applicationId: string;
  let day: string;
  const timezone = 'Asia/Shanghai';
  const number = (n: number) => `SBR-${kind}-${n}`;

  const exceptionsOfDay = () =>
    context.database.db
      .selectFrom('reconciliation_exceptions')
      .select(['kind', 'out_trade_no', 'status'])
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', day)
      .orderBy('kind')
      .execute();
  const fault = (body: Record<string, string>) =>
    context.app.inject({
      method: 'POST',
      url: '/sandbox/v1/statement-faults',
      payload: { application_id: applicationId, bill_date: day, ...body },
    });

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    manifest = await context.services.demoWorld.ensure();
    applicationId = manifest.superapp.applicationId;
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    const today = businessDateOf(context.clock.nowMs(), timezone);
    context.clock.set(businessTimeOn(addCalendarDays(today, 1), '11:00', timezone));
    day = businessDateOf(context.clock.nowMs(), timezone);
    for (const n of [1, 2, 3]) {
      const prepaid = await client.prepay({ outTradeNo: number(n), total: 1000 * n });
      await payInSandbox(context.app, prepaid.body.prepay_id);
      await eventually(async () => (await client.queryByOutTradeNo(number(n))).body.trade_state === 'SUCCESS');
    }
    // The day is over and its cut-off passed.
    context.clock.set(businessTimeOn(addCalendarDays(day, 1), '10:05', timezone));
  });
  afterAll(() => context?.close());

  it('finds nothing on a day the sandbox agrees with, and reports both sides alike', async () => {
    const [run] = await context.services.statementReconciliation.reconcileDay(day, applicationId);
    expect(run).toMatchObject({ status: 'DONE', fetched: 1 });
    expect(await exceptionsOfDay()).toEqual([]);
    const report = JSON.parse(run!.report_json!);
    expect(report.channel).toEqual(report.ours);
    expect(report.ours).toEqual([{ currency: 'CNY', payment_count: 3, payment_amount: '6000', refund_count: 0, refund_amount: '0' }]);
  });

  it('gives each injected fault its outcome, and a re-run without them resolves them as absent', async () => {
    for (const body of [
      { kind: 'drop', out_trade_no: number(1) },
      { kind: 'amount', out_trade_no: number(2) },
      { kind: 'extra', out_trade_no: number(99) },
    ]) {
      expect((await fault(body)).statusCode).toBeLessThan(300);
    }
    const [run] = await context.services.statementReconciliation.reconcileDay(day, applicationId);
    expect(run).toMatchObject({ status: 'DONE' });
    expect(await exceptionsOfDay()).toEqual([
      { kind: 'AMOUNT_MISMATCH', out_trade_no: number(2), status: 'OPEN' },
      { kind: 'MISSING_AT_CHANNEL', out_trade_no: number(1), status: 'OPEN' },
      { kind: 'MISSING_AT_PAYTHROUGH', out_trade_no: number(99), status: 'OPEN' },
    ]);

    const cleared = await context.app.inject({
      method: 'POST',
      url: '/sandbox/v1/statement-faults/clear',
      payload: { application_id: applicationId, bill_date: day },
    });
    expect(cleared.statusCode).toBeLessThan(300);
    await context.services.statementReconciliation.reconcileDay(day, applicationId);
    expect((await exceptionsOfDay()).map((e) => e.status)).toEqual(['AUTO_RESOLVED', 'AUTO_RESOLVED', 'AUTO_RESOLVED']);
  });
});
