import { afterAll, beforeAll, expect, it } from 'vitest';
import { OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { VirtualDeliveryDeliverer, virtualDeliveryTopic } from '../../src/services/virtual-payment/index.ts';
import { deliverDemoShopNotifications, demoActor, payInSandbox, V3InjectClient, readyMerchant } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { FakeVirtualPaymentSetup } from '../helpers/virtual-payment-directory-fake.ts';
import { DeliveryReceiver, hmacHex, randomAppKey, signVirtualPayment } from '../helpers/virtual-payment-merchant.ts';

const method = 'requestMidasPaymentGameItem';
let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

describeOnEachDatabase('virtual payment: the merchant server API (xpay, SPEC §8.5, §8.6)', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let mnpId: string;
  let appKey: string;
  let receiver: DeliveryReceiver;
  let worker: OutboxWorker;
  const setup = new FakeVirtualPaymentSetup();

  beforeAll(async () => {
    context = await createTestContext(kind, { virtualPaymentDirectory: setup.factory });
    manifest = await context.services.demoWorld.ensure();
    await deliverDemoShopNotifications(context);
    mnpId = manifest.miniPrograms.ready.mnpId;
    appKey = randomAppKey();
    receiver = await new DeliveryReceiver(appKey).start();
    setup.setAccount(mnpId, {
      kind: 'miniprogram',
      offerId: '1450000002',
      mchid: manifest.miniPrograms.ready.mchid,
      appKey,
      deliveryUrl: receiver.url,
      virtualPaymentEnabled: true,
    });
    setup.approveItem(mnpId, { productId: 'gem_pack_60', name: 'Gem pack 60', price: 600, currency: 'CNY' });
    worker = new OutboxWorker({
      db: context.database.db,
      kind: context.database.kind,
      clock: context.clock,
      handlers: {
        [virtualDeliveryTopic]: new VirtualDeliveryDeliverer({
          db: context.database.db,
          directory: context.services.virtualPaymentDirectory,
          clock: context.clock,
          allowPrivateTargets: [],
          sandboxEnabled: true,
        }),
      },
    });
  });
  afterAll(async () => {
    await receiver?.stop();
    await context?.close();
  });

  /** The merchant server: pay_sig over the exact bytes it sends, with plain node:crypto. */
  async function xpay(name: string, body: Record<string, unknown> | string, options: { paySig?: string; appid?: string } = {}) {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const paySig = options.paySig ?? hmacHex(appKey, `/xpay/${name}&${raw}`);
    const response = await context.app.inject({
      method: 'POST',
      url: `/xpay/${name}?appid=${options.appid ?? mnpId}&pay_sig=${paySig}&access_token=ignored`,
      headers: { 'content-type': 'application/json' },
      payload: raw,
    });
    expect(response.statusCode).toBe(200);
    return response.json() as any;
  }

  /** An order verified and paid in the sandbox: its ids. */
  async function paidOrder(quantity = 2): Promise<{ orderId: string; wxOrderId: string }> {
    const signData = JSON.stringify({
      mode: 'goods',
      buyQuantity: quantity,
      env: 1,
      currencyType: 'CNY',
      productId: 'gem_pack_60',
      goodsPrice: 600,
      outTradeNo: number('XP'),
      attach: '',
    });
    const payload = JSON.stringify({
      appId: mnpId,
      method,
      ...signVirtualPayment(appKey, 'sk', method, signData),
      openid: 'openid-x',
      sessionVerified: true,
    });
    const verified = (
      await context.app.inject({
        method: 'POST',
        url: '/bridge/v1/verify-virtual-payment',
        headers: { 'content-type': 'application/json' },
        payload,
      })
    ).json();
    expect(verified.result).toBe('ok');
    await payInSandbox(context.app, verified.wx_order_id);
    await expect
      .poll(async () => (await xpay('query_order', { openid: 'openid-x', env: 1, wx_order_id: verified.wx_order_id })).order?.status)
      .toBe(2);
    return { orderId: verified.order_id, wxOrderId: verified.wx_order_id };
  }

  const refundBody = (fields: Record<string, unknown>) => ({
    openid: 'openid-x',
    refund_order_id: number('RF'),
    refund_reason: '1',
    req_from: '1',
    env: 1,
    biz_meta: 'ticket 7',
    ...fields,
  });

  it('query_order → 4 after the acknowledged delivery; refund_order → 5 → 8 with xpay_refund_notify', async () => {
    const { orderId, wxOrderId } = await paidOrder();
    receiver.answer = 'ack';
    receiver.received.length = 0;
    await worker.drain();
    expect(receiver.received.map((r) => [r.parsed.Event, r.verified])).toEqual([['xpay_goods_deliver_notify', true]]);
    const queried = await xpay('query_order', { openid: 'openid-x', env: 1, order_id: orderId });
    expect(queried).toMatchObject({
      errcode: 0,
      order: {
        order_id: orderId,
        wx_order_id: wxOrderId,
        status: 4,
        order_type: 0,
        order_fee: 1200,
        paid_fee: 1200,
        left_fee: 1200,
        env_type: 2,
      },
    });
    expect(queried.order.paid_time).toBeGreaterThan(0);
    expect(queried.order.provide_time).toBeGreaterThan(0);

    // A partial refund keeps 4; the rest, with the current left_fee, makes it 5 then 8.
    const partial = refundBody({ order_id: orderId, left_fee: 1200, refund_fee: 200 });
    const first = await xpay('refund_order', partial);
    expect(first).toMatchObject({
      errcode: 0,
      refund_order_id: partial.refund_order_id,
      pay_order_id: orderId,
      pay_wx_order_id: wxOrderId,
    });
    expect((await xpay('query_order', { openid: 'openid-x', order_id: orderId })).order).toMatchObject({ status: 4, left_fee: 1000 });
    // The same body again answers its first result; the same number with other fields is 268490004.
    expect(await xpay('refund_order', partial)).toEqual(first);
    expect((await xpay('refund_order', { ...partial, refund_fee: 300 })).errcode).toBe(268490004);
    // A stale left_fee is refused, nothing written.
    const stale = await xpay('refund_order', refundBody({ wx_order_id: wxOrderId, left_fee: 1200, refund_fee: 1000 }));
    expect(stale.errcode).toBe(268490002);
    const rest = refundBody({ wx_order_id: wxOrderId, left_fee: 1000, refund_fee: 1000 });
    const second = await xpay('refund_order', rest);
    expect(second.errcode).toBe(0);
    expect((await xpay('query_order', { openid: 'openid-x', order_id: orderId })).order).toMatchObject({ status: 5, left_fee: 0 });
    // The /v3 refund query does not see virtual refunds.
    const client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    expect((await client.queryRefund(rest.refund_order_id)).statusCode).toBe(404);

    for (const refundNo of [partial.refund_order_id, rest.refund_order_id]) {
      const settled = await context.app.inject({
        method: 'POST',
        url: `/sandbox/v1/refunds/${refundNo}/succeed?application_id=${manifest.superapp.applicationId}`,
      });
      expect(settled.statusCode).toBe(200);
    }
    await expect.poll(async () => (await xpay('query_order', { openid: 'openid-x', order_id: orderId })).order.status).toBe(8);
    receiver.received.length = 0;
    await worker.drain();
    const notices = receiver.received.map((r) => ({ event: r.parsed.Event, verified: r.verified, payload: JSON.parse(r.parsed.Payload) }));
    expect(notices).toHaveLength(2);
    expect(notices.every((n) => n.event === 'xpay_refund_notify' && n.verified)).toBe(true);
    expect(notices.map((n) => n.payload.MchRefundId).sort()).toEqual([partial.refund_order_id, rest.refund_order_id].sort());
    expect(notices.find((n) => n.payload.MchRefundId === rest.refund_order_id)!.payload).toMatchObject({
      MchOrderId: orderId,
      WxOrderId: wxOrderId,
      RefundFee: 1000,
      RetCode: 0,
      RefundStatus: 'SUCCESS',
    });
  });

  it('concurrent refund_order calls naming the same left_fee: exactly one is taken, the others are stale (268490002)', async () => {
    const { orderId } = await paidOrder(1);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => xpay('refund_order', refundBody({ order_id: orderId, left_fee: 600, refund_fee: 400 }))),
    );
    expect(answers.map((a) => a.errcode).sort()).toEqual([0, 268490002, 268490002, 268490002, 268490002, 268490002]);
    expect((await xpay('query_order', { openid: 'openid-x', order_id: orderId })).order.left_fee).toBe(200);
  });

  it('concurrent verifications of one signData make one order', async () => {
    const signData = JSON.stringify({
      mode: 'goods',
      buyQuantity: 1,
      env: 1,
      currencyType: 'CNY',
      productId: 'gem_pack_60',
      goodsPrice: 600,
      outTradeNo: number('CC'),
      attach: '',
    });
    const payload = JSON.stringify({
      appId: mnpId,
      method,
      ...signVirtualPayment(appKey, 'sk', method, signData),
      openid: 'openid-x',
      sessionVerified: true,
    });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        context.app
          .inject({ method: 'POST', url: '/bridge/v1/verify-virtual-payment', headers: { 'content-type': 'application/json' }, payload })
          .then((response) => response.json()),
      ),
    );
    expect(new Set(answers.map((a) => `${a.result} ${a.wx_order_id}`)).size).toBe(1);
    expect(answers[0].result).toBe('ok');
  });

  it('order and refund records take PaymentType; orders show ProductId, Quantity and DeliveryStatus (SPEC §8.6)', async () => {
    const { orderId } = await paidOrder(2);
    const admin = await demoActor(context, manifest.superapp.users.admin.account);
    const virtual = await context.services.orderRecords.listByOffset(admin, { paymentType: 2, mnpIds: [mnpId] }, 0, 100);
    expect(virtual.items.length).toBeGreaterThan(0);
    expect(virtual.items.every((item) => item.paymentType === 2 && item.productId === 'gem_pack_60')).toBe(true);
    expect(virtual.items.find((item) => item.outTradeNo === orderId)).toMatchObject({ quantity: 2, deliveryStatus: 'queued', status: 2 });
    // The first test's order, refunded in full and settled: 8, shown as REFUND.
    expect(virtual.items.map((item) => item.status)).toContain(8);
    const standard = await context.services.orderRecords.listByOffset(admin, { paymentType: 1, mnpIds: [mnpId] }, 0, 100);
    expect(standard.items.length).toBeGreaterThan(0);
    expect(standard.items.every((item) => item.paymentType === 1 && item.productId === null)).toBe(true);
    const both = await context.services.orderRecords.listByOffset(admin, { mnpIds: [mnpId] }, 0, 1);
    expect(both.total).toBe(virtual.total + standard.total);
    const refunds = await context.services.refundRecords.listByOffset(admin, { paymentType: 2, mnpIds: [mnpId] }, 0, 100);
    expect(refunds.items.length).toBeGreaterThan(0);
    expect(refunds.items.every((refund) => refund.paymentType === 2)).toBe(true);
    const standardRefunds = await context.services.refundRecords.listByOffset(admin, { paymentType: 1, mnpIds: [mnpId] }, 0, 100);
    expect(standardRefunds.items.some((refund) => refunds.items.some((virtualRefund) => virtualRefund.id === refund.id))).toBe(false);
    // The After-sales search by order number takes order_id or wx_order_id; by refund number refund_order_id or
    // refund_wx_order_id (SPEC §8.6).
    const refunded = refunds.items[0]!;
    const order = await context.database.db
      .selectFrom('orders')
      .select(['out_trade_no', 'wx_order_id'])
      .where('id', '=', refunded.orderId)
      .executeTakeFirstOrThrow();
    for (const orderNo of [order.out_trade_no, order.wx_order_id!]) {
      const found = await context.services.refundRecords.listByOffset(admin, { paymentType: 2, orderNo }, 0, 100);
      expect(found.items.map((refund) => refund.id)).toContain(refunded.id);
    }
    for (const refundNo of [refunded.outRefundNo, refunded.refundId]) {
      const found = await context.services.refundRecords.listByOffset(admin, { paymentType: 2, refundNo }, 0, 100);
      expect(found.items.map((refund) => refund.id)).toEqual([refunded.id]);
    }
    expect((await context.services.refundRecords.listByOffset(admin, { orderNo: `wx${'0'.repeat(30)}` }, 0, 100)).items).toEqual([]);
  });

  it('notify_provide_goods makes it 4 and stops the delivery retries', async () => {
    const { orderId } = await paidOrder(1);
    receiver.answer = 'error';
    receiver.received.length = 0;
    await worker.runOnce();
    expect((await xpay('query_order', { openid: 'openid-x', order_id: orderId })).order.status).toBe(3);
    expect((await xpay('notify_provide_goods', { order_id: orderId, env: 1 })).errcode).toBe(0);
    expect((await xpay('query_order', { openid: 'openid-x', order_id: orderId })).order.status).toBe(4);
    context.clock.advance(60_000);
    await worker.drain();
    // One attempt for this order (the one refused before notify_provide_goods), none after.
    const ofThisOrder = receiver.received.filter((r) => JSON.parse(r.parsed.Payload).OutTradeNo === orderId);
    expect(ofThisOrder).toHaveLength(1);
    expect(await xpay('notify_provide_goods', { order_id: orderId, env: 1 })).toMatchObject({ errcode: 0 });
  });

  it('errcodes: pay_sig 268490003, openid 268490001, fields and unknown orders 268490002, coins 268490008; nothing changes', async () => {
    const { orderId } = await paidOrder(1);
    const refunds = async () =>
      Number(
        (
          await context.database.db
            .selectFrom('refunds')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await refunds();
    expect((await xpay('query_order', { openid: 'openid-x', order_id: orderId }, { paySig: 'ab'.repeat(32) })).errcode).toBe(268490003);
    expect(
      (await xpay('query_order', { openid: 'openid-x', order_id: orderId }, { appid: manifest.miniPrograms.fresh.mnpId })).errcode,
    ).toBe(268490003);
    // pay_sig covers the exact bytes: the same JSON re-spaced does not verify under the first one's signature.
    const raw = JSON.stringify({ openid: 'openid-x', order_id: orderId });
    expect((await xpay('query_order', raw.replace(':', ': '), { paySig: hmacHex(appKey, `/xpay/query_order&${raw}`) })).errcode).toBe(
      268490003,
    );
    expect((await xpay('query_order', { openid: 'someone-else', order_id: orderId })).errcode).toBe(268490001);
    expect((await xpay('query_order', { openid: 'openid-x', order_id: 'NO_SUCH_ORDER_1' })).errcode).toBe(268490002);
    expect((await xpay('query_order', '{broken')).errcode).toBe(268490002);
    expect((await xpay('query_order', { order_id: orderId })).errcode).toBe(268490002);
    // A production superapp's order does not exist in env 1 (SPEC §8.2); its env 0 still finds it.
    await context.database.db.updateTable('orders').set({ sandbox: 0 }).where('out_trade_no', '=', orderId).execute();
    try {
      expect((await xpay('query_order', { openid: 'openid-x', env: 1, order_id: orderId })).errcode).toBe(268490002);
      expect((await xpay('query_order', { openid: 'openid-x', env: 0, order_id: orderId })).errcode).toBe(0);
    } finally {
      await context.database.db.updateTable('orders').set({ sandbox: 1 }).where('out_trade_no', '=', orderId).execute();
    }
    const refund = (fields: Record<string, unknown>) =>
      xpay('refund_order', refundBody({ order_id: orderId, left_fee: 600, refund_fee: 100, ...fields }));
    expect((await refund({ openid: 'someone-else' })).errcode).toBe(268490001);
    expect((await refund({ refund_fee: 700 })).errcode).toBe(268490002);
    expect((await refund({ refund_fee: 0 })).errcode).toBe(268490002);
    expect((await refund({ refund_reason: '9' })).errcode).toBe(268490002);
    expect((await refund({ req_from: '4' })).errcode).toBe(268490002);
    expect((await refund({ biz_meta: 'x'.repeat(1025) })).errcode).toBe(268490002);
    expect((await refund({ refund_order_id: 'short' })).errcode).toBe(268490002);
    expect((await refund({ refund_order_id: '_PT_LATE_12345' })).errcode).toBe(268490002);
    expect((await refund({ left_fee: 500 })).errcode).toBe(268490002);
    for (const coin of ['query_user_balance', 'currency_pay', 'cancel_currency_pay', 'present_currency'])
      expect((await xpay(coin, { openid: 'openid-x' })).errcode).toBe(268490008);
    expect(await refunds()).toBe(before);
  });
});
