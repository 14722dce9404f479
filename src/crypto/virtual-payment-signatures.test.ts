import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deliverySignature, hexSignatureMatches, payEventSig, virtualPaySig, xpayPaySig } from './virtual-payment-signatures.ts';

const appKey = 'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z';
const hmac = (message: string) => createHmac('sha256', appKey).update(message).digest('hex');

describe('virtual payment signatures (SPEC §8.2, §8.4, §8.5) against plain node:crypto', () => {
  const signData = JSON.stringify({
    offerId: '1450000001',
    buyQuantity: 2,
    env: 0,
    currencyType: 'CNY',
    productId: 'gem_pack_60',
    goodsPrice: 600,
    outTradeNo: 'ORDER_0001',
    attach: '中文 attach',
  });

  it('paySig = HMAC(AppKey, method & signData)', () => {
    expect(virtualPaySig(appKey, 'requestMidasPaymentGameItem', signData)).toBe(hmac(`requestMidasPaymentGameItem&${signData}`));
    expect(virtualPaySig(appKey, 'requestVirtualPayment', signData)).not.toBe(
      virtualPaySig(appKey, 'requestMidasPaymentGameItem', signData),
    );
  });

  it('pay_sig = HMAC(AppKey, /xpay/<name> & raw body), the body as bytes', () => {
    const body = '{"openid":"o1","env":0,"order_id":"ORDER_0001"}';
    expect(xpayPaySig(appKey, 'query_order', body)).toBe(hmac(`/xpay/query_order&${body}`));
    expect(xpayPaySig(appKey, 'query_order', Buffer.from(body))).toBe(hmac(`/xpay/query_order&${body}`));
  });

  it('PayEventSig = HMAC(AppKey, Event & Payload)', () => {
    const payload = '{"OpenId":"o1","Env":"1"}';
    expect(payEventSig(appKey, 'xpay_goods_deliver_notify', payload)).toBe(hmac(`xpay_goods_deliver_notify&${payload}`));
  });

  it('the delivery header signature covers TIMESTAMP\\nNONCE\\nBODY\\n', () => {
    expect(deliverySignature(appKey, '1700000000', 'n0nce', '{"a":1}')).toBe(hmac('1700000000\nn0nce\n{"a":1}\n'));
  });

  it('compares hex in constant time, refusing other lengths and non-hex', () => {
    const expected = hmac('x');
    expect(hexSignatureMatches(expected, expected)).toBe(true);
    expect(hexSignatureMatches(expected, expected.toUpperCase())).toBe(true);
    expect(hexSignatureMatches(expected, expected.slice(1))).toBe(false);
    expect(hexSignatureMatches(expected, `${expected.slice(0, -1)}g`)).toBe(false);
    expect(hexSignatureMatches(expected, hmac('y'))).toBe(false);
  });
});
