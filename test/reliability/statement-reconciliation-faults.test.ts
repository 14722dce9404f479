import { afterAll, beforeAll, expect, it } from 'vitest';
import { channelCallbackPath, signChannelMessage, type WireOrder, type WireRefund } from '../../src/channels/protocol.ts';
import type { StatementLine } from '../../src/channels/statement.ts';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../src/domain/business-time.ts';
import { hourMs, minuteMs } from '../../src/domain/clock.ts';
import { tlsFixtures } from '../fixtures/keys/index.ts';
import { demoActor, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { FakeChannelServer, paymentLineOf } from './fake-channel-server.ts';

/**
 * SPEC §9.7 over the channel protocol: a fake HTTP channel (HTTPS, signed both ways) serves a statement bent for each
 * §9.3 outcome and each fault, one business day per case. Each case gives its outcome and its action, and nothing
 * else changes: the money tables (orders, channel payments, refunds, state history, outbox) are compared before and
 * after the run, and only the case's own rows may differ. Then every day is re-run: the same report bytes, the same
 * exceptions, no money moved a second time.
 */

const channelKey = 'statement-faults-channel-key-0123456789';
const timezone = 'Asia/Shanghai';
const driftSeconds = 3600;
const moneyTables = ['orders', 'channel_payments', 'refunds', 'payment_state_history', 'outbox'] as const;
type MoneyTable = (typeof moneyTables)[number];
type Snapshot = Map<string, { table: MoneyTable; row: Record<string, unknown> }>;

const refundLine = (refund: WireRefund, transactionId: string, changes: Partial<StatementLine> = {}): StatementLine =>
  ({
    type: 'REFUND',
    merchantId: refund.merchant_id,
    outTradeNo: refund.out_trade_no,
    channelTransactionId: transactionId,
    outRefundNo: refund.out_refund_no,
    channelRefundId: refund.channel_refund_id,
    amount: { ...refund.amount },
    state: refund.state === 'PROCESSING' ? 'SUCCESS' : refund.state,
    time: Date.parse(refund.settle_time!),
    ...changes,
  }) as StatementLine;

interface Expected {
  kind: string;
  out_trade_no: string;
  out_refund_no: string | null;
  status: string;
  action: string | null;
}

interface OutcomeCase {
  name: string;
  /** Makes the case's records on its day (the clock at 12:00 there); the lines the channel lists, its own orders. */
  arrange(n: (suffix: string) => string, day: string): Promise<{ lines: StatementLine[]; days?: string[] }>;
  expected(n: (suffix: string) => string): Omit<Expected, 'out_refund_no'>[] | Expected[];
  /** The money tables the case's action changes (its own rows only); none for a finding recorded alone. */
  changes: MoneyTable[];
}

describeOnEachDatabase('statement reconciliation over HTTP: every outcome and fault, nothing else changed', (kind) => {
  let context: TestContext;
  let server: FakeChannelServer;
  let applicationId: string;
  let client: V3InjectClient;
  let connectionId: number;
  let day: string;
  /** Every day an outcome case reconciled, for the re-run at the end. */
  const reconciled: string[] = [];
  /** Every line the outcome cases' channel listed (each case on its own days). */
  const outcomeLines: StatementLine[] = [];

  const db = () => context.database.db;

  async function deliver(body: string) {
    const answer = await context.app.inject({
      method: 'POST',
      url: channelCallbackPath(applicationId),
      headers: { 'content-type': 'application/json', ...signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() }) },
      payload: body,
    });
    expect(answer.statusCode).toBe(204);
  }
  async function prepay(outTradeNo: string, total: number) {
    expect((await client.prepay({ outTradeNo, total })).statusCode).toBe(200);
  }
  /** An order paid at the channel and the payment's callback received: recorded on both sides. */
  async function paid(outTradeNo: string, total = 1000): Promise<WireOrder> {
    await prepay(outTradeNo, total);
    const order = server.pay(client.merchant.mchid, outTradeNo);
    await deliver(server.event('payment.succeeded', order));
    return order;
  }
  /** A refund of `order` asked through Paythrough; settled at the channel, told to Paythrough unless `silently`. */
  async function refunded(order: WireOrder, outRefundNo: string, amount: number, options: { silently?: boolean } = {}) {
    const asked = await client.refund({ outTradeNo: order.out_trade_no, outRefundNo, refund: amount, total: order.amount.total });
    expect(asked.statusCode).toBe(200);
    context.clock.advance(minuteMs);
    const settled = server.settleRefund(client.merchant.mchid, outRefundNo, 'SUCCESS');
    if (!options.silently) await deliver(server.event('refund.succeeded', settled));
    return settled;
  }

  /** The money tables, row by row (keyed by table and id). */
  async function snapshot(): Promise<Snapshot> {
    const taken: Snapshot = new Map();
    for (const table of moneyTables) {
      const rows = (await db().selectFrom(table).selectAll().execute()) as Record<string, unknown>[];
      for (const row of rows) taken.set(`${table}:${String(row.id)}`, { table, row: JSON.parse(JSON.stringify(row)) });
    }
    return taken;
  }
  /** Rows added, changed or gone between two snapshots. */
  function diff(before: Snapshot, after: Snapshot) {
    const changed: { table: MoneyTable; row: Record<string, unknown> }[] = [];
    for (const [key, entry] of after) {
      const was = before.get(key);
      if (!was || JSON.stringify(was.row) !== JSON.stringify(entry.row)) changed.push(entry);
    }
    for (const [key, entry] of before) if (!after.has(key)) changed.push(entry);
    return changed;
  }
  /** Whether a changed row is one of the case's orders' (the order, its payments, refunds, their history, their notifications). */
  function ownedBy(after: Snapshot, outTradeNos: Set<string>) {
    const orderIds = new Set<string>();
    const refundIds = new Set<string>();
    for (const { table, row } of after.values()) {
      if (table === 'orders' && outTradeNos.has(String(row.out_trade_no))) orderIds.add(String(row.id));
      if (table === 'refunds' && outTradeNos.has(String(row.out_trade_no))) refundIds.add(String(row.id));
    }
    return ({ table, row }: { table: MoneyTable; row: Record<string, unknown> }) => {
      switch (table) {
        case 'orders':
        case 'refunds':
          return outTradeNos.has(String(row.out_trade_no));
        case 'channel_payments':
          return orderIds.has(String(row.order_id));
        case 'payment_state_history':
          return (row.subject === 'order' ? orderIds : refundIds).has(String(row.subject_id));
        case 'outbox':
          return orderIds.has(String(row.subject_id)) || refundIds.has(String(row.subject_id));
      }
    };
  }

  const exceptionsOf = (billDate: string) =>
    db()
      .selectFrom('reconciliation_exceptions')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', billDate)
      .orderBy('item_key')
      .execute();
  const findingsOf = async (billDate: string) =>
    (await exceptionsOf(billDate)).map((e) => ({
      kind: e.kind,
      out_trade_no: e.out_trade_no,
      out_refund_no: e.out_refund_no,
      status: e.status,
      action: e.action,
    }));
  const runOf = async (billDate: string) =>
    (await db()
      .selectFrom('reconciliation_runs')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', billDate)
      .where('channel_connection_id', '=', connectionId)
      .executeTakeFirst())!;
  async function reconcile(billDate: string) {
    await context.services.statementReconciliation.reconcileDay(billDate, applicationId);
    return runOf(billDate);
  }
  /** The next business day for a case: the clock at 12:00 of it. */
  function nextDay(): string {
    day = addCalendarDays(day, 2);
    context.clock.set(businessTimeOn(day, '12:00', timezone));
    return day;
  }
  const afterCutoff = (billDate: string) => context.clock.set(businessTimeOn(addCalendarDays(billDate, 1), '10:30', timezone));

  beforeAll(async () => {
    context = await createTestContext(kind, {
      config: { allowPrivateTargets: ['127.0.0.1/32'], timezone, reconciliationDriftSeconds: driftSeconds },
      backgroundJobs: false,
    });
    const manifest = await context.services.demoWorld.ensure();
    applicationId = manifest.superapp.applicationId;
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    context.services.gatewayChannels.configureConnector({
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      tls: { ca: tlsFixtures.caPem },
      timeoutMs: 2_000,
      statementTimeoutMs: 400,
    });
    server = await new FakeChannelServer(channelKey, context.clock, {
      keyPem: tlsFixtures.serverKeyPem,
      certPem: tlsFixtures.serverCertPem,
      hostname: tlsFixtures.hostname,
    }).start();
    server.statementPageSize = 2;
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    const view = await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'http', baseUrl: server.url, secret: channelKey },
    });
    connectionId = view.channelConnectionId!;
    // Days after the switch to the HTTP channel: the demo's sandbox connection is retired by then.
    day = addCalendarDays(businessDateOf(context.clock.nowMs(), timezone), 1);
  });
  afterAll(async () => {
    await server?.stop();
    await context?.close();
  });

  const open = (k: string, outTradeNo: string, outRefundNo: string | null = null): Expected => ({
    kind: k,
    out_trade_no: outTradeNo,
    out_refund_no: outRefundNo,
    status: 'OPEN',
    action: null,
  });
  const autoResolved = (k: string, outTradeNo: string, action: string, outRefundNo: string | null = null): Expected => ({
    kind: k,
    out_trade_no: outTradeNo,
    out_refund_no: outRefundNo,
    status: 'AUTO_RESOLVED',
    action,
  });

  const cases: OutcomeCase[] = [
    {
      name: 'a day the channel agrees with: no finding',
      async arrange(n) {
        const order = await paid(n('a'), 1000);
        const refund = await refunded(order, n('a-r'), 300);
        return { lines: [paymentLineOf(order), refundLine(refund, order.channel_transaction_id!), paymentLineOf(await paid(n('b'), 700))] };
      },
      expected: () => [],
      changes: [],
    },
    {
      name: 'drop: a payment and a SUCCESS refund missing at the channel',
      async arrange(n) {
        const kept = await paid(n('kept'), 500);
        const dropped = await paid(n('dropped'), 800);
        await refunded(kept, n('kept-r'), 100);
        return { lines: [paymentLineOf(kept), paymentLineOf(dropped)].filter((line) => line.outTradeNo !== n('dropped')) };
      },
      expected: (n) => [open('MISSING_AT_CHANNEL', n('dropped')), open('MISSING_AT_CHANNEL', n('kept'), n('kept-r'))],
      changes: [],
    },
    {
      name: 'drop listed on another day (the channel cut the day 30 min earlier): MATCHED on both days',
      async arrange(n, caseDay) {
        // Paid 00:20 of the day; the channel lists it at 23:50 of the day before.
        context.clock.set(businessTimeOn(caseDay, '00:20', timezone));
        const order = await paid(n('early'), 900);
        const line = paymentLineOf(order, { time: Date.parse(order.paid_time!) - 30 * minuteMs });
        context.clock.set(businessTimeOn(caseDay, '12:00', timezone));
        return { lines: [line], days: [addCalendarDays(caseDay, -1)] };
      },
      expected: () => [],
      changes: [],
    },
    {
      name: 'extra for an open (WAIT_PAY) order: queried, paid',
      async arrange(n) {
        await prepay(n('open'), 1200);
        // The user paid; the channel's callback never came.
        return { lines: [paymentLineOf(server.pay(client.merchant.mchid, n('open')))] };
      },
      expected: (n) => [autoResolved('MISSING_AT_PAYTHROUGH', n('open'), 'paid')],
      changes: ['orders', 'channel_payments', 'payment_state_history', 'outbox'],
    },
    {
      name: 'extra for a closed order: queried, a late payment refunded in full',
      async arrange(n) {
        await prepay(n('closed'), 1500);
        expect((await client.close(n('closed'))).statusCode).toBe(204);
        return { lines: [paymentLineOf(server.pay(client.merchant.mchid, n('closed'), { late: true }))] };
      },
      expected: (n) => [autoResolved('MISSING_AT_PAYTHROUGH', n('closed'), 'late payment refunded')],
      changes: ['orders', 'channel_payments', 'refunds', 'payment_state_history', 'outbox'],
    },
    {
      name: 'extra for an unknown order: OPEN, nothing done',
      async arrange(n) {
        const known = await paid(n('known'), 400);
        return {
          lines: [
            paymentLineOf(known),
            paymentLineOf({
              ...known,
              out_trade_no: n('never'),
              channel_transaction_id: `TX-${n('never')}`,
              channel_order_id: `FCO-${n('never')}`,
            }),
          ],
        };
      },
      expected: (n) => [open('MISSING_AT_PAYTHROUGH', n('never'))],
      changes: [],
    },
    {
      name: 'a second payment of a paid order: a duplicate, refunded in full',
      async arrange(n) {
        const order = await paid(n('twice'), 600);
        context.clock.advance(minuteMs);
        const second = server.pay(client.merchant.mchid, n('twice'), { transactionId: `TX2-${n('twice')}` });
        return { lines: [paymentLineOf(order), paymentLineOf(second, { time: context.clock.nowMs() })] };
      },
      expected: (n) => [autoResolved('MISSING_AT_PAYTHROUGH', n('twice'), 'duplicate refunded')],
      changes: ['orders', 'channel_payments', 'refunds', 'payment_state_history'],
    },
    {
      name: 'another amount: AMOUNT_MISMATCH, never applied',
      async arrange(n) {
        const order = await paid(n('amount'), 2500);
        return { lines: [paymentLineOf(order, { amount: { total: 2501, currency: 'CNY' } })] };
      },
      expected: (n) => [open('AMOUNT_MISMATCH', n('amount'))],
      changes: [],
    },
    {
      name: 'another currency: AMOUNT_MISMATCH, never applied',
      async arrange(n) {
        const order = await paid(n('currency'), 2500);
        return { lines: [paymentLineOf(order, { amount: { total: 2500, currency: 'USD' } })] };
      },
      expected: (n) => [open('AMOUNT_MISMATCH', n('currency'))],
      changes: [],
    },
    {
      name: 'refund state, ours PROCESSING, the channel SUCCESS: settled to the channel’s answer',
      async arrange(n) {
        const order = await paid(n('settle'), 1000);
        const refund = await refunded(order, n('settle-r'), 400, { silently: true });
        return { lines: [paymentLineOf(order), refundLine(refund, order.channel_transaction_id!)] };
      },
      expected: (n) => [autoResolved('STATE_MISMATCH', n('settle'), 'settled to SUCCESS', n('settle-r'))],
      changes: ['orders', 'refunds', 'payment_state_history', 'outbox'],
    },
    {
      name: 'refund state, ours SUCCESS, the channel ABNORMAL: OPEN',
      async arrange(n) {
        const order = await paid(n('abnormal'), 1000);
        const refund = await refunded(order, n('abnormal-r'), 400);
        return { lines: [paymentLineOf(order), refundLine(refund, order.channel_transaction_id!, { state: 'ABNORMAL' })] };
      },
      expected: (n) => [open('STATE_MISMATCH', n('abnormal'), n('abnormal-r'))],
      changes: [],
    },
    {
      name: 'time drift within the allowed drift: MATCHED',
      async arrange(n) {
        const order = await paid(n('near'), 300);
        return { lines: [paymentLineOf(order, { time: Date.parse(order.paid_time!) + driftSeconds * 1000 - minuteMs })] };
      },
      expected: () => [],
      changes: [],
    },
    {
      name: 'time drift beyond the allowed drift: TIME_DRIFT',
      async arrange(n) {
        const order = await paid(n('far'), 300);
        return { lines: [paymentLineOf(order, { time: Date.parse(order.paid_time!) + driftSeconds * 1000 + minuteMs })] };
      },
      expected: (n) => [open('TIME_DRIFT', n('far'))],
      changes: [],
    },
    {
      name: 'a line listed twice: DUPLICATE_LINE',
      async arrange(n) {
        const order = await paid(n('dup'), 300);
        return { lines: [paymentLineOf(order), paymentLineOf(order)] };
      },
      expected: (n) => [open('DUPLICATE_LINE', n('dup'))],
      changes: [],
    },
  ];

  cases.forEach((testCase, index) => {
    it(`outcome: ${testCase.name}`, async () => {
      const caseDay = nextDay();
      const n = (suffix: string) => `SRF${kind === 'sqlite' ? 'S' : 'P'}${index}-${suffix}`;
      const { lines, days = [] } = await testCase.arrange(n, caseDay);
      server.statementLines = lines;
      outcomeLines.push(...lines);
      const ours = new Set(lines.map((line) => line.outTradeNo));
      for (const { row } of (await snapshot()).values())
        if (String(row.out_trade_no ?? '').startsWith(n(''))) ours.add(String(row.out_trade_no));
      afterCutoff(caseDay);
      const before = await snapshot();
      for (const other of days) {
        expect(await reconcile(other)).toMatchObject({ status: 'DONE' });
        expect(await findingsOf(other)).toEqual([]);
      }
      const run = await reconcile(caseDay);
      reconciled.push(...days, caseDay);
      const after = await snapshot();
      expect(run).toMatchObject({ status: 'DONE', last_error: null });
      const expected = testCase.expected(n).map((e) => ({ out_refund_no: null, ...e }));
      const sortKey = (e: { kind: string; out_trade_no: string; out_refund_no: string | null }) =>
        `${e.kind}:${e.out_trade_no}:${e.out_refund_no ?? ''}`;
      expect((await findingsOf(caseDay)).sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
        expected.sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
      );
      const changed = diff(before, after);
      // Nothing but the case's own rows changed, and exactly in the tables its action writes.
      expect(changed.filter((entry) => !ownedBy(after, ours)(entry))).toEqual([]);
      expect([...new Set(changed.map((entry) => entry.table))].sort()).toEqual([...testCase.changes].sort());
      // Each page asked once, in order.
      const cursors = server.statementCursors(caseDay);
      expect(cursors).toEqual(Array.from({ length: Math.max(1, Math.ceil(lines.length / 2)) }, (_, i) => (i === 0 ? null : String(i * 2))));
    });
  });

  it('outcome actions moved the money they should: the late payment and the duplicate refunded once at the channel', () => {
    const refundsAtChannel = [...server.refunds.values()].map((refund) => [refund.out_trade_no, refund.amount.refund]);
    expect(refundsAtChannel).toEqual(
      expect.arrayContaining([
        [`SRF${kind === 'sqlite' ? 'S' : 'P'}4-closed`, 1500],
        [`SRF${kind === 'sqlite' ? 'S' : 'P'}6-twice`, 600],
      ]),
    );
  });

  interface FaultCase {
    name: string;
    /** Bends the channel for the first read; the run's status and error after it. */
    inject(caseDay: string): void;
    status: 'RETRYING' | 'FAILED' | 'DONE';
    error: RegExp | null;
    /** How long until the read is due again (RETRYING). */
    retryInMs?: number;
    /** The cursors asked for in the first read. */
    cursors: (string | null)[];
  }
  /** The fault hits the query of the second page only (the first is stored by then). */
  const faultOnSecondPage = (mode: 'error5xx' | 'timeout' | 'badSignature', applied: boolean) => {
    server.onStatementQuery = (query) => {
      if (query.cursor === '2') {
        server.inject({ mode, applied, path: server.statementPath, times: 1 });
        server.onStatementQuery = undefined;
      }
    };
  };
  const faults: FaultCase[] = [
    {
      name: '5xx on the second page',
      inject: () => faultOnSecondPage('error5xx', false),
      status: 'RETRYING',
      error: /did not answer|refused/,
      retryInMs: minuteMs,
      cursors: [null, '2'],
    },
    {
      name: 'timeout on the second page',
      inject: () => faultOnSecondPage('timeout', false),
      status: 'RETRYING',
      error: /did not answer/,
      retryInMs: minuteMs,
      cursors: [null, '2'],
    },
    {
      name: 'a bad signature on the second page',
      inject: () => faultOnSecondPage('badSignature', true),
      status: 'RETRYING',
      error: /did not answer/,
      retryInMs: minuteMs,
      cursors: [null, '2'],
    },
    {
      name: 'not ready',
      inject: () => (server.statementFault = 'notReady'),
      status: 'RETRYING',
      error: /not ready/,
      retryInMs: 30 * minuteMs,
      cursors: [null],
    },
    {
      name: 'statement_id changing mid-read: read again from the start',
      inject(caseDay) {
        server.onStatementQuery = (query) => {
          if (query.billDate === caseDay && query.cursor === '2') server.statementId = 'FCS-2';
        };
      },
      status: 'DONE',
      error: null,
      cursors: [null, '2', null, '2'],
    },
    {
      name: 'a summary the lines do not add up to',
      inject: () => (server.statementFault = 'badSummary'),
      status: 'FAILED',
      error: /^STATEMENT_INCONSISTENT/,
      cursors: [null, '2'],
    },
  ];

  faults.forEach((fault, index) => {
    it(`fault: ${fault.name}`, async () => {
      const caseDay = nextDay();
      const n = (suffix: string) => `SRF${kind === 'sqlite' ? 'S' : 'P'}F${index}-${suffix}`;
      const orders = [await paid(n('1'), 100), await paid(n('2'), 200), await paid(n('3'), 300)];
      server.statementLines = orders.map((order) => paymentLineOf(order));
      server.statementId = 'FCS-1';
      afterCutoff(caseDay);
      const before = await snapshot();
      const exceptionsBefore = (await db().selectFrom('reconciliation_exceptions').select('id').execute()).length;
      fault.inject(caseDay);
      const run = await reconcile(caseDay);
      server.clearFaults();
      server.statementFault = undefined;
      server.onStatementQuery = undefined;
      expect(run.status).toBe(fault.status);
      if (fault.error) expect(run.last_error).toMatch(fault.error);
      else expect(run.last_error).toBeNull();
      expect(server.statementCursors(caseDay)).toEqual(fault.cursors);
      // Nothing applied: no money row changed, no exception recorded.
      expect(diff(before, await snapshot())).toEqual([]);
      expect((await db().selectFrom('reconciliation_exceptions').select('id').execute()).length).toBe(exceptionsBefore);
      if (fault.status === 'RETRYING') {
        expect(run.next_attempt_at).toBe(context.clock.nowMs() + fault.retryInMs!);
        // Not before it is due; then it resumes at the stored cursor (a stored page is not asked for again).
        await context.services.statementReconciliation.runDue();
        expect(server.statementCursors(caseDay)).toEqual(fault.cursors);
        context.clock.advance(fault.retryInMs!);
        await context.services.statementReconciliation.runDue();
        expect(await runOf(caseDay)).toMatchObject({ status: 'DONE', last_error: null });
        // The page that failed is asked again, then the rest: never a page already stored.
        const failed = fault.cursors.at(-1)!;
        expect(server.statementCursors(caseDay)).toEqual([...fault.cursors, ...(failed === null ? [null, '2'] : ['2'])]);
        expect(await findingsOf(caseDay)).toEqual([]);
        expect(diff(before, await snapshot())).toEqual([]);
      }
      if (fault.status === 'DONE') {
        expect(run.statement_id).toBe('FCS-2');
        expect(await findingsOf(caseDay)).toEqual([]);
      }
    });
  });

  it('re-run of every day: the same report bytes and exceptions, no new exception, no money moved again', async () => {
    const days = [...new Set(reconciled)];
    const reportOf = async (billDate: string) => {
      const run = await runOf(billDate);
      return { status: run.status, report: run.report_json, lastError: run.last_error };
    };
    const exceptionsKept = async (billDate: string) =>
      (await exceptionsOf(billDate)).map(({ updated_at: _u, last_seen_pass: _p, run_id: _r, ...kept }) => kept);
    const firstReports = await Promise.all(days.map(reportOf));
    const firstExceptions = await Promise.all(days.map(exceptionsKept));
    expect(firstExceptions.flat().length).toBeGreaterThanOrEqual(12);
    const refundsAtChannel = server.refunds.size;
    server.statementLines = outcomeLines;
    const before = await snapshot();
    context.clock.advance(hourMs);
    for (const billDate of days) await context.services.statementReconciliation.reconcileDay(billDate, applicationId);
    expect(await Promise.all(days.map(reportOf))).toEqual(firstReports);
    expect(await Promise.all(days.map(exceptionsKept))).toEqual(firstExceptions);
    expect(diff(before, await snapshot())).toEqual([]);
    expect(server.refunds.size).toBe(refundsAtChannel);
  });
});
