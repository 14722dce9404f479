/**
 * Virtual payment in the host bridge (SPEC §8.2): the mini program's `signData`, `paySig` and `signature` are checked
 * and turned into an order by Paythrough's `POST /bridge/v1/verify-virtual-payment`, then paid at the cashier.
 */

export type VirtualPaymentMethod = 'requestMidasPaymentGameItem' | 'requestVirtualPayment';

/** `{errMsg: '<method>:ok'}`, or `{errMsg: '<method>:fail <reason>', errCode}` with WeChat's errCodes (SPEC §8.8). */
export interface VirtualPaymentResult {
  errMsg: string;
  errCode?: number;
}

/** The parameters of `wx.requestMidasPaymentGameItem` / `wx.requestVirtualPayment`, as the merchant server made them. */
export interface VirtualPaymentOptions {
  /** The JSON string the merchant server signed, passed on byte for byte. */
  signData: string;
  paySig: string;
  /** hex(HMAC-SHA256(session_key, signData)): the host checks it with the user's session key. */
  signature: string;
  /** `requestVirtualPayment` only: "short_series_goods" (coins are not sold). */
  mode?: string;
  success?: (result: VirtualPaymentResult) => void;
  fail?: (result: VirtualPaymentResult) => void;
  complete?: (result: VirtualPaymentResult) => void;
}

/** The signed-in user as the host knows them. */
export interface VirtualPaymentUser {
  openid: string;
  sessionKey: string;
}

/** What the container sends to be verified; the host adds the user's openid and whether `signature` verified. */
export interface VirtualPaymentVerifyRequest {
  appId: string;
  method: VirtualPaymentMethod;
  signData: string;
  paySig: string;
  signature: string;
}

/** Paythrough's answer (SPEC §8.2), passed on unchanged by a host backend that forwards the call. */
export type VirtualPaymentAnswer =
  | {
      result: 'ok';
      wx_order_id: string;
      order_id: string;
      cashier_url: string | null;
      cashier_token: string | null;
      channel: string;
      sandbox: boolean;
      order: { product_id: string; quantity: number; order_fee: number; paid_fee: number; currency: string; time_expire: string };
    }
  | { result: 'fail'; errCode: number; code?: string; reason?: string };

export type VirtualPaymentVerifier = (request: VirtualPaymentVerifyRequest) => Promise<VirtualPaymentAnswer>;

/** WeChat's errCodes for these methods (SPEC §8.8). */
export const virtualPaymentErrCodes = {
  system: -1,
  cancel: -2,
  missing: -15001,
  invalid: -15002,
  backend: -15004,
  notEnabled: -15005,
} as const;

export const virtualFailure = (method: VirtualPaymentMethod, reason: string, errCode: number): VirtualPaymentResult => ({
  errMsg: `${method}:fail ${reason}`,
  errCode,
});

/** Refuses what is wrong before anything is sent: missing parameters, or a mode these methods do not sell. */
export function checkVirtualPaymentParams(method: VirtualPaymentMethod, params: VirtualPaymentOptions): VirtualPaymentResult | null {
  const missing = (['signData', 'paySig', 'signature'] as const).filter((name) => typeof params[name] !== 'string' || params[name] === '');
  if (missing.length) return virtualFailure(method, `missing ${missing.join(', ')}`, virtualPaymentErrCodes.missing);
  if (method === 'requestVirtualPayment' && params.mode !== 'short_series_goods')
    return virtualFailure(method, 'mode must be short_series_goods', virtualPaymentErrCodes.invalid);
  return null;
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, '0')).join('');

/** hex(HMAC-SHA256(key, message)) with WebCrypto (browsers and Node alike). */
export async function hmacSha256Hex(key: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const cryptoKey = await globalThis.crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return hex(await globalThis.crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(message)));
}

/**
 * Verifies from the page: checks `signature` with the user's session key and posts the call unsigned, which
 * Paythrough accepts only for sandbox superapps while the sandbox is on (SPEC §8.2).
 */
export function directVirtualPaymentVerifier(options: {
  baseUrl: string;
  fetch: typeof fetch;
  user: (() => VirtualPaymentUser | Promise<VirtualPaymentUser>) | undefined;
}): VirtualPaymentVerifier {
  return async (request) => {
    if (!options.user) return { result: 'fail', errCode: virtualPaymentErrCodes.system, reason: 'the host has no signed-in user' };
    const user = await options.user();
    const sessionVerified = (await hmacSha256Hex(user.sessionKey, request.signData)) === request.signature.toLowerCase();
    if (!sessionVerified) return { result: 'fail', errCode: virtualPaymentErrCodes.notEnabled, reason: 'signature does not verify' };
    const response = await options.fetch(`${options.baseUrl}/bridge/v1/verify-virtual-payment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      credentials: 'omit',
      body: JSON.stringify({ ...request, openid: user.openid, sessionVerified }),
    });
    const answer = (await response.json().catch(() => null)) as VirtualPaymentAnswer | null;
    if (!answer || (answer.result !== 'ok' && answer.result !== 'fail'))
      return { result: 'fail', errCode: virtualPaymentErrCodes.backend, reason: `unexpected answer (HTTP ${response.status})` };
    return answer;
  };
}

/** A verified virtual order as the cashier presenters see any payment (`prepayId` is the `wx_order_id`). */
export function verifiedVirtualPayment(method: VirtualPaymentMethod, answer: VirtualPaymentAnswer) {
  if (answer.result !== 'ok')
    return virtualFailure(method, answer.reason ?? 'the payment could not be verified', answer.errCode ?? virtualPaymentErrCodes.system);
  return {
    prepayId: answer.wx_order_id,
    cashierUrl: answer.cashier_url,
    cashierToken: answer.cashier_token,
    channel: answer.channel,
    sandbox: answer.sandbox,
    order: {
      outTradeNo: answer.order_id,
      description: `${answer.order.product_id} × ${answer.order.quantity}`,
      amount: { total: answer.order.paid_fee, currency: answer.order.currency },
      timeExpire: answer.order.time_expire,
    },
  };
}
