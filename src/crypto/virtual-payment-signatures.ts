import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Virtual payment's signatures (SPEC §8.2, §8.4, §8.5): HMAC-SHA256 under the mini program's AppKey, in
 * lowercase hex. Every input is the exact string as sent: nothing is re-serialised before signing.
 */
export type VirtualPaymentMethod = 'requestMidasPaymentGameItem' | 'requestVirtualPayment';

function hmacHex(key: string, message: string | Buffer): string {
  return createHmac('sha256', key).update(message).digest('hex');
}

/** `paySig` of a client call: hex(HMAC-SHA256(AppKey, method + '&' + signData)). */
export function virtualPaySig(appKey: string, method: string, signData: string): string {
  return hmacHex(appKey, `${method}&${signData}`);
}

/** `pay_sig` of an xpay call: hex(HMAC-SHA256(AppKey, '/xpay/<name>&' + rawBody)). */
export function xpayPaySig(appKey: string, name: string, rawBody: string | Buffer): string {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  return hmacHex(appKey, Buffer.concat([Buffer.from(`/xpay/${name}&`, 'utf8'), body]));
}

/** `PayEventSig` of a delivery or refund notification: hex(HMAC-SHA256(AppKey, Event + '&' + Payload)). */
export function payEventSig(appKey: string, event: string, payload: string): string {
  return hmacHex(appKey, `${event}&${payload}`);
}

/** `Paythrough-Signature` of one delivery attempt: hex(HMAC-SHA256(AppKey, TIMESTAMP\nNONCE\nBODY\n)). */
export function deliverySignature(appKey: string, timestamp: string, nonce: string, body: string): string {
  return hmacHex(appKey, `${timestamp}\n${nonce}\n${body}\n`);
}

/** Constant-time comparison of a received hex signature with the expected one (any case; wrong length is false). */
export function hexSignatureMatches(expected: string, received: string): boolean {
  if (!/^[0-9a-fA-F]*$/.test(received) || received.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected.toLowerCase(), 'utf8'), Buffer.from(received.toLowerCase(), 'utf8'));
}
