import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChannelResult } from '../../src/channels/channel.ts';
import { channelProtocolPaths, signChannelMessage, verifyChannelSignature } from '../../src/channels/protocol.ts';
import {
  statementPageFromWire,
  summarizeStatementLines,
  wireStatementPageSchema,
  type StatementLine,
  type StatementPage,
} from '../../src/channels/statement.ts';
import { startSandboxServer, type RunningSandboxServer } from '../../src/cli/sandbox-server.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const channelKey = 'k3y-for-the-sandbox-statement-0123456789';
const applicationId = 'app_standalone_statement';
const billDate = '2026-01-15';
const fromTime = Date.UTC(2026, 0, 14, 16);
const toTime = Date.UTC(2026, 0, 15, 16);

function value<T>(result: ChannelResult<T>): T {
  if (result.outcome !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.value;
}

describeOnEachDatabase('the standalone sandbox serves POST /v1/statements/query', (kind) => {
  let context: TestContext;
  let server: RunningSandboxServer;
  const paid: Record<string, string | null> = {};

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    const schema =
      kind === 'postgres'
        ? String((await sql<{ s: string }>`select current_schema() as s`.execute(context.database.db)).rows[0]!.s)
        : undefined;
    server = await startSandboxServer({
      databaseUrl: context.config.databaseUrl,
      ...(schema ? { postgresSchema: schema } : {}),
      channelKey,
      // Events go nowhere that answers: the statement does not depend on their delivery.
      callbackUrl: 'http://127.0.0.1:9/channel/v1/superapps/x/events',
      tickIntervalMs: 0,
      clock: context.clock,
    });
    context.clock.set(fromTime + 3600_000);
    for (const [index, outTradeNo] of ['S1', 'S2', 'S3'].entries()) {
      const prepayId = `wx_standalone_${kind}_${index}`;
      value(
        await server.sandbox.createOrder({
          merchantId: '1900000009',
          appId: 'mnp_standalone',
          outTradeNo,
          prepayId,
          amount: { total: 1000 + index, currency: 'CNY' },
          description: 'Standalone',
          expiresAt: context.clock.nowMs() + 7200_000,
          attach: null,
          payer: { openid: 'o_standalone' },
        }),
      );
      paid[outTradeNo] = value(await server.sandbox.succeedPayment(prepayId)).channelTransactionId;
      context.clock.advance(60_000);
    }
    value(
      await server.sandbox.refund({
        merchantId: '1900000009',
        outTradeNo: 'S1',
        outRefundNo: 'SR1',
        channelTransactionId: null,
        amount: { refund: 400, total: 1000, currency: 'CNY' },
        reason: null,
      }),
    );
    value(await server.sandbox.settleRefund('SR1', 'SUCCESS'));
    context.clock.set(toTime + 10 * 3600_000);
  });
  afterAll(async () => {
    await server?.stop();
    await context?.close();
  });

  const body = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      application_id: applicationId,
      bill_date: billDate,
      from_time: new Date(fromTime).toISOString(),
      to_time: new Date(toTime).toISOString(),
      cursor: null,
      limit: 5000,
      ...overrides,
    });
  const post = (payload: string, headers: Record<string, string>) =>
    fetch(`${server.url}${channelProtocolPaths.queryStatement}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: payload,
    });
  const signed = (payload: string) => post(payload, { ...signChannelMessage(channelKey, payload, { nowMs: context.clock.nowMs() }) });

  /** The answer, its signature checked as Paythrough checks it. */
  async function answer(response: Response) {
    const text = await response.text();
    const signature = verifyChannelSignature({
      headers: Object.fromEntries(response.headers.entries()),
      body: text,
      channelKeys: [channelKey],
      nowMs: context.clock.nowMs(),
    });
    expect(signature.ok, text).toBe(true);
    return { status: response.status, json: JSON.parse(text) as Record<string, unknown> };
  }

  async function page(overrides: Record<string, unknown> = {}): Promise<StatementPage> {
    const { status, json } = await answer(await signed(body(overrides)));
    expect(status, JSON.stringify(json)).toBe(200);
    return statementPageFromWire(wireStatementPageSchema.parse(json));
  }

  it('answers a signed query with the signed statement, page by page', async () => {
    const whole = await page();
    expect(whole).toMatchObject({ applicationId, billDate, nextCursor: null });
    expect(whole.lines.map((line) => (line.type === 'PAYMENT' ? line.channelTransactionId : line.outRefundNo)).sort()).toEqual(
      [paid.S1, paid.S2, paid.S3, 'SR1'].sort(),
    );
    expect(whole.summary).toEqual([{ currency: 'CNY', paymentCount: 3, paymentAmount: 3003n, refundCount: 1, refundAmount: 400n }]);
    // Sums travel as exact decimal strings.
    const { json } = await answer(await signed(body()));
    expect((json.summary as Array<Record<string, unknown>>)[0]).toMatchObject({ payment_amount: '3003', refund_amount: '400' });

    const lines: StatementLine[] = [];
    let cursor: string | null = null;
    do {
      const next: StatementPage = await page({ cursor, limit: 1 });
      expect(next.statementId).toBe(whole.statementId);
      expect(next.lines.length).toBeLessThanOrEqual(1);
      lines.push(...next.lines);
      cursor = next.nextCursor;
    } while (cursor !== null);
    expect(lines).toEqual(whole.lines);
    expect([...summarizeStatementLines(lines).values()]).toEqual(whole.summary);
  });

  it('its control API bends the statement without an application_id (it serves one superapp)', async () => {
    const before = await page();
    const added = await fetch(`${server.url}/sandbox/v1/statement-faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ bill_date: billDate, kind: 'drop', out_trade_no: 'S2' }),
    });
    expect(added.status, await added.clone().text()).toBe(200);
    const bent = await page();
    expect(bent.statementId).not.toBe(before.statementId);
    expect(bent.lines.some((line) => line.outTradeNo === 'S2' && line.type === 'PAYMENT')).toBe(false);
    expect(bent.summary).toEqual([{ currency: 'CNY', paymentCount: 2, paymentAmount: 2002n, refundCount: 1, refundAmount: 400n }]);
    const cleared = await fetch(`${server.url}/sandbox/v1/statement-faults/clear`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ bill_date: billDate }),
    });
    expect(await cleared.json()).toEqual({ removed: 1 });
    expect((await page()).statementId).toBe(before.statementId);
  });

  it('refuses unsigned and badly signed queries, and answers the protocol errors signed', async () => {
    const payload = body();
    const unsigned = await post(payload, {});
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ code: 'SIGN_ERROR' });
    const forged = await post(payload, { ...signChannelMessage(`${channelKey}-other`, payload, { nowMs: context.clock.nowMs() }) });
    expect(forged.status).toBe(401);
    const anotherBody = await post(payload, { ...signChannelMessage(channelKey, body({ limit: 1 }), { nowMs: context.clock.nowMs() }) });
    expect(anotherBody.status).toBe(401);
    const stale = await post(payload, { ...signChannelMessage(channelKey, payload, { nowMs: context.clock.nowMs() - 301_000 }) });
    expect(stale.status).toBe(401);

    const notReady = await answer(await signed(body({ to_time: new Date(context.clock.nowMs() + 1).toISOString() })));
    expect(notReady).toMatchObject({ status: 409, json: { code: 'STATEMENT_NOT_READY' } });
    const malformed = await answer(await signed(body({ limit: 5001 })));
    expect(malformed).toMatchObject({ status: 400, json: { code: 'PARAM_ERROR' } });
    const badCursor = await answer(await signed(body({ cursor: 'bm90LWEtY3Vyc29y' })));
    expect(badCursor).toMatchObject({ status: 400, json: { code: 'PARAM_ERROR' } });
  });
});
