import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoGameMerchant, type GameCredentials } from '../../src/services/demo/index.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';

// The demo game's merchant server on its own: what it signs, and what it accepts at its delivery URL. Each signature
// is recomputed here with plain node:crypto, as the public docs describe them (SPEC §8.2, §8.4).
const game: GameCredentials = {
  mnpId: 'mnp_demo_game',
  offerId: '1450000001',
  appKey: 'AbCdEfGhIjKlMnOpQrStUvWxYz012345',
  openid: 'o_demo_player',
  sessionKey: 'ZGVtby1zZXNzaW9uLWtleQ==',
  env: 1,
  items: [
    { productId: 'gem_pack_60', name: '60 gems', price: 600, currency: 'CNY' },
    { productId: 'skin_knight', name: 'Knight skin', price: 1800, currency: 'CNY' },
  ],
};
const hmac = (key: string, message: string) => createHmac('sha256', key).update(message).digest('hex');

describe('the demo game merchant', () => {
  let context: TestContext;
  let merchant: DemoGameMerchant;

  beforeAll(async () => {
    context = await createTestContext('sqlite', { backgroundJobs: false });
    merchant = new DemoGameMerchant(
      context.database.db,
      context.clock,
      async () => game,
      () => 'http://127.0.0.1:9',
    );
  });
  afterAll(() => context?.close());

  function delivery(outTradeNo: string, options: { appKey?: string; at?: number; nonce?: string; event?: string } = {}) {
    const appKey = options.appKey ?? game.appKey;
    const event = options.event ?? 'minigame_game_pay_goods_deliver_notify';
    const payload = JSON.stringify({
      OpenId: game.openid,
      Env: '1',
      OutTradeNo: outTradeNo,
      GoodsInfo: { ProductId: 'gem_pack_60', Quantity: 2, ZoneId: '1', OrigPrice: 1200, ActualPrice: 1200, Attach: '', OrderSource: 1 },
    });
    const body = JSON.stringify({
      EventType: 'event',
      Event: event,
      PayModel: 'goods',
      Payload: payload,
      PayEventSig: hmac(appKey, `${event}&${payload}`),
    });
    const timestamp = String(Math.floor((options.at ?? context.clock.nowMs()) / 1000));
    const nonce = options.nonce ?? randomUUID();
    const headers = {
      'paythrough-timestamp': timestamp,
      'paythrough-nonce': nonce,
      'paythrough-signature': hmac(appKey, `${timestamp}\n${nonce}\n${body}\n`),
    };
    return { headers, body };
  }

  it('signs a purchase: signData as the item says, paySig with the AppKey, signature with the session key', async () => {
    const signed = await merchant.signPurchase('skin_knight', 2);
    const data = JSON.parse(signed.signData);
    expect(data).toMatchObject({
      mode: 'goods',
      offerId: '1450000001',
      buyQuantity: 2,
      env: 1,
      currencyType: 'CNY',
      productId: 'skin_knight',
      goodsPrice: 1800,
    });
    expect(data.outTradeNo).toMatch(/^GAME\d+[0-9A-Z]{6}$/);
    expect(signed.paySig).toBe(hmac(game.appKey, `requestMidasPaymentGameItem&${signed.signData}`));
    expect(signed.signature).toBe(hmac(game.sessionKey, signed.signData));
    expect((await merchant.purchases())[0]).toMatchObject({ outTradeNo: data.outTradeNo, productId: 'skin_knight', quantity: 2 });
    await expect(merchant.signPurchase('coins', 1)).rejects.toThrow('No such item');
  });

  it('hands an item over once per OutTradeNo, and acknowledges a repeat', async () => {
    const first = delivery('GAME-A');
    expect(await merchant.receiveDelivery(first.headers, first.body)).toEqual({ ok: true });
    const again = delivery('GAME-A');
    expect(await merchant.receiveDelivery(again.headers, again.body)).toEqual({ ok: true });
    expect((await merchant.inventory()).filter((entry) => entry.outTradeNo === 'GAME-A')).toEqual([
      expect.objectContaining({ productId: 'gem_pack_60', quantity: 2 }),
    ]);
  });

  it('refuses a replayed nonce, a stale timestamp, another key and a tampered body, changing nothing', async () => {
    const sent = delivery('GAME-B');
    expect(await merchant.receiveDelivery(sent.headers, sent.body)).toEqual({ ok: true });
    expect(await merchant.receiveDelivery(sent.headers, sent.body)).toMatchObject({
      ok: false,
      message: expect.stringContaining('replay'),
    });
    const stale = delivery('GAME-C', { at: context.clock.nowMs() - 301_000 });
    expect(await merchant.receiveDelivery(stale.headers, stale.body)).toMatchObject({
      ok: false,
      message: expect.stringContaining('five minutes'),
    });
    const foreign = delivery('GAME-C', { appKey: 'ZZZZEfGhIjKlMnOpQrStUvWxYz012345' });
    expect(await merchant.receiveDelivery(foreign.headers, foreign.body)).toMatchObject({
      ok: false,
      message: expect.stringContaining('header signature'),
    });
    const tampered = delivery('GAME-C');
    expect(await merchant.receiveDelivery(tampered.headers, tampered.body.replace('GAME-C', 'GAME-X'))).toMatchObject({
      ok: false,
    });
    expect((await merchant.inventory()).some((entry) => ['GAME-C', 'GAME-X'].includes(entry.outTradeNo))).toBe(false);
  });

  it('checks PayEventSig even when the headers verify', async () => {
    const sent = delivery('GAME-D');
    const body = JSON.parse(sent.body);
    body.PayEventSig = hmac(game.appKey, `${body.Event}&${body.Payload}x`);
    const text = JSON.stringify(body);
    const timestamp = sent.headers['paythrough-timestamp'];
    const nonce = randomUUID();
    const headers = {
      'paythrough-timestamp': timestamp,
      'paythrough-nonce': nonce,
      'paythrough-signature': hmac(game.appKey, `${timestamp}\n${nonce}\n${text}\n`),
    };
    expect(await merchant.receiveDelivery(headers, text)).toMatchObject({ ok: false, message: 'PayEventSig does not verify' });
    expect((await merchant.inventory()).some((entry) => entry.outTradeNo === 'GAME-D')).toBe(false);
  });
});
