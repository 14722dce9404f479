import { afterAll, beforeAll, expect, it } from 'vitest';
import { channelCallbackPath, signChannelMessage, type WireOrder } from '../../src/channels/protocol.ts';
import { tlsFixtures } from '../fixtures/keys/index.ts';
import { demoActor, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { FakeChannelServer, paymentLineOf } from './fake-channel-server.ts';

/**
 * SPEC §9.1/§9.2 on the days a clock change makes 23 or 25 hours long (PAYTHROUGH_TIMEZONE=Europe/Berlin, the
 * injectable clock): the channel is asked for the day as its true UTC range, the day is due at the cut-off in local
 * time on the next day, and a payment at 23:30 local is on its own day, one at 00:30 on the next.
 */
const channelKey = 'statement-dst-channel-key-0123456789abc';
const timezone = 'Europe/Berlin';

describeOnEachDatabase('statement reconciliation on daylight-saving days', (kind) => {
  let context: TestContext;
  let server: FakeChannelServer;
  let applicationId: string;
  let client: V3InjectClient;
  let connectionId: number;
  const db = () => context.database.db;

  /** Paid at `iso` (UTC) through the channel, its callback received. */
  async function paidAt(iso: string, outTradeNo: string, total: number): Promise<WireOrder> {
    context.clock.set(Date.parse(iso) - 60_000);
    expect((await client.prepay({ outTradeNo, total })).statusCode).toBe(200);
    context.clock.set(Date.parse(iso));
    const order = server.pay(client.merchant.mchid, outTradeNo);
    const body = server.event('payment.succeeded', order);
    const answer = await context.app.inject({
      method: 'POST',
      url: channelCallbackPath(applicationId),
      headers: { 'content-type': 'application/json', ...signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() }) },
      payload: body,
    });
    expect(answer.statusCode).toBe(204);
    return order;
  }
  const queriesOf = (billDate: string) =>
    server.requests
      .filter((request) => request.path === server.statementPath)
      .map((request) => request.body as { bill_date: string; from_time: string; to_time: string; cursor: string | null })
      .filter((body) => body.bill_date === billDate)
      .map(({ from_time, to_time, cursor }) => ({ from_time, to_time, cursor }));
  const runOf = (billDate: string) =>
    db()
      .selectFrom('reconciliation_runs')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', billDate)
      .where('channel_connection_id', '=', connectionId)
      .executeTakeFirst();
  const exceptionsOf = (billDate: string) =>
    db()
      .selectFrom('reconciliation_exceptions')
      .select(['kind', 'out_trade_no'])
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', billDate)
      .execute();
  /** The day is not due a minute before the cut-off (10:00 local on the next day), due at it; then read. */
  async function dueAtCutoff(billDate: string, cutoffIso: string) {
    context.clock.set(Date.parse(cutoffIso) - 60_000);
    await context.services.statementReconciliation.scheduleDue();
    expect(await runOf(billDate)).toBeUndefined();
    context.clock.set(Date.parse(cutoffIso));
    await context.services.statementReconciliation.scheduleDue();
    expect(await runOf(billDate)).toMatchObject({ status: 'PENDING' });
    while ((await context.services.statementReconciliation.runDue()) > 0);
    return (await runOf(billDate))!;
  }
  const oursOf = (run: { report_json: string | null }) => (JSON.parse(run.report_json!) as { ours: unknown[] }).ours;

  beforeAll(async () => {
    context = await createTestContext(kind, {
      config: { allowPrivateTargets: ['127.0.0.1/32'], timezone },
      backgroundJobs: false,
    });
    context.clock.set(Date.parse('2026-03-20T12:00:00Z'));
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
  });
  afterAll(async () => {
    await server?.stop();
    await context?.close();
  });

  it('2026-03-29 (23 h): asked as [23:00Z, 22:00Z); 23:30 local is on the day, 00:30 the next day is not', async () => {
    const late = await paidAt('2026-03-29T21:30:00Z', `DST-${kind}-spring-late`, 2329); // 23:30 CEST
    const next = await paidAt('2026-03-29T22:30:00Z', `DST-${kind}-spring-next`, 3000); // 00:30 CEST on the 30th
    server.statementLines = [paymentLineOf(late), paymentLineOf(next)];
    // Due at 10:00 CEST on the 30th (08:00Z).
    const run = await dueAtCutoff('2026-03-29', '2026-03-30T08:00:00Z');
    expect(queriesOf('2026-03-29')).toEqual([{ from_time: '2026-03-28T23:00:00.000Z', to_time: '2026-03-29T22:00:00.000Z', cursor: null }]);
    expect(run).toMatchObject({ status: 'DONE' });
    expect(oursOf(run)).toEqual([{ currency: 'CNY', payment_count: 1, payment_amount: '2329', refund_count: 0, refund_amount: '0' }]);
    expect(await exceptionsOf('2026-03-29')).toEqual([]);

    const following = await dueAtCutoff('2026-03-30', '2026-03-31T08:00:00Z');
    expect(queriesOf('2026-03-30')).toEqual([{ from_time: '2026-03-29T22:00:00.000Z', to_time: '2026-03-30T22:00:00.000Z', cursor: null }]);
    expect(oursOf(following)).toEqual([{ currency: 'CNY', payment_count: 1, payment_amount: '3000', refund_count: 0, refund_amount: '0' }]);
    expect(await exceptionsOf('2026-03-30')).toEqual([]);
  });

  it('2026-10-25 (25 h): asked as [22:00Z, 23:00Z); a payment in the repeated hour and one at 23:30 local are on the day', async () => {
    const repeated = await paidAt('2026-10-25T01:30:00Z', `DST-${kind}-autumn-repeated`, 230); // 02:30 CET, the second time
    const late = await paidAt('2026-10-25T22:30:00Z', `DST-${kind}-autumn-late`, 2330); // 23:30 CET
    const next = await paidAt('2026-10-25T23:30:00Z', `DST-${kind}-autumn-next`, 30); // 00:30 CET on the 26th
    server.statementLines = [paymentLineOf(repeated), paymentLineOf(late), paymentLineOf(next)];
    // Due at 10:00 CET on the 26th (09:00Z).
    const run = await dueAtCutoff('2026-10-25', '2026-10-26T09:00:00Z');
    expect(queriesOf('2026-10-25')).toEqual([{ from_time: '2026-10-24T22:00:00.000Z', to_time: '2026-10-25T23:00:00.000Z', cursor: null }]);
    expect(run).toMatchObject({ status: 'DONE' });
    expect(oursOf(run)).toEqual([{ currency: 'CNY', payment_count: 2, payment_amount: '2560', refund_count: 0, refund_amount: '0' }]);
    expect(await exceptionsOf('2026-10-25')).toEqual([]);
  });
});
