import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decryptV3Resource, verifyV3Response } from '../../src/crypto/wechatpay-v3.ts';
import { OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import { outboxRepository } from '../../src/repositories/outbox.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { NotificationDeliverer } from '../../src/services/payments/notification-delivery.ts';
import { merchantNotificationTopic } from '../../src/services/payments/notification.service.ts';
import {
  deliverDemoShopNotifications,
  NotifyServer,
  payInSandbox,
  readyMerchant,
  V3InjectClient,
  orderOfMerchant,
} from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const second = 1000;
const minute = 60 * second;
let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

describeOnEachDatabase('gateway notifications, trade bill and certificates', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let notify: NotifyServer;
  let worker: OutboxWorker;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    // This file counts the outbox's work: only its own.
    expect(await deliverDemoShopNotifications(context)).toBe(6);
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    notify = await new NotifyServer().start();
    // The worker the server runs, driven step by step here (the app never listens in this file).
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
        }),
      },
    });
  });
  afterAll(async () => {
    await notify?.stop();
    await context?.close();
  });

  it('retries a failing notify_url on the schedule, every attempt logged and re-signed, until it answers 2xx', async () => {
    notify.status = 500;
    notify.received.length = 0;
    const outTradeNo = number('NTF');
    const { body } = await client.prepay({ outTradeNo, notifyUrl: notify.url, attach: 'note' });
    await payInSandbox(context.app, body.prepay_id);
    const order = (await orderOfMerchant(context.database.db, client.merchant, outTradeNo))!;
    const [job] = await outboxRepository.listBySubject(context.database.db, 'order', String(order.id));
    const start = context.clock.nowMs();

    const waits = [15 * second, 15 * second, 30 * second, 3 * minute, 10 * minute];
    expect((await worker.runOnce()).rescheduled).toBe(1);
    for (const wait of waits) {
      const due = (await outboxRepository.findById(context.database.db, job!.id))!.next_attempt_at!;
      expect(due - context.clock.nowMs()).toBe(wait);
      // Nothing happens a moment before it is due.
      context.clock.set(due - 1);
      expect((await worker.runOnce()).claimed).toBe(0);
      context.clock.set(due);
      expect((await worker.runOnce()).claimed).toBe(1);
    }
    expect(notify.received).toHaveLength(6);
    const attempts = await outboxRepository.listAttempts(context.database.db, job!.id);
    expect(attempts.map((a) => [a.attempt_no, a.outcome, a.http_status])).toEqual([1, 2, 3, 4, 5, 6].map((n) => [n, 'failed', 500]));
    expect(attempts.map((a) => a.started_at - start)).toEqual([0, 15_000, 30_000, 60_000, 240_000, 840_000]);
    const timestamps = notify.received.map((r) => r.headers['wechatpay-timestamp']);
    expect(new Set(timestamps).size).toBe(6);

    notify.status = 204;
    context.clock.advance(20 * minute);
    expect((await worker.runOnce()).delivered).toBe(1);
    expect((await outboxRepository.findById(context.database.db, job!.id))!).toMatchObject({ status: 'delivered', attempts: 7 });

    // What arrived verifies with the platform key and decrypts with the APIv3 key.
    const last = notify.received.at(-1)!;
    const verified = verifyV3Response({
      headers: last.headers as Record<string, unknown>,
      body: last.body,
      publicKeys: { [client.merchant.platformSerial]: client.merchant.platformPublicKeyPem },
      nowMs: context.clock.nowMs(),
    });
    expect(verified.ok).toBe(true);
    const notification = JSON.parse(last.body);
    expect(notification).toMatchObject({
      event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource',
      resource: { original_type: 'transaction', associated_data: 'transaction' },
    });
    const transaction = JSON.parse(decryptV3Resource(notification.resource, client.merchant.apiV3Key));
    expect(transaction).toMatchObject({
      out_trade_no: outTradeNo,
      trade_state: 'SUCCESS',
      attach: 'note',
      mchid: client.merchant.mchid,
      appid: client.merchant.mnpId,
      transaction_id: order.transaction_id,
    });
  });

  it('sends refund notifications to the refund notify_url', async () => {
    notify.status = 204;
    notify.received.length = 0;
    const outTradeNo = number('NRF');
    const { body } = await client.prepay({ outTradeNo, total: 800 });
    await payInSandbox(context.app, body.prepay_id);
    await client.refund({ outTradeNo, outRefundNo: `${outTradeNo}-1`, refund: 300, total: 800, notifyUrl: notify.url });
    await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${outTradeNo}-1/succeed` });
    await worker.drain();
    const refundNotice = notify.received.map((r) => JSON.parse(r.body)).find((n) => n.event_type === 'REFUND.SUCCESS');
    expect(refundNotice).toBeDefined();
    const resource = JSON.parse(decryptV3Resource(refundNotice.resource, client.merchant.apiV3Key));
    expect(resource).toMatchObject({
      out_refund_no: `${outTradeNo}-1`,
      out_trade_no: outTradeNo,
      refund_status: 'SUCCESS',
      amount: { refund: 300, total: 800 },
    });
  });

  it('hands out the trade bill of today so far: hash announced = SHA1 of the downloaded file', async () => {
    const outTradeNo = number('BILL');
    const { body } = await client.prepay({ outTradeNo, total: 1234, description: 'Bill, test' });
    await payInSandbox(context.app, body.prepay_id);
    await client.refund({ outTradeNo, outRefundNo: `${outTradeNo}-1`, refund: 234, total: 1234 });
    await context.app.inject({ method: 'POST', url: `/sandbox/v1/refunds/${outTradeNo}-1/succeed` });
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(context.clock.nowMs()));
    // Today's bill holds what settled up to 2 seconds before it is asked for.
    context.clock.advance(3000);

    for (const tarType of [undefined, 'GZIP'] as const) {
      const applied = await client.request(
        'GET',
        `/v3/bill/tradebill?bill_date=${today}&bill_type=ALL${tarType ? `&tar_type=${tarType}` : ''}`,
      );
      expect(applied.statusCode).toBe(200);
      expect(applied.body.hash_type).toBe('SHA1');
      const url = new URL(applied.body.download_url);
      expect(url.pathname).toBe('/v3/billdownload/file');
      // Records made after the bill was applied for do not change the file announced.
      const later = number('LATER');
      await payInSandbox(context.app, (await client.prepay({ outTradeNo: later })).body.prepay_id);
      const response = await context.app.inject({
        method: 'GET',
        url: `${url.pathname}${url.search}`,
        headers: {
          authorization: (await import('../../src/crypto/wechatpay-v3.ts')).signV3Request(
            { mchid: client.merchant.mchid, serialNo: client.merchant.serialNo, privateKey: client.merchant.privateKeyPem },
            { method: 'GET', url: `${url.pathname}${url.search}`, body: '' },
            { nowMs: context.clock.nowMs() },
          ),
        },
      });
      expect(response.statusCode).toBe(200);
      const file = tarType ? gunzipSync(response.rawPayload) : response.rawPayload;
      expect(response.headers['content-type']).toContain(tarType ? 'application/x-gzip' : 'text/csv');
      expect(createHash('sha1').update(file).digest('hex')).toBe(applied.body.hash_value);
      const text = file.toString('utf8');
      expect(text.startsWith('\uFEFFTrade time,')).toBe(true);
      expect(text).toContain(`\`${outTradeNo}`);
      expect(text).toContain('`12.34');
      expect(text).toContain('`2.34');
      expect(text).not.toContain(`\`${later}`);
    }
    const future = await client.request('GET', '/v3/bill/tradebill?bill_date=2999-01-01');
    expect([future.statusCode, future.body.code]).toEqual([400, 'INVALID_REQUEST']);
    const malformed = await client.request('GET', '/v3/bill/tradebill?bill_date=20260101');
    expect(malformed.body).toMatchObject({ code: 'PARAM_ERROR', detail: { field: 'bill_date', location: 'query' } });
  });

  it('lists the platform certificates encrypted with the caller’s APIv3 key', async () => {
    const answer = await client.request('GET', '/v3/certificates');
    expect(answer.statusCode).toBe(200);
    const [entry] = answer.body.data;
    expect(entry.encrypt_certificate).toMatchObject({ algorithm: 'AEAD_AES_256_GCM', associated_data: 'certificate' });
    const pem = decryptV3Resource(entry.encrypt_certificate, client.merchant.apiV3Key);
    expect(pem).toContain('BEGIN CERTIFICATE');
    const key = await context.services.platformKeys.signingKey();
    expect(entry.serial_no).toBe(key.serialNo);
    expect(pem.trim()).toBe(key.certificatePem.trim());
    // A client in certificate mode names the serial it holds and gets answers signed under that id.
    const certificateMode = await context.app.inject({
      method: 'GET',
      url: '/v3/pay/transactions/out-trade-no/NOSUCH1?mchid=1',
      headers: { 'wechatpay-serial': key.serialNo },
    });
    expect(certificateMode.headers['wechatpay-serial']).toBe(key.serialNo);
  });
});
