import type { StatementLine } from '../src/channels/statement.ts';
import { hourMs, minuteMs } from '../src/domain/clock.ts';

/**
 * The business day of the reconciliation bench, defined item by item from its index so that the seeding (our
 * records), the statement server (the channel's lines, generated a page at a time) and the check of the report all
 * derive the same day without holding it in memory.
 *
 * Item i of N: a REFUND of order i − 1 when i % 10 = 9, else the PAYMENT of order i. In each block of 100 items
 * exactly one item is bent (1 %), the kind cycling over the blocks: on the payment at position 50 or on the refund
 * at position 59 of the block.
 */

export const injectedKinds = [
  'payment_missing_at_paythrough',
  'payment_missing_at_channel',
  'payment_amount',
  'payment_time_drift',
  'payment_duplicate_line',
  'refund_missing_at_paythrough',
  'refund_missing_at_channel',
  'refund_amount',
  'refund_state',
] as const;
export type InjectedKind = (typeof injectedKinds)[number];

/** The §9.3 finding each bent item must give. */
export const findingOf: Record<InjectedKind, string> = {
  payment_missing_at_paythrough: 'MISSING_AT_PAYTHROUGH',
  payment_missing_at_channel: 'MISSING_AT_CHANNEL',
  payment_amount: 'AMOUNT_MISMATCH',
  payment_time_drift: 'TIME_DRIFT',
  payment_duplicate_line: 'DUPLICATE_LINE',
  refund_missing_at_paythrough: 'MISSING_AT_PAYTHROUGH',
  refund_missing_at_channel: 'MISSING_AT_CHANNEL',
  refund_amount: 'AMOUNT_MISMATCH',
  refund_state: 'STATE_MISMATCH',
};

export interface BenchDay {
  items: number;
  merchantId: string;
  /** The business day's UTC range. */
  fromMs: number;
  toMs: number;
}

export const isRefundItem = (index: number) => index % 10 === 9;

/** The kind bent at item `index`, if any. */
export function injectedAt(index: number): InjectedKind | undefined {
  const position = index % 100;
  const kind = injectedKinds[Math.floor(index / 100) % injectedKinds.length]!;
  const onRefund = kind.startsWith('refund_');
  return position === (onRefund ? 59 : 50) ? kind : undefined;
}

/** A cheap deterministic hash of the index (amounts, currencies). */
function mix(index: number): number {
  let value = (index + 0x9e3779b9) | 0;
  value = Math.imul(value ^ (value >>> 16), 0x85ebca6b);
  value = Math.imul(value ^ (value >>> 13), 0xc2b2ae35);
  return (value ^ (value >>> 16)) >>> 0;
}

/** Payments are spread over the first 20 hours of the day, so every bent one stays clear of the drift at the day's end. */
export const paidAtOf = (day: BenchDay, order: number) => day.fromMs + Math.floor((order * 20 * hourMs) / day.items) + 1_000;
export const settledAtOf = (day: BenchDay, order: number) => paidAtOf(day, order) + 10 * minuteMs;
export const amountOf = (order: number) => 100 + (mix(order) % 99_900);
export const currencyOf = (order: number) => (mix(order) % 20 === 0 ? 'USD' : 'CNY');
export const refundAmountOf = (order: number) => Math.floor(amountOf(order) / 2) + 1;
export const outTradeNoOf = (order: number) => `RB${order.toString(36).padStart(8, '0')}`;
export const outRefundNoOf = (order: number) => `RBR${order.toString(36).padStart(8, '0')}`;
export const channelTransactionIdOf = (order: number) => `BCT${String(order).padStart(12, '0')}`;
export const channelRefundIdOf = (order: number) => `BCR${String(order).padStart(12, '0')}`;

/** How many times the channel lists item `index` (0 when dropped, 2 when duplicated). */
export function copiesOnStatement(index: number): number {
  const kind = injectedAt(index);
  if (kind === 'payment_missing_at_channel' || kind === 'refund_missing_at_channel') return 0;
  return kind === 'payment_duplicate_line' ? 2 : 1;
}

/** The channel's line of item `index` (when it lists it). */
export function lineOf(day: BenchDay, index: number): StatementLine {
  const kind = injectedAt(index);
  if (isRefundItem(index)) {
    const order = index - 1;
    const refund = refundAmountOf(order);
    return {
      type: 'REFUND',
      merchantId: day.merchantId,
      outTradeNo: outTradeNoOf(order),
      channelTransactionId: channelTransactionIdOf(order),
      outRefundNo: outRefundNoOf(order),
      channelRefundId: channelRefundIdOf(order),
      amount: { refund: kind === 'refund_amount' ? refund - 1 : refund, total: amountOf(order), currency: currencyOf(order) },
      state: kind === 'refund_state' ? 'ABNORMAL' : 'SUCCESS',
      time: settledAtOf(day, order),
    };
  }
  return {
    type: 'PAYMENT',
    merchantId: day.merchantId,
    outTradeNo: outTradeNoOf(index),
    channelOrderId: `BCO${index}`,
    prepayId: `wxrb${String(index).padStart(28, '0')}`,
    channelTransactionId: channelTransactionIdOf(index),
    amount: { total: kind === 'payment_amount' ? amountOf(index) + 1 : amountOf(index), currency: currencyOf(index) },
    state: 'SUCCESS',
    time: paidAtOf(day, index) + (kind === 'payment_time_drift' ? 2 * hourMs : 0),
  };
}

/** What Paythrough records of item `index`: the order and its payment, or the refund; nothing when it has none. */
export function recordOf(index: number): { order: boolean; payment: boolean; refund: 'SUCCESS' | null } {
  const kind = injectedAt(index);
  if (isRefundItem(index)) return { order: false, payment: false, refund: kind === 'refund_missing_at_paythrough' ? null : 'SUCCESS' };
  return kind === 'payment_missing_at_paythrough'
    ? { order: false, payment: false, refund: null }
    : { order: true, payment: true, refund: null };
}

/** The exceptions per §9.3 kind the run must find, and the statement's line count. */
export function expectedOf(items: number): { exceptions: Record<string, number>; injected: Record<string, number>; lines: number } {
  const exceptions: Record<string, number> = {};
  const injected: Record<string, number> = {};
  let lines = 0;
  for (let index = 0; index < items; index++) {
    lines += copiesOnStatement(index);
    const kind = injectedAt(index);
    if (!kind) continue;
    injected[kind] = (injected[kind] ?? 0) + 1;
    exceptions[findingOf[kind]] = (exceptions[findingOf[kind]] ?? 0) + 1;
  }
  return { exceptions, injected, lines };
}
