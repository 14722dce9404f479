import { describe, expect, it } from 'vitest';
import {
  maxStatementPageLines,
  statementPageFromWire,
  statementPageToWire,
  statementQueryFromWire,
  statementQueryToWire,
  summarizeStatementLines,
  wireStatementPageSchema,
  wireStatementQuerySchema,
  type StatementLine,
  type StatementPage,
} from './statement.ts';

const paid: StatementLine = {
  type: 'PAYMENT',
  merchantId: '1900000109',
  outTradeNo: 'T1',
  channelOrderId: 'ord-1',
  prepayId: 'wx1',
  channelTransactionId: 'pay-1',
  amount: { total: 1000, currency: 'CNY' },
  state: 'SUCCESS',
  time: Date.UTC(2026, 0, 15, 3, 0, 0),
};
const refunded: StatementLine = {
  type: 'REFUND',
  merchantId: '1900000109',
  outTradeNo: 'T1',
  channelTransactionId: 'pay-1',
  outRefundNo: 'R1',
  channelRefundId: 'ref-1',
  amount: { refund: 300, total: 1000, currency: 'CNY' },
  state: 'SUCCESS',
  time: Date.UTC(2026, 0, 15, 4, 0, 0),
};
const closed: StatementLine = { ...refunded, outRefundNo: 'R2', channelRefundId: 'ref-2', state: 'CLOSED' };

describe('the statement on the wire (SPEC §9.1)', () => {
  it('carries a query and a page there and back unchanged, sums as exact decimal strings', () => {
    const query = {
      applicationId: 'app_1',
      billDate: '2026-01-15',
      fromTime: Date.UTC(2026, 0, 14, 16),
      toTime: Date.UTC(2026, 0, 15, 16),
      cursor: null,
      limit: 5000,
    };
    expect(statementQueryFromWire(wireStatementQuerySchema.parse(statementQueryToWire(query)))).toEqual(query);

    const huge = 2n ** 60n + 7n;
    const page: StatementPage = {
      applicationId: 'app_1',
      billDate: '2026-01-15',
      statementId: 'st-1',
      lines: [paid, refunded, closed],
      nextCursor: 'c2',
      summary: [{ currency: 'CNY', paymentCount: 1, paymentAmount: huge, refundCount: 1, refundAmount: 300n }],
    };
    const wire = JSON.parse(JSON.stringify(statementPageToWire(page)));
    expect(wire.summary[0].payment_amount).toBe(huge.toString());
    expect(statementPageFromWire(wireStatementPageSchema.parse(wire))).toEqual(page);
  });

  it('refuses what a page must not hold: a PROCESSING refund, a fractional amount, a malformed sum, a huge limit', () => {
    const wire = statementPageToWire({
      applicationId: 'app_1',
      billDate: '2026-01-15',
      statementId: 'st-1',
      lines: [refunded],
      nextCursor: null,
      summary: [],
    });
    const line = wire.lines[0] as Record<string, unknown>;
    expect(wireStatementPageSchema.safeParse({ ...wire, lines: [{ ...line, state: 'PROCESSING' }] }).success).toBe(false);
    expect(
      wireStatementPageSchema.safeParse({ ...wire, lines: [{ ...line, amount: { refund: 1.5, total: 2, currency: 'CNY' } }] }).success,
    ).toBe(false);
    const summary = { currency: 'CNY', payment_count: 0, payment_amount: '1e3', refund_count: 0, refund_amount: '0' };
    expect(wireStatementPageSchema.safeParse({ ...wire, summary: [summary] }).success).toBe(false);
    const query = statementQueryToWire({ applicationId: 'a', billDate: '2026-01-15', fromTime: 0, toTime: 1, cursor: null, limit: 1 });
    expect(wireStatementQuerySchema.safeParse({ ...query, limit: maxStatementPageLines + 1 }).success).toBe(false);
  });

  it('sums lines per currency: every payment, and SUCCESS refunds only', () => {
    const usd: StatementLine = { ...paid, outTradeNo: 'T2', amount: { total: 250, currency: 'USD' } };
    const summary = [...summarizeStatementLines([paid, refunded, closed, usd, paid]).values()];
    expect(summary).toEqual([
      { currency: 'CNY', paymentCount: 2, paymentAmount: 2000n, refundCount: 1, refundAmount: 300n },
      { currency: 'USD', paymentCount: 1, paymentAmount: 250n, refundCount: 0, refundAmount: 0n },
    ]);
  });
});
