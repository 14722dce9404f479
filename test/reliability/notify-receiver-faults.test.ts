import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hostRefundWebhookTopic } from '../../src/channels/host-reported/host-reported-channel.ts';
import { RefundWebhookDeliverer } from '../../src/channels/host-reported/refund-webhook.ts';
import { signChannelMessage } from '../../src/channels/protocol.ts';
import { decryptV3Resource } from '../../src/crypto/wechatpay-v3.ts';
import { notificationRetryScheduleMs, OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import { outboxRepository, type OutboxRow } from '../../src/repositories/outbox.repository.ts';
import { refundRepository } from '../../src/repositories/refund.repository.ts';
import { buildHostXml, parseHostXml } from '../../src/routes/host/host-xml.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { NotificationDeliverer } from '../../src/services/payments/notification-delivery.ts';
import { merchantNotificationTopic } from '../../src/services/payments/notification.service.ts';
import { tlsFixtures } from '../fixtures/keys/index.ts';
import { demoActor, payInSandbox, readyMerchant, V3InjectClient, orderOfMerchant, refundOfMerchant } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Issue 7 item 2, the receiving side: a merchant's notify_url (SPEC §4.2) and a host-reported superapp's
 * refund webhook that are down for hours, slow, or answer errors, then recover. The clock is moved
 * through the whole retry schedule; nothing sleeps but the slow receiver's few hundred milliseconds.
 */
const deliveryTimeoutMs = 150;
const slowAnswerMs = 400;
const second = 1000;
const minute = 60 * second;
let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

type Behaviour = { kind: 'answer'; status: number; body?: string } | { kind: 'slow' };

/** A receiver under the test's control: it records every request that reaches it and answers as told. */
class FaultyReceiver {
  readonly received: Array<{ path: string; headers: IncomingMessage['headers']; body: string }> = [];
  behaviour: Behaviour = { kind: 'answer', status: 204 };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(private readonly tls = false) {}

  get port_(): number {
    return this.port;
  }

  async up(): Promise<void> {
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        const behaviour = this.behaviour;
        const send = (status: number, body?: string) =>
          body === undefined
            ? response.writeHead(status).end()
            : response.writeHead(status, { 'content-type': 'application/json' }).end(body);
        if (behaviour.kind === 'slow') setTimeout(() => send(200), slowAnswerMs);
        else send(behaviour.status, behaviour.body);
      });
    };
    this.server = this.tls
      ? createHttpsServer({ key: tlsFixtures.serverKeyPem, cert: tlsFixtures.serverCertPem }, handler)
      : createHttpServer(handler);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Down: the port refuses connections. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describeOnEachDatabase('notify_url and refund webhook faults', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let notify: FaultyReceiver;
  let webhook: FaultyReceiver;
  let worker: OutboxWorker;
  let notifyUrl: string;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    notify = new FaultyReceiver();
    await notify.up();
    notifyUrl = `http://127.0.0.1:${notify.port_}/notify`;
    webhook = new FaultyReceiver(true);
    await webhook.up();
    // The worker and deliverers the server runs (src/composition.ts), with short per-attempt deadlines.
    worker = new OutboxWorker({
      db: context.database.db,
      kind: context.database.kind,
      clock: context.clock,
      handlers: {
        [merchantNotificationTopic]: new NotificationDeliverer({
          keys: context.services.notificationKeys,
          clock: context.clock,
          allowPrivateTargets: [],
          sandboxEnabled: true,
          timeZone: context.config.timezone,
          timeoutMs: deliveryTimeoutMs,
        }),
        [hostRefundWebhookTopic]: new RefundWebhookDeliverer({
          hostKeyOf: async (id) => (await context.services.hostKeys.hostKeysOf(id))[0] ?? null,
          clock: context.clock,
          allowPrivateTargets: ['127.0.0.1/32'],
          lookup: async () => [{ address: '127.0.0.1', family: 4 }],
          tls: { ca: tlsFixtures.caPem },
          timeoutMs: deliveryTimeoutMs,
        }),
      },
    });
  });
  afterAll(async () => {
    await notify?.down();
    await webhook?.down();
    await context?.close();
  });

  const db = () => context.database.db;
  async function paidOrder(total = 1000) {
    const outTradeNo = number('NRF');
    const prepay = await client.prepay({ outTradeNo, total, notifyUrl });
    expect(prepay.statusCode).toBe(200);
    expect((await payInSandbox(context.app, prepay.body.prepay_id)).statusCode).toBe(200);
    const order = (await orderOfMerchant(db(), client.merchant, outTradeNo))!;
    const [job] = (await outboxRepository.listBySubject(db(), 'order', String(order.id))).filter(
      (row) => row.topic === merchantNotificationTopic,
    );
    return { outTradeNo, order, job: job! };
  }
  const job = async (id: number) => (await outboxRepository.findById(db(), id))!;
  /** Runs the worker at each due time of `row` until it leaves `pending`; returns the waits between attempts. */
  async function followSchedule(row: OutboxRow, maxAttempts = 100): Promise<number[]> {
    const waits: number[] = [];
    let last = context.clock.nowMs();
    for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
      const current = await job(row.id);
      if (current.status !== 'pending') break;
      const due = current.next_attempt_at!;
      if (due > context.clock.nowMs()) {
        // A moment before it is due, nothing is tried.
        context.clock.set(due - 1);
        await worker.runOnce();
        expect((await job(row.id)).attempts).toBe(current.attempts);
        context.clock.set(due);
      }
      if (attempt > 0) waits.push(context.clock.nowMs() - last);
      last = context.clock.nowMs();
      await worker.runOnce();
    }
    return waits;
  }
  const eventIdsReceived = (receiver: FaultyReceiver) =>
    receiver.received.map((request) => (JSON.parse(request.body) as { id: string }).id);

  const downTitle =
    'a notify_url down for the whole schedule: 16 attempts on 15s/15s/30s/3m/…/6h/6h, then failed; ' +
    'a console resend after recovery delivers it once';
  it(downTitle, async () => {
    const { order, job: row } = await paidOrder();
    await notify.down();
    const started = context.clock.nowMs();
    const waits = await followSchedule(row);
    expect(waits).toEqual(notificationRetryScheduleMs);
    const failed = await job(row.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 16 });
    expect(context.clock.nowMs() - started).toBe(notificationRetryScheduleMs.reduce((a, b) => a + b, 0));
    const attempts = await outboxRepository.listAttempts(db(), row.id);
    expect(attempts).toHaveLength(16);
    expect(
      attempts.every(
        (attempt) =>
          attempt.outcome === 'failed' && attempt.http_status === null && /connect|refused|ECONNREFUSED/i.test(attempt.error ?? ''),
      ),
    ).toBe(true);
    // A failed notification stays failed: days later nothing is tried.
    context.clock.advance(3 * 24 * 60 * minute);
    expect((await worker.runOnce()).claimed).toBe(0);

    await notify.up();
    const mpAdmin = await demoActor(context, manifest.miniProgramTeam.users.admin.account);
    const resent = await context.services.orderRecords.resendNotification(mpAdmin, order.id, row.id);
    expect(resent).toMatchObject({ status: 'pending' });
    expect((await worker.runOnce()).delivered).toBe(1);
    context.clock.advance(2 * 24 * 60 * minute);
    expect((await worker.drain()).claimed).toBe(0);
    expect(eventIdsReceived(notify)).toEqual([row.event_id]);
    expect(await job(row.id)).toMatchObject({ status: 'delivered', attempts: 17 });
    const resource = JSON.parse(decryptV3Resource(JSON.parse(notify.received[0]!.body).resource, client.merchant.apiV3Key));
    expect(resource).toMatchObject({ out_trade_no: order.out_trade_no, trade_state: 'SUCCESS', transaction_id: order.transaction_id });
    notify.received.length = 0;
  });

  it('answers of 500, 503, 429 and 404 with FAIL bodies are retried on the schedule; the first 2xx ends it; nothing after', async () => {
    const { job: row } = await paidOrder();
    const failures = [500, 503, 429, 404];
    let index = 0;
    notify.behaviour = { kind: 'answer', status: failures[0]!, body: '{"code":"FAIL","message":"busy"}' };
    const waits: number[] = [];
    for (let last = context.clock.nowMs(); ;) {
      await worker.runOnce();
      const current = await job(row.id);
      if (current.status !== 'pending') break;
      index += 1;
      notify.behaviour =
        index < failures.length
          ? { kind: 'answer', status: failures[index]!, body: '{"code":"FAIL","message":"busy"}' }
          : { kind: 'answer', status: 200 };
      context.clock.set(current.next_attempt_at!);
      waits.push(context.clock.nowMs() - last);
      last = context.clock.nowMs();
    }
    expect(waits).toEqual(notificationRetryScheduleMs.slice(0, failures.length));
    expect((await outboxRepository.listAttempts(db(), row.id)).map((attempt) => attempt.http_status)).toEqual([...failures, 200]);
    expect(await job(row.id)).toMatchObject({ status: 'delivered', attempts: 5 });
    context.clock.advance(24 * 60 * minute);
    expect((await worker.drain()).claimed).toBe(0);
    // Every attempt carried the same event with a fresh signature.
    expect(new Set(eventIdsReceived(notify))).toEqual(new Set([row.event_id]));
    expect(new Set(notify.received.map((request) => request.headers['wechatpay-nonce'])).size).toBe(5);
    expect(new Set(notify.received.map((request) => JSON.parse(request.body).resource.ciphertext)).size).toBe(5);
    notify.received.length = 0;
    notify.behaviour = { kind: 'answer', status: 204 };
  });

  const slowTitle =
    'a slow notify_url (answers after the 5 s deadline, here 150 ms) is retried; ' +
    'the copies it got are the same event; nothing after its first in-time 2xx';
  it(slowTitle, async () => {
    const { job: row } = await paidOrder();
    notify.behaviour = { kind: 'slow' };
    await worker.runOnce();
    context.clock.set((await job(row.id)).next_attempt_at!);
    await worker.runOnce();
    const afterSlow = await outboxRepository.listAttempts(db(), row.id);
    expect(afterSlow.map((attempt) => attempt.outcome)).toEqual(['failed', 'failed']);
    expect(afterSlow.every((attempt) => /timeout/i.test(attempt.error ?? ''))).toBe(true);
    notify.behaviour = { kind: 'answer', status: 204 };
    context.clock.set((await job(row.id)).next_attempt_at!);
    expect((await worker.runOnce()).delivered).toBe(1);
    context.clock.advance(24 * 60 * minute);
    expect((await worker.drain()).claimed).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, slowAnswerMs));
    // At least once: the receiver saw the event up to three times (twice unacknowledged; on a loaded machine a copy
    // can time out at the 150 ms deadline before its body arrives), always the same event and content.
    const seen = eventIdsReceived(notify);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThanOrEqual(3);
    expect(new Set(seen)).toEqual(new Set([row.event_id]));
    const contents = notify.received.map((request) => decryptV3Resource(JSON.parse(request.body).resource, client.merchant.apiV3Key));
    expect(new Set(contents).size).toBe(1);
    notify.received.length = 0;
  });

  const orderingTitle =
    'ordering: events of one order are independent jobs; ' +
    'a refund notice can arrive before a payment notice still backing off; each arrives once';
  it(orderingTitle, async () => {
    const { outTradeNo, order, job: payment } = await paidOrder(3000);
    notify.behaviour = { kind: 'answer', status: 503, body: '{"code":"FAIL","message":"down"}' };
    await worker.runOnce();
    notify.behaviour = { kind: 'answer', status: 204 };
    const outRefundNo = `R${outTradeNo}`;
    expect((await client.refund({ outTradeNo, outRefundNo, refund: 1000, total: 3000, notifyUrl })).statusCode).toBe(200);
    expect((await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${outRefundNo}/succeed` })).statusCode).toBe(200);
    notify.received.length = 0;
    await worker.runOnce();
    const refund = (await refundOfMerchant(db(), client.merchant, outRefundNo))!;
    const [refundJob] = await outboxRepository.listBySubject(db(), 'refund', String(refund.id));
    expect(notify.received.map((request) => JSON.parse(request.body).event_type)).toEqual(['REFUND.SUCCESS']);
    context.clock.set((await job(payment.id)).next_attempt_at!);
    await worker.runOnce();
    context.clock.advance(24 * 60 * minute);
    await worker.drain();
    expect(notify.received.map((request) => JSON.parse(request.body).event_type)).toEqual(['REFUND.SUCCESS', 'TRANSACTION.SUCCESS']);
    expect(eventIdsReceived(notify)).toEqual([refundJob!.event_id, payment.event_id]);
    // Each notice carries the state it reports, so a merchant applying them in any order ends right.
    const [refundNotice, paymentNotice] = notify.received.map((request) =>
      JSON.parse(decryptV3Resource(JSON.parse(request.body).resource, client.merchant.apiV3Key)),
    );
    expect(refundNotice).toMatchObject({ out_refund_no: outRefundNo, refund_status: 'SUCCESS' });
    expect(paymentNotice).toMatchObject({ out_trade_no: order.out_trade_no, trade_state: 'SUCCESS' });
    notify.received.length = 0;
  });

  const webhookTitle =
    'a host-reported refund webhook down for hours, then slow, then back: ' +
    'delivered until acknowledged, the refund settled once by the signed report';
  it(webhookTitle, async () => {
    const applicationId = manifest.superapp.applicationId;
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'host_reported', webhookUrl: `https://notify.merchant.test:${webhook.port_}/refund-webhook` },
    });
    const hostKey = (await context.services.hostKeys.rotate(saAdmin, applicationId)).hostKey;
    const report = async (path: 'payOrder' | 'refundResult', fields: Record<string, string | number>) => {
      const body = buildHostXml(fields);
      const response = await context.app.inject({
        method: 'POST',
        url: `/superapp/pay/${path}`,
        headers: { 'content-type': 'application/xml', ...signChannelMessage(hostKey, body, { nowMs: context.clock.nowMs() }) },
        payload: body,
      });
      return parseHostXml(response.body);
    };
    const outTradeNo = number('HRW');
    const prepay = await client.prepay({ outTradeNo, total: 2000 });
    expect(prepay.statusCode).toBe(200);
    expect(
      (
        await report('payOrder', {
          prepay_id: prepay.body.prepay_id,
          out_trade_no: outTradeNo,
          total_fee: 2000,
          transaction_id: `SA-${outTradeNo}`,
        })
      ).return_code,
    ).toBe('SUCCESS');
    const outRefundNo = `R${outTradeNo}`;
    expect((await client.refund({ outTradeNo, outRefundNo, refund: 700, total: 2000 })).body.status).toBe('PROCESSING');
    const refund = (await refundOfMerchant(db(), client.merchant, outRefundNo))!;
    const [row] = (await outboxRepository.listBySubject(db(), 'refund', String(refund.id))).filter(
      (r) => r.topic === hostRefundWebhookTopic,
    );

    // Down for the first 10 attempts (about 2 h 15 min), then slow twice, then answering.
    await webhook.down();
    const waits = await followSchedule(row!, 10);
    expect(waits).toEqual(notificationRetryScheduleMs.slice(0, 9));
    await webhook.up();
    webhook.behaviour = { kind: 'slow' };
    for (let slow = 0; slow < 2; slow += 1) {
      context.clock.set((await job(row!.id)).next_attempt_at!);
      await worker.runOnce();
    }
    webhook.behaviour = { kind: 'answer', status: 200, body: '{"received":true}' };
    context.clock.set((await job(row!.id)).next_attempt_at!);
    await worker.runOnce();
    const attempts = await outboxRepository.listAttempts(db(), row!.id);
    expect(attempts.map((attempt) => attempt.outcome)).toEqual([...Array(12).fill('failed'), 'delivered']);
    expect(await job(row!.id)).toMatchObject({ status: 'delivered', attempts: 13 });
    // (The order's own notifications go to an unreachable notify_url meanwhile: only this job is looked at.)
    context.clock.advance(24 * 60 * minute);
    await worker.drain();
    expect(await job(row!.id)).toMatchObject({ status: 'delivered', attempts: 13 });
    await new Promise((resolve) => setTimeout(resolve, slowAnswerMs));
    // Up to three copies reached it (two slow, one acknowledged; a loaded machine can time one out before its body
    // arrives): the same refund request each time, each signed afresh.
    const copies = webhook.received.map((request) => JSON.parse(request.body).refund.out_refund_no);
    expect(copies.length).toBeGreaterThanOrEqual(1);
    expect(copies.length).toBeLessThanOrEqual(3);
    expect(new Set(copies)).toEqual(new Set([outRefundNo]));
    expect(new Set(webhook.received.map((request) => request.headers['paythrough-nonce'])).size).toBe(copies.length);
    expect((await refundRepository.findById(db(), refund.id))!.status).toBe('PROCESSING');

    // The superapp refunds once and reports; a repeated report changes nothing; one REFUND.SUCCESS.
    const result = {
      mchid: client.merchant.mchid,
      out_refund_no: outRefundNo,
      refund_status: 'SUCCESS',
      refund_id: `SA-R-${outTradeNo}`,
      refund_fee: 700,
    };
    expect((await report('refundResult', result)).return_code).toBe('SUCCESS');
    expect((await report('refundResult', result)).return_code).toBe('SUCCESS');
    expect((await report('refundResult', { ...result, refund_status: 'CLOSED' })).return_code).toBe('FAIL');
    const notices = (await outboxRepository.listBySubject(db(), 'refund', String(refund.id))).filter(
      (r) => r.topic === merchantNotificationTopic,
    );
    expect(notices.map((notice) => JSON.parse(notice.payload_json).event_type)).toEqual(['REFUND.SUCCESS']);
    expect((await orderOfMerchant(db(), client.merchant, outTradeNo))!).toMatchObject({
      trade_state: 'REFUND',
      refund_succeeded: 700,
      refund_reserved: 700,
    });
  });
});
