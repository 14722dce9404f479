import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPaymentBridge, type CashierPresenter } from '../../bridge/src/paythrough-bridge.ts';
import { OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import type { DemoReadyMiniGame } from '../../src/services/demo/demo-world.service.ts';
import { VirtualDeliveryDeliverer, virtualDeliveryTopic } from '../../src/services/virtual-payment/index.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/** A port nobody listens on now: the app's PUBLIC_URL names it before it listens, as `npm start` does. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

// The demo mini game end to end over HTTP, the way the public docs describe the flow (SPEC §8.9): its merchant server
// signs the purchase (plain HMAC), the host's bridge hands it to Paythrough and opens the sandbox cashier, the delivery
// notification reaches the merchant server (which checks the header signature and PayEventSig) and the item appears in
// the inventory; the merchant refunds it through xpay/refund_order with the left_fee it read through xpay/query_order.
describeOnEachDatabase('the demo mini game, bought and refunded (SPEC §8.9)', (kind) => {
  let context: TestContext;
  let baseUrl: string;
  let game: DemoReadyMiniGame;
  let worker: OutboxWorker;

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    context = await createTestContext(kind, { config: { publicUrl: baseUrl }, backgroundJobs: false });
    await context.app.listen({ port, host: '127.0.0.1' });
    game = (await context.services.demoWorld.ensure()).miniGames!.ready;
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
  afterAll(() => context?.close());

  const json = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(response.status, `${method} ${path}`).toBe(200);
    return (await response.json()) as T;
  };

  /** The sandbox cashier's Pay button, pressed through its own API as its page does. */
  const payAtCashier: CashierPresenter = async (payment) => {
    const response = await fetch(`${baseUrl}/sandbox/v1/cashier/${payment.cashierToken}/pay`, { method: 'POST' });
    return { result: (await response.json()).result };
  };

  it('buys an item: signed by the merchant, paid at the cashier, delivered once into the inventory, then refunded', async () => {
    const signed = await json<{ signData: string; paySig: string; signature: string }>('POST', '/demo/game/api/purchases', {
      productId: 'skin_knight',
      quantity: 2,
    });
    expect(signed.paySig).toBe(createHmac('sha256', game.appKey).update(`requestMidasPaymentGameItem&${signed.signData}`).digest('hex'));
    const outTradeNo = JSON.parse(signed.signData).outTradeNo as string;

    const session = await json<{ mnpId: string; openid: string; sessionKey: string }>('GET', '/demo/game/api/session');
    const bridge = createPaymentBridge({ appId: session.mnpId, baseUrl, cashier: payAtCashier, user: () => session });
    expect(await bridge.requestMidasPaymentGameItem(signed)).toEqual({ errMsg: 'requestMidasPaymentGameItem:ok' });

    await worker.drain();
    const state = await json<{ inventory: { outTradeNo: string; productId: string; quantity: number }[] }>(
      'GET',
      '/demo/game/api/purchases',
    );
    expect(state.inventory.filter((entry) => entry.outTradeNo === outTradeNo)).toEqual([
      expect.objectContaining({ productId: 'skin_knight', quantity: 2 }),
    ]);
    // Paid twice at the cashier's price: 2 × 18.00 (the item's approved price), and acknowledged: status 4.
    const merchant = context.services.createDemoGameMerchant(() => baseUrl);
    const paid = await merchant.xpay<{ errcode: number; order: { status: number; paid_fee: number; left_fee: number } }>('query_order', {
      openid: session.openid,
      env: 1,
      order_id: outTradeNo,
    });
    expect(paid.order).toMatchObject({ status: 4, paid_fee: 3600, left_fee: 3600 });

    const refund = await json<Record<string, unknown>>('POST', `/demo/game/api/purchases/${outTradeNo}/refund`);
    expect(refund).toMatchObject({ errcode: 0, pay_order_id: outTradeNo });
    const after = await merchant.xpay<{ errcode: number; order: { status: number; left_fee: number } }>('query_order', {
      openid: session.openid,
      env: 1,
      order_id: outTradeNo,
    });
    expect(after.order.left_fee).toBe(0);
    expect([5, 8]).toContain(after.order.status);
    // A second delivery run delivers nothing more: one item per OutTradeNo.
    await worker.drain();
    const again = await json<{ inventory: { outTradeNo: string }[] }>('GET', '/demo/game/api/purchases');
    expect(again.inventory.filter((entry) => entry.outTradeNo === outTradeNo)).toHaveLength(1);
  });
});
