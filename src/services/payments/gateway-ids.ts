import { createHash, randomInt } from 'node:crypto';
import { randomString } from '../../domain/ids.ts';

/** yyyyMMddHHmmss of a UTC instant. */
function utcStamp(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function randomDigits(length: number): string {
  let out = '';
  while (out.length < length) out += randomInt(0, 1_000_000_000).toString().padStart(9, '0');
  return out.slice(0, length);
}

/** `wx` + UTC time + 20 hex characters, shaped like WeChat's (36 characters). */
export function mintPrepayId(nowMs: number): string {
  return `wx${utcStamp(nowMs)}${randomString(20, '0123456789abcdef')}`;
}

/** Paythrough's transaction id: `42` + UTC date + 20 random digits (30 digits; SPEC §7 wants 28–32). */
export function mintTransactionId(nowMs: number): string {
  return `42${utcStamp(nowMs).slice(0, 8)}${randomDigits(20)}`;
}

/** Paythrough's refund id: `50` + UTC date + 20 random digits (30 digits). */
export function mintRefundId(nowMs: number): string {
  return `50${utcStamp(nowMs).slice(0, 8)}${randomDigits(20)}`;
}

/** The fields SPEC §7 compares when a prepay repeats an out_trade_no. */
export interface PrepayFingerprintFields {
  appid: string;
  description: string;
  amountTotal: number;
  currency: string;
  payerOpenid: string;
  notifyUrl: string;
  attach: string | null;
  /** Ms since the epoch as requested, or null when the request named none. */
  timeExpire: number | null;
}

/** SHA-256 over the idempotency fields in a fixed order, so equal requests give equal fingerprints. */
export function prepayFingerprint(fields: PrepayFingerprintFields): string {
  const canonical = JSON.stringify([
    fields.appid,
    fields.description,
    fields.amountTotal,
    fields.currency,
    fields.payerOpenid,
    fields.notifyUrl,
    fields.attach,
    fields.timeExpire,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
