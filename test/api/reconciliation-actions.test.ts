import { afterAll, beforeAll, expect, it } from 'vitest';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../src/domain/business-time.ts';
import { auditRepository } from '../../src/repositories/audit.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { demoActor, payInSandbox, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { callAction, managementClient, type ManagementCredentials } from '../helpers/management-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/** Waits for the sandbox's events to reach Paythrough (delivered after the answer). */
async function eventually(done: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 100; tries += 1) {
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the sandbox never told Paythrough');
}

/**
 * SPEC §9.5: the five reconciliation actions through the cloud SDK's CommonClient, over a day reconciled for real
 * against the in-process sandbox with statement faults (one payment dropped, one amount bent, one extra payment).
 */
describeOnEachDatabase('reconciliation management actions', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let baseUrl: string;
  let applicationId: string;
  let day: string;
  let today: string;
  let superAdmin: ManagementCredentials;
  const number = (n: number) => `RCA-${kind}-${n}`;
  const compact = (date: string) => date.replaceAll('-', '');
  const call = (user: ManagementCredentials, action: string, params: Record<string, unknown>) =>
    callAction(managementClient(baseUrl, user), action, { PlatformId: manifest.platformId, ...params });
  const sa = () => manifest.superapp.users;
  const mp = () => manifest.miniProgramTeam.users;
  const exceptions = (user: ManagementCredentials, params: Record<string, unknown> = {}) =>
    call(user, 'DescribeReconciliationExceptionList', {
      ApplicationId: applicationId,
      BillDateBegin: compact(day),
      BillDateEnd: compact(day),
      ...params,
    });

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    // The world exists from before the day (a channel connection counts for the days it lived through).
    today = businessDateOf(Date.now(), context.config.timezone);
    // Two days back: due whatever the time of day now (its cut-off passed yesterday).
    day = addCalendarDays(today, -2);
    context.clock.set(businessTimeOn(day, '00:30', context.config.timezone));
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    const address = context.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    manifest = await context.services.demoWorld.ensure();
    applicationId = manifest.superapp.applicationId;
    superAdmin = await context.services.apiKeys.create(await demoActor(context, manifest.superAdmin.account), 'reconciliation test');
    const timezone = context.config.timezone;
    context.clock.set(businessTimeOn(day, '11:00', timezone));
    const client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    for (const n of [1, 2, 3]) {
      const prepaid = await client.prepay({ outTradeNo: number(n), total: 1000 * n });
      await payInSandbox(context.app, prepaid.body.prepay_id);
      await eventually(async () => (await client.queryByOutTradeNo(number(n))).body.trade_state === 'SUCCESS');
    }
    context.clock.set(Date.now());
    for (const body of [
      { kind: 'drop', out_trade_no: number(1) },
      { kind: 'amount', out_trade_no: number(2) },
      { kind: 'extra', out_trade_no: number(99) },
    ]) {
      const response = await context.app.inject({
        method: 'POST',
        url: '/sandbox/v1/statement-faults',
        payload: { application_id: applicationId, bill_date: day, ...body },
      });
      expect(response.statusCode).toBeLessThan(300);
    }
    const runs = await context.services.statementReconciliation.reconcileDay(day, applicationId);
    expect(runs.map((run) => run.status)).toEqual(['DONE']);
  });
  afterAll(() => context?.close());

  it('DescribeReconciliationList: the day with both sides per currency in major units and its exception counts', async () => {
    const data = await call(sa().admin, 'DescribeReconciliationList', {
      ApplicationId: applicationId,
      BillDateBegin: compact(day),
      BillDateEnd: compact(day),
    });
    expect(data.Total).toBe(1);
    const [listed] = data.List;
    expect(listed).toMatchObject({ BillDate: compact(day), Status: 'DONE', ExceptionNum: 3, OpenExceptionNum: 3 });
    expect(listed.Totals).toEqual([
      expect.objectContaining({
        Currency: 'CNY',
        OurPaymentNum: 3,
        OurPaymentAmount: '60.00',
        OurRefundNum: 0,
        OurRefundAmount: '0.00',
        ChannelRefundNum: 0,
      }),
    ]);
    // The channel listed 2 and 3 (bent) and 99, not 1: three lines, of which two have an exception.
    expect(listed.Totals[0].ChannelPaymentNum).toBe(3);
    expect(listed.MatchedNum).toBe(1);
    // The status filter, and the default range (the 31 days up to yesterday) includes the day.
    expect((await call(sa().admin, 'DescribeReconciliationList', { ApplicationId: applicationId, Status: 'FAILED' })).Total).toBe(0);
    expect((await call(sa().developer, 'DescribeReconciliationList', { ApplicationId: applicationId, Status: 'DONE' })).Total).toBe(1);
  });

  it('DescribeReconciliationDetail: the report less exceptions, outcomes per kind and status, the runs', async () => {
    const data = await call(superAdmin, 'DescribeReconciliationDetail', { ApplicationId: applicationId, BillDate: compact(day) });
    expect(data).toMatchObject({ BillDate: compact(day), Status: 'DONE', LineNum: 3, ExceptionNum: 3, OpenExceptionNum: 3 });
    expect(data.Outcomes).toEqual(
      expect.arrayContaining([
        { Kind: 'AMOUNT_MISMATCH', Status: 'OPEN', Num: 1 },
        { Kind: 'MISSING_AT_CHANNEL', Status: 'OPEN', Num: 1 },
        { Kind: 'MISSING_AT_PAYTHROUGH', Status: 'OPEN', Num: 1 },
      ]),
    );
    expect(data.Runs).toHaveLength(1);
    expect(data.Totals[0]).toMatchObject({ Currency: 'CNY', DiffPaymentNum: 0 });
    expect(
      await call(sa().admin, 'DescribeReconciliationDetail', { ApplicationId: applicationId, BillDate: compact(addCalendarDays(day, -3)) }),
    ).toMatchObject({
      error: { code: 'ResourceNotFound' },
    });
  });

  it('mini program roles and review staff are refused the days and reports; member admins reach nothing', async () => {
    for (const user of [mp().admin, mp().developer, mp().operator, sa().reviewer]) {
      for (const action of ['DescribeReconciliationList', 'DescribeReconciliationDetail']) {
        const answer = await call(user, action, { ApplicationId: applicationId, BillDate: compact(day) });
        expect(answer, `${action}`).toMatchObject({ error: { code: 'UnauthorizedOperation' } });
      }
    }
    expect(await exceptions(sa().reviewer)).toMatchObject({ error: { code: 'UnauthorizedOperation' } });
    expect((await exceptions(mp().memberAdmin)).error).toBeDefined();
  });

  it('DescribeReconciliationExceptionList: every exception for the superapp, its own mini programs only for MP roles', async () => {
    const all = await exceptions(sa().operator);
    expect(all.Total).toBe(3);
    const byKind = Object.fromEntries(all.List.map((e: { Kind: string }) => [e.Kind, e]));
    expect(byKind.AMOUNT_MISMATCH).toMatchObject({
      BillDate: compact(day),
      Status: 'OPEN',
      MNPId: manifest.miniPrograms.ready.mnpId,
      OutTradeNo: number(2),
      Currency: 'CNY',
      OurAmount: '20.00',
      ResolvedBy: null,
    });
    expect(typeof byKind.AMOUNT_MISMATCH.ExceptionId).toBe('string');
    expect(typeof byKind.AMOUNT_MISMATCH.ChannelTime).toBe('number');
    expect(byKind.MISSING_AT_PAYTHROUGH).toMatchObject({ OutTradeNo: number(99), MNPId: null });
    // Mini program roles: not the extra payment of an unknown order (no mini program).
    for (const user of [mp().admin, mp().seniorDeveloper, mp().developer, mp().operator]) {
      const own = await exceptions(user);
      expect(own.Total).toBe(2);
      expect(own.List.every((e: { MNPId: string }) => e.MNPId === manifest.miniPrograms.ready.mnpId)).toBe(true);
    }
    expect((await exceptions(manifest.unboundTeam.users.admin)).Total ?? 0).toBe(0);
    // Filters.
    expect((await exceptions(sa().admin, { Kind: 'AMOUNT_MISMATCH' })).Total).toBe(1);
    expect((await exceptions(sa().admin, { OrderNo: number(1) })).List.map((e: { Kind: string }) => e.Kind)).toEqual([
      'MISSING_AT_CHANNEL',
    ]);
    expect((await exceptions(sa().admin, { RefundNo: 'none' })).Total).toBe(0);
    expect((await exceptions(sa().admin, { MNPIds: [manifest.miniPrograms.ready.mnpId] })).Total).toBe(2);
    expect((await exceptions(sa().admin, { Limit: 1, Offset: 2 })).List).toHaveLength(1);
  });

  it('refuses ranges beyond 31 days and malformed or future days', async () => {
    expect(await exceptions(sa().admin, { BillDateBegin: compact(addCalendarDays(day, -31)) })).toMatchObject({
      error: { code: 'InvalidParameterValue.TimeRangeExceeded' },
    });
    expect(
      await call(sa().admin, 'DescribeReconciliationList', {
        ApplicationId: applicationId,
        BillDateBegin: compact(addCalendarDays(day, -30)),
        BillDateEnd: compact(day),
      }),
    ).toMatchObject({ Total: 1 });
    for (const bad of ['2026-01-01', '20261341', compact(addCalendarDays(today, 1))]) {
      expect(await call(sa().admin, 'DescribeReconciliationDetail', { ApplicationId: applicationId, BillDate: bad })).toMatchObject({
        error: { code: 'InvalidParameterValue.InvalidBillDate' },
      });
    }
  });

  it('ResolveReconciliationException: note required, SA admin and operator only, once, audited with the actor', async () => {
    const { List } = await exceptions(sa().admin, { Kind: 'AMOUNT_MISMATCH' });
    const exceptionId = List[0].ExceptionId as string;
    const resolve = (user: ManagementCredentials, note?: string) =>
      call(user, 'ResolveReconciliationException', {
        ApplicationId: applicationId,
        ExceptionId: exceptionId,
        ...(note === undefined ? {} : { ResolutionNote: note }),
      });
    expect(await resolve(sa().operator)).toMatchObject({ error: { code: 'InvalidParameterValue.ResolutionNoteRequired' } });
    expect(await resolve(sa().operator, '   ')).toMatchObject({ error: { code: 'InvalidParameterValue.ResolutionNoteRequired' } });
    for (const user of [sa().developer, sa().seniorDeveloper, superAdmin, mp().admin]) {
      expect(await resolve(user, 'not mine to say')).toMatchObject({ error: { code: 'UnauthorizedOperation' } });
    }
    expect(await resolve(sa().reviewer, 'no')).toMatchObject({ error: { code: 'ResourceNotFound' } });
    expect(await resolve(sa().operator, 'channel confirmed the amount by phone')).toEqual({ Result: true });
    expect(await resolve(sa().admin, 'again')).toMatchObject({ error: { code: 'FailedOperation.ExceptionAlreadyResolved' } });
    const [resolved] = (await exceptions(sa().admin, { Kind: 'AMOUNT_MISMATCH' })).List;
    expect(resolved).toMatchObject({
      Status: 'RESOLVED',
      ResolvedBy: sa().operator.account,
      ResolutionNote: 'channel confirmed the amount by phone',
    });
    expect(typeof resolved.ResolvedAt).toBe('number');
    const audit = await auditRepository.list(context.database.db, { teamIds: undefined, beforeId: undefined, limit: 50 });
    expect(audit.find((entry) => entry.action === 'reconciliation.resolve_exception' && entry.target_id === exceptionId)).toMatchObject({
      actor_account: sa().operator.account,
    });
    // Another superapp's id, or none at all: not found alike.
    expect(
      await call(sa().admin, 'ResolveReconciliationException', {
        ApplicationId: applicationId,
        ExceptionId: '999999',
        ResolutionNote: 'x',
      }),
    ).toMatchObject({
      error: { code: 'ResourceNotFound' },
    });
    expect((await exceptions(sa().admin, { Status: 'OPEN' })).Total).toBe(2);
  });

  it('RerunReconciliation: SA admin only; refused while running, for a day not due and a future one; keeps resolutions', async () => {
    const rerun = (user: ManagementCredentials, billDate = compact(day)) =>
      call(user, 'RerunReconciliation', { ApplicationId: applicationId, BillDate: billDate });
    for (const user of [sa().operator, sa().developer, superAdmin, mp().admin]) {
      expect((await rerun(user)).error.code).toBe('UnauthorizedOperation');
    }
    expect(await rerun(sa().admin, compact(today))).toMatchObject({ error: { code: 'InvalidParameterValue.InvalidBillDate' } });
    expect(await rerun(sa().admin, compact(addCalendarDays(today, 2)))).toMatchObject({
      error: { code: 'InvalidParameterValue.InvalidBillDate' },
    });
    expect(await rerun(sa().admin, 'yesterday')).toMatchObject({ error: { code: 'InvalidParameterValue.InvalidBillDate' } });
    const db = context.database.db;
    const runOfDay = db.updateTable('reconciliation_runs').where('application_id', '=', applicationId).where('bill_date', '=', day);
    await runOfDay.set({ status: 'RUNNING' }).execute();
    expect(await rerun(sa().admin)).toMatchObject({ error: { code: 'FailedOperation.ReconciliationRunning' } });
    await runOfDay.set({ status: 'DONE' }).execute();
    expect(await rerun(sa().admin)).toEqual({ Result: true, Status: 'PENDING' });
    expect(
      (
        await call(sa().admin, 'DescribeReconciliationList', {
          ApplicationId: applicationId,
          BillDateBegin: compact(day),
          BillDateEnd: compact(day),
        })
      ).List[0].Status,
    ).toBe('PENDING');
    await context.services.statementReconciliation.runDue();
    const after = await exceptions(sa().admin);
    expect(after.Total).toBe(3);
    expect(after.List.find((e: { Kind: string }) => e.Kind === 'AMOUNT_MISMATCH')).toMatchObject({ Status: 'RESOLVED' });
  });
});
