import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ChannelResult, PaymentChannel } from '../../src/channels/channel.ts';
import { summarizeStatementLines, type StatementLine, type StatementPage, type StatementQuery } from '../../src/channels/statement.ts';
import { addCalendarDays, businessDateOf, businessDayRange, businessTimeOn } from '../../src/domain/business-time.ts';
import { hourMs, minuteMs } from '../../src/domain/clock.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { StatementReconciliationService } from '../../src/services/reconciliation/index.ts';
import { payInSandbox, readyMerchant, V3InjectClient, eventually } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Daily reconciliation (SPEC §9.2–9.4) against a channel whose statement the test writes: a faithful one first,
 * then one bent for each §9.3 outcome and each fault. The statement is built from Paythrough's own records of the
 * day, as a channel that agrees with them would list them.
 */
describeOnEachDatabase('statement reconciliation', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let applicationId: string;
  let day: string;
  const timezone = 'Asia/Shanghai';
  let serve: (query: StatementQuery) => Promise<ChannelResult<StatementPage>>;
  const asked: (string | null)[] = [];

  const service = () => context.services.statementReconciliation;
  const db = () => context.database.db;

  /** What a channel that agrees with Paythrough lists for the day (not the demo world's yesterday, SPEC §9.5). */
  async function faithfulLines(): Promise<StatementLine[]> {
    const { startMs, endMs } = businessDayRange(day, timezone)!;
    const payments = await db()
      .selectFrom('channel_payments')
      .innerJoin('orders', 'orders.id', 'channel_payments.order_id')
      .select([
        'orders.mchid',
        'orders.out_trade_no',
        'orders.prepay_id',
        'channel_payments.channel_transaction_id',
        'channel_payments.amount',
        'channel_payments.currency',
        'channel_payments.paid_at',
      ])
      .where('orders.application_id', '=', applicationId)
      .where('channel_payments.paid_at', '>=', startMs)
      .where('channel_payments.paid_at', '<', endMs)
      .orderBy('channel_payments.id')
      .execute();
    const refunds = await db()
      .selectFrom('refunds')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('status', '=', 'SUCCESS')
      .where('success_time', '>=', startMs)
      .where('success_time', '<', endMs)
      .orderBy('id')
      .execute();
    return [
      ...payments.map((p): StatementLine => ({
        type: 'PAYMENT',
        merchantId: p.mchid,
        outTradeNo: p.out_trade_no,
        channelOrderId: null,
        prepayId: p.prepay_id,
        channelTransactionId: p.channel_transaction_id,
        amount: { total: p.amount, currency: p.currency },
        state: 'SUCCESS',
        time: p.paid_at,
      })),
      ...refunds.map((r): StatementLine => ({
        type: 'REFUND',
        merchantId: r.mchid,
        outTradeNo: r.out_trade_no,
        channelTransactionId: null,
        outRefundNo: r.out_refund_no,
        channelRefundId: r.channel_refund_id,
        amount: { refund: r.amount_refund, total: r.amount_total, currency: r.currency },
        state: 'SUCCESS',
        time: r.success_time!,
      })),
    ];
  }

  /** Serves `lines` in pages of `pageSize` under one statement id, the summary they add up to (or `summary`). */
  function statementOf(
    lines: StatementLine[],
    options: { pageSize?: number; statementId?: string; summary?: StatementPage['summary'] } = {},
  ) {
    const pageSize = options.pageSize ?? 2;
    return async (query: StatementQuery): Promise<ChannelResult<StatementPage>> => {
      // Other days (the catch-up reaches back a week) had no payments: an empty statement.
      if (query.billDate !== day) {
        const page = { applicationId: query.applicationId, billDate: query.billDate, statementId: 'st-empty' };
        return { outcome: 'ok', value: { ...page, lines: [], nextCursor: null, summary: [] } };
      }
      asked.push(query.cursor);
      const start = query.cursor === null ? 0 : Number(query.cursor);
      const next = start + pageSize < lines.length ? String(start + pageSize) : null;
      return {
        outcome: 'ok',
        value: {
          applicationId: query.applicationId,
          billDate: query.billDate,
          statementId: options.statementId ?? 'st-1',
          lines: lines.slice(start, start + pageSize),
          nextCursor: next,
          summary: options.summary ?? [...summarizeStatementLines(lines).values()],
        },
      };
    };
  }

  async function runTheDay() {
    await service().reconcileDay(day, applicationId);
    return db()
      .selectFrom('reconciliation_runs')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', day)
      .execute();
  }
  const exceptionsOfDay = () =>
    db()
      .selectFrom('reconciliation_exceptions')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', day)
      .orderBy('item_key')
      .execute();

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    manifest = await context.services.demoWorld.ensure();
    applicationId = manifest.superapp.applicationId;
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    // Mid-morning of a business day in Shanghai, so the day's payments are well inside it.
    const today = businessDateOf(context.clock.nowMs(), timezone);
    context.clock.set(businessTimeOn(addCalendarDays(today, 1), '10:30', timezone));
    day = businessDateOf(context.clock.nowMs(), timezone);
    for (const [n, total] of [
      [1, 1000],
      [2, 2500],
      [3, 700],
    ] as const) {
      const prepaid = await client.prepay({ outTradeNo: `REC-${kind}-${n}`, total });
      await payInSandbox(context.app, prepaid.body.prepay_id);
    }
    await eventually(async () => (await client.queryByOutTradeNo(`REC-${kind}-1`)).body.trade_state === 'SUCCESS');
    await eventually(async () => (await client.queryByOutTradeNo(`REC-${kind}-3`)).body.trade_state === 'SUCCESS');
    expect(
      (await client.refund({ outTradeNo: `REC-${kind}-2`, outRefundNo: `REC-${kind}-2-R`, refund: 500, total: 2500 })).statusCode,
    ).toBe(200);
    await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/REC-${kind}-2-R/succeed` });
    await eventually(async () => (await client.queryRefund(`REC-${kind}-2-R`)).body.status === 'SUCCESS');

    const sandbox = context.services.sandbox!.scopedTo(applicationId);
    const statementChannel: PaymentChannel = {
      kind: 'sandbox',
      createOrder: (input) => sandbox.createOrder(input),
      queryOrder: (key) => sandbox.queryOrder(key),
      closeOrder: (key) => sandbox.closeOrder(key),
      refund: (input) => sandbox.refund(input),
      queryRefund: (key) => sandbox.queryRefund(key),
      queryStatement: (query) => serve(query),
    };
    context.services.gatewayChannels.register('sandbox', statementChannel);
    // The day is due at 10:00 on the next day.
    context.clock.set(businessTimeOn(addCalendarDays(day, 1), '10:00', timezone) + minuteMs);
  });
  afterAll(() => context?.close());
  beforeEach(() => {
    asked.length = 0;
  });

  it('is due at the cut-off of the next day, reads every page once and finds nothing when the channel agrees', async () => {
    const lines = await faithfulLines();
    expect(lines).toHaveLength(4);
    serve = statementOf(lines);
    const runsOfDay = () =>
      db().selectFrom('reconciliation_runs').selectAll().where('application_id', '=', applicationId).where('bill_date', '=', day).execute();
    context.clock.advance(-2 * minuteMs);
    await service().scheduleDue();
    expect(await runsOfDay()).toEqual([]);
    context.clock.advance(2 * minuteMs);
    await service().scheduleDue();
    expect(await runsOfDay()).toHaveLength(1);
    await service().runDue();
    const [run] = await db()
      .selectFrom('reconciliation_runs')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', day)
      .execute();
    expect(run).toMatchObject({ status: 'DONE', pages: 2, fetched: 1 });
    expect(asked).toEqual([null, '2']);
    expect(await exceptionsOfDay()).toEqual([]);
    const report = JSON.parse(run!.report_json!);
    expect(report.ours).toEqual(report.channel);
    expect(report.ours).toEqual([{ currency: 'CNY', payment_count: 3, payment_amount: '4200', refund_count: 1, refund_amount: '500' }]);
  });

  it('finds each §9.3 outcome once, and a re-run finds the same ones without a second exception', async () => {
    const lines = await faithfulLines();
    const [first, second, third, refund] = lines as [StatementLine, StatementLine, StatementLine, StatementLine];
    const bent: StatementLine[] = [
      // first: dropped (MISSING_AT_CHANNEL); second: another amount; third: two hours off (TIME_DRIFT), listed twice.
      { ...second, amount: { ...second.amount, total: (second.amount as { total: number }).total + 1 } } as StatementLine,
      { ...third, time: third.time + 2 * hourMs },
      { ...third, time: third.time + 2 * hourMs },
      // A payment for an order Paythrough never had, and the refund CLOSED at the channel.
      { ...first, outTradeNo: `REC-${kind}-UNKNOWN`, channelTransactionId: 'pay-unknown' },
      { ...refund, state: 'CLOSED' } as StatementLine,
    ];
    serve = statementOf(bent);
    await runTheDay();
    const found = (await exceptionsOfDay()).map((e) => [e.kind, e.out_trade_no, e.status]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['AMOUNT_MISMATCH', `REC-${kind}-2`, 'OPEN'],
        ['DUPLICATE_LINE', `REC-${kind}-3`, 'OPEN'],
        ['MISSING_AT_CHANNEL', `REC-${kind}-1`, 'OPEN'],
        ['MISSING_AT_PAYTHROUGH', `REC-${kind}-UNKNOWN`, 'OPEN'],
        ['STATE_MISMATCH', `REC-${kind}-2`, 'OPEN'],
        ['TIME_DRIFT', `REC-${kind}-3`, 'OPEN'],
      ]),
    );
    expect(found).toHaveLength(6);
    const amount = (await exceptionsOfDay()).find((e) => e.kind === 'AMOUNT_MISMATCH')!;
    expect([Number(amount.our_amount), Number(amount.channel_amount)]).toEqual([2500, 2501]);

    await runTheDay();
    expect((await exceptionsOfDay()).map((e) => [e.kind, e.out_trade_no, e.status])).toEqual(
      (await exceptionsOfDay()).map((e) => [e.kind, e.out_trade_no, e.status]),
    );
    expect(await exceptionsOfDay()).toHaveLength(6);

    // The channel corrects its statement: the re-run resolves what it no longer finds, saying so.
    serve = statementOf(lines);
    await runTheDay();
    const after = await exceptionsOfDay();
    expect(after).toHaveLength(6);
    expect(after.every((e) => e.status === 'AUTO_RESOLVED' && e.action === 'absent on re-run' && e.resolved_by === 'system')).toBe(true);
  });

  it('fails a statement whose lines do not add up to its summary, or with a line outside the day, applying nothing', async () => {
    const lines = await faithfulLines();
    serve = statementOf(lines, {
      summary: [{ currency: 'CNY', paymentCount: 3, paymentAmount: 4201n, refundCount: 1, refundAmount: 500n }],
    });
    const before = (await exceptionsOfDay()).length;
    let [run] = await runTheDay();
    expect(run).toMatchObject({ status: 'FAILED' });
    expect(run!.last_error).toMatch(/^STATEMENT_INCONSISTENT/);
    expect(await exceptionsOfDay()).toHaveLength(before);

    serve = statementOf([{ ...lines[0]!, time: lines[0]!.time - 3 * 24 * hourMs }, ...lines.slice(1)]);
    [run] = await runTheDay();
    expect(run).toMatchObject({ status: 'FAILED' });
    expect(run!.last_error).toMatch(/^STATEMENT_INVALID: a line of .* is outside the day/);
  });

  it('waits for a channel that does not answer or a statement not ready, resumes at the cursor, gives up in time', async () => {
    const lines = await faithfulLines();
    let failAt: string | null | undefined = '2';
    const faithful = statementOf(lines);
    serve = async (query) => {
      if (query.cursor === failAt) {
        asked.push(query.cursor);
        return { outcome: 'unknown', reason: 'timeout after 30000 ms', mayHaveApplied: false };
      }
      return faithful(query);
    };
    let [run] = await runTheDay();
    expect(run).toMatchObject({ status: 'RETRYING', pages: 1 });
    expect(run!.next_attempt_at).toBe(context.clock.nowMs() + minuteMs);
    // The page already stored is not asked for again.
    failAt = undefined;
    context.clock.advance(minuteMs);
    await service().runDue();
    [run] = await db().selectFrom('reconciliation_runs').selectAll().where('id', '=', run!.id).execute();
    expect(run).toMatchObject({ status: 'DONE', pages: 2 });
    expect(asked).toEqual([null, '2', '2']);

    serve = async () => ({ outcome: 'rejected', code: 'STATEMENT_NOT_READY', message: 'published at 10:00' });
    [run] = await runTheDay();
    expect(run).toMatchObject({ status: 'RETRYING' });
    expect(run!.next_attempt_at).toBe(context.clock.nowMs() + 30 * minuteMs);
    context.clock.advance(72 * hourMs);
    await service().runDue();
    [run] = await db().selectFrom('reconciliation_runs').selectAll().where('id', '=', run!.id).execute();
    expect(run).toMatchObject({ status: 'FAILED' });
    expect(run!.last_error).toMatch(/gave up after 72 h/);
    context.clock.advance(-72 * hourMs);
  });

  it("keeps a finished run's lines for 7 days, its report and exceptions for good", async () => {
    serve = statementOf(await faithfulLines());
    const [run] = await runTheDay();
    const linesOf = () => db().selectFrom('reconciliation_lines').select('id').where('run_id', '=', run!.id).execute();
    const exceptions = (await exceptionsOfDay()).length;
    expect(await linesOf()).toHaveLength(4);
    context.clock.advance(7 * 24 * hourMs - minuteMs);
    await service().purgeOldLines();
    expect(await linesOf()).toHaveLength(4);
    context.clock.advance(2 * minuteMs);
    await service().purgeOldLines();
    expect(await linesOf()).toHaveLength(0);
    expect(
      (await db().selectFrom('reconciliation_runs').select('report_json').where('id', '=', run!.id).executeTakeFirst())?.report_json,
    ).toBeTruthy();
    expect(await exceptionsOfDay()).toHaveLength(exceptions);
    context.clock.advance(-(7 * 24 * hourMs + minuteMs));
  });

  it('two instances working at once read each page once: the run is claimed by one of them', async () => {
    serve = statementOf(await faithfulLines());
    const [done] = await runTheDay();
    await context.services.statementReconciliation.rerunDay(applicationId, day);
    asked.length = 0;
    const second = new StatementReconciliationService(
      db(),
      context.clock,
      context.config,
      {
        async statementSourceFor(run) {
          const source = await context.services.gatewayChannels.statementSourceFor(run.application_id, run.channel_connection_id);
          return source.available ? { channel: source.channel } : { unavailable: source.message };
        },
      },
      'second-instance',
    );
    await Promise.all([service().runDue(), second.runDue(), service().runDue(), second.runDue()]);
    expect(asked).toEqual([null, '2']);
    const [run] = await db().selectFrom('reconciliation_runs').selectAll().where('id', '=', done!.id).execute();
    expect(run).toMatchObject({ status: 'DONE', pages: 2 });
  });

  it('reads a statement again from the start when it changes mid-read', async () => {
    const lines = await faithfulLines();
    const firstSnapshot = statementOf(lines, { statementId: 'st-old' });
    const secondSnapshot = statementOf(lines, { statementId: 'st-new' });
    serve = async (query) => {
      // The first page comes from the old snapshot, every page after that from the new one.
      return asked.length === 0 ? firstSnapshot(query) : secondSnapshot(query);
    };
    const [run] = await runTheDay();
    expect(run).toMatchObject({ status: 'DONE', statement_id: 'st-new', pages: 2 });
    expect(asked).toEqual([null, '2', null, '2']);
  });
});
