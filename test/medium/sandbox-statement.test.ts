import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChannelResult, CreateChannelOrderInput } from '../../src/channels/channel.ts';
import { SandboxChannel } from '../../src/channels/sandbox/sandbox-channel.ts';
import {
  summarizeStatementLines,
  type StatementLine,
  type StatementPage,
  type StatementQuery,
  type StatementSummary,
} from '../../src/channels/statement.ts';
import { sandboxStatementRepository } from '../../src/repositories/sandbox-statement.repository.ts';
import { RecordingSink } from '../helpers/recording-sink.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

function value<T>(result: ChannelResult<T>): T {
  if (result.outcome !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.value;
}

// Day D = 2026-01-15 in China time, as Paythrough asks for it: a UTC range.
const billDate = '2026-01-15';
const fromTime = Date.UTC(2026, 0, 14, 16);
const toTime = Date.UTC(2026, 0, 15, 16);
const hour = 3600_000;
const minute = 60_000;
const merchantId = '1900000001';

const keyOf = (line: StatementLine) =>
  line.type === 'PAYMENT'
    ? `P ${line.merchantId} ${line.outTradeNo} ${line.channelTransactionId}`
    : `R ${line.merchantId} ${line.outRefundNo}`;
const sorted = (lines: readonly StatementLine[]) => lines.map((line) => JSON.stringify(line)).sort();
const summaryOf = (lines: readonly StatementLine[]): StatementSummary[] =>
  [...summarizeStatementLines(lines).values()].sort((a, b) => a.currency.localeCompare(b.currency));

describeOnEachDatabase('sandbox statement of a day (SPEC §9.1)', (kind) => {
  let context: TestContext;
  let sandbox: SandboxChannel;
  let viewA: SandboxChannel;
  let viewB: SandboxChannel;
  let sequence = 0;
  const appA = 'app_stmt_a';
  const appB = 'app_stmt_b';
  const ids: Record<string, string | null> = {};

  const query = (overrides: Partial<StatementQuery> = {}): StatementQuery => ({
    applicationId: appA,
    billDate,
    fromTime,
    toTime,
    cursor: null,
    limit: 5000,
    ...overrides,
  });

  /** Every page of the day at `limit`: the lines served, the one statement_id, the summary every page repeats. */
  async function readAll(view: SandboxChannel, limit: number, applicationId = appA) {
    const lines: StatementLine[] = [];
    const ids = new Set<string>();
    const cursors = new Set<string>();
    let summary: StatementSummary[] | undefined;
    let cursor: string | null = null;
    for (let pages = 0; pages < 1000; pages += 1) {
      const page: StatementPage = value(await view.queryStatement(query({ applicationId, cursor, limit })));
      expect(page.applicationId).toBe(applicationId);
      expect(page.billDate).toBe(billDate);
      expect(page.lines.length).toBeLessThanOrEqual(limit);
      ids.add(page.statementId);
      if (summary) expect(page.summary).toEqual(summary);
      summary = page.summary;
      lines.push(...page.lines);
      if (page.nextCursor === null) break;
      expect(page.lines.length).toBe(limit);
      expect(cursors.has(page.nextCursor)).toBe(false);
      cursors.add(page.nextCursor);
      cursor = page.nextCursor;
    }
    expect(ids.size).toBe(1);
    // The summary is the whole day as served, faults included.
    expect(summary).toEqual(summaryOf(lines));
    return { lines, statementId: [...ids][0]!, summary: summary! };
  }

  const orderInput = (outTradeNo: string, total: number, currency = 'CNY'): CreateChannelOrderInput => {
    sequence += 1;
    return {
      merchantId,
      appId: 'mnp_stmt',
      outTradeNo,
      prepayId: `wx_stmt_${kind}_${sequence}`,
      amount: { total, currency },
      description: 'Statement',
      expiresAt: context.clock.nowMs() + 2 * hour,
      attach: null,
      payer: { openid: 'o_stmt' },
    };
  };

  async function pay(view: SandboxChannel, outTradeNo: string, total: number, currency = 'CNY') {
    const input = orderInput(outTradeNo, total, currency);
    value(await view.createOrder(input));
    const paid = value(await sandbox.succeedPayment(input.prepayId));
    context.clock.advance(minute);
    return paid;
  }

  async function refund(
    view: SandboxChannel,
    applicationId: string,
    outTradeNo: string,
    outRefundNo: string,
    amount: number,
    total: number,
  ) {
    const created = value(
      await view.refund({
        merchantId,
        outTradeNo,
        outRefundNo,
        channelTransactionId: null,
        amount: { refund: amount, total, currency: 'CNY' },
        reason: null,
      }),
    );
    context.clock.advance(minute);
    return {
      created,
      settle: (outcome: 'SUCCESS' | 'CLOSED' | 'ABNORMAL') => sandbox.settleRefund(outRefundNo, outcome, { merchantId, applicationId }),
    };
  }

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    sandbox = new SandboxChannel({
      db: context.database.db,
      clock: context.clock,
      sink: new RecordingSink(),
      publicUrl: 'http://127.0.0.1:8080/',
      refundDelayMs: 24 * hour * 30,
    });
    viewA = sandbox.scopedTo(appA);
    viewB = sandbox.scopedTo(appB);

    // The day before D: a payment (not listed), refunded on D (listed, with that payment's id).
    context.clock.set(fromTime - 2 * hour);
    ids.previous = (await pay(viewA, 'PREV', 900)).channelTransactionId;
    const previousRefund = await refund(viewA, appA, 'PREV', 'R-PREV', 300, 900);

    context.clock.set(fromTime + hour);
    ids.P1 = (await pay(viewA, 'P1', 1000)).channelTransactionId;
    ids.P2 = (await pay(viewA, 'P2', 2500)).channelTransactionId;
    ids.P3 = (await pay(viewA, 'P3', 700, 'USD')).channelTransactionId;
    // Not paid: an open order, a closed one, a failed one.
    value(await viewA.createOrder(orderInput('OPEN', 100)));
    value(await viewA.createOrder(orderInput('CLOSED', 100)));
    value(await viewA.closeOrder({ merchantId, outTradeNo: 'CLOSED' }));
    const failed = orderInput('FAILED', 100);
    value(await viewA.createOrder(failed));
    value(await sandbox.failPayment(failed.prepayId));
    // A late payment: the order was closed, the money arrived anyway.
    const late = orderInput('LATE', 450);
    value(await viewA.createOrder(late));
    value(await viewA.closeOrder({ merchantId, outTradeNo: 'LATE' }));
    context.clock.advance(minute);
    ids.LATE = value(await sandbox.succeedPayment(late.prepayId, { late: true })).channelTransactionId;
    context.clock.advance(minute);

    // Refunds of P1 in each state; PROCESSING is not listed.
    value(await (await refund(viewA, appA, 'P1', 'R-SUCCESS', 100, 1000)).settle('SUCCESS'));
    value(await (await refund(viewA, appA, 'P1', 'R-CLOSED', 200, 1000)).settle('CLOSED'));
    value(await (await refund(viewA, appA, 'P1', 'R-ABNORMAL', 150, 1000)).settle('ABNORMAL'));
    await refund(viewA, appA, 'P1', 'R-PROCESSING', 50, 1000);
    value(await previousRefund.settle('SUCCESS'));

    // Another superapp with the same merchant ID and the same numbers.
    ids.B1 = (await pay(viewB, 'P1', 1000)).channelTransactionId;
    value(await (await refund(viewB, appB, 'P1', 'R-SUCCESS', 999, 1000)).settle('SUCCESS'));

    // After D: paid on D+1 (not listed).
    context.clock.set(toTime + minute);
    await pay(viewA, 'NEXT', 600);
    // Read at 10:00 China time on D+1.
    context.clock.set(toTime + 10 * hour);
  });
  afterAll(() => context?.close());

  it("serves the superapp's payments by paid time and its settled refunds by settle time, each once", async () => {
    const { lines, summary } = await readAll(viewA, 5000);
    expect(lines.map(keyOf).sort()).toEqual(
      [
        `P ${merchantId} P1 ${ids.P1}`,
        `P ${merchantId} P2 ${ids.P2}`,
        `P ${merchantId} P3 ${ids.P3}`,
        `P ${merchantId} LATE ${ids.LATE}`,
        `R ${merchantId} R-SUCCESS`,
        `R ${merchantId} R-CLOSED`,
        `R ${merchantId} R-ABNORMAL`,
        `R ${merchantId} R-PREV`,
      ].sort(),
    );
    for (const line of lines) {
      expect(line.time).toBeGreaterThanOrEqual(fromTime);
      expect(line.time).toBeLessThan(toTime);
    }
    const refunds = Object.fromEntries(lines.filter((line) => line.type === 'REFUND').map((line) => [line.outRefundNo, line]));
    expect(refunds['R-SUCCESS']).toMatchObject({
      state: 'SUCCESS',
      outTradeNo: 'P1',
      channelTransactionId: ids.P1,
      amount: { refund: 100, total: 1000 },
    });
    expect(refunds['R-CLOSED']).toMatchObject({ state: 'CLOSED', channelTransactionId: ids.P1 });
    expect(refunds['R-ABNORMAL']).toMatchObject({ state: 'ABNORMAL', channelTransactionId: ids.P1 });
    // The refund of yesterday's payment names that payment.
    expect(refunds['R-PREV']).toMatchObject({ state: 'SUCCESS', outTradeNo: 'PREV', channelTransactionId: ids.previous });
    const p1 = lines.find((line) => line.type === 'PAYMENT' && line.outTradeNo === 'P1');
    expect(p1).toMatchObject({ amount: { total: 1000, currency: 'CNY' }, state: 'SUCCESS', prepayId: expect.any(String) });
    expect(summary).toEqual([
      { currency: 'CNY', paymentCount: 3, paymentAmount: 3950n, refundCount: 2, refundAmount: 400n },
      { currency: 'USD', paymentCount: 1, paymentAmount: 700n, refundCount: 0, refundAmount: 0n },
    ]);
  });

  it('another superapp with the same merchant ID and numbers sees only its own lines', async () => {
    const { lines, summary } = await readAll(viewB, 5000, appB);
    expect(lines.map(keyOf).sort()).toEqual([`P ${merchantId} P1 ${ids.B1}`, `R ${merchantId} R-SUCCESS`].sort());
    expect(lines.find((line) => line.type === 'REFUND')).toMatchObject({ amount: { refund: 999 }, channelTransactionId: ids.B1 });
    expect(summary).toEqual([{ currency: 'CNY', paymentCount: 1, paymentAmount: 1000n, refundCount: 1, refundAmount: 999n }]);
    // A view of one superapp does not answer for another.
    expect(await viewB.queryStatement(query({ applicationId: appA }))).toMatchObject({ outcome: 'rejected', code: 'PARAM_ERROR' });
  });

  it('pages at small limits serve each line exactly once under one statement_id', async () => {
    const whole = await readAll(viewA, 5000);
    for (const limit of [1, 2, 3, 7]) {
      const paged = await readAll(viewA, limit);
      expect(paged.statementId).toBe(whole.statementId);
      expect(sorted(paged.lines)).toEqual(sorted(whole.lines));
      expect(new Set(paged.lines.map(keyOf)).size).toBe(paged.lines.length);
    }
    expect(await viewA.queryStatement(query({ cursor: 'not-a-cursor' }))).toMatchObject({ outcome: 'rejected', code: 'PARAM_ERROR' });
  });

  it("computes a snapshot's summary once, not once a page", async () => {
    // A fault names a new snapshot, whose summary no earlier read has computed.
    value(await sandbox.addStatementFault(appA, { billDate, kind: 'amount', outTradeNo: 'P2' }));
    const totals = vi.spyOn(sandboxStatementRepository, 'paymentTotals');
    try {
      const { lines } = await readAll(viewA, 1);
      expect(lines.length).toBeGreaterThan(5);
      expect(totals).toHaveBeenCalledTimes(1);
    } finally {
      totals.mockRestore();
      await sandbox.clearStatementFaults(appA, billDate);
    }
  });

  describe('faults (POST /sandbox/v1/statement-faults) bend exactly their line', () => {
    async function withFault(fault: Record<string, unknown>, check: (lines: StatementLine[], baseline: StatementLine[]) => void) {
      const baseline = await readAll(viewA, 5000);
      const added = await context.app.inject({
        method: 'POST',
        url: '/sandbox/v1/statement-faults',
        payload: { application_id: appA, bill_date: billDate, ...fault },
      });
      expect(added.statusCode, added.body).toBe(200);
      try {
        for (const limit of [1, 2, 5000]) {
          const bent = await readAll(viewA, limit);
          expect(bent.statementId).not.toBe(baseline.statementId);
          check(bent.lines, baseline.lines);
        }
      } finally {
        const cleared = await context.app.inject({
          method: 'POST',
          url: '/sandbox/v1/statement-faults/clear',
          payload: { application_id: appA, bill_date: billDate },
        });
        expect(cleared.json()).toEqual({ removed: 1 });
      }
      expect((await readAll(viewA, 5000)).statementId).toBe(baseline.statementId);
    }
    const others = (lines: StatementLine[], key: string) => sorted(lines.filter((line) => keyOf(line) !== key));
    const only = (lines: StatementLine[], key: string) => lines.filter((line) => keyOf(line) === key);

    it('drop omits the line', async () => {
      const key = `P ${merchantId} P2 ${ids.P2}`;
      await withFault({ kind: 'drop', out_trade_no: 'P2' }, (lines, baseline) => {
        expect(only(lines, key)).toEqual([]);
        expect(others(lines, key)).toEqual(others(baseline, key));
      });
    });

    it('amount adds one minor unit', async () => {
      const key = `R ${merchantId} R-SUCCESS`;
      await withFault({ kind: 'amount', out_refund_no: 'R-SUCCESS' }, (lines, baseline) => {
        const [line] = only(lines, key);
        expect(line).toEqual({ ...only(baseline, key)[0], amount: { refund: 101, total: 1000, currency: 'CNY' } });
        expect(others(lines, key)).toEqual(others(baseline, key));
      });
      const payment = `P ${merchantId} P1 ${ids.P1}`;
      await withFault({ kind: 'amount', out_trade_no: 'P1' }, (lines, baseline) => {
        expect(only(lines, payment)[0]!.amount).toEqual({ total: 1001, currency: 'CNY' });
        expect(others(lines, payment)).toEqual(others(baseline, payment));
      });
    });

    it('currency names another ISO code', async () => {
      const key = `P ${merchantId} P3 ${ids.P3}`;
      await withFault({ kind: 'currency', out_trade_no: 'P3' }, (lines, baseline) => {
        expect(only(lines, key)).toEqual([{ ...only(baseline, key)[0], amount: { total: 700, currency: 'CNY' } }]);
        expect(others(lines, key)).toEqual(others(baseline, key));
      });
    });

    it('state turns a refund SUCCESS into CLOSED and CLOSED into SUCCESS', async () => {
      for (const [number, state] of [
        ['R-SUCCESS', 'CLOSED'],
        ['R-CLOSED', 'SUCCESS'],
      ] as const) {
        const key = `R ${merchantId} ${number}`;
        await withFault({ kind: 'state', out_refund_no: number }, (lines, baseline) => {
          expect(only(lines, key)).toEqual([{ ...only(baseline, key)[0], state }]);
          expect(others(lines, key)).toEqual(others(baseline, key));
        });
      }
    });

    it('time moves the line by more than an hour within the day', async () => {
      const key = `P ${merchantId} P1 ${ids.P1}`;
      await withFault({ kind: 'time', out_trade_no: 'P1' }, (lines, baseline) => {
        const [moved] = only(lines, key);
        const original = only(baseline, key)[0]!;
        expect(Math.abs(moved!.time - original.time)).toBeGreaterThan(3600_000);
        expect(moved!.time).toBeGreaterThanOrEqual(fromTime);
        expect(moved!.time).toBeLessThan(toTime);
        expect({ ...moved, time: 0 }).toEqual({ ...original, time: 0 });
        expect(others(lines, key)).toEqual(others(baseline, key));
      });
    });

    it('duplicate serves the same line twice', async () => {
      const key = `R ${merchantId} R-SUCCESS`;
      await withFault({ kind: 'duplicate', out_refund_no: 'R-SUCCESS' }, (lines, baseline) => {
        const original = only(baseline, key)[0];
        expect(only(lines, key)).toEqual([original, original]);
        expect(others(lines, key)).toEqual(others(baseline, key));
      });
    });

    it('extra adds a second payment of an order the sandbox has, or a payment of an unknown order', async () => {
      await withFault({ kind: 'extra', out_trade_no: 'P1' }, (lines, baseline) => {
        expect(lines.length).toBe(baseline.length + 1);
        expect(sorted(lines.filter((line) => line.channelTransactionId !== lines.at(-1)!.channelTransactionId))).toEqual(sorted(baseline));
        const extra = lines.filter((line) => line.type === 'PAYMENT' && line.outTradeNo === 'P1' && line.channelTransactionId !== ids.P1);
        expect(extra).toHaveLength(1);
        expect(extra[0]).toMatchObject({ merchantId, amount: { total: 1000, currency: 'CNY' }, state: 'SUCCESS' });
        expect(baseline.some((line) => line.channelTransactionId === extra[0]!.channelTransactionId)).toBe(false);
      });
      await withFault({ kind: 'extra', out_trade_no: 'NEVER-CREATED' }, (lines, baseline) => {
        const extra = lines.filter((line) => line.outTradeNo === 'NEVER-CREATED');
        expect(extra).toEqual([
          expect.objectContaining({ type: 'PAYMENT', merchantId, channelOrderId: null, prepayId: null, state: 'SUCCESS' }),
        ]);
        expect(extra[0]!.time).toBeGreaterThanOrEqual(fromTime);
        expect(extra[0]!.time).toBeLessThan(toTime);
        expect(sorted(lines.filter((line) => line.outTradeNo !== 'NEVER-CREATED'))).toEqual(sorted(baseline));
      });
    });

    it('refuses a fault that names no line, the wrong kind of line, or no superapp', async () => {
      const post = (payload: Record<string, unknown>) =>
        context.app.inject({ method: 'POST', url: '/sandbox/v1/statement-faults', payload: { bill_date: billDate, ...payload } });
      for (const payload of [
        { application_id: appA, kind: 'drop' },
        { application_id: appA, kind: 'drop', out_trade_no: 'P1', out_refund_no: 'R-SUCCESS' },
        { application_id: appA, kind: 'state', out_trade_no: 'P1' },
        { application_id: appA, kind: 'extra', out_refund_no: 'R-SUCCESS' },
        { application_id: appA, kind: 'melt', out_trade_no: 'P1' },
        { application_id: appA, kind: 'drop', out_trade_no: 'P1', surprise: true },
        { kind: 'drop', out_trade_no: 'P1' },
      ]) {
        const response = await post(payload);
        expect(response.statusCode, JSON.stringify(payload)).toBe(400);
        expect(response.json()).toMatchObject({ code: 'PARAM_ERROR' });
      }
      expect(await context.database.db.selectFrom('sandbox_statement_faults').selectAll().execute()).toEqual([]);
    });

    it("a fault bends only its superapp's day", async () => {
      const b = await readAll(viewB, 5000, appB);
      await context.app.inject({
        method: 'POST',
        url: '/sandbox/v1/statement-faults',
        payload: { application_id: appA, bill_date: billDate, kind: 'drop', out_trade_no: 'P1' },
      });
      expect(await readAll(viewB, 5000, appB)).toEqual(b);
      // Another day of the same superapp is not bent either.
      const other = await viewA.queryStatement(query({ billDate: '2026-01-14', fromTime: fromTime - 86_400_000, toTime: fromTime }));
      expect(value(other).lines.map(keyOf)).toEqual([`P ${merchantId} PREV ${ids.previous}`]);
      await context.app.inject({
        method: 'POST',
        url: '/sandbox/v1/statement-faults/clear',
        payload: { application_id: appA, bill_date: billDate },
      });
    });
  });

  it("reads a superapp's day on the (superapp_id, paid_at) and (superapp_id, settled_at) indexes", async () => {
    const db = context.database.db;
    if (kind === 'sqlite') {
      const plan = async (statement: ReturnType<typeof sql>) =>
        (await statement.execute(db)).rows.map((row) => (row as { detail: string }).detail).join('\n');
      expect(
        await plan(sql`explain query plan select * from sandbox_orders where superapp_id = ${appA} and paid_at >= ${fromTime}
          and paid_at < ${toTime} and state = 'SUCCESS' order by paid_at, id limit 10`),
      ).toMatch(/USING INDEX sandbox_orders_by_paid_time/);
      expect(
        await plan(sql`explain query plan select * from sandbox_refunds where superapp_id = ${appA} and settled_at >= ${fromTime}
          and settled_at < ${toTime} and state in ('SUCCESS', 'CLOSED', 'ABNORMAL') order by settled_at, id limit 10`),
      ).toMatch(/USING INDEX sandbox_refunds_by_settle_time/);
    } else {
      const indexes = await sql<{ indexdef: string }>`select indexdef from pg_indexes where schemaname = current_schema()
        and indexname in ('sandbox_orders_by_paid_time', 'sandbox_refunds_by_settle_time') order by indexname`.execute(db);
      expect(indexes.rows.map((row) => row.indexdef.replace(/^.* USING btree /, ''))).toEqual([
        '(superapp_id, paid_at, id)',
        '(superapp_id, settled_at, id)',
      ]);
    }
  });

  it('a day not over yet is STATEMENT_NOT_READY; one past retention is PARAM_ERROR', async () => {
    const now = context.clock.nowMs();
    try {
      context.clock.set(toTime - 1);
      expect(await viewA.queryStatement(query())).toMatchObject({ outcome: 'rejected', code: 'STATEMENT_NOT_READY' });
      context.clock.set(toTime);
      expect(value(await viewA.queryStatement(query())).lines.length).toBeGreaterThan(0);
      context.clock.set(fromTime + 93 * 86_400_000);
      expect(value(await viewA.queryStatement(query())).lines.length).toBeGreaterThan(0);
      context.clock.set(fromTime + 93 * 86_400_000 + 1);
      expect(await viewA.queryStatement(query())).toMatchObject({ outcome: 'rejected', code: 'PARAM_ERROR' });
    } finally {
      context.clock.set(now);
    }
  });

  it('a change mid-read gives a new statement_id', async () => {
    const first = value(await viewA.queryStatement(query({ limit: 2 })));
    expect(first.nextCursor).not.toBeNull();
    // A refund of a payment of D touches its order (the refund itself settles later, on another day).
    await refund(viewA, appA, 'P2', 'R-MID-READ', 10, 2500);
    const second = value(await viewA.queryStatement(query({ limit: 2, cursor: first.nextCursor })));
    expect(second.statementId).not.toBe(first.statementId);
    // The ABNORMAL refund ends SUCCESS today: it leaves D, and the day's snapshot changes again.
    const before = await readAll(viewA, 5000);
    value(await sandbox.settleRefund('R-ABNORMAL', 'SUCCESS', { merchantId, applicationId: appA }));
    const after = await readAll(viewA, 5000);
    expect(after.statementId).not.toBe(before.statementId);
    expect(after.lines.map(keyOf)).not.toContain(`R ${merchantId} R-ABNORMAL`);
  });
});
