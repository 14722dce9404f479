import { z } from 'zod';

/**
 * The channel's statement of a business day (SPEC §9.1): every payment whose paid time and every settled refund
 * whose settle time falls in the day, read page by page under one `statement_id`, with the whole day's summary
 * on every page. `POST {channel base URL}/v1/statements/query`, signed both ways like the rest of the protocol.
 */

/** Day D as the channel is asked for it: Paythrough's business day as a UTC range, so the channel needs no zone. */
export interface StatementQuery {
  applicationId: string;
  /** `YYYY-MM-DD`. */
  billDate: string;
  /** Start of the day (ms, inclusive). */
  fromTime: number;
  /** End of the day (ms, exclusive). */
  toTime: number;
  cursor: string | null;
  limit: number;
}

export interface PaymentStatementLine {
  type: 'PAYMENT';
  merchantId: string;
  outTradeNo: string;
  channelOrderId: string | null;
  prepayId: string | null;
  /** This payment's id at the channel; null when the host reported none. */
  channelTransactionId: string | null;
  amount: { total: number; currency: string };
  state: 'SUCCESS';
  /** `paid_time` (ms). */
  time: number;
}

export interface RefundStatementLine {
  type: 'REFUND';
  merchantId: string;
  outTradeNo: string;
  /** The payment refunded. */
  channelTransactionId: string | null;
  outRefundNo: string;
  channelRefundId: string | null;
  amount: { refund: number; total: number; currency: string };
  /** A settled refund's state (PROCESSING ones are not listed). */
  state: 'SUCCESS' | 'CLOSED' | 'ABNORMAL';
  /** `settle_time` (ms). */
  time: number;
}

export type StatementLine = PaymentStatementLine | RefundStatementLine;

/** The whole day per currency; the refund figures count SUCCESS refund lines only. Sums are exact. */
export interface StatementSummary {
  currency: string;
  paymentCount: number;
  paymentAmount: bigint;
  refundCount: number;
  refundAmount: bigint;
}

export interface StatementPage {
  applicationId: string;
  billDate: string;
  /** Names the snapshot being read: a new one mid-read restarts the read. */
  statementId: string;
  lines: StatementLine[];
  nextCursor: string | null;
  summary: StatementSummary[];
}

/** At most this many lines a page (SPEC §9.1). */
export const maxStatementPageLines = 5000;
/** Channels serve this many days back (as WeChat keeps bills three months). */
export const statementRetentionDays = 93;

// ---------------------------------------------------------------------------------------------
// On the wire.

const rfc3339 = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/, 'must be an RFC 3339 time')
  .refine((value) => Number.isFinite(Date.parse(value)), 'must be a valid time');
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code');
const minorUnits = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A day's sum may pass 2^53: a decimal string on the wire (an integer is accepted where it is exact). */
const exactSum = z.union([z.string().regex(/^\d{1,30}$/, 'must be a decimal integer'), minorUnits]).transform((value) => BigInt(value));
const billDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
const identifier = (max: number) => z.string().min(1).max(max);

export const wireStatementQuerySchema = z.object({
  application_id: identifier(64),
  bill_date: billDate,
  from_time: rfc3339,
  to_time: rfc3339,
  cursor: z.string().min(1).max(512).nullable(),
  limit: z.number().int().min(1).max(maxStatementPageLines),
});

const wirePaymentLineSchema = z.object({
  type: z.literal('PAYMENT'),
  merchant_id: identifier(32),
  out_trade_no: identifier(64),
  channel_order_id: z.string().min(1).max(64).nullable(),
  prepay_id: z.string().min(1).max(64).nullable(),
  channel_transaction_id: z.string().min(1).max(64).nullable(),
  amount: z.object({ total: minorUnits, currency }),
  state: z.literal('SUCCESS'),
  time: rfc3339,
});

const wireRefundLineSchema = z.object({
  type: z.literal('REFUND'),
  merchant_id: identifier(32),
  out_trade_no: identifier(64),
  channel_transaction_id: z.string().min(1).max(64).nullable(),
  out_refund_no: identifier(64),
  channel_refund_id: z.string().min(1).max(64).nullable(),
  amount: z.object({ refund: minorUnits, total: minorUnits, currency }),
  state: z.enum(['SUCCESS', 'CLOSED', 'ABNORMAL']),
  time: rfc3339,
});

export const wireStatementPageSchema = z.object({
  application_id: identifier(64),
  bill_date: billDate,
  statement_id: identifier(128),
  // More lines than `limit` is the reader's to refuse (STATEMENT_INVALID); the answer's byte limit bounds the list.
  lines: z.array(z.discriminatedUnion('type', [wirePaymentLineSchema, wireRefundLineSchema])),
  next_cursor: z.string().min(1).max(512).nullable(),
  summary: z
    .array(
      z.object({
        currency,
        payment_count: z.number().int().min(0),
        payment_amount: exactSum,
        refund_count: z.number().int().min(0),
        refund_amount: exactSum,
      }),
    )
    .max(64),
});

export type WireStatementQuery = z.infer<typeof wireStatementQuerySchema>;
export type WireStatementPage = z.input<typeof wireStatementPageSchema>;

const wireTime = (ms: number) => new Date(ms).toISOString();

export const statementQueryToWire = (query: StatementQuery): WireStatementQuery => ({
  application_id: query.applicationId,
  bill_date: query.billDate,
  from_time: wireTime(query.fromTime),
  to_time: wireTime(query.toTime),
  cursor: query.cursor,
  limit: query.limit,
});

export const statementQueryFromWire = (wire: WireStatementQuery): StatementQuery => ({
  applicationId: wire.application_id,
  billDate: wire.bill_date,
  fromTime: Date.parse(wire.from_time),
  toTime: Date.parse(wire.to_time),
  cursor: wire.cursor,
  limit: wire.limit,
});

export function statementLineToWire(line: StatementLine) {
  if (line.type === 'PAYMENT') {
    return {
      type: line.type,
      merchant_id: line.merchantId,
      out_trade_no: line.outTradeNo,
      channel_order_id: line.channelOrderId,
      prepay_id: line.prepayId,
      channel_transaction_id: line.channelTransactionId,
      amount: { total: line.amount.total, currency: line.amount.currency },
      state: line.state,
      time: wireTime(line.time),
    };
  }
  return {
    type: line.type,
    merchant_id: line.merchantId,
    out_trade_no: line.outTradeNo,
    channel_transaction_id: line.channelTransactionId,
    out_refund_no: line.outRefundNo,
    channel_refund_id: line.channelRefundId,
    amount: { refund: line.amount.refund, total: line.amount.total, currency: line.amount.currency },
    state: line.state,
    time: wireTime(line.time),
  };
}

export const statementPageToWire = (page: StatementPage): WireStatementPage => ({
  application_id: page.applicationId,
  bill_date: page.billDate,
  statement_id: page.statementId,
  lines: page.lines.map(statementLineToWire),
  next_cursor: page.nextCursor,
  summary: page.summary.map((entry) => ({
    currency: entry.currency,
    payment_count: entry.paymentCount,
    payment_amount: entry.paymentAmount.toString(),
    refund_count: entry.refundCount,
    refund_amount: entry.refundAmount.toString(),
  })),
});

export function statementPageFromWire(wire: z.output<typeof wireStatementPageSchema>): StatementPage {
  return {
    applicationId: wire.application_id,
    billDate: wire.bill_date,
    statementId: wire.statement_id,
    lines: wire.lines.map((line): StatementLine =>
      line.type === 'PAYMENT'
        ? {
            type: 'PAYMENT',
            merchantId: line.merchant_id,
            outTradeNo: line.out_trade_no,
            channelOrderId: line.channel_order_id,
            prepayId: line.prepay_id,
            channelTransactionId: line.channel_transaction_id,
            amount: { total: line.amount.total, currency: line.amount.currency },
            state: 'SUCCESS',
            time: Date.parse(line.time),
          }
        : {
            type: 'REFUND',
            merchantId: line.merchant_id,
            outTradeNo: line.out_trade_no,
            channelTransactionId: line.channel_transaction_id,
            outRefundNo: line.out_refund_no,
            channelRefundId: line.channel_refund_id,
            amount: { refund: line.amount.refund, total: line.amount.total, currency: line.amount.currency },
            state: line.state,
            time: Date.parse(line.time),
          },
    ),
    nextCursor: wire.next_cursor,
    summary: wire.summary.map((entry) => ({
      currency: entry.currency,
      paymentCount: entry.payment_count,
      paymentAmount: entry.payment_amount,
      refundCount: entry.refund_count,
      refundAmount: entry.refund_amount,
    })),
  };
}

/** The summary `lines` add up to, per currency (in order of first appearance). */
export function summarizeStatementLines(
  lines: Iterable<StatementLine>,
  into = new Map<string, StatementSummary>(),
): Map<string, StatementSummary> {
  for (const line of lines) {
    let entry = into.get(line.amount.currency);
    if (!entry) {
      entry = { currency: line.amount.currency, paymentCount: 0, paymentAmount: 0n, refundCount: 0, refundAmount: 0n };
      into.set(line.amount.currency, entry);
    }
    if (line.type === 'PAYMENT') {
      entry.paymentCount += 1;
      entry.paymentAmount += BigInt(line.amount.total);
    } else if (line.state === 'SUCCESS') {
      entry.refundCount += 1;
      entry.refundAmount += BigInt(line.amount.refund);
    }
  }
  return into;
}
