import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WireOrder } from '../../src/channels/protocol.ts';
import { channelCallbackPath, signChannelMessage } from '../../src/channels/protocol.ts';
import type { StatementLine } from '../../src/channels/statement.ts';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../src/domain/business-time.ts';
import { tlsFixtures } from '../fixtures/keys/index.ts';
import { demoActor, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { FakeChannelServer, paymentLineOf } from '../reliability/fake-channel-server.ts';

const channelKey = 'reconciliation-channel-key-0123456789abc';
const timezone = 'Asia/Shanghai';

/**
 * A whole reconciliation run over the channel protocol (SPEC §9.1–9.3): orders paid through a superapp's HTTP
 * channel (the fake, over HTTPS), its signed statement read page by page, a faithful day clean, a bent one found.
 */
describeOnEachDatabase('daily reconciliation over the HTTP channel protocol', (kind) => {
  let context: TestContext;
  let server: FakeChannelServer;
  let applicationId: string;
  let client: V3InjectClient;
  let day: string;
  let connectionId: number;
  const paid: WireOrder[] = [];

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { allowPrivateTargets: ['127.0.0.1/32'] }, backgroundJobs: false });
    const manifest = await context.services.demoWorld.ensure();
    applicationId = manifest.superapp.applicationId;
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    context.services.gatewayChannels.configureConnector({
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      tls: { ca: tlsFixtures.caPem },
      timeoutMs: 2_000,
      statementTimeoutMs: 2_000,
    });
    server = await new FakeChannelServer(channelKey, context.clock, {
      keyPem: tlsFixtures.serverKeyPem,
      certPem: tlsFixtures.serverCertPem,
      hostname: tlsFixtures.hostname,
    }).start();
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    const view = await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'http', baseUrl: server.url, secret: channelKey },
    });
    connectionId = view.channelConnectionId!;

    const today = businessDateOf(context.clock.nowMs(), timezone);
    context.clock.set(businessTimeOn(addCalendarDays(today, 1), '11:00', timezone));
    day = businessDateOf(context.clock.nowMs(), timezone);
    for (const n of [1, 2, 3]) {
      const outTradeNo = `HREC-${kind}-${n}`;
      expect((await client.prepay({ outTradeNo, total: 100 * n })).statusCode).toBe(200);
      const order = server.pay(client.merchant.mchid, outTradeNo);
      const body = server.event('payment.succeeded', order);
      const answer = await context.app.inject({
        method: 'POST',
        url: channelCallbackPath(applicationId),
        headers: { 'content-type': 'application/json', ...signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() }) },
        payload: body,
      });
      expect(answer.statusCode).toBe(204);
      paid.push(order);
    }
    context.clock.set(businessTimeOn(addCalendarDays(day, 1), '10:30', timezone));
  });
  afterAll(async () => {
    await server?.stop();
    await context?.close();
  });

  const exceptionsOfDay = () =>
    context.database.db
      .selectFrom('reconciliation_exceptions')
      .select(['kind', 'out_trade_no', 'status'])
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', day)
      .orderBy('kind')
      .execute();

  it('reads the signed statement page by page and finds nothing on a day the channel agrees with', async () => {
    server.statementLines = paid.map((order) => paymentLineOf(order));
    const runs = await context.services.statementReconciliation.reconcileDay(day, applicationId);
    // The demo's sandbox connection was live that day too: its run reads the sandbox's (empty) statement.
    const run = runs.find((candidate) => candidate.channel_connection_id === connectionId)!;
    expect(run).toMatchObject({ status: 'DONE', fetched: 1 });
    expect(await exceptionsOfDay()).toEqual([]);
    const report = JSON.parse(run.report_json!);
    expect(report.channel).toEqual(report.ours);
    expect(report.ours).toEqual([{ currency: 'CNY', payment_count: 3, payment_amount: '600', refund_count: 0, refund_amount: '0' }]);
  });

  it('finds what a bent statement says: a payment missing, another amount; a page breaking the protocol fails the run', async () => {
    const [first, second, third] = paid.map((order) => paymentLineOf(order)) as [StatementLine, StatementLine, StatementLine];
    server.statementLines = [{ ...second, amount: { total: 201, currency: 'CNY' } } as StatementLine, third];
    await context.services.statementReconciliation.reconcileDay(day, applicationId);
    expect(await exceptionsOfDay()).toEqual([
      { kind: 'AMOUNT_MISMATCH', out_trade_no: second.outTradeNo, status: 'OPEN' },
      { kind: 'MISSING_AT_CHANNEL', out_trade_no: first.outTradeNo, status: 'OPEN' },
    ]);

    server.statementFault = 'otherBillDate';
    const runs = await context.services.statementReconciliation.reconcileDay(day, applicationId);
    const failed = runs.find((candidate) => candidate.channel_connection_id === connectionId);
    expect(failed).toMatchObject({ status: 'FAILED' });
    expect(failed?.last_error).toMatch(/^STATEMENT_INVALID/);
    server.statementFault = undefined;
  });
});
