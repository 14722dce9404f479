import { describe, expect, it } from 'vitest';
import { buildTradeBill, type BillPayment, type BillRefund } from './bill-file.ts';

const payment: BillPayment = {
  successTime: Date.UTC(2026, 0, 15, 2, 0, 0),
  appid: 'mnp_1',
  mchid: '1900000101',
  transactionId: '420260115000000000000000000001',
  outTradeNo: 'T-1',
  payerOpenid: 'openid-1',
  currency: 'CNY',
  amountTotal: 1230,
  description: 'Coffee, large\nwith milk',
  attach: null,
};
const refund: BillRefund = {
  successTime: Date.UTC(2026, 0, 15, 3, 0, 0),
  appid: 'mnp_1',
  mchid: '1900000101',
  transactionId: payment.transactionId,
  outTradeNo: 'T-1',
  payerOpenid: 'openid-1',
  currency: 'CNY',
  orderAmount: 1230,
  refundId: '502601150000000000000000000001',
  outRefundNo: 'R-1',
  refundAmount: 200,
  description: 'Coffee',
  attach: 'a',
};

/** What wechatpay-axios-plugin's Formatter.castCsvBill does with a bill (BOM, header, rows, caption, summary). */
function castCsvBill(text: string) {
  const lines = text.slice(1).split(/\r?\n/);
  const head = lines[0]!.split(',');
  const rows = lines.slice(1, -3).map((line) =>
    Object.fromEntries(
      line
        .substring(1)
        .split(',`')
        .map((cell, index) => [head[index], cell]),
    ),
  );
  const caption = lines.at(-3)!.split(',');
  const summary = Object.fromEntries(
    lines
      .at(-2)!
      .substring(1)
      .split(',`')
      .map((cell, index) => [caption[index], cell]),
  );
  return { rows, summary, trailing: lines.at(-1) };
}

describe('trade bill file', () => {
  it('has the processor shape: BOM, backtick cells, major units, a summary', () => {
    const text = buildTradeBill({
      billType: 'ALL',
      payments: [payment],
      refunds: [refund],
      timeZone: 'Asia/Shanghai',
      defaultCurrency: 'CNY',
    });
    expect(text.startsWith('\uFEFFTrade time,App ID,')).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    const bill = castCsvBill(text);
    expect(bill.trailing).toBe('');
    expect(bill.rows).toHaveLength(2);
    expect(bill.rows[0]).toMatchObject({
      'Trade time': '2026-01-15 10:00:00',
      'Transaction ID': payment.transactionId,
      'Trade state': 'SUCCESS',
      'Settlement amount': '12.30',
      Description: 'Coffee  large with milk',
    });
    expect(bill.rows[1]).toMatchObject({
      'Trade state': 'REFUND',
      'Refund amount': '2.00',
      'Merchant refund no': 'R-1',
      'Refund status': 'SUCCESS',
    });
    expect(bill.summary).toMatchObject({
      'Total trades': '2',
      'Total settlement amount': '12.30',
      'Total refund amount': '2.00',
      Currency: 'CNY',
    });
  });

  it('filters by bill type and is the same bytes for the same records', () => {
    const input = { payments: [payment], refunds: [refund], timeZone: 'Asia/Shanghai', defaultCurrency: 'CNY' };
    expect(castCsvBill(buildTradeBill({ ...input, billType: 'SUCCESS' })).rows).toHaveLength(1);
    expect(castCsvBill(buildTradeBill({ ...input, billType: 'REFUND' })).rows[0]).toMatchObject({ 'Trade state': 'REFUND' });
    expect(buildTradeBill({ ...input, billType: 'ALL' })).toBe(buildTradeBill({ ...input, billType: 'ALL' }));
  });

  it('keeps currencies apart and formats each with its own exponent', () => {
    const yen = { ...payment, currency: 'JPY', amountTotal: 500, transactionId: '420260115000000000000000000002' };
    const text = buildTradeBill({ billType: 'ALL', payments: [payment, yen], refunds: [], timeZone: 'UTC', defaultCurrency: 'CNY' });
    const lines = text.trimEnd().split('\r\n');
    expect(lines.at(-2)).toBe('`1,`12.30,`0.00,`0.00,`0.00,`12.30,`0.00,`CNY');
    expect(lines.at(-1)).toBe('`1,`500,`0,`0,`0,`500,`0,`JPY');
  });

  it('has a zero summary when the day has no records', () => {
    const bill = castCsvBill(buildTradeBill({ billType: 'ALL', payments: [], refunds: [], timeZone: 'UTC', defaultCurrency: 'CNY' }));
    expect(bill.rows).toEqual([]);
    expect(bill.summary).toMatchObject({ 'Total trades': '0', 'Total settlement amount': '0.00' });
  });
});

describe('the trade bill summary', () => {
  it('adds a day of large payments exactly, past 2^53', () => {
    const large = [1, 2, 3].map((n) => ({
      ...payment,
      transactionId: `${payment.transactionId}${n}`,
      outTradeNo: `T-${n}`,
      amountTotal: 2 ** 52 + 1,
    }));
    const bill = buildTradeBill({ billType: 'ALL', payments: large, refunds: [], timeZone: 'Asia/Shanghai', defaultCurrency: 'CNY' });
    const summary = bill.trimEnd().split(/\r?\n/).at(-1)!;
    expect(summary.split(',')).toEqual(['`3', '`135107988821114.91', '`0.00', '`0.00', '`0.00', '`135107988821114.91', '`0.00', '`CNY']);
  });
});
