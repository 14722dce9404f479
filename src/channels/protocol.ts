import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { randomString } from '../domain/ids.ts';
import {
  channelErrorCodes,
  type ChannelEvent,
  type ChannelOrder,
  type ChannelRefund,
  type CreateChannelOrderInput,
  type CreateChannelRefundInput,
} from './channel.ts';

/**
 * The Paythrough channel protocol on the wire (docs/channel-protocol.md): HTTP + JSON, every request,
 * response and callback signed with HMAC-SHA256 over `TIMESTAMP\nNONCE\nBODY\n` under the channel key
 * the superapp and Paythrough share. Both the HTTP connector and the sandbox's server speak it.
 */

export const channelHeaderNames = {
  timestamp: 'Paythrough-Timestamp',
  nonce: 'Paythrough-Nonce',
  signature: 'Paythrough-Signature',
} as const;

/** Paths under the superapp's channel base URL (Paythrough → superapp). */
export const channelProtocolPaths = {
  createOrder: '/v1/orders',
  queryOrder: '/v1/orders/query',
  closeOrder: '/v1/orders/close',
  createRefund: '/v1/refunds',
  queryRefund: '/v1/refunds/query',
  queryStatement: '/v1/statements/query',
} as const;

/** Where a superapp's channel posts its events (superapp → Paythrough), under PUBLIC_URL. */
export const channelCallbackPath = (applicationId: string) => `/channel/v1/superapps/${encodeURIComponent(applicationId)}/events`;
/** The same, as a route pattern. */
export const channelCallbackRoute = '/channel/v1/superapps/:applicationId/events';

/** Signed messages are accepted within this many seconds of the receiver's clock, either way. */
export const channelTimestampWindowSeconds = 300;
/** A channel key must be at least this long (characters of a random secret). */
export const minimumChannelKeyLength = 32;

// ---------------------------------------------------------------------------------------------
// Signatures.

export function channelSignatureMessage(timestamp: string, nonce: string, body: string | Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'),
    typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
    Buffer.from('\n'),
  ]);
}

/** Lower-case hex HMAC-SHA256 of the message under the channel key (its UTF-8 bytes). */
export function channelSignature(channelKey: string, timestamp: string, nonce: string, body: string | Buffer): string {
  return createHmac('sha256', Buffer.from(channelKey, 'utf8'))
    .update(channelSignatureMessage(timestamp, nonce, body))
    .digest('hex');
}

export interface ChannelSignedHeaders {
  'Paythrough-Timestamp': string;
  'Paythrough-Nonce': string;
  'Paythrough-Signature': string;
}

/** Headers that sign `body` (request, response or callback): a fresh timestamp and nonce each call. */
export function signChannelMessage(
  channelKey: string,
  body: string | Buffer,
  options: { nowMs: number; nonce?: string },
): ChannelSignedHeaders {
  const timestamp = String(Math.floor(options.nowMs / 1000));
  const nonce = options.nonce ?? randomString(32);
  return {
    'Paythrough-Timestamp': timestamp,
    'Paythrough-Nonce': nonce,
    'Paythrough-Signature': channelSignature(channelKey, timestamp, nonce, body),
  };
}

export type ChannelSignatureCheck =
  | { ok: true; timestamp: number; nonce: string }
  | { ok: false; problem: 'headers_missing' | 'malformed' | 'stale' | 'bad_signature'; message: string };

function header(headers: Record<string, unknown>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
    return undefined;
  }
  return undefined;
}

/**
 * Checks the three headers against the raw body under any of the channel's current keys (more than
 * one while a key is being rotated). Replay protection is the caller's next step: remember the nonce.
 */
export function verifyChannelSignature(input: {
  headers: Record<string, unknown>;
  body: string | Buffer;
  channelKeys: readonly string[];
  nowMs: number;
}): ChannelSignatureCheck {
  const timestamp = header(input.headers, channelHeaderNames.timestamp);
  const nonce = header(input.headers, channelHeaderNames.nonce);
  const signature = header(input.headers, channelHeaderNames.signature);
  if (timestamp === undefined || nonce === undefined || signature === undefined) {
    return {
      ok: false,
      problem: 'headers_missing',
      message: 'Paythrough-Timestamp, Paythrough-Nonce and Paythrough-Signature are required',
    };
  }
  if (!/^[0-9]{1,12}$/.test(timestamp) || !/^[0-9A-Za-z_-]{16,64}$/.test(nonce) || !/^[0-9a-f]{64}$/.test(signature)) {
    return { ok: false, problem: 'malformed', message: 'A signature header is malformed' };
  }
  if (Math.abs(Math.floor(input.nowMs / 1000) - Number(timestamp)) > channelTimestampWindowSeconds) {
    return {
      ok: false,
      problem: 'stale',
      message: `Paythrough-Timestamp is more than ${channelTimestampWindowSeconds} s away from the receiver's clock`,
    };
  }
  const sent = Buffer.from(signature, 'hex');
  const matches = input.channelKeys.some((key) =>
    timingSafeEqual(Buffer.from(channelSignature(key, timestamp, nonce, input.body), 'hex'), sent),
  );
  if (!matches) return { ok: false, problem: 'bad_signature', message: 'Paythrough-Signature does not verify' };
  return { ok: true, timestamp: Number(timestamp), nonce };
}

// ---------------------------------------------------------------------------------------------
// Bodies.

const rfc3339 = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/, 'must be an RFC 3339 time')
  .refine((value) => Number.isFinite(Date.parse(value)), 'must be a valid time');
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code');
const minorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const identifier = (max: number) => z.string().min(1).max(max);

export const wireTime = (ms: number) => new Date(ms).toISOString();
export const fromWireTime = (text: string) => Date.parse(text);

export const wireCreateOrderSchema = z.object({
  merchant_id: identifier(32),
  appid: identifier(64),
  out_trade_no: identifier(64),
  prepay_id: identifier(64),
  amount: z.object({ total: minorUnits.min(1), currency }),
  description: z.string().min(1).max(256),
  expire_time: rfc3339,
  attach: z.string().max(256).nullable().optional(),
  payer: z.object({ openid: identifier(128) }),
});

export const wireOrderKeySchema = z.object({ merchant_id: identifier(32), out_trade_no: identifier(64) });

export const wireOrderSchema = z.object({
  channel_order_id: identifier(64),
  merchant_id: identifier(32),
  appid: identifier(64),
  out_trade_no: identifier(64),
  prepay_id: identifier(64),
  state: z.enum(['WAIT_PAY', 'SUCCESS', 'CLOSED', 'PAY_ERROR']),
  amount: z.object({ total: minorUnits, currency }),
  description: z.string(),
  expire_time: rfc3339,
  channel_transaction_id: z.string().min(1).max(64).nullable(),
  payer_openid: z.string().max(128).nullable(),
  paid_time: rfc3339.nullable(),
  closed_time: rfc3339.nullable(),
  failure_reason: z.string().max(256).nullable(),
  cashier_token: identifier(128),
  cashier_url: z.string().max(1024).nullable(),
});

export const wireCreateRefundSchema = z.object({
  merchant_id: identifier(32),
  out_trade_no: identifier(64),
  out_refund_no: identifier(64),
  channel_transaction_id: z.string().min(1).max(64).nullable(),
  amount: z.object({ refund: minorUnits.min(1), total: minorUnits.min(1), currency }),
  reason: z.string().max(256).nullable(),
});

export const wireRefundKeySchema = z.object({ merchant_id: identifier(32), out_refund_no: identifier(64) });

export const wireRefundSchema = z.object({
  channel_refund_id: identifier(64),
  merchant_id: identifier(32),
  out_refund_no: identifier(64),
  out_trade_no: identifier(64),
  state: z.enum(['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL']),
  amount: z.object({ refund: minorUnits, total: minorUnits, currency }),
  reason: z.string().max(256).nullable(),
  create_time: rfc3339,
  settle_time: rfc3339.nullable(),
});

export const wireErrorSchema = z.object({ code: z.enum(channelErrorCodes), message: z.string() });

export const wireEventSchema = z.discriminatedUnion('event_type', [
  z.object({
    event_id: identifier(64),
    event_type: z.enum(['payment.succeeded', 'payment.failed']),
    occurred_time: rfc3339,
    order: wireOrderSchema,
  }),
  z.object({
    event_id: identifier(64),
    event_type: z.enum(['refund.succeeded', 'refund.closed', 'refund.abnormal']),
    occurred_time: rfc3339,
    refund: wireRefundSchema,
  }),
]);

export type WireCreateOrder = z.infer<typeof wireCreateOrderSchema>;
export type WireOrder = z.infer<typeof wireOrderSchema>;
export type WireCreateRefund = z.infer<typeof wireCreateRefundSchema>;
export type WireRefund = z.infer<typeof wireRefundSchema>;
export type WireEvent = z.infer<typeof wireEventSchema>;

// Typed objects ⇄ wire bodies.

export const createOrderToWire = (input: CreateChannelOrderInput): WireCreateOrder => ({
  merchant_id: input.merchantId,
  appid: input.appId,
  out_trade_no: input.outTradeNo,
  prepay_id: input.prepayId,
  amount: { total: input.amount.total, currency: input.amount.currency },
  description: input.description,
  expire_time: wireTime(input.expiresAt),
  attach: input.attach,
  payer: { openid: input.payer.openid },
});

export const createOrderFromWire = (wire: WireCreateOrder): CreateChannelOrderInput => ({
  merchantId: wire.merchant_id,
  appId: wire.appid,
  outTradeNo: wire.out_trade_no,
  prepayId: wire.prepay_id,
  amount: { total: wire.amount.total, currency: wire.amount.currency },
  description: wire.description,
  expiresAt: fromWireTime(wire.expire_time),
  attach: wire.attach ?? null,
  payer: { openid: wire.payer.openid },
});

const optionalTime = (ms: number | null) => (ms === null ? null : wireTime(ms));
const optionalMs = (text: string | null) => (text === null ? null : fromWireTime(text));

export const orderToWire = (order: ChannelOrder): WireOrder => ({
  channel_order_id: order.channelOrderId,
  merchant_id: order.merchantId,
  appid: order.appId,
  out_trade_no: order.outTradeNo,
  prepay_id: order.prepayId,
  state: order.state,
  amount: { total: order.amount.total, currency: order.amount.currency },
  description: order.description,
  expire_time: wireTime(order.expiresAt),
  channel_transaction_id: order.channelTransactionId,
  payer_openid: order.payerOpenid,
  paid_time: optionalTime(order.paidAt),
  closed_time: optionalTime(order.closedAt),
  failure_reason: order.failureReason,
  cashier_token: order.cashierToken,
  cashier_url: order.cashierUrl,
});

export const orderFromWire = (wire: WireOrder): ChannelOrder => ({
  channelOrderId: wire.channel_order_id,
  merchantId: wire.merchant_id,
  appId: wire.appid,
  outTradeNo: wire.out_trade_no,
  prepayId: wire.prepay_id,
  state: wire.state,
  amount: { total: wire.amount.total, currency: wire.amount.currency },
  description: wire.description,
  expiresAt: fromWireTime(wire.expire_time),
  channelTransactionId: wire.channel_transaction_id,
  payerOpenid: wire.payer_openid,
  paidAt: optionalMs(wire.paid_time),
  closedAt: optionalMs(wire.closed_time),
  failureReason: wire.failure_reason,
  cashierToken: wire.cashier_token,
  cashierUrl: wire.cashier_url,
});

export const createRefundToWire = (input: CreateChannelRefundInput): WireCreateRefund => ({
  merchant_id: input.merchantId,
  out_trade_no: input.outTradeNo,
  out_refund_no: input.outRefundNo,
  channel_transaction_id: input.channelTransactionId,
  amount: { refund: input.amount.refund, total: input.amount.total, currency: input.amount.currency },
  reason: input.reason,
});

export const createRefundFromWire = (wire: WireCreateRefund): CreateChannelRefundInput => ({
  merchantId: wire.merchant_id,
  outTradeNo: wire.out_trade_no,
  outRefundNo: wire.out_refund_no,
  channelTransactionId: wire.channel_transaction_id,
  amount: { refund: wire.amount.refund, total: wire.amount.total, currency: wire.amount.currency },
  reason: wire.reason,
});

export const refundToWire = (refund: ChannelRefund): WireRefund => ({
  channel_refund_id: refund.channelRefundId,
  merchant_id: refund.merchantId,
  out_refund_no: refund.outRefundNo,
  out_trade_no: refund.outTradeNo,
  state: refund.state,
  amount: { refund: refund.amount.refund, total: refund.amount.total, currency: refund.amount.currency },
  reason: refund.reason,
  create_time: wireTime(refund.createdAt),
  settle_time: optionalTime(refund.settledAt),
});

export const refundFromWire = (wire: WireRefund): ChannelRefund => ({
  channelRefundId: wire.channel_refund_id,
  merchantId: wire.merchant_id,
  outRefundNo: wire.out_refund_no,
  outTradeNo: wire.out_trade_no,
  state: wire.state,
  amount: { refund: wire.amount.refund, total: wire.amount.total, currency: wire.amount.currency },
  reason: wire.reason,
  createdAt: fromWireTime(wire.create_time),
  settledAt: optionalMs(wire.settle_time),
});

export function eventToWire(event: ChannelEvent): WireEvent {
  if ('order' in event)
    return { event_id: event.eventId, event_type: event.type, occurred_time: wireTime(event.occurredAt), order: orderToWire(event.order) };
  return { event_id: event.eventId, event_type: event.type, occurred_time: wireTime(event.occurredAt), refund: refundToWire(event.refund) };
}

export function eventFromWire(wire: WireEvent): ChannelEvent {
  if ('order' in wire)
    return {
      eventId: wire.event_id,
      type: wire.event_type,
      occurredAt: fromWireTime(wire.occurred_time),
      order: orderFromWire(wire.order),
    };
  return {
    eventId: wire.event_id,
    type: wire.event_type,
    occurredAt: fromWireTime(wire.occurred_time),
    refund: refundFromWire(wire.refund),
  };
}
