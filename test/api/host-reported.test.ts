import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hostRefundWebhookTopic } from '../../src/channels/host-reported/host-reported-channel.ts';
import { RefundWebhookDeliverer } from '../../src/channels/host-reported/refund-webhook.ts';
import { signChannelMessage, verifyChannelSignature } from '../../src/channels/protocol.ts';
import { OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import { OrderAnomaly } from '../../src/db/order-schema.ts';
import { channelPaymentRepository, paymentStateHistoryRepository } from '../../src/repositories/channel-payment.repository.ts';
import { orderRepository } from '../../src/repositories/order.repository.ts';
import { outboxRepository } from '../../src/repositories/outbox.repository.ts';
import { refundRepository } from '../../src/repositories/refund.repository.ts';
import { buildHostXml, parseHostXml } from '../../src/routes/host/host-xml.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { merchantNotificationTopic } from '../../src/services/payments/notification.service.ts';
import { tlsFixtures } from '../fixtures/keys/index.ts';
import { signIn } from '../helpers/factories.ts';
import { deliverDemoShopNotifications, demoActor, readyMerchant, V3InjectClient, refundOfMerchant } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

describeOnEachDatabase('host-reported mode: signed host reports, refund webhook, refund reports', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let hostKey: string;
  let applicationId: string;
  let webhook: Server;
  const webhookCalls: { headers: IncomingHttpHeaders; body: string }[] = [];
  let webhookStatus = 200;
  let worker: OutboxWorker;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    // The outbox is driven step by step here: the demo shop's notifications of the demo world's yesterday are taken off first.
    await deliverDemoShopNotifications(context);
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    applicationId = manifest.superapp.applicationId;
    webhook = createServer({ key: tlsFixtures.serverKeyPem, cert: tlsFixtures.serverCertPem }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        webhookCalls.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(webhookStatus, { 'content-type': 'application/json' }).end('{"received":true}');
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const port = (webhook.address() as AddressInfo).port;
    // The superapp's Administrator chooses host-reported mode and issues the host key (shown once).
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'host_reported', webhookUrl: `https://notify.merchant.test:${port}/refund-webhook` },
    });
    hostKey = (await context.services.hostKeys.rotate(saAdmin, applicationId)).hostKey;
    worker = new OutboxWorker({
      db: context.database.db,
      kind: context.database.kind,
      clock: context.clock,
      handlers: {
        [hostRefundWebhookTopic]: new RefundWebhookDeliverer({
          hostKeyOf: (id) => context.services.hostKeys.signingHostKeyOf(id),
          clock: context.clock,
          allowPrivateTargets: ['127.0.0.1/32'],
          lookup: async () => [{ address: '127.0.0.1', family: 4 }],
          tls: { ca: tlsFixtures.caPem },
        }),
      },
    });
  });
  afterAll(async () => {
    webhook?.closeAllConnections();
    await new Promise((resolve) => (webhook ? webhook.close(resolve) : resolve(undefined)));
    await context?.close();
  });

  /** The superapp's payment backend: the XML body, signed with its host key (or as told). */
  async function report(
    path: 'payOrder' | 'queryPreOrder' | 'refundResult',
    fields: Record<string, string | number>,
    options: { unsigned?: boolean; headers?: Record<string, string> } = {},
  ) {
    const body = `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>${buildHostXml(fields)}`;
    const headers = options.headers ?? (options.unsigned ? {} : { ...signChannelMessage(hostKey, body, { nowMs: context.clock.nowMs() }) });
    const response = await context.app.inject({
      method: 'POST',
      url: `/superapp/pay/${path}`,
      headers: { 'content-type': 'application/xml', ...headers },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/xml/);
    return { answer: parseHostXml(response.body), headers, body };
  }

  async function placeOrder(total: number) {
    const outTradeNo = number('HR');
    const { statusCode, body } = await client.prepay({ outTradeNo, total });
    expect(statusCode).toBe(200);
    return { outTradeNo, prepayId: body.prepay_id as string };
  }

  it('prepay creates the order locally; an unsigned report is refused; a signed one pays it once', async () => {
    const { outTradeNo, prepayId } = await placeOrder(2500);
    const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    expect(order).toMatchObject({ channel_kind: 'host_reported', trade_state: 'WAIT_PAY', channel_order_id: prepayId, sandbox: 0 });
    // Anyone with the prepay_id may look the summary up; only the superapp's backend may report a payment.
    expect((await report('queryPreOrder', { prepay_id: prepayId }, { unsigned: true })).answer).toMatchObject({
      return_code: 'SUCCESS',
      total_fee: '2500',
    });
    const unsigned = await report('payOrder', { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 2500 }, { unsigned: true });
    expect(unsigned.answer).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringMatching(/sandbox/) });
    const forged = signChannelMessage('not-the-host-key-0123456789abcdefghij', 'x', { nowMs: context.clock.nowMs() });
    expect(
      (await report('payOrder', { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 2500 }, { headers: { ...forged } })).answer
        .return_code,
    ).toBe('FAIL');
    expect((await orderRepository.findById(context.database.db, order.id))!.trade_state).toBe('WAIT_PAY');

    const fields = {
      prepay_id: prepayId,
      out_trade_no: outTradeNo,
      total_fee: 2500,
      transaction_id: 'SA-PAY-0001',
      result_code: 'SUCCESS',
    };
    expect((await report('payOrder', fields)).answer).toMatchObject({ return_code: 'SUCCESS', return_msg: 'OK' });
    // The same report again (freshly signed), or without the transaction id: nothing changes.
    expect((await report('payOrder', fields)).answer.return_code).toBe('SUCCESS');
    expect((await report('payOrder', { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 2500 })).answer.return_code).toBe(
      'SUCCESS',
    );
    const paid = (await orderRepository.findById(context.database.db, order.id))!;
    expect(paid).toMatchObject({ trade_state: 'SUCCESS', channel_transaction_id: 'SA-PAY-0001' });
    expect(await channelPaymentRepository.listByOrder(context.database.db, order.id)).toHaveLength(1);
    const notifications = await outboxRepository.listBySubject(context.database.db, 'order', String(order.id));
    expect(notifications.filter((n) => n.topic === merchantNotificationTopic).map((n) => JSON.parse(n.payload_json).event_type)).toEqual([
      'TRANSACTION.SUCCESS',
    ]);

    // A second payment under another transaction id: recorded and refunded in full.
    const duplicate = await report('payOrder', { ...fields, transaction_id: 'SA-PAY-0002' });
    expect(duplicate.answer).toMatchObject({
      return_code: 'SUCCESS',
      return_msg: expect.stringMatching(/duplicate.*refund|refund.*duplicate/),
    });
    expect(await refundRepository.listByOrder(context.database.db, order.id)).toMatchObject([
      { kind: 'duplicate_payment', amount_refund: 2500 },
    ]);
  });

  it('a report without a transaction_id is recorded with none; a later report naming it records the id on that payment', async () => {
    const { outTradeNo, prepayId } = await placeOrder(1800);
    const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    const payments = () => channelPaymentRepository.listByOrder(context.database.db, order.id);
    const orderNow = async () => (await orderRepository.findById(context.database.db, order.id))!;
    const pay = { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 1800 };

    expect((await report('payOrder', pay)).answer).toMatchObject({ return_code: 'SUCCESS', return_msg: 'OK' });
    expect(await orderNow()).toMatchObject({ trade_state: 'SUCCESS', channel_transaction_id: null, transaction_id: expect.any(String) });
    expect(await payments()).toMatchObject([{ channel_transaction_id: null, disposition: 'applied' }]);
    // The console shows no channel transaction id (null, not an invented one).
    const operator = await signIn(context, manifest.miniProgramTeam.users.operator);
    const detail = await operator.get(`/orders/${order.id}`);
    expect(detail.statusCode).toBe(200);
    expect(detail.body).toMatchObject({ order: { channelTransactionId: null }, channelPayments: [{ channelTransactionId: null }] });

    // The same report again: nothing changes.
    expect((await report('payOrder', pay)).answer).toMatchObject({
      return_code: 'SUCCESS',
      return_msg: expect.stringMatching(/nothing changed/),
    });
    expect(await payments()).toHaveLength(1);

    // A report naming the payment: the same payment, its id learned; not a duplicate.
    const named = await report('payOrder', { ...pay, transaction_id: 'SA-NAMED-1' });
    expect(named.answer).toMatchObject({ return_code: 'SUCCESS', return_msg: expect.not.stringMatching(/refund/) });
    expect(await orderNow()).toMatchObject({ trade_state: 'SUCCESS', channel_transaction_id: 'SA-NAMED-1', anomaly_flags: 0 });
    expect(await payments()).toMatchObject([{ channel_transaction_id: 'SA-NAMED-1', disposition: 'applied' }]);
    expect(await refundRepository.listByOrder(context.database.db, order.id)).toEqual([]);
    const history = await paymentStateHistoryRepository.listOf(context.database.db, 'order', order.id);
    expect(history.at(-1)).toMatchObject({ from_state: 'SUCCESS', to_state: 'SUCCESS', reason: expect.stringMatching(/SA-NAMED-1/) });
    expect((await report('payOrder', { ...pay, transaction_id: 'SA-NAMED-1' })).answer.return_msg).toMatch(/nothing changed/);
    expect((await report('payOrder', pay)).answer.return_msg).toMatch(/nothing changed/);
    expect(await payments()).toHaveLength(1);

    // Another transaction id than the recorded one is a second payment: a duplicate, refunded in full.
    const duplicate = await report('payOrder', { ...pay, transaction_id: 'SA-NAMED-2' });
    expect(duplicate.answer.return_msg).toMatch(/duplicate payment/);
    expect(await refundRepository.listByOrder(context.database.db, order.id)).toMatchObject([
      { kind: 'duplicate_payment', amount_refund: 1800 },
    ]);
    const notifications = await outboxRepository.listBySubject(context.database.db, 'order', String(order.id));
    expect(notifications.filter((n) => n.topic === merchantNotificationTopic).map((n) => JSON.parse(n.payload_json).event_type)).toEqual([
      'TRANSACTION.SUCCESS',
    ]);
  });

  it('two reports naming a payment first reported without an id, at once: one names it, the other is a duplicate', async () => {
    const { outTradeNo, prepayId } = await placeOrder(1700);
    const pay = { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 1700 };
    expect((await report('payOrder', pay)).answer.return_msg).toBe('OK');
    const answers = await Promise.all([
      report('payOrder', { ...pay, transaction_id: 'SA-RACE-1' }),
      report('payOrder', { ...pay, transaction_id: 'SA-RACE-2' }),
    ]);
    expect(answers.map((a) => a.answer.return_code)).toEqual(['SUCCESS', 'SUCCESS']);
    const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    const named = order.channel_transaction_id;
    expect(['SA-RACE-1', 'SA-RACE-2']).toContain(named);
    const other = named === 'SA-RACE-1' ? 'SA-RACE-2' : 'SA-RACE-1';
    expect(await channelPaymentRepository.listByOrder(context.database.db, order.id)).toMatchObject([
      { channel_transaction_id: named, disposition: 'applied' },
      { channel_transaction_id: other, disposition: 'duplicate_refunded' },
    ]);
    expect(await refundRepository.listByOrder(context.database.db, order.id)).toMatchObject([
      { kind: 'duplicate_payment', amount_refund: 1700 },
    ]);
  });

  it('a late payment reported without a transaction_id is refunded once; its refund names no channel transaction', async () => {
    const { outTradeNo, prepayId } = await placeOrder(1600);
    context.clock.advance(2 * 60 * 60 * 1000 + 1000);
    const pay = { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 1600 };
    expect((await report('payOrder', pay)).answer).toMatchObject({
      return_code: 'SUCCESS',
      return_msg: expect.stringMatching(/late payment/),
    });
    expect((await report('payOrder', pay)).answer.return_code).toBe('SUCCESS');
    const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    expect(order).toMatchObject({ trade_state: 'REFUND', channel_transaction_id: null });
    expect(await channelPaymentRepository.listByOrder(context.database.db, order.id)).toMatchObject([
      { channel_transaction_id: null, disposition: 'late_payment_refunded' },
    ]);
    const refunds = await refundRepository.listByOrder(context.database.db, order.id);
    expect(refunds).toMatchObject([{ kind: 'late_payment', amount_refund: 1600 }]);
    const webhookJob = (await outboxRepository.findByEventId(
      context.database.db,
      `host-refund:${applicationId}:${client.merchant.mchid}:${refunds[0]!.out_refund_no}`,
    ))!;
    const sent = JSON.parse(JSON.parse(webhookJob.payload_json).body);
    expect(sent.refund).toMatchObject({ out_trade_no: outTradeNo, channel_transaction_id: null });
  });

  it('refuses a replayed signed report and a stale one', async () => {
    const { outTradeNo, prepayId } = await placeOrder(900);
    const first = await report('queryPreOrder', { prepay_id: prepayId, out_trade_no: outTradeNo });
    expect(first.answer.return_code).toBe('SUCCESS');
    // The same bytes and headers again: the nonce was seen.
    const replay = await context.app.inject({
      method: 'POST',
      url: '/superapp/pay/payOrder',
      headers: { 'content-type': 'application/xml', ...first.headers },
      payload: first.body,
    });
    expect(parseHostXml(replay.body)).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringMatching(/replay/) });
    const payBody = `<xml><prepay_id>${prepayId}</prepay_id><out_trade_no>${outTradeNo}</out_trade_no><total_fee>900</total_fee></xml>`;
    const stale = signChannelMessage(hostKey, payBody, { nowMs: context.clock.nowMs() - 301_000 });
    const staleAnswer = await context.app.inject({
      method: 'POST',
      url: '/superapp/pay/payOrder',
      headers: { 'content-type': 'application/xml', ...stale },
      payload: payBody,
    });
    expect(parseHostXml(staleAnswer.body)).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringMatching(/Timestamp/) });
    expect((await orderRepository.findByPrepayId(context.database.db, prepayId))!.trade_state).toBe('WAIT_PAY');
  });

  it('unreported orders expire as AUTO_CLOSED; a report arriving after that is a late payment, refunded', async () => {
    const { outTradeNo, prepayId } = await placeOrder(1500);
    context.clock.advance(2 * 60 * 60 * 1000 + 1000);
    await context.services.autoCloseJob.runOnce();
    expect((await orderRepository.findByPrepayId(context.database.db, prepayId))!.trade_state).toBe('AUTO_CLOSED');
    expect((await report('queryPreOrder', { prepay_id: prepayId })).answer).toMatchObject({
      return_code: 'FAIL',
      return_msg: expect.stringMatching(/closed/),
    });
    const late = await report('payOrder', { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 1500, transaction_id: 'SA-LATE-1' });
    expect(late.answer).toMatchObject({ return_code: 'SUCCESS', return_msg: expect.stringMatching(/late payment/) });
    const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    expect(order.trade_state).toBe('REFUND');
    expect(await refundRepository.listByOrder(context.database.db, order.id)).toMatchObject([
      { kind: 'late_payment', amount_refund: 1500, status: 'PROCESSING' },
    ]);
  });

  it('a report with another amount or currency is refused, recorded and flagged, and never applied', async () => {
    const { outTradeNo, prepayId } = await placeOrder(1200);
    const orderNow = async () => (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    const withId = await report('payOrder', { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 1201, transaction_id: 'SA-MIS-1' });
    expect(withId.answer).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringMatching(/total_fee 1201 .*recorded/) });
    const withoutId = await report('payOrder', { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 1200, fee_type: 'USD' });
    expect(withoutId.answer).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringMatching(/fee_type USD/) });
    const order = await orderNow();
    expect(order.trade_state).toBe('WAIT_PAY');
    expect(order.anomaly_flags & OrderAnomaly.MismatchRefused).toBeTruthy();
    expect(await channelPaymentRepository.listByOrder(context.database.db, order.id)).toMatchObject([
      { channel_transaction_id: 'SA-MIS-1', amount: 1201, currency: 'CNY', disposition: 'mismatch_refused' },
    ]);
    const history = await paymentStateHistoryRepository.listOf(context.database.db, 'order', order.id);
    expect(history.at(-1)).toMatchObject({
      from_state: 'WAIT_PAY',
      to_state: 'WAIT_PAY',
      reason: 'refused report: the host reported 1200 USD',
    });
    // The right report still pays the order.
    const paid = await report('payOrder', { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 1200, transaction_id: 'SA-MIS-OK' });
    expect(paid.answer.return_code).toBe('SUCCESS');
    expect((await orderNow()).trade_state).toBe('SUCCESS');
  });

  const hostTimesTitle =
    "keeps the host's time_end and settle_time as success times, the time learned beside them; an implausible one is flagged";
  it(hostTimesTitle, async () => {
    /** yyyyMMddHHmmss in Asia/Shanghai, as the demo hosts write it. */
    const shanghai = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace(/\D/g, '');
    const { outTradeNo, prepayId } = await placeOrder(2000);
    context.clock.advance(120_000);
    const paidAt = context.clock.nowMs() - 60_000;
    const pay = { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 2000, transaction_id: 'SA-TIME-1' };
    expect((await report('payOrder', { ...pay, time_end: 'yesterday' })).answer).toMatchObject({
      return_code: 'FAIL',
      return_msg: expect.stringMatching(/time_end must be yyyyMMddHHmmss/),
    });
    expect((await report('payOrder', { ...pay, time_end: shanghai(paidAt) })).answer.return_code).toBe('SUCCESS');
    const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    expect(order).toMatchObject({ success_time: paidAt, success_learned_at: context.clock.nowMs() });
    expect(order.anomaly_flags & OrderAnomaly.TimeDrift).toBe(0);
    expect((await client.queryByOutTradeNo(outTradeNo)).body.success_time).toBe(
      new Date(paidAt + 8 * 3_600_000).toISOString().slice(0, 19) + '+08:00',
    );

    const outRefundNo = number('RFT');
    expect((await client.refund({ outTradeNo, outRefundNo, refund: 500, total: 2000 })).statusCode).toBe(200);
    context.clock.advance(60_000);
    // A settle_time ten minutes in the future is not believed: Paythrough's time, and the order flagged.
    const future = context.clock.nowMs() + 600_000;
    const settled = await report('refundResult', {
      mchid: client.merchant.mchid,
      out_refund_no: outRefundNo,
      refund_status: 'SUCCESS',
      refund_fee: 500,
      settle_time: new Date(future).toISOString(),
    });
    expect(settled.answer.return_code).toBe('SUCCESS');
    const refund = (await refundOfMerchant(context.database.db, client.merchant, outRefundNo))!;
    expect(refund).toMatchObject({ status: 'SUCCESS', success_time: context.clock.nowMs(), success_learned_at: context.clock.nowMs() });
    const flagged = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    expect(flagged.anomaly_flags & OrderAnomaly.TimeDrift).toBe(OrderAnomaly.TimeDrift);
  });

  it('a report for an order past its expiry closes that order alone, not the auto-close pass of every tenant', async () => {
    const reported = await placeOrder(1200);
    const bystander = await placeOrder(1300);
    context.clock.advance(2 * 60 * 60 * 1000 + 1000);
    const late = await report('payOrder', {
      prepay_id: reported.prepayId,
      out_trade_no: reported.outTradeNo,
      total_fee: 1200,
      transaction_id: 'SA-LATE-ALONE',
    });
    expect(late.answer).toMatchObject({ return_code: 'SUCCESS', return_msg: expect.stringMatching(/late payment/) });
    const history = async (prepayId: string) => {
      const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
      return (await paymentStateHistoryRepository.listOf(context.database.db, 'order', order.id)).map((entry) => entry.to_state);
    };
    expect(await history(reported.prepayId)).toEqual(['WAIT_PAY', 'AUTO_CLOSED', 'SUCCESS', 'REFUND']);
    // The other expired order waits for the auto-close job.
    expect(await history(bystander.prepayId)).toEqual(['WAIT_PAY']);
    await context.services.autoCloseJob.runOnce();
    expect(await history(bystander.prepayId)).toEqual(['WAIT_PAY', 'AUTO_CLOSED']);
  });

  it('a refund goes to the refund webhook (signed, retried) and is settled by the signed refund report: REFUND.SUCCESS', async () => {
    const { outTradeNo, prepayId } = await placeOrder(3000);
    expect(
      (await report('payOrder', { prepay_id: prepayId, out_trade_no: outTradeNo, total_fee: 3000, transaction_id: 'SA-PAY-R1' })).answer
        .return_code,
    ).toBe('SUCCESS');
    const outRefundNo = number('RF');
    const created = await client.refund({ outTradeNo, outRefundNo, refund: 1000, total: 3000, reason: 'customer asked' });
    expect(created.statusCode).toBe(200);
    expect(created.body).toMatchObject({ out_refund_no: outRefundNo, status: 'PROCESSING' });
    const refund = (await refundOfMerchant(context.database.db, client.merchant, outRefundNo))!;

    // The webhook fails once, then takes it; every attempt is signed afresh with the host key.
    // (Earlier tests' late and duplicate payment refunds went to the webhook too: look at this refund's calls.)
    webhookCalls.length = 0;
    webhookStatus = 503;
    await worker.runOnce();
    const job = (await outboxRepository.findByEventId(
      context.database.db,
      `host-refund:${applicationId}:${client.merchant.mchid}:${outRefundNo}`,
    ))!;
    expect(job).toMatchObject({ topic: hostRefundWebhookTopic, status: 'pending', attempts: 1, last_http_status: 503 });
    webhookStatus = 200;
    context.clock.advance(15_000);
    await worker.runOnce();
    expect((await outboxRepository.findById(context.database.db, job.id))!).toMatchObject({ status: 'delivered', attempts: 2 });
    const calls = webhookCalls.filter((call) => JSON.parse(call.body).refund.out_refund_no === outRefundNo);
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      const check = verifyChannelSignature({
        headers: call.headers as Record<string, unknown>,
        body: call.body,
        channelKeys: [hostKey],
        nowMs: context.clock.nowMs(),
      });
      expect(check.ok).toBe(true);
    }
    expect(calls[0]!.headers['paythrough-nonce']).not.toBe(calls[1]!.headers['paythrough-nonce']);
    expect(JSON.parse(calls[1]!.body)).toMatchObject({
      event_type: 'refund.requested',
      application_id: applicationId,
      refund: {
        merchant_id: client.merchant.mchid,
        out_trade_no: outTradeNo,
        out_refund_no: outRefundNo,
        channel_transaction_id: 'SA-PAY-R1',
        amount: { refund: 1000, total: 3000, currency: 'CNY' },
        reason: 'customer asked',
      },
    });
    expect((await refundRepository.findById(context.database.db, refund.id))!.status).toBe('PROCESSING');

    // Refund reports are always signed; a wrong amount is refused; the right one settles it once.
    const result = {
      mchid: client.merchant.mchid,
      out_refund_no: outRefundNo,
      refund_status: 'SUCCESS',
      refund_fee: 1000,
      refund_id: 'SA-REFUND-1',
    };
    expect((await report('refundResult', result, { unsigned: true })).answer.return_code).toBe('FAIL');
    // A result about another amount or currency is refused and flagged on the order (SPEC §7), never applied.
    expect((await orderRepository.findByPrepayId(context.database.db, prepayId))!.anomaly_flags & OrderAnomaly.RefundMismatch).toBe(0);
    expect((await report('refundResult', { ...result, refund_fee: 999 })).answer.return_code).toBe('FAIL');
    expect((await report('refundResult', { ...result, fee_type: 'USD' })).answer.return_code).toBe('FAIL');
    expect((await refundRepository.findById(context.database.db, refund.id))!.status).toBe('PROCESSING');
    expect((await orderRepository.findByPrepayId(context.database.db, prepayId))!).toMatchObject({
      refund_succeeded: 0,
      anomaly_flags: OrderAnomaly.RefundMismatch,
    });
    const history = await paymentStateHistoryRepository.listOf(context.database.db, 'refund', refund.id);
    expect(history.map((entry) => entry.reason).filter((reason) => reason.startsWith('not applied'))).toEqual([
      'not applied: the host reports SUCCESS for 999 CNY, the refund is 1000 of 3000 CNY',
      'not applied: the host reports SUCCESS for 1000 USD, the refund is 1000 of 3000 CNY',
    ]);
    expect((await report('refundResult', result)).answer).toMatchObject({ return_code: 'SUCCESS' });
    expect((await report('refundResult', result)).answer).toMatchObject({
      return_code: 'SUCCESS',
      return_msg: expect.stringMatching(/already/),
    });
    expect((await report('refundResult', { ...result, refund_status: 'CLOSED' })).answer.return_code).toBe('FAIL');
    expect(await refundRepository.findById(context.database.db, refund.id)).toMatchObject({
      status: 'SUCCESS',
      channel_refund_id: expect.any(String),
    });
    expect((await client.queryRefund(outRefundNo)).body).toMatchObject({ status: 'SUCCESS' });
    const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    expect(order).toMatchObject({ trade_state: 'REFUND', refund_succeeded: 1000 });
    const events = (await outboxRepository.listBySubject(context.database.db, 'refund', String(refund.id))).filter(
      (n) => n.topic === merchantNotificationTopic,
    );
    expect(events.map((n) => JSON.parse(n.payload_json).event_type)).toEqual(['REFUND.SUCCESS']);
  });

  it('the host key is rotatable: the old key is accepted for the key overlap, never signs, then stops working; audited', async () => {
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    const oldKey = hostKey;
    hostKey = (await context.services.hostKeys.rotate(saAdmin, applicationId)).hostKey;
    expect(hostKey).not.toBe(oldKey);
    // Within the overlap (24 hours by default) the superapp's backend may still sign with the old key.
    context.clock.advance(23 * 3_600_000);
    const { prepayId } = await placeOrder(100);
    const body = `<xml><prepay_id>${prepayId}</prepay_id></xml>`;
    const signedWithOldKey = () =>
      context.app.inject({
        method: 'POST',
        url: '/superapp/pay/queryPreOrder',
        headers: { 'content-type': 'application/xml', ...signChannelMessage(oldKey, body, { nowMs: context.clock.nowMs() }) },
        payload: body,
      });
    expect(parseHostXml((await signedWithOldKey()).body).return_code).toBe('SUCCESS');
    // Refund webhooks are signed with the new key only.
    expect(await context.services.hostKeys.signingHostKeyOf(applicationId)).toBe(hostKey);
    context.clock.advance(3_600_000);
    expect(parseHostXml((await signedWithOldKey()).body).return_code).toBe('FAIL');
    expect((await report('queryPreOrder', { prepay_id: prepayId })).answer.return_code).toBe('SUCCESS');
    const audits = await context.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'payment_config.host_key.rotate')
      .where('target_id', '=', applicationId)
      .execute();
    expect(audits).toHaveLength(2);
    expect(audits.every((a) => !(a.after_json ?? '').includes(hostKey))).toBe(true);
  });
});
