import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { decryptV3Resource } from '../../src/crypto/wechatpay-v3.ts';
import { OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import { channelPaymentRepository } from '../../src/repositories/channel-payment.repository.ts';
import { orderRepository } from '../../src/repositories/order.repository.ts';
import { refundRepository } from '../../src/repositories/refund.repository.ts';
import { parseHostXml } from '../../src/routes/host/host-xml.ts';
import { demoGoods } from '../../src/services/demo/demo-merchant.service.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { NotificationDeliverer } from '../../src/services/payments/notification-delivery.ts';
import { merchantNotificationTopic } from '../../src/services/payments/notification.service.ts';
import { NotifyServer, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

/**
 * The body exactly as the demo host's Android `PayApi` builds it: a map written with XmlSerializer
 * (`startDocument("UTF-8", true)`, a root `<xml>`, one element per entry, `text()` escaping &, < and >).
 */
function androidXml(map: Map<string, string>): string {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  let xml = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><xml>";
  for (const [key, value] of map) xml += `<${key}>${escape(value)}</${key}>`;
  return `${xml}</xml>`;
}

/** Its nonce_str: 32 random characters (a UUID without dashes, as the demo does). */
const nonceStr = () => randomUUID().replace(/-/g, '');

describeOnEachDatabase('host API as the demo host apps call it (sandbox superapp, unsigned)', (kind) => {
  let context: TestContext;
  let server: FastifyInstance;
  let baseUrl: string;
  let manifest: DemoManifest;
  let client: V3InjectClient;
  let notify: NotifyServer;
  let worker: OutboxWorker;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    notify = await new NotifyServer().start();
    // A listening server, as the phone reaches it (the jobs are driven step by step below instead).
    server = await buildApp(context, { backgroundJobs: false });
    await server.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
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
    await server?.close();
    await notify?.stop();
    await context?.close();
  });

  /** One call as the demo host makes it: POST, `Content-Type: application/xml`, the XML above. */
  async function hostCall(path: 'queryPreOrder' | 'payOrder', map: Map<string, string>) {
    const response = await fetch(`${baseUrl}/superapp/pay/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/xml' },
      body: androidXml(map),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/xml/);
    return parseHostXml(await response.text());
  }
  const query = (prepayId: string) =>
    hostCall(
      'queryPreOrder',
      new Map([
        ['appid', client.merchant.mnpId],
        ['nonce_str', nonceStr()],
        ['prepay_id', prepayId],
      ]),
    );
  const pay = (prepayId: string, outTradeNo: string, totalFee: number | string) =>
    hostCall(
      'payOrder',
      new Map([
        ['prepay_id', prepayId],
        ['out_trade_no', outTradeNo],
        ['total_fee', String(totalFee)],
      ]),
    );

  it('finds the order, pays it once however often the report repeats, and notifies the mini program server', async () => {
    notify.received.length = 0;
    const outTradeNo = number('HOSTDEMO');
    const { body } = await client.prepay({ outTradeNo, total: 1234, notifyUrl: notify.url, description: 'Coffee & <cake>' });
    const prepayId = body.prepay_id as string;

    const found = await query(prepayId);
    expect(found).toMatchObject({
      return_code: 'SUCCESS',
      prepay_id: prepayId,
      out_trade_no: outTradeNo,
      total_fee: '1234',
      fee_type: 'CNY',
      body: 'Coffee & <cake>',
      appid: client.merchant.mnpId,
    });
    expect(Date.parse(found.time_expire!)).toBeGreaterThan(context.clock.nowMs());
    // The order summary only: nothing about the payer, the merchant or the notify_url.
    expect(Object.keys(found).sort()).toEqual([
      'appid',
      'body',
      'fee_type',
      'nonce_str',
      'out_trade_no',
      'prepay_id',
      'return_code',
      'return_msg',
      'time_expire',
      'total_fee',
    ]);

    for (let report = 0; report < 3; report++) expect(await pay(prepayId, outTradeNo, 1234)).toMatchObject({ return_code: 'SUCCESS' });
    const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
    expect(order).toMatchObject({ trade_state: 'SUCCESS', amount_total: 1234 });
    expect(await channelPaymentRepository.listByOrder(context.database.db, order.id)).toHaveLength(1);
    // A host must not charge a paid order again.
    expect(await query(prepayId)).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringMatching(/paid/) });
    expect((await client.queryByOutTradeNo(outTradeNo)).body).toMatchObject({
      trade_state: 'SUCCESS',
      transaction_id: order.transaction_id,
    });

    // TRANSACTION.SUCCESS through the outbox to the mini program server's notify_url, exactly once.
    expect((await worker.runOnce()).delivered).toBe(1);
    expect((await worker.runOnce()).claimed).toBe(0);
    expect(notify.received).toHaveLength(1);
    const notification = JSON.parse(notify.received[0]!.body);
    expect(notification.event_type).toBe('TRANSACTION.SUCCESS');
    expect(JSON.parse(decryptV3Resource(notification.resource, client.merchant.apiV3Key))).toMatchObject({
      out_trade_no: outTradeNo,
      trade_state: 'SUCCESS',
      transaction_id: order.transaction_id,
    });
  });

  it("the demo shop's merchant API answers only about orders the shop placed, not any order of its mini program", async () => {
    const placed = await fetch(`${baseUrl}/demo/merchant/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ goodsId: demoGoods[0]!.id, quantity: 1 }),
    });
    expect(placed.status).toBe(200);
    const { order } = (await placed.json()) as { order: { outTradeNo: string } };
    const own = await fetch(`${baseUrl}/demo/merchant/api/orders/${order.outTradeNo}`);
    expect([own.status, ((await own.json()) as { trade_state: string }).trade_state]).toEqual([200, 'WAIT_PAY']);
    // Another order of the same mini program, placed by its real merchant server.
    const elsewhere = number('ELSEWHERE');
    expect((await client.prepay({ outTradeNo: elsewhere, total: 900 })).statusCode).toBe(200);
    expect((await fetch(`${baseUrl}/demo/merchant/api/orders/${elsewhere}`)).status).toBe(404);
    expect((await fetch(`${baseUrl}/demo/merchant/api/orders/${elsewhere}/refund`, { method: 'POST' })).status).toBe(404);
  });

  it('answers FAIL and changes nothing for a wrong total_fee or an unknown prepay_id', async () => {
    const outTradeNo = number('HOSTFEE');
    const { body } = await client.prepay({ outTradeNo, total: 500 });
    for (const fee of [499, 5000, '5.00', '']) {
      expect(await pay(body.prepay_id, outTradeNo, fee)).toMatchObject({
        return_code: 'FAIL',
        return_msg: expect.stringMatching(/total_fee/),
      });
    }
    const order = (await orderRepository.findByPrepayId(context.database.db, body.prepay_id))!;
    expect(order.trade_state).toBe('WAIT_PAY');
    expect(await channelPaymentRepository.listByOrder(context.database.db, order.id)).toHaveLength(0);
    expect(await query('wx_unknown_prepay_id')).toMatchObject({ return_code: 'FAIL', return_msg: 'Unknown prepay_id' });
    expect(await pay('wx_unknown_prepay_id', outTradeNo, 500)).toMatchObject({ return_code: 'FAIL', return_msg: 'Unknown prepay_id' });
    // Another mini program's appid does not find it either.
    expect(
      await hostCall(
        'queryPreOrder',
        new Map([
          ['appid', 'mnp_other'],
          ['nonce_str', nonceStr()],
          ['prepay_id', body.prepay_id],
        ]),
      ),
    ).toMatchObject({ return_code: 'FAIL' });
  });

  it('refuses to quote an expired or closed order; a payment reported for it anyway is recorded and refunded (late payment)', async () => {
    const expiring = number('HOSTEXP');
    const { body: expiringBody } = await client.prepay({
      outTradeNo: expiring,
      total: 700,
      timeExpire: new Date(context.clock.nowMs() + 60_000).toISOString(),
    });
    context.clock.advance(61_000);
    expect(await query(expiringBody.prepay_id)).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringMatching(/expired/) });

    const closed = number('HOSTCLS');
    const { body: closedBody } = await client.prepay({ outTradeNo: closed, total: 800 });
    expect((await client.close(closed)).statusCode).toBe(204);
    expect(await query(closedBody.prepay_id)).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringMatching(/closed/) });

    for (const [prepayId, outTradeNo, total] of [
      [expiringBody.prepay_id, expiring, 700],
      [closedBody.prepay_id, closed, 800],
    ] as const) {
      const answer = await pay(prepayId, outTradeNo, total);
      expect(answer).toMatchObject({ return_code: 'SUCCESS', return_msg: expect.stringMatching(/refund/) });
      const order = (await orderRepository.findByPrepayId(context.database.db, prepayId))!;
      expect(order.trade_state).toBe('REFUND');
      const refunds = await refundRepository.listByOrder(context.database.db, order.id);
      expect(refunds).toMatchObject([{ kind: 'late_payment', amount_refund: total, reason: 'late payment' }]);
      // Repeating the report starts nothing more.
      expect((await pay(prepayId, outTradeNo, total)).return_code).toBe('SUCCESS');
      expect(await refundRepository.listByOrder(context.database.db, order.id)).toHaveLength(1);
    }
  });

  it('accepts JSON bodies and answers XML; garbage and DOCTYPEs get a FAIL, still HTTP 200', async () => {
    const outTradeNo = number('HOSTJSON');
    const { body } = await client.prepay({ outTradeNo, total: 300 });
    const response = await fetch(`${baseUrl}/superapp/pay/queryPreOrder`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prepay_id: body.prepay_id }),
    });
    expect(parseHostXml(await response.text())).toMatchObject({ return_code: 'SUCCESS', total_fee: '300' });
    for (const bad of [
      'hello',
      '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><prepay_id>&e;</prepay_id></xml>',
      '<xml><a><b>1</b></a></xml>',
    ]) {
      const answer = await fetch(`${baseUrl}/superapp/pay/payOrder`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/xml' },
        body: bad,
      });
      expect(answer.status).toBe(200);
      expect(parseHostXml(await answer.text()).return_code).toBe('FAIL');
    }
  });
});
