import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPaymentBridge, RequestPaymentError, type CashierPresenter, type VerifiedPayment } from './paythrough-bridge.ts';
import {
  directVirtualPaymentVerifier,
  hmacSha256Hex,
  type VirtualPaymentAnswer,
  type VirtualPaymentVerifyRequest,
} from './virtual-payment.ts';

// The bridge's side of virtual payment: what it checks before sending, how it maps Paythrough's answer and the cashier's
// outcome to wx's results, and the page verifier's session check. The verifier is the host's seam (its backend in
// production), so these tests give the bridge one.
const sessionKey = 'c2Vzc2lvbi1rZXktb2YtdGhlLXVzZXI=';
const signData = JSON.stringify({
  mode: 'goods',
  offerId: '1450000001',
  buyQuantity: 2,
  env: 0,
  currencyType: 'CNY',
  productId: 'gem_pack_60',
  goodsPrice: 600,
  outTradeNo: 'GAME20261208001',
  attach: 'zone=1',
});
const signature = createHmac('sha256', sessionKey).update(signData).digest('hex');
const params = { signData, paySig: 'a'.repeat(64), signature };

const okAnswer: VirtualPaymentAnswer = {
  result: 'ok',
  wx_order_id: `wx${'1'.repeat(30)}`,
  order_id: 'GAME20261208001',
  cashier_url: 'http://paythrough.test/sandbox/cashier/token-1',
  cashier_token: 'token-1',
  channel: 'sandbox',
  sandbox: true,
  order: {
    product_id: 'gem_pack_60',
    quantity: 2,
    order_fee: 1200,
    paid_fee: 1200,
    currency: 'CNY',
    time_expire: '2026-12-08T12:00:00+08:00',
  },
};

function bridgeAnswering(answer: VirtualPaymentAnswer | Error, outcome: 'ok' | 'fail' | 'cancel', seen: VerifiedPayment[] = []) {
  const sent: VirtualPaymentVerifyRequest[] = [];
  const cashier: CashierPresenter = async (payment) => {
    seen.push(payment);
    return { result: outcome };
  };
  const bridge = createPaymentBridge({
    appId: 'mnp_game',
    baseUrl: 'http://paythrough.test',
    cashier,
    verifyVirtualPayment: async (request) => {
      sent.push(request);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
  return { bridge, sent, seen };
}

async function settled<T>(promise: Promise<T>): Promise<T | RequestPaymentError> {
  try {
    return await promise;
  } catch (error) {
    return error as RequestPaymentError;
  }
}

describe('the host bridge: requestMidasPaymentGameItem and requestVirtualPayment', () => {
  it('verifies, opens the cashier with the order, and settles ok with the callbacks first', async () => {
    const { bridge, sent, seen } = bridgeAnswering(okAnswer, 'ok');
    const calls: string[] = [];
    const result = await bridge.requestMidasPaymentGameItem({
      ...params,
      success: (r) => calls.push(`success ${r.errMsg}`),
      fail: (r) => calls.push(`fail ${r.errMsg}`),
      complete: (r) => calls.push(`complete ${r.errMsg}`),
    });
    expect(result).toEqual({ errMsg: 'requestMidasPaymentGameItem:ok' });
    expect(calls).toEqual(['success requestMidasPaymentGameItem:ok', 'complete requestMidasPaymentGameItem:ok']);
    expect(sent).toEqual([{ appId: 'mnp_game', method: 'requestMidasPaymentGameItem', signData, paySig: params.paySig, signature }]);
    expect(seen[0]).toMatchObject({
      prepayId: okAnswer.wx_order_id,
      cashierToken: 'token-1',
      order: { outTradeNo: 'GAME20261208001', amount: { total: 1200, currency: 'CNY' } },
    });
  });

  it("passes Paythrough's refusal on with its errCode, without opening the cashier", async () => {
    const refusal: VirtualPaymentAnswer = {
      result: 'fail',
      errCode: -15003,
      code: 'DUPLICATE_OUT_TRADE_NO',
      reason: 'outTradeNo is taken',
    };
    const { bridge, seen } = bridgeAnswering(refusal, 'ok');
    const calls: string[] = [];
    const error = await settled(bridge.requestMidasPaymentGameItem({ ...params, fail: (r) => calls.push(`${r.errCode} ${r.errMsg}`) }));
    expect(error).toBeInstanceOf(RequestPaymentError);
    expect(error).toMatchObject({ errMsg: 'requestMidasPaymentGameItem:fail outTradeNo is taken', errCode: -15003 });
    expect(calls).toEqual(['-15003 requestMidasPaymentGameItem:fail outTradeNo is taken']);
    expect(seen).toHaveLength(0);
  });

  it('settles a cancelled cashier as -2 and a failed payment as -1', async () => {
    await expect(bridgeAnswering(okAnswer, 'cancel').bridge.requestMidasPaymentGameItem(params)).rejects.toMatchObject({
      errMsg: 'requestMidasPaymentGameItem:fail cancel',
      errCode: -2,
    });
    await expect(bridgeAnswering(okAnswer, 'fail').bridge.requestMidasPaymentGameItem(params)).rejects.toMatchObject({
      errMsg: 'requestMidasPaymentGameItem:fail payment failed',
      errCode: -1,
    });
  });

  it('refuses missing parameters (-15001) and a mode requestVirtualPayment does not sell (-15002) before sending', async () => {
    const { bridge, sent } = bridgeAnswering(okAnswer, 'ok');
    await expect(bridge.requestMidasPaymentGameItem({ ...params, paySig: '' })).rejects.toMatchObject({
      errMsg: 'requestMidasPaymentGameItem:fail missing paySig',
      errCode: -15001,
    });
    await expect(bridge.requestVirtualPayment({ ...params, mode: 'short_series_coin' })).rejects.toMatchObject({
      errMsg: 'requestVirtualPayment:fail mode must be short_series_goods',
      errCode: -15002,
    });
    expect(sent).toHaveLength(0);
    await expect(bridge.requestVirtualPayment({ ...params, mode: 'short_series_goods' })).resolves.toEqual({
      errMsg: 'requestVirtualPayment:ok',
    });
    expect(sent.map((request) => request.method)).toEqual(['requestVirtualPayment']);
  });

  it('settles an unreachable backend as -15004', async () => {
    await expect(bridgeAnswering(new TypeError('offline'), 'ok').bridge.requestMidasPaymentGameItem(params)).rejects.toMatchObject({
      errMsg: 'requestMidasPaymentGameItem:fail offline',
      errCode: -15004,
    });
  });
});

describe('the host bridge: verifying virtual payments from the page (sandbox hosts)', () => {
  const request: VirtualPaymentVerifyRequest = { appId: 'mnp_game', method: 'requestMidasPaymentGameItem', ...params };

  it('computes HMAC-SHA256 as node:crypto does', async () => {
    expect(await hmacSha256Hex(sessionKey, signData)).toBe(signature);
  });

  it("checks the signature with the user's session key, then posts the call with the openid", async () => {
    const posted: { url: string; body: unknown }[] = [];
    const verifier = directVirtualPaymentVerifier({
      baseUrl: 'http://paythrough.test',
      fetch: async (url, init) => {
        posted.push({ url: String(url), body: JSON.parse(String(init?.body)) });
        return new Response(JSON.stringify(okAnswer), { headers: { 'content-type': 'application/json' } });
      },
      user: () => ({ openid: 'o_player_1', sessionKey }),
    });
    expect(await verifier(request)).toEqual(okAnswer);
    expect(posted).toEqual([
      { url: 'http://paythrough.test/bridge/v1/verify-virtual-payment', body: { ...request, openid: 'o_player_1', sessionVerified: true } },
    ]);
  });

  it('answers -15005 without posting when the signature is not the session key’s', async () => {
    let posts = 0;
    const verifier = directVirtualPaymentVerifier({
      baseUrl: 'http://paythrough.test',
      fetch: async () => {
        posts += 1;
        return new Response('{}');
      },
      user: () => ({ openid: 'o_player_1', sessionKey: 'another-session-key' }),
    });
    expect(await verifier(request)).toMatchObject({ result: 'fail', errCode: -15005 });
    expect(posts).toBe(0);
  });

  it('answers -15004 for an answer that is not Paythrough’s', async () => {
    const verifier = directVirtualPaymentVerifier({
      baseUrl: 'http://paythrough.test',
      fetch: async () => new Response('<html>bad gateway</html>', { status: 502 }),
      user: () => ({ openid: 'o_player_1', sessionKey }),
    });
    expect(await verifier(request)).toMatchObject({ result: 'fail', errCode: -15004, reason: 'unexpected answer (HTTP 502)' });
  });
});
