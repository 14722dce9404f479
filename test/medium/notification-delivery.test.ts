import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { decryptV3Resource, verifyV3Response } from '../../src/crypto/wechatpay-v3.ts';
import { OutboxWorker, notificationRetryScheduleMs } from '../../src/jobs/outbox-worker.ts';
import { NotificationDeliverer, type NotificationKeys } from '../../src/services/payments/notification-delivery.ts';
import { merchantNotificationTopic, type MerchantNotificationInput } from '../../src/services/payments/notification.service.ts';
import { keyFixtures, tlsFixtures } from '../fixtures/keys/index.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const require = createRequire(import.meta.url);
const Aes = require('wechatpay-axios-plugin/lib/aes.js');

const apiV3Key = 'Q7bc9dEf1gHi2jKl3mNo4pQr5sTu6vWx';
const platformSerial = 'PUB_KEY_ID_0114232134912410000000000000001';
const keys: NotificationKeys = {
  apiV3KeyFor: async (appId) => (appId === 'mnp_nokey' ? null : apiV3Key),
  platformSigner: async () => ({ serial: platformSerial, privateKey: keyFixtures.platform.privateKeyPem }),
};

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describeOnEachDatabase('notification delivery', (kind) => {
  let context: TestContext;
  let server: Server;
  let tlsServer: ReturnType<typeof createHttpsServer>;
  let baseUrl: string;
  let tlsPort: number;
  const received: Received[] = [];
  /** How the merchant answers the next requests, in order; then 204. */
  let script: Array<{ status: number; body?: string; hang?: boolean; location?: string }> = [];

  const handler = (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      received.push({ url: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const next = script.shift() ?? { status: 204 };
      if (next.hang) return;
      response
        .writeHead(next.status, { 'content-type': 'application/json', ...(next.location ? { location: next.location } : {}) })
        .end(next.body ?? '');
    });
  };

  beforeAll(async () => {
    context = await createTestContext(kind);
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tlsServer = createHttpsServer({ key: tlsFixtures.serverKeyPem, cert: tlsFixtures.serverCertPem }, handler);
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    tlsPort = (tlsServer.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    tlsServer?.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => tlsServer.close(resolve));
    await context?.close();
  });
  beforeEach(() => {
    received.length = 0;
    script = [];
  });

  const worker = (options: { sandboxEnabled?: boolean; allowPrivateTargets?: string[]; timeoutMs?: number; lookup?: boolean } = {}) =>
    new OutboxWorker({
      db: context.database.db,
      kind,
      clock: context.clock,
      handlers: {
        [merchantNotificationTopic]: new NotificationDeliverer({
          keys,
          clock: context.clock,
          allowPrivateTargets: options.allowPrivateTargets ?? [],
          sandboxEnabled: options.sandboxEnabled ?? true,
          timeZone: 'Asia/Shanghai',
          ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.lookup ? { lookup: async () => [{ address: '127.0.0.1', family: 4 }], tls: { ca: tlsFixtures.caPem } } : {}),
        }),
      },
    });

  const transaction = {
    appid: 'mnp_shop',
    mchid: '1900000001',
    out_trade_no: 'N1',
    transaction_id: '4200000000202601150000000001',
    trade_type: 'JSAPI',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    amount: { total: 100, payer_total: 100, currency: 'CNY', payer_currency: 'CNY' },
    payer: { openid: 'o1' },
  };
  const notify = (overrides: Partial<MerchantNotificationInput> = {}) =>
    context.database.db.transaction().execute((trx) =>
      context.services.notifications.enqueue(trx, {
        eventType: 'TRANSACTION.SUCCESS',
        appId: 'mnp_shop',
        mchid: '1900000001',
        notifyUrl: `${baseUrl}/notify`,
        resource: transaction,
        sandbox: true,
        subject: { type: 'order', id: 7 },
        ...overrides,
      }),
    );

  const retriedTitle =
    'fails three times, then is delivered; ' + 'each attempt re-signed with a fresh timestamp and nonce, verifiable and decryptable';
  it(retriedTitle, async () => {
    script = [
      { status: 500, body: '{"code":"FAIL","message":"失败"}' },
      { status: 503 },
      { status: 400, body: '{"code":"FAIL"}' },
      { status: 200, body: '{"code":"SUCCESS","message":"成功"}' },
    ];
    const job = await notify();
    const run = worker();
    await run.runOnce();
    for (const waitMs of notificationRetryScheduleMs.slice(0, 3)) {
      context.clock.advance(waitMs - 1);
      expect((await run.runOnce()).claimed).toBe(0);
      context.clock.advance(1);
      await run.runOnce();
    }
    expect(received).toHaveLength(4);
    expect((await context.services.outbox.get(job.id))!).toMatchObject({ status: 'delivered', attempts: 4 });
    const attempts = await context.services.outbox.attempts(job.id);
    expect(attempts.map((a) => [a.outcome, a.http_status])).toEqual([
      ['failed', 500],
      ['failed', 503],
      ['failed', 400],
      ['delivered', 200],
    ]);
    // The receiver is on loopback (a sandbox superapp): its status is kept, its answer's words are not.
    expect(attempts[0]!.response_excerpt).toBeNull();

    const timestamps = new Set<string>();
    const nonces = new Set<string>();
    let nowMs = context.clock.nowMs() - (15_000 + 15_000 + 30_000);
    for (const [index, request] of received.entries()) {
      if (index > 0) nowMs += notificationRetryScheduleMs[index - 1]!;
      expect(request.url).toBe('/notify');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['wechatpay-signature-type']).toBe('WECHATPAY2-SHA256-RSA2048');
      // The merchant checks it as v3 SDKs check notifications: ±300 s of its clock, the platform key, the exact body.
      const verified = verifyV3Response({
        headers: request.headers as Record<string, unknown>,
        body: request.body,
        publicKeys: { [platformSerial]: keyFixtures.platform.publicKeyPem },
        nowMs,
      });
      expect(verified).toMatchObject({ ok: true, serial: platformSerial, timestamp: Math.floor(nowMs / 1000) });
      timestamps.add(String(request.headers['wechatpay-timestamp']));
      nonces.add(String(request.headers['wechatpay-nonce']));
      const body = JSON.parse(request.body);
      expect(Object.keys(body)).toEqual(['id', 'create_time', 'resource_type', 'event_type', 'summary', 'resource']);
      expect(body).toMatchObject({
        id: job.event_id,
        resource_type: 'encrypt-resource',
        event_type: 'TRANSACTION.SUCCESS',
        summary: '支付成功',
      });
      expect(body.create_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
      expect(body.resource).toMatchObject({ algorithm: 'AEAD_AES_256_GCM', associated_data: 'transaction', original_type: 'transaction' });
      expect(JSON.parse(decryptV3Resource(body.resource, apiV3Key))).toEqual(transaction);
      // And the published client's own AES-GCM agrees.
      expect(
        JSON.parse(Aes.AesGcm.decrypt(body.resource.ciphertext, apiV3Key, body.resource.nonce, body.resource.associated_data)),
      ).toEqual(transaction);
    }
    expect(timestamps.size).toBe(4);
    expect(nonces.size).toBe(4);
    // The event keeps its id and create_time across attempts.
    expect(new Set(received.map((r) => JSON.parse(r.body).id)).size).toBe(1);
    expect(new Set(received.map((r) => JSON.parse(r.body).create_time)).size).toBe(1);
  });

  it('refund notifications use associated_data and original_type refund', async () => {
    const refund = {
      mchid: '1900000001',
      out_trade_no: 'N1',
      transaction_id: '42',
      refund_id: '50',
      out_refund_no: 'R1',
      refund_status: 'SUCCESS',
      success_time: '2026-01-15T12:00:00+08:00',
      user_received_account: '支付用户零钱',
      amount: { total: 100, refund: 100, payer_total: 100, payer_refund: 100 },
    };
    await notify({ eventType: 'REFUND.SUCCESS', resource: refund, subject: { type: 'refund', id: 3 } });
    await worker().runOnce();
    const body = JSON.parse(received[0]!.body);
    expect(body).toMatchObject({
      event_type: 'REFUND.SUCCESS',
      summary: '退款成功',
      resource: { associated_data: 'refund', original_type: 'refund' },
    });
    expect(JSON.parse(decryptV3Resource(body.resource, apiV3Key))).toEqual(refund);
  });

  it('refuses plain http and loopback unless the superapp is on the sandbox and the sandbox is on', async () => {
    const job = await notify({ sandbox: false });
    await worker().runOnce();
    const sandboxOff = await notify({ sandbox: true });
    await worker({ sandboxEnabled: false }).runOnce();
    // An allow-listed private range still needs https.
    const allowListed = await notify({ sandbox: false });
    await worker({ allowPrivateTargets: ['127.0.0.0/8'] }).runOnce();
    expect(received).toHaveLength(0);
    for (const id of [job.id, sandboxOff.id, allowListed.id]) {
      const [attempt] = await context.services.outbox.attempts(id);
      expect(attempt).toMatchObject({ outcome: 'failed', http_status: null });
      expect(attempt!.error).toMatch(/refused: The URL must be https/);
      expect((await context.services.outbox.get(id))!.status).toBe('pending');
    }
  });

  const loopbackNameTitle =
    'https to a name that resolves to loopback: refused, unless PAYTHROUGH_ALLOW_PRIVATE_TARGETS allows it; ' +
    'then pinned and TLS-checked';
  it(loopbackNameTitle, async () => {
    const url = `https://${tlsFixtures.hostname}:${tlsPort}/notify`;
    const refused = await notify({ sandbox: false, notifyUrl: url });
    await worker({ lookup: true }).runOnce();
    expect((await context.services.outbox.attempts(refused.id))[0]!.error).toMatch(/loopback address/);
    const allowed = await notify({ sandbox: false, notifyUrl: url });
    await worker({ lookup: true, allowPrivateTargets: ['127.0.0.1/32'] }).runOnce();
    expect((await context.services.outbox.get(allowed.id))!.status).toBe('delivered');
    expect(received).toHaveLength(1);
    expect(received[0]!.headers.host).toBe(`${tlsFixtures.hostname}:${tlsPort}`);
  });

  it('does not follow redirects, gives up after the timeout, and keeps no answer body from a loopback target', async () => {
    script = [{ status: 302, location: 'http://127.0.0.1:1/elsewhere' }];
    const redirected = await notify();
    await worker().runOnce();
    expect((await context.services.outbox.attempts(redirected.id))[0]).toMatchObject({
      outcome: 'failed',
      http_status: 302,
      error: 'HTTP 302 (redirects are not followed)',
    });
    expect(received).toHaveLength(1);

    script = [{ status: 200, hang: true }];
    const slow = await notify();
    await worker({ timeoutMs: 300 }).runOnce();
    expect((await context.services.outbox.attempts(slow.id))[0]!.error).toMatch(/^timeout/);

    script = [{ status: 500, body: 'x'.repeat(5000) }];
    const chatty = await notify();
    await worker().runOnce();
    // A sandbox superapp's notify_url may point at any service on the host: its status and timing are shown, never its words.
    const [attempt] = await context.services.outbox.attempts(chatty.id);
    expect(attempt).toMatchObject({ http_status: 500, response_excerpt: null });
    expect(attempt!.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('builds the body from a minimal payload too (id and create_time from the outbox row)', async () => {
    const job = await context.database.db.transaction().execute((trx) =>
      context.services.outbox.enqueue(trx, {
        topic: merchantNotificationTopic,
        payload: {
          event_type: 'REFUND.CLOSED',
          summary: '退款关闭',
          original_type: 'refund',
          resource: { out_refund_no: 'R9' },
          mnp_id: 'mnp_shop',
        },
        targetUrl: `${baseUrl}/notify`,
        sandbox: true,
      }),
    );
    await worker().runOnce();
    const body = JSON.parse(received[0]!.body);
    expect(body).toMatchObject({
      id: job.event_id,
      event_type: 'REFUND.CLOSED',
      summary: '退款关闭',
      resource: { associated_data: 'refund' },
    });
    expect(Date.parse(body.create_time)).toBe(Math.floor(job.created_at / 1000) * 1000);
    expect(JSON.parse(decryptV3Resource(body.resource, apiV3Key))).toEqual({ out_refund_no: 'R9' });
  });

  it('a mini program without an APIv3 key: the attempt fails (nothing is sent) and is retried', async () => {
    const job = await notify({ appId: 'mnp_nokey' });
    await worker().runOnce();
    expect(received).toHaveLength(0);
    expect((await context.services.outbox.attempts(job.id))[0]!.error).toMatch(/no APIv3 key/);
    expect((await context.services.outbox.get(job.id))!).toMatchObject({
      status: 'pending',
      next_attempt_at: context.clock.nowMs() + 15_000,
    });
  });

  it('the console resend delivers a failed notification again, re-signed', async () => {
    const job = await notify();
    await worker().runOnce();
    await context.database.db.updateTable('outbox').set({ status: 'failed', next_attempt_at: null }).where('id', '=', job.id).execute();
    context.clock.advance(3600_000);
    await context.services.outbox.resend(job.id);
    await worker().runOnce();
    // Other tests' events fall due too after an hour: look at this one's requests only.
    const mine = received.filter((request) => JSON.parse(request.body).id === job.event_id);
    expect(mine).toHaveLength(2);
    expect(Number(mine[1]!.headers['wechatpay-timestamp']) - Number(mine[0]!.headers['wechatpay-timestamp'])).toBe(3600);
    expect((await context.services.outbox.attempts(job.id)).map((a) => a.manual)).toEqual([0, 1]);
  });
});
