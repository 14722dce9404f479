import { formatMinorUnits } from '../../domain/money.ts';
import { businessDateTimeOf } from '../../domain/business-time.ts';

/**
 * The trade bill file (SPEC §7 "Trade bill file"), shaped like a processor's: UTF-8 with BOM, a header
 * row, one row per payment or refund with every cell prefixed by a backtick (spreadsheets keep long
 * numbers as text), amounts in major units, then a summary caption and one summary row per currency.
 * Pure: the same records give the same bytes, so the hash announced before download matches the file.
 */

export type BillType = 'ALL' | 'SUCCESS' | 'REFUND';

export interface BillPayment {
  successTime: number;
  appid: string;
  mchid: string;
  transactionId: string;
  outTradeNo: string;
  payerOpenid: string;
  currency: string;
  amountTotal: number;
  description: string;
  attach: string | null;
}

export interface BillRefund {
  successTime: number;
  appid: string;
  mchid: string;
  transactionId: string;
  outTradeNo: string;
  payerOpenid: string;
  currency: string;
  orderAmount: number;
  refundId: string;
  outRefundNo: string;
  refundAmount: number;
  description: string;
  attach: string | null;
}

export const billHeader = [
  'Trade time',
  'App ID',
  'Merchant ID',
  'Sub-merchant ID',
  'Device ID',
  'Transaction ID',
  'Merchant order no',
  'Payer openid',
  'Trade type',
  'Trade state',
  'Bank type',
  'Currency',
  'Settlement amount',
  'Coupon amount',
  'Refund ID',
  'Merchant refund no',
  'Refund amount',
  'Coupon refund amount',
  'Refund type',
  'Refund status',
  'Description',
  'Attach',
  'Fee',
  'Fee rate',
  'Order amount',
  'Requested refund amount',
  'Fee rate note',
];

export const billSummaryCaption = [
  'Total trades',
  'Total settlement amount',
  'Total refund amount',
  'Total coupon refund amount',
  'Total fee',
  'Total order amount',
  'Total requested refund amount',
  'Currency',
];

// A cell never breaks the row: separators and line breaks inside free text become spaces.
const clean = (value: string) => value.replace(/[\r\n,`]+/g, ' ');
const row = (cells: readonly string[]) => cells.map((cell) => `\`${clean(cell)}`).join(',');

/** A day's totals per currency: bigint, so a busy merchant's sums stay exact past 2^53. */
interface Totals {
  trades: number;
  settlement: bigint;
  refund: bigint;
  order: bigint;
  requestedRefund: bigint;
}

export function buildTradeBill(input: {
  billType: BillType;
  payments: BillPayment[];
  refunds: BillRefund[];
  timeZone: string;
  defaultCurrency: string;
}): string {
  const lines: string[] = [billHeader.join(',')];
  const totals = new Map<string, Totals>();
  const totalsOf = (currency: string) => {
    let entry = totals.get(currency);
    if (!entry) {
      entry = { trades: 0, settlement: 0n, refund: 0n, order: 0n, requestedRefund: 0n };
      totals.set(currency, entry);
    }
    return entry;
  };
  const money = (amount: number | bigint, currency: string) => formatMinorUnits(amount, currency);

  type Entry = { time: number; line: string };
  const entries: Entry[] = [];
  if (input.billType !== 'REFUND') {
    for (const payment of input.payments) {
      const total = totalsOf(payment.currency);
      total.trades += 1;
      total.settlement += BigInt(payment.amountTotal);
      total.order += BigInt(payment.amountTotal);
      entries.push({
        time: payment.successTime,
        line: row([
          businessDateTimeOf(payment.successTime, input.timeZone),
          payment.appid,
          payment.mchid,
          '0',
          '',
          payment.transactionId,
          payment.outTradeNo,
          payment.payerOpenid,
          'JSAPI',
          'SUCCESS',
          'OTHERS',
          payment.currency,
          money(payment.amountTotal, payment.currency),
          money(0, payment.currency),
          '0',
          '0',
          money(0, payment.currency),
          money(0, payment.currency),
          '',
          '',
          payment.description,
          payment.attach ?? '',
          money(0, payment.currency),
          '0.00%',
          money(payment.amountTotal, payment.currency),
          money(0, payment.currency),
          '',
        ]),
      });
    }
  }
  if (input.billType !== 'SUCCESS') {
    for (const refund of input.refunds) {
      const total = totalsOf(refund.currency);
      total.trades += 1;
      total.refund += BigInt(refund.refundAmount);
      total.requestedRefund += BigInt(refund.refundAmount);
      entries.push({
        time: refund.successTime,
        line: row([
          businessDateTimeOf(refund.successTime, input.timeZone),
          refund.appid,
          refund.mchid,
          '0',
          '',
          refund.transactionId,
          refund.outTradeNo,
          refund.payerOpenid,
          'JSAPI',
          'REFUND',
          'OTHERS',
          refund.currency,
          money(0, refund.currency),
          money(0, refund.currency),
          refund.refundId,
          refund.outRefundNo,
          money(refund.refundAmount, refund.currency),
          money(0, refund.currency),
          'ORIGINAL',
          'SUCCESS',
          refund.description,
          refund.attach ?? '',
          money(0, refund.currency),
          '0.00%',
          money(refund.orderAmount, refund.currency),
          money(refund.refundAmount, refund.currency),
          '',
        ]),
      });
    }
  }
  // Stable: by time, payments before refunds at the same instant (sort is stable in every engine we run on).
  entries.sort((a, b) => a.time - b.time);
  for (const entry of entries) lines.push(entry.line);

  lines.push(billSummaryCaption.join(','));
  if (totals.size === 0) totalsOf(input.defaultCurrency);
  for (const [currency, total] of [...totals].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(
      row([
        String(total.trades),
        money(total.settlement, currency),
        money(total.refund, currency),
        money(0, currency),
        money(0, currency),
        money(total.order, currency),
        money(total.requestedRefund, currency),
        currency,
      ]),
    );
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
