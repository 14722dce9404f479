import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRequestPaymentParams } from '../../src/crypto/wechatpay-v3.ts';
import { readyMerchant, V3InjectClient } from '../../test/helpers/gateway-client.ts';
import { createTestContext, type TestContext } from '../../test/helpers/test-context.ts';
import {
  createPaymentBridge,
  readCashierMessage,
  RequestPaymentError,
  type CashierPresenter,
  type RequestPaymentResult,
  type VerifiedPayment,
} from './paythrough-bridge.ts';

// The bridge against a real Paythrough (gateway, sandbox channel, verify endpoint) over app.inject;
// the cashier is driven through the sandbox cashier's own JSON API, as its page does.
describe('the host bridge: requestPayment', () => {
  let context: TestContext;
  let gateway: V3InjectClient;
  let merchant: ReturnType<typeof readyMerchant>;
  let sequence = 0;

  beforeAll(async () => {
    context = await createTestContext('sqlite');
    merchant = readyMerchant(await context.services.demoWorld.ensure());
    gateway = new V3InjectClient(context.app, merchant, context.clock);
  }, 60_000);
  afterAll(() => context?.close());

  const injectFetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const response = await context.app.inject({
      method: (init?.method ?? 'GET') as 'POST',
      url: url.pathname + url.search,
      headers: { 'content-type': 'application/json' },
      ...(init?.body ? { payload: String(init.body) } : {}),
    });
    return new Response(response.body, {
      status: response.statusCode,
      headers: { 'content-type': String(response.headers['content-type'] ?? '') },
    });
  };

  async function placeOrder(options: { timeExpire?: string } = {}) {
    sequence += 1;
    const outTradeNo = `BRIDGE${Date.now()}${sequence}`;
    const answer = await gateway.prepay({ outTradeNo, total: 1280, notifyUrl: 'http://127.0.0.1:9/notify', ...options });
    expect(answer.statusCode).toBe(200);
    const prepayId = answer.body.prepay_id as string;
    const params = buildRequestPaymentParams({
      appId: merchant.mnpId,
      prepayId,
      merchantPrivateKey: merchant.privateKeyPem,
      nowMs: context.clock.nowMs(),
    });
    return { outTradeNo, prepayId, params };
  }

  /** A cashier that presses one of its buttons through the cashier API and reports the page's result. */
  function cashierPressing(action: 'pay' | 'fail' | 'cancel', seen: VerifiedPayment[]): CashierPresenter {
    return async (payment) => {
      seen.push(payment);
      const token = payment.cashierUrl!.split('/').pop()!;
      const response = await context.app.inject({ method: 'POST', url: `/sandbox/v1/cashier/${token}/${action}` });
      expect(response.statusCode).toBe(200);
      return { result: response.json().result };
    };
  }

  const bridgeWith = (cashier: CashierPresenter) =>
    createPaymentBridge({ appId: merchant.mnpId, baseUrl: 'http://paythrough.test', fetch: injectFetch, cashier });

  async function callbacksOf(
    run: (callbacks: {
      success: (r: RequestPaymentResult) => void;
      fail: (r: RequestPaymentResult) => void;
      complete: (r: RequestPaymentResult) => void;
    }) => Promise<unknown>,
  ) {
    const calls: string[] = [];
    let settled: unknown;
    try {
      settled = await run({
        success: (r) => calls.push(`success ${r.errMsg}`),
        fail: (r) => calls.push(`fail ${r.errMsg}`),
        complete: (r) => calls.push(`complete ${r.errMsg}`),
      });
    } catch (error) {
      settled = error;
    }
    return { calls, settled };
  }

  it('ok: verifies, opens the cashier, the user pays, and the order is paid', async () => {
    const { outTradeNo, params } = await placeOrder();
    const seen: VerifiedPayment[] = [];
    const { calls, settled } = await callbacksOf((callbacks) =>
      bridgeWith(cashierPressing('pay', seen)).requestPayment({ ...params, ...callbacks }),
    );
    expect(settled).toEqual({ errMsg: 'requestPayment:ok' });
    expect(calls).toEqual(['success requestPayment:ok', 'complete requestPayment:ok']);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.order).toMatchObject({ outTradeNo, amount: { total: 1280, currency: 'CNY' } });
    expect(seen[0]!.cashierUrl).toMatch(/\/sandbox\/cashier\/[^/]+$/);
    expect((await gateway.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('SUCCESS');
  });

  it('fail: the payment fails at the cashier', async () => {
    const { outTradeNo, params } = await placeOrder();
    const { calls, settled } = await callbacksOf((callbacks) =>
      bridgeWith(cashierPressing('fail', [])).requestPayment({ ...params, ...callbacks }),
    );
    expect(settled).toBeInstanceOf(RequestPaymentError);
    expect((settled as RequestPaymentError).errMsg).toBe('requestPayment:fail payment failed');
    expect(calls).toEqual(['fail requestPayment:fail payment failed', 'complete requestPayment:fail payment failed']);
    expect((await gateway.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('PAY_ERROR');
  });

  it('cancel: the user closes the cashier, and the order can still be paid', async () => {
    const { outTradeNo, params } = await placeOrder();
    const { calls, settled } = await callbacksOf((callbacks) =>
      bridgeWith(cashierPressing('cancel', [])).requestPayment({ ...params, ...callbacks }),
    );
    expect((settled as RequestPaymentError).errMsg).toBe('requestPayment:fail cancel');
    expect(calls).toEqual(['fail requestPayment:fail cancel', 'complete requestPayment:fail cancel']);
    expect((await gateway.queryByOutTradeNo(outTradeNo)).body.trade_state).toBe('WAIT_PAY');
    const paid = await bridgeWith(cashierPressing('pay', [])).requestPayment(params);
    expect(paid.errMsg).toBe('requestPayment:ok');
  });

  it('tampered parameters fail without opening the cashier', async () => {
    const { prepayId, params } = await placeOrder();
    const other = await placeOrder();
    const seen: VerifiedPayment[] = [];
    const bridge = bridgeWith(cashierPressing('pay', seen));
    const flipped = params.paySign.startsWith('A') ? `B${params.paySign.slice(1)}` : `A${params.paySign.slice(1)}`;
    const tamperings = [
      { ...params, paySign: flipped },
      { ...params, package: other.params.package },
      { ...params, nonceStr: `${params.nonceStr}x` },
      { ...params, timeStamp: String(Number(params.timeStamp) - 1) },
    ];
    for (const tampered of tamperings) {
      await expect(bridge.requestPayment(tampered)).rejects.toMatchObject({ errMsg: 'requestPayment:fail paySign does not verify' });
    }
    // Signed by the merchant, but for another mini program's appId: that order does not exist for it.
    const elsewhere = createPaymentBridge({
      appId: 'mnp_someone_else',
      baseUrl: 'http://paythrough.test',
      fetch: injectFetch,
      cashier: cashierPressing('pay', seen),
    });
    await expect(elsewhere.requestPayment(params)).rejects.toMatchObject({ errMsg: 'requestPayment:fail no such order' });
    await expect(bridge.requestPayment({ ...params, signType: 'HMAC-SHA256' })).rejects.toMatchObject({
      errMsg: 'requestPayment:fail signType must be RSA',
    });
    expect(seen).toHaveLength(0);
    expect((await context.app.inject({ method: 'GET', url: `/sandbox/v1/payments/${prepayId}` })).json().state).toBe('WAIT_PAY');
  });

  it('expired parameters or orders fail without opening the cashier', async () => {
    const seen: VerifiedPayment[] = [];
    const bridge = bridgeWith(cashierPressing('pay', seen));
    // An order that expires in ten minutes, paid twenty minutes later.
    const soon = new Date(context.clock.nowMs() + 10 * 60_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    const short = await placeOrder({ timeExpire: soon });
    context.clock.advance(20 * 60_000);
    await expect(bridge.requestPayment(short.params)).rejects.toMatchObject({ errMsg: 'requestPayment:fail the order has expired' });

    // A paySign older than a prepay_id lives (2 h), on an order that is still payable (default expiry is 2 h,
    // so give it a day).
    const day = new Date(context.clock.nowMs() + 24 * 3600_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    const old = await placeOrder({ timeExpire: day });
    context.clock.advance(2 * 3600_000 + 60_000);
    await expect(bridge.requestPayment(old.params)).rejects.toMatchObject({
      errMsg: 'requestPayment:fail the payment parameters have expired',
    });

    // A paid order is not paid twice.
    const paid = await placeOrder();
    await bridge.requestPayment(paid.params);
    expect(seen).toHaveLength(1);
    await expect(bridge.requestPayment(paid.params)).rejects.toMatchObject({ errMsg: 'requestPayment:fail the order is paid' });
    expect(seen).toHaveLength(1);
  });

  it('a network failure settles as fail, with the callbacks', async () => {
    const bridge = createPaymentBridge({
      appId: merchant.mnpId,
      baseUrl: 'http://paythrough.test',
      fetch: () => Promise.reject(new TypeError('offline')),
      cashier: cashierPressing('pay', []),
    });
    const { calls } = await callbacksOf((callbacks) =>
      bridge.requestPayment({ timeStamp: '1', nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA', paySign: 'x', ...callbacks }),
    );
    expect(calls).toEqual(['fail requestPayment:fail network error', 'complete requestPayment:fail network error']);
  });
});

describe('the host bridge: cashier messages', () => {
  const frame = { name: 'the cashier frame' };
  const expected = { origin: 'https://pay.example', source: frame, prepayId: 'wx123' };
  const message = (data: unknown, overrides: Partial<{ origin: string; source: unknown }> = {}) => ({
    origin: 'https://pay.example',
    source: frame,
    data,
    ...overrides,
  });
  const data = (result: string, prepayId = 'wx123') => ({ source: 'paythrough-sandbox-cashier', result, prepayId, state: 'SUCCESS' });

  it('accepts the cashier it opened, about this payment', () => {
    expect(readCashierMessage(message(data('ok')), expected)).toBe('ok');
    expect(readCashierMessage(message(data('fail')), expected)).toBe('fail');
    expect(readCashierMessage(message(data('cancel')), expected)).toBe('cancel');
  });

  it('ignores other origins, other windows, other payments and anything else', () => {
    expect(readCashierMessage(message(data('ok'), { origin: 'https://evil.example' }), expected)).toBeNull();
    expect(readCashierMessage(message(data('ok'), { source: {} }), expected)).toBeNull();
    expect(readCashierMessage(message(data('ok'), { source: null }), { ...expected, source: null })).toBeNull();
    expect(readCashierMessage(message(data('ok', 'wx999')), expected)).toBeNull();
    expect(readCashierMessage(message({ ...data('ok'), source: 'someone' }), expected)).toBeNull();
    expect(readCashierMessage(message(data('maybe')), expected)).toBeNull();
    expect(readCashierMessage(message('ok'), expected)).toBeNull();
    expect(readCashierMessage(message(null), expected)).toBeNull();
  });
});
