import { describe, expect, it } from 'vitest';
import type { ChannelEvent, ChannelOrder } from './channel.ts';
import {
  channelSignature,
  channelSignatureMessage,
  eventFromWire,
  eventToWire,
  orderFromWire,
  orderToWire,
  signChannelMessage,
  verifyChannelSignature,
  wireEventSchema,
} from './protocol.ts';

// The worked example of docs/channel-protocol.md; `openssl dgst -sha256 -hmac` gives the same.
const example = {
  key: 'pt-demo-channel-key-0123456789abcdefgh',
  timestamp: '1768449600',
  nonce: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
  body: '{"merchant_id":"1900000001","out_trade_no":"1217752501201407033233368018"}',
  signature: 'fd65bc03e6e2001fd54731b715f04f22d7998ef3e59bdd76c222435cd8318cff',
};
const nowMs = Number(example.timestamp) * 1000;

describe('channel signatures', () => {
  it('signs TIMESTAMP\\nNONCE\\nBODY\\n with HMAC-SHA256, lower-case hex (the documented example)', () => {
    expect(channelSignatureMessage(example.timestamp, example.nonce, example.body).toString()).toBe(
      `${example.timestamp}\n${example.nonce}\n${example.body}\n`,
    );
    expect(channelSignature(example.key, example.timestamp, example.nonce, example.body)).toBe(example.signature);
    expect(signChannelMessage(example.key, example.body, { nowMs: nowMs + 999, nonce: example.nonce })).toEqual({
      'Paythrough-Timestamp': example.timestamp,
      'Paythrough-Nonce': example.nonce,
      'Paythrough-Signature': example.signature,
    });
  });

  const headers = {
    'paythrough-timestamp': example.timestamp,
    'paythrough-nonce': example.nonce,
    'paythrough-signature': example.signature,
  };

  it('verifies with any header case, under any of the current keys', () => {
    expect(verifyChannelSignature({ headers, body: example.body, channelKeys: [example.key], nowMs })).toEqual({
      ok: true,
      timestamp: Number(example.timestamp),
      nonce: example.nonce,
    });
    expect(
      verifyChannelSignature({
        headers,
        body: Buffer.from(example.body),
        channelKeys: ['old-key-old-key-old-key-old-key-xx', example.key],
        nowMs,
      }).ok,
    ).toBe(true);
  });

  it.each([
    ['another key', { channelKeys: ['another-key-another-key-another-key'] }, 'bad_signature'],
    ['a changed body', { body: example.body.replace('1900000001', '1900000002') }, 'bad_signature'],
    ['a trailing newline in the body', { body: `${example.body}\n` }, 'bad_signature'],
    ['a changed nonce', { headers: { ...headers, 'paythrough-nonce': '5K8264ILTKCH16CQ2502SI8ZNMTM67VT' } }, 'bad_signature'],
    ['an upper-case signature', { headers: { ...headers, 'paythrough-signature': example.signature.toUpperCase() } }, 'malformed'],
    ['a missing header', { headers: { 'paythrough-timestamp': example.timestamp, 'paythrough-nonce': example.nonce } }, 'headers_missing'],
    ['a short nonce', { headers: { ...headers, 'paythrough-nonce': 'abc' } }, 'malformed'],
    ['a stale timestamp', { nowMs: nowMs + 301_000 }, 'stale'],
    ['a future timestamp', { nowMs: nowMs - 301_000 }, 'stale'],
  ])('refuses %s', (_name, change, problem) => {
    const result = verifyChannelSignature({ headers, body: example.body, channelKeys: [example.key], nowMs, ...change });
    expect(result).toMatchObject({ ok: false, problem });
  });

  it('accepts the window edges (±300 s)', () => {
    expect(verifyChannelSignature({ headers, body: example.body, channelKeys: [example.key], nowMs: nowMs + 300_999 }).ok).toBe(true);
    expect(verifyChannelSignature({ headers, body: example.body, channelKeys: [example.key], nowMs: nowMs - 300_000 }).ok).toBe(true);
  });
});

describe('wire bodies', () => {
  const order: ChannelOrder = {
    channelOrderId: 'o1',
    merchantId: '1900000001',
    appId: 'mnp_1',
    outTradeNo: 'T1',
    prepayId: 'wx1',
    state: 'SUCCESS',
    amount: { total: 100, currency: 'JPY' },
    description: 'd',
    expiresAt: nowMs + 7200_000,
    channelTransactionId: 'p1',
    payerOpenid: 'o',
    paidAt: nowMs,
    closedAt: null,
    failureReason: null,
    cashierToken: 't',
    cashierUrl: null,
  };

  it('round-trips orders and events', () => {
    expect(orderFromWire(orderToWire(order))).toEqual(order);
    const event: ChannelEvent = { eventId: 'e1', type: 'payment.succeeded', occurredAt: nowMs, order };
    const wire = eventToWire(event);
    expect(wire).toMatchObject({ event_id: 'e1', event_type: 'payment.succeeded', occurred_time: '2026-01-15T04:00:00.000Z' });
    expect(eventFromWire(wireEventSchema.parse(JSON.parse(JSON.stringify(wire))))).toEqual(event);
  });

  it('accepts times with an offset and refuses times that are not RFC 3339', () => {
    const wire = {
      ...eventToWire({ eventId: 'e1', type: 'payment.succeeded', occurredAt: nowMs, order }),
      occurred_time: '2026-01-15T12:00:00+08:00',
    };
    expect(eventFromWire(wireEventSchema.parse(wire)).occurredAt).toBe(nowMs);
    expect(wireEventSchema.safeParse({ ...wire, occurred_time: '2026-01-15 12:00:00' }).success).toBe(false);
    expect(wireEventSchema.safeParse({ ...wire, event_type: 'refund.succeeded' }).success).toBe(false);
  });
});
