import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../src/domain/business-time.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { auditRepository } from '../../src/repositories/audit.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { demoActor, eventually, payInSandbox, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { callAction, managementClient, type ManagementCredentials } from '../helpers/management-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

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
    // The status filter, and the default range (the 31 days up to yesterday) includes the day, and the demo world's
    // own reconciled yesterday (the day before the day).
    expect((await call(sa().admin, 'DescribeReconciliationList', { ApplicationId: applicationId, Status: 'FAILED' })).Total).toBe(0);
    const done = await call(sa().developer, 'DescribeReconciliationList', { ApplicationId: applicationId, Status: 'DONE' });
    expect(done.List.map((listed: { BillDate: string }) => listed.BillDate)).toEqual([compact(day), compact(addCalendarDays(day, -1))]);
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
    ).toMatchObject({ Total: 2 });
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

  describe('the console routes (Records → Reconciliation)', () => {
    const signIn = (user: { account: string; password: string }) => ConsoleClient.signIn(context.app, user.account, user.password);
    const daysUrl = () => `/superapps/${applicationId}/reconciliation/days`;
    const exceptionsQuery = (extra = '') => `applicationId=${applicationId}&from=${day}&to=${day}${extra}`;

    it("days and a day's report in major units; MP roles refused them", async () => {
      const admin = await signIn(sa().admin);
      const days = await admin.get(`${daysUrl()}?from=${day}&to=${day}`);
      expect(days.statusCode).toBe(200);
      expect(days.body.total).toBe(1);
      expect(days.body.items[0]).toMatchObject({ billDate: day, status: 'DONE', exceptionNum: 3 });
      expect(days.body.items[0].totals[0]).toMatchObject({ currency: 'CNY', ours: { paymentCount: 3, paymentAmount: '60.00' } });
      const detail = await admin.get(`${daysUrl()}/${day}`);
      expect(detail.statusCode).toBe(200);
      expect(detail.body).toMatchObject({ billDate: day, lineNum: 3, runs: [expect.objectContaining({ status: 'DONE' })] });
      expect((await admin.get(`${daysUrl()}?from=${addCalendarDays(day, -40)}&to=${day}`)).body.error.code).toBe(
        'InvalidParameterValue.TimeRangeExceeded',
      );
      const mpAdmin = await signIn(mp().admin);
      expect((await mpAdmin.get(`${daysUrl()}?from=${day}&to=${day}`)).statusCode).toBe(403);
      expect((await mpAdmin.get(`${daysUrl()}/${day}`)).statusCode).toBe(403);
    });

    it("exceptions: the superapp's all, MP roles their own mini programs', review staff refused", async () => {
      expect((await (await signIn(sa().operator)).get(`/reconciliation/exceptions?${exceptionsQuery()}`)).body.total).toBe(3);
      const own = await (await signIn(mp().developer)).get(`/reconciliation/exceptions?${exceptionsQuery()}`);
      expect(own.body.total).toBe(2);
      expect((await (await signIn(sa().reviewer)).get(`/reconciliation/exceptions?${exceptionsQuery()}`)).statusCode).toBe(403);
      const filtered = await (await signIn(sa().admin)).get(`/reconciliation/exceptions?${exceptionsQuery(`&orderNo=${number(99)}`)}`);
      expect(filtered.body.items.map((e: { kind: string }) => e.kind)).toEqual(['MISSING_AT_PAYTHROUGH']);
    });

    it('resolve (note required, formula-like notes neutralised in the CSV), the badge, re-run refusals', async () => {
      const admin = await signIn(sa().admin);
      const badgeBefore = (await admin.get('/reconciliation/open-count')).body.open as number;
      const [extra] = (await admin.get(`/reconciliation/exceptions?${exceptionsQuery('&kind=MISSING_AT_PAYTHROUGH')}`)).body.items;
      const resolveUrl = `/superapps/${applicationId}/reconciliation/exceptions/${extra.id}/resolve`;
      expect((await admin.post(resolveUrl, { note: '' })).body.error.code).toBe('InvalidParameterValue.ResolutionNoteRequired');
      expect((await (await signIn(sa().developer)).post(resolveUrl, { note: 'x' })).statusCode).toBe(403);
      const resolved = await admin.post(resolveUrl, { note: '=HYPERLINK("x")' });
      expect(resolved.statusCode).toBe(200);
      expect(resolved.body).toMatchObject({ status: 'RESOLVED', resolvedBy: sa().admin.account });
      expect((await admin.post(resolveUrl, { note: 'again' })).body.error.code).toBe('FailedOperation.ExceptionAlreadyResolved');
      expect((await admin.get('/reconciliation/open-count')).body.open).toBe(badgeBefore - 1);
      expect((await (await signIn(mp().operator)).get('/reconciliation/open-count')).body.open).toBeLessThan(badgeBefore);
      const rerunUrl = (date: string) => `${daysUrl()}/${date}/rerun`;
      expect((await admin.post(rerunUrl(today))).body.error.code).toBe('InvalidParameterValue.InvalidBillDate');
      expect((await (await signIn(sa().operator)).post(rerunUrl(day))).statusCode).toBe(403);
    });

    it('CSV export: BOM, CRLF, major units, ids as text, formulas neutralised; MP roles only their rows', async () => {
      const admin = await signIn(sa().admin);
      const download = (client: ConsoleClient, extra = '') =>
        context.app.inject({
          method: 'GET',
          url: `/api/v1/reconciliation/exceptions.csv?${exceptionsQuery(extra)}`,
          headers: { cookie: client.cookieHeader },
        });
      const response = await download(admin);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/csv');
      const bytes = response.rawPayload;
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const text = bytes.subarray(3).toString('utf8');
      expect(text.endsWith('\r\n')).toBe(true);
      expect(text.replaceAll('\r\n', '')).not.toContain('\n');
      const lines = text.split('\r\n').slice(0, -1);
      const zone = context.config.timezone;
      expect(lines[0]).toBe(
        'Exception ID,Bill date,Kind,Status,Action,Mini program ID,Merchant ID,Merchant order no.,Transaction ID,' +
          `Merchant refund no.,Refund ID,Currency,Our amount,Channel amount,Our state,Channel state,Our time (${zone}),` +
          `Channel time (${zone}),Resolved by,Resolved at (${zone}),Resolution note`,
      );
      expect(lines).toHaveLength(4);
      const amount = lines.find((line) => line.includes(',AMOUNT_MISMATCH,'))!.split(',');
      expect(amount[0]).toMatch(/^\d+\t$/);
      expect(amount.slice(1, 4)).toEqual([day, 'AMOUNT_MISMATCH', 'RESOLVED']);
      expect(amount[7]).toBe(number(2));
      expect(amount[12]).toBe('20.00');
      expect(amount[18]).toBe(sa().operator.account);
      expect(lines.find((line) => line.includes(',MISSING_AT_PAYTHROUGH,'))!.endsWith(`,"'=HYPERLINK(""x"")"`)).toBe(true);
      const own = await download(await signIn(mp().admin));
      expect(own.statusCode).toBe(200);
      expect(own.rawPayload.subarray(3).toString('utf8').split('\r\n').slice(0, -1)).toHaveLength(3);
      expect((await download(await signIn(sa().reviewer))).statusCode).toBe(403);
      // The same filter, the same bytes; and again after the day is read and matched once more (SPEC §9.7), with no new refund.
      expect((await download(admin)).rawPayload.equals(bytes)).toBe(true);
      const refunds = () => context.database.db.selectFrom('refunds').select('id').execute();
      const refundsBefore = await refunds();
      await context.services.statementReconciliation.reconcileDay(day, applicationId);
      expect((await download(admin)).rawPayload.toString('utf8')).toBe(bytes.toString('utf8'));
      expect(await refunds()).toEqual(refundsBefore);
    });
  });
});
