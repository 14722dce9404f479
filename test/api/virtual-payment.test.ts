import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PaymentChannel } from '../../src/channels/channel.ts';
import { signChannelMessage } from '../../src/channels/protocol.ts';
import { OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import { orderRepository } from '../../src/repositories/order.repository.ts';
import { buildHostXml, parseHostXml } from '../../src/routes/host/host-xml.ts';
import { outboxRepository } from '../../src/repositories/outbox.repository.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { VirtualDeliveryDeliverer, virtualDeliveryTopic } from '../../src/services/virtual-payment/index.ts';
import {
  deliverDemoShopNotifications,
  demoActor,
  eventually,
  payInSandbox,
  readyMerchant,
  V3InjectClient,
} from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { FakeVirtualPaymentSetup } from '../helpers/virtual-payment-directory-fake.ts';
import { DeliveryReceiver, hmacHex, randomAppKey, signVirtualPayment } from '../helpers/virtual-payment-merchant.ts';

const hour = 3_600_000;
const method = 'requestMidasPaymentGameItem';
const sessionKey = 'session-key-of-the-player';
let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

describeOnEachDatabase('virtual payment: verify, pay, deliver (SPEC §8.2–8.4, §8.8)', (kind) => {
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
      kind: 'minigame',
      offerId: '1450000001',
      mchid: manifest.miniPrograms.ready.mchid,
      appKey,
      deliveryUrl: receiver.url,
      virtualPaymentEnabled: true,
    });
    setup.approveItem(mnpId, { productId: 'gem_pack_60', name: 'Gem pack 60', price: 600, currency: 'CNY' });
    setup.approveItem(mnpId, { productId: 'skin_knight', name: 'K'.repeat(300), price: 1800, currency: 'CNY' });
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

  const signDataOf = (fields: Record<string, unknown> = {}) =>
    JSON.stringify({
      mode: 'goods',
      offerId: '1450000001',
      buyQuantity: 2,
      env: 1,
      currencyType: 'CNY',
      platform: 'android',
      productId: 'gem_pack_60',
      goodsPrice: 600,
      outTradeNo: number('VP'),
      attach: 'player=42',
      ...fields,
    });

  async function verify(signData: string, overrides: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    const signed = signVirtualPayment(appKey, sessionKey, method, signData);
    const payload = JSON.stringify({ appId: mnpId, method, ...signed, openid: 'openid-player', sessionVerified: true, ...overrides });
    const response = await context.app.inject({
      method: 'POST',
      url: '/bridge/v1/verify-virtual-payment',
      headers: { 'content-type': 'application/json', ...headers },
      payload,
    });
    return { statusCode: response.statusCode, body: response.json() as any, payload };
  }

  const virtualOrder = async (wxOrderId: string) =>
    (await context.database.db.selectFrom('orders').selectAll().where('wx_order_id', '=', wxOrderId).executeTakeFirst())!;
  const statusOf = async (wxOrderId: string) => context.services.virtualOrders.statusOf(await virtualOrder(wxOrderId));
  const countOrders = async () =>
    Number(
      (
        await context.database.db
          .selectFrom('orders')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('the whole flow: signed by the merchant → verified → paid in the sandbox → delivered and acknowledged → status 4', async () => {
    const signData = signDataOf();
    const first = await verify(signData);
    expect(first.statusCode).toBe(200);
    expect(first.body).toMatchObject({
      result: 'ok',
      order_id: JSON.parse(signData).outTradeNo,
      channel: 'sandbox',
      sandbox: true,
      order: { product_id: 'gem_pack_60', quantity: 2, order_fee: 1200, paid_fee: 1200, currency: 'CNY' },
    });
    expect(first.body.wx_order_id).toMatch(/^wx[0-9]{30}$/);
    expect(first.body.cashier_url).toEqual(expect.stringContaining(first.body.cashier_token));
    const wxOrderId = first.body.wx_order_id as string;
    expect(await statusOf(wxOrderId)).toBe(1);
    const created = await virtualOrder(wxOrderId);
    expect(created).toMatchObject({
      payment_type: 2,
      prepay_id: wxOrderId,
      client_platform: 2,
      description: 'Gem pack 60 × 2',
      attach: 'player=42',
    });

    // The same signData again answers the same order (its cashier reopens).
    const again = await verify(signData);
    expect(again.body).toMatchObject({ result: 'ok', wx_order_id: wxOrderId, cashier_token: first.body.cashier_token });

    // The sandbox control API takes the wx_order_id as its prepay_id.
    expect((await payInSandbox(context.app, wxOrderId)).statusCode).toBe(200);
    await expect.poll(async () => (await virtualOrder(wxOrderId)).trade_state).toBe('SUCCESS');
    expect(await statusOf(wxOrderId)).toBe(2);

    receiver.answer = 'ack';
    receiver.received.length = 0;
    await worker.drain();
    expect(receiver.received).toHaveLength(1);
    const [delivery] = receiver.received;
    expect(delivery!.verified).toBe(true);
    expect(delivery!.parsed).toMatchObject({ EventType: 'event', Event: 'minigame_game_pay_goods_deliver_notify', PayModel: 'goods' });
    expect(JSON.parse(delivery!.parsed.Payload)).toEqual({
      OpenId: 'openid-player',
      Env: '1',
      OutTradeNo: created.out_trade_no,
      GoodsInfo: {
        ProductId: 'gem_pack_60',
        Quantity: 2,
        ZoneId: '',
        OrigPrice: 1200,
        ActualPrice: 1200,
        Attach: 'player=42',
        OrderSource: 1,
      },
      WxOrderId: wxOrderId,
      Currency: 'CNY',
    });
    expect(await statusOf(wxOrderId)).toBe(4);
    // Paid: the same signData is −15007 now, and nothing changes.
    expect((await verify(signData)).body).toMatchObject({ result: 'fail', errCode: -15007 });
  });

  it('an unacknowledged attempt makes it 3 and is retried with the identical body and fresh headers until acknowledged', async () => {
    const { body } = await verify(signDataOf());
    const wxOrderId = body.wx_order_id as string;
    await payInSandbox(context.app, wxOrderId);
    await expect.poll(async () => (await virtualOrder(wxOrderId)).trade_state).toBe('SUCCESS');
    receiver.received.length = 0;
    receiver.answer = 'no-ack';
    expect((await worker.runOnce()).rescheduled).toBe(1);
    expect(await statusOf(wxOrderId)).toBe(3);
    receiver.answer = 'error';
    context.clock.advance(15_000);
    await worker.runOnce();
    expect(await statusOf(wxOrderId)).toBe(3);
    receiver.answer = 'ack-wechat';
    context.clock.advance(15_000);
    await worker.runOnce();
    expect(await statusOf(wxOrderId)).toBe(4);
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.headers['paythrough-nonce'])).size).toBe(3);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
  });

  it('each attempt signs with the AppKey current at that attempt (a reset revokes the old key at once)', async () => {
    const { body } = await verify(signDataOf());
    const wxOrderId = body.wx_order_id as string;
    await payInSandbox(context.app, wxOrderId);
    await expect.poll(async () => (await virtualOrder(wxOrderId)).trade_state).toBe('SUCCESS');
    receiver.received.length = 0;
    receiver.answer = 'error';
    await worker.runOnce();
    const oldKey = appKey;
    const newKey = randomAppKey();
    setup.updateAccount(mnpId, { appKey: newKey });
    receiver.appKey = newKey;
    try {
      receiver.answer = 'ack';
      context.clock.advance(15_000);
      await worker.runOnce();
      // Each verified under the key the receiver held when it came: the first under the old key, the second under the new.
      expect(receiver.received.map((r) => r.verified)).toEqual([true, true]);
      const [before, after] = receiver.received.map((r) => r.parsed);
      expect(before!.PayEventSig).toBe(hmacHex(oldKey, `${before!.Event}&${before!.Payload}`));
      expect(after!.PayEventSig).toBe(hmacHex(newKey, `${after!.Event}&${after!.Payload}`));
      expect(after!.Payload).toBe(before!.Payload);
      expect(await statusOf(wxOrderId)).toBe(4);
    } finally {
      setup.updateAccount(mnpId, { appKey: oldKey });
      receiver.appKey = oldKey;
    }
  });

  it('a late payment (closed at expiry, then paid) becomes status 5 with a full refund and delivers nothing', async () => {
    const { body } = await verify(signDataOf());
    const wxOrderId = body.wx_order_id as string;
    context.clock.advance(2 * hour + 1000);
    await context.services.orders.closeExpired();
    expect(await statusOf(wxOrderId)).toBe(6);
    const outboxBefore = (await outboxRepository.listBySubject(context.database.db, 'order', String((await virtualOrder(wxOrderId)).id)))
      .length;
    await payInSandbox(context.app, wxOrderId, { late: true });
    await expect.poll(async () => (await virtualOrder(wxOrderId)).trade_state).toBe('REFUND');
    const order = await virtualOrder(wxOrderId);
    expect(order.delivery_status).toBeNull();
    expect(await statusOf(wxOrderId)).toBe(5);
    expect((await outboxRepository.listBySubject(context.database.db, 'order', String(order.id))).length).toBe(outboxBefore);
    const refund = await context.database.db.selectFrom('refunds').selectAll().where('order_id', '=', order.id).executeTakeFirstOrThrow();
    expect(refund).toMatchObject({ kind: 'late_payment', payment_type: 2, amount_refund: 1200 });
  });

  it('/v3 does not see virtual orders (ORDER_NOT_EXIST), and a standard order’s number is −15003 here', async () => {
    const { body } = await verify(signDataOf());
    const client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    const query = await client.queryByOutTradeNo(body.order_id);
    expect(query.statusCode).toBe(404);
    expect(query.body.code).toBe('ORDER_NOT_EXIST');
    expect((await client.close(body.order_id)).body.code).toBe('ORDER_NOT_EXIST');
    // The same number through /v3 is another order's: refused, the virtual order untouched.
    expect((await client.prepay({ outTradeNo: body.order_id })).statusCode).toBe(403);

    const standardNo = number('STD');
    expect((await client.prepay({ outTradeNo: standardNo })).statusCode).toBe(200);
    expect((await verify(signDataOf({ outTradeNo: standardNo }))).body).toMatchObject({ result: 'fail', errCode: -15003 });
  });

  it('every §8.8 error answers its errCode and changes nothing', async () => {
    const before = await countOrders();
    const fail = async (errCode: number, signData: string, overrides: Record<string, unknown> = {}) => {
      const answer = await verify(signData, overrides);
      expect(answer.statusCode, signData).toBe(200);
      expect(answer.body, signData).toMatchObject({ result: 'fail', errCode });
    };
    await fail(-15001, signDataOf(), { openid: undefined });
    await fail(-15001, signDataOf({ productId: undefined }));
    await fail(-15001, signDataOf({ buyQuantity: undefined }));
    await fail(-15002, '{not json');
    await fail(-15002, signDataOf({ buyQuantity: 0 }));
    await fail(-15002, signDataOf({ buyQuantity: 1001 }));
    await fail(-15002, signDataOf({ productId: 'no_such_item' }));
    await fail(-15002, signDataOf({ goodsPrice: 599 }));
    await fail(-15002, signDataOf({ env: 2 }));
    await fail(-15002, signDataOf({ mode: 'short_series_coin' }));
    await fail(-15002, signDataOf({ mode: 'short_series_goods' }));
    await fail(-15002, signDataOf({ outTradeNo: '_starts_with_underscore' }));
    await fail(-15002, signDataOf({ outTradeNo: 'short' }));
    await fail(-15002, signDataOf({ attach: 'a'.repeat(257) }));
    await fail(-15002, signDataOf({ timeStamp: Math.floor(context.clock.nowMs() / 1000) - 2 * 3600 - 10 }));
    await fail(-15002, signDataOf(), { method: 'requestCoins' });
    await fail(-15005, signDataOf(), { paySig: 'a'.repeat(64) });
    await fail(-15005, signDataOf(), { sessionVerified: false });
    await fail(-15006, signDataOf({ currencyType: 'USD' }));
    setup.updateAccount(mnpId, { deliveryUrl: null });
    await fail(-15005, signDataOf());
    setup.updateAccount(mnpId, { deliveryUrl: receiver.url, virtualPaymentEnabled: false });
    await fail(-15005, signDataOf());
    setup.updateAccount(mnpId, { virtualPaymentEnabled: true });
    expect(await countOrders()).toBe(before);

    // Other signData under an existing number: −15003; an order closed unpaid: −15003 for its own signData too.
    const signData = signDataOf();
    const { body } = await verify(signData);
    await fail(-15003, signDataOf({ outTradeNo: body.order_id, buyQuantity: 3 }));
    context.clock.advance(2 * hour + 1000);
    await fail(-15003, signData);
    expect((await virtualOrder(body.wx_order_id)).trade_state).toBe('AUTO_CLOSED');
    expect(await countOrders()).toBe(before + 1);
  });

  it('requestVirtualPayment: paid_fee from activitySellingPrice (≥ 40 % of goodsPrice), order_fee from goodsPrice', async () => {
    const short = (fields: Record<string, unknown>) => {
      const signData = JSON.stringify({
        offerId: '1450000001',
        buyQuantity: 3,
        currencyType: 'CNY',
        productId: 'gem_pack_60',
        goodsPrice: 600,
        outTradeNo: number('VS'),
        attach: '',
        ...fields,
      });
      const name = 'requestVirtualPayment';
      const payload = JSON.stringify({
        appId: mnpId,
        method: name,
        ...signVirtualPayment(appKey, sessionKey, name, signData),
        openid: 'openid-player',
        sessionVerified: true,
      });
      return context.app
        .inject({ method: 'POST', url: '/bridge/v1/verify-virtual-payment', headers: { 'content-type': 'application/json' }, payload })
        .then((response) => response.json());
    };
    expect(await short({ activitySellingPrice: 300 })).toMatchObject({ result: 'ok', order: { order_fee: 1800, paid_fee: 900 } });
    expect(await short({ mode: 'short_series_goods', activitySellingPrice: 240 })).toMatchObject({
      result: 'ok',
      order: { paid_fee: 720 },
    });
    expect(await short({ activitySellingPrice: 239 })).toMatchObject({ result: 'fail', errCode: -15002 });
    expect(await short({ activitySellingPrice: 601 })).toMatchObject({ result: 'fail', errCode: -15002 });
    expect(await short({ mode: 'goods' })).toMatchObject({ result: 'fail', errCode: -15002 });
    expect(await short({ offerId: undefined })).toMatchObject({ result: 'fail', errCode: -15001 });
    expect(await short({ offerId: '1450009999' })).toMatchObject({ result: 'fail', errCode: -15002 });
  });

  it('malformed bodies are 400, 413 and 415 as verify-payment answers them', async () => {
    const post = (payload: string, contentType = 'application/json') =>
      context.app.inject({ method: 'POST', url: '/bridge/v1/verify-virtual-payment', headers: { 'content-type': contentType }, payload });
    expect((await post('{"appId":')).statusCode).toBe(400);
    expect((await post('{"appId": 5}')).statusCode).toBe(400);
    expect((await post('appId=x', 'application/x-www-form-urlencoded')).statusCode).toBe(415);
    expect((await post(JSON.stringify({ signData: 'x'.repeat(20_000) }))).statusCode).toBe(413);
  });

  it('the item name is cut to 240 characters in the channel description', async () => {
    const { body } = await verify(signDataOf({ productId: 'skin_knight', goodsPrice: 1800, buyQuantity: 1 }));
    expect((await virtualOrder(body.wx_order_id)).description).toBe(`${'K'.repeat(240)} × 1`);
  });

  it('a create the channel refuses is −15004 and leaves a closed order; a later verification takes its row over (SPEC §7)', async () => {
    const sandbox = context.services.sandbox!.scopedTo(manifest.superapp.applicationId);
    const refusing: PaymentChannel = {
      kind: 'sandbox',
      createOrder: async () => ({ outcome: 'rejected', code: 'PARAM_ERROR', message: 'the payer is blocked' }),
      queryOrder: (key) => sandbox.queryOrder(key),
      closeOrder: (key) => sandbox.closeOrder(key),
      queryRefund: (key) => sandbox.queryRefund(key),
      refund: (input) => sandbox.refund(input),
    };
    const outTradeNo = number('VREF');
    context.services.gatewayChannels.register('sandbox', refusing);
    let refused;
    try {
      refused = await verify(signDataOf({ outTradeNo }));
    } finally {
      context.services.gatewayChannels.register('sandbox', sandbox);
    }
    expect(refused.body).toMatchObject({ result: 'fail', errCode: -15004 });
    const closed = await orderRepository.findByOutTradeNo(
      context.database.db,
      manifest.superapp.applicationId,
      manifest.miniPrograms.ready.mchid,
      outTradeNo,
    );
    expect(closed).toMatchObject({ trade_state: 'CLOSED', channel_refused: 1, payment_type: 2 });
    // Other signData under the number is not −15003 here: the refused attempt is replaced in the same row.
    const retried = await verify(signDataOf({ outTradeNo, buyQuantity: 3 }));
    expect(retried.body).toMatchObject({ result: 'ok', order_id: outTradeNo, order: { quantity: 3, paid_fee: 1800 } });
    expect(retried.body.wx_order_id).not.toBe(closed!.wx_order_id);
    const reopened = await virtualOrder(retried.body.wx_order_id);
    expect(reopened).toMatchObject({ id: closed!.id, trade_state: 'WAIT_PAY', channel_refused: 0, quantity: 3 });
    expect(await statusOf(retried.body.wx_order_id)).toBe(1);
  });

  // Last: switches the demo superapp off the sandbox for good.
  it('outside the sandbox the call must be signed with the superapp’s host key (as §4.5’s host reports)', async () => {
    const applicationId = manifest.superapp.applicationId;
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'host_reported', webhookUrl: 'https://superapp.example/refund-webhook' },
    });
    const hostKey = (await context.services.hostKeys.rotate(saAdmin, applicationId)).hostKey;
    const before = await countOrders();
    expect((await verify(signDataOf({ env: 0 }))).body).toMatchObject({ result: 'fail', errCode: -15005, code: 'SIGN_ERROR' });
    // A production superapp refuses env 1, signed or not.
    const signData = signDataOf({ env: 0 });
    const signed = signVirtualPayment(appKey, sessionKey, method, signData);
    const payload = JSON.stringify({ appId: mnpId, method, ...signed, openid: 'openid-player', sessionVerified: true });
    const send = (headers: Record<string, string>) =>
      context.app.inject({
        method: 'POST',
        url: '/bridge/v1/verify-virtual-payment',
        headers: { 'content-type': 'application/json', ...headers },
        payload,
      });
    const forged = await send({ ...signChannelMessage('not-the-host-key-'.repeat(3), payload, { nowMs: context.clock.nowMs() }) });
    expect(forged.json()).toMatchObject({ result: 'fail', errCode: -15005 });
    expect(await countOrders()).toBe(before);
    const ok = await send({ ...signChannelMessage(hostKey, payload, { nowMs: context.clock.nowMs() }) });
    expect(ok.json()).toMatchObject({ result: 'ok', channel: 'host_reported', sandbox: false, cashier_url: null });
    await eventually(async () => (await orderRepository.findByPrepayId(context.database.db, ok.json().wx_order_id)) !== undefined);
    const envOne = signDataOf({ env: 1 });
    const envOneSigned = JSON.stringify({
      appId: mnpId,
      method,
      ...signVirtualPayment(appKey, sessionKey, method, envOne),
      openid: 'openid-player',
      sessionVerified: true,
    });
    const refused = await context.app.inject({
      method: 'POST',
      url: '/bridge/v1/verify-virtual-payment',
      headers: { 'content-type': 'application/json', ...signChannelMessage(hostKey, envOneSigned, { nowMs: context.clock.nowMs() }) },
      payload: envOneSigned,
    });
    expect(refused.json()).toMatchObject({ result: 'fail', errCode: -15002 });

    // The host charges and reports with §4.5's payOrder: prepay_id = wx_order_id, out_trade_no = order_id, total_fee = paid_fee.
    const created = ok.json();
    const report = buildHostXml({
      prepay_id: created.wx_order_id,
      out_trade_no: created.order_id,
      total_fee: created.order.paid_fee,
      transaction_id: 'host-txn-virtual-1',
      result_code: 'SUCCESS',
    });
    const paid = await context.app.inject({
      method: 'POST',
      url: '/superapp/pay/payOrder',
      headers: { 'content-type': 'application/xml', ...signChannelMessage(hostKey, report, { nowMs: context.clock.nowMs() }) },
      payload: report,
    });
    expect(parseHostXml(paid.body)).toMatchObject({ return_code: 'SUCCESS' });
    expect(await statusOf(created.wx_order_id)).toBe(2);
    const order = await virtualOrder(created.wx_order_id);
    const [delivery] = await outboxRepository.listBySubject(context.database.db, 'order', String(order.id));
    expect(delivery).toMatchObject({
      topic: virtualDeliveryTopic,
      event_type: 'minigame_game_pay_goods_deliver_notify',
      target_url: receiver.url,
    });

    // A second payment under another transaction is a duplicate: refunded in full, status and left_fee unchanged (SPEC §8.3).
    const second = buildHostXml({
      prepay_id: created.wx_order_id,
      out_trade_no: created.order_id,
      total_fee: created.order.paid_fee,
      transaction_id: 'host-txn-virtual-2',
      result_code: 'SUCCESS',
    });
    const duplicate = await context.app.inject({
      method: 'POST',
      url: '/superapp/pay/payOrder',
      headers: { 'content-type': 'application/xml', ...signChannelMessage(hostKey, second, { nowMs: context.clock.nowMs() }) },
      payload: second,
    });
    expect(parseHostXml(duplicate.body).return_msg).toMatch(/duplicate payment/);
    const afterDuplicate = await virtualOrder(created.wx_order_id);
    expect(await statusOf(created.wx_order_id)).toBe(2);
    expect(afterDuplicate.amount_total - afterDuplicate.refund_reserved).toBe(created.order.paid_fee);
    const refunds = await context.database.db.selectFrom('refunds').selectAll().where('order_id', '=', order.id).execute();
    expect(refunds.map((r) => [r.kind, r.payment_type, r.amount_refund])).toEqual([['duplicate_payment', 2, created.order.paid_fee]]);
  });
});
