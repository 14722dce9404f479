import { createHash } from 'node:crypto';
import type { DatabaseClient, DatabaseTransaction } from '../../db/schema.ts';
import type { SandboxStatementFaultKind } from '../../db/gateway-schema.ts';
import type { Clock } from '../../domain/clock.ts';
import type { SandboxOrderRow, SandboxRefundRow } from '../../repositories/sandbox.repository.ts';
import {
  sandboxStatementRepository,
  type SandboxDay,
  type SandboxKeyset,
  type SandboxStatementFaultRow,
} from '../../repositories/sandbox-statement.repository.ts';
import type { ChannelErrorCode, ChannelResult } from '../channel.ts';
import {
  maxStatementPageLines,
  statementRetentionDays,
  summarizeStatementLines,
  type PaymentStatementLine,
  type RefundStatementLine,
  type StatementLine,
  type StatementPage,
  type StatementQuery,
  type StatementSummary,
} from '../statement.ts';

/**
 * The sandbox channel's statement of a business day (SPEC §9.1), and the faults that bend it (for demo and tests).
 *
 * Lines come in three phases, each in keyset order: payments by (paid_at, id), settled refunds by (settled_at, id),
 * then the extra payment lines that faults add, by fault id. A row may serve 0–2 lines once bent, so the cursor
 * names the last line served: its phase, its row's (time, id) and its place among that row's lines.
 */
export const sandboxStatementFaultKinds = ['drop', 'amount', 'currency', 'state', 'time', 'extra', 'duplicate'] as const;

/** A `time` fault moves a line this far (beyond PAYTHROUGH_RECONCILIATION_DRIFT_SECONDS, 3600, by default). */
export const statementTimeFaultShiftMs = 2 * 3600_000;
/** The amount of an extra payment line for an order the sandbox does not have. */
export const unknownOrderExtraAmount = 100;

const dayMs = 86_400_000;
// Summaries of recent snapshots: a read of a day computes its summary once, not once a page.
const summaryCacheSize = 32;

type Phase = 'P' | 'R' | 'X';
const phases: readonly Phase[] = ['P', 'R', 'X'];

interface Position {
  phase: Phase;
  time: number;
  id: string;
  /** The line's place among its row's lines. */
  sub: number;
}

interface PlacedLine {
  line: StatementLine;
  position: Position;
}

export interface FaultPlan {
  byOrder: Map<string, Set<SandboxStatementFaultKind>>;
  byRefund: Map<string, Set<SandboxStatementFaultKind>>;
  extras: SandboxStatementFaultRow[];
}

type RefundWithPayment = SandboxRefundRow & { order_channel_transaction_id: string | null };

/** The LRU of statement summaries, shared by every view of one sandbox. */
export class StatementSummaryCache {
  private readonly entries = new Map<string, StatementSummary[]>();
  get(statementId: string): StatementSummary[] | undefined {
    const found = this.entries.get(statementId);
    if (found) {
      this.entries.delete(statementId);
      this.entries.set(statementId, found);
    }
    return found;
  }
  set(statementId: string, summary: StatementSummary[]): void {
    this.entries.delete(statementId);
    this.entries.set(statementId, summary);
    while (this.entries.size > summaryCacheSize) this.entries.delete(this.entries.keys().next().value!);
  }
  get size(): number {
    return this.entries.size;
  }
}

export function encodeStatementCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.phase, position.time, position.id, position.sub]), 'utf8').toString('base64url');
}

export function decodeStatementCursor(cursor: string): Position | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 4) return undefined;
    const [phase, time, id, sub] = value as unknown[];
    if (!phases.includes(phase as Phase) || !Number.isSafeInteger(time) || typeof id !== 'string' || id.length > 128) return undefined;
    if (!Number.isSafeInteger(sub) || (sub as number) < 0 || (sub as number) > 2) return undefined;
    return { phase: phase as Phase, time: time as number, id, sub: sub as number };
  } catch {
    return undefined;
  }
}

export function planFaults(faults: readonly SandboxStatementFaultRow[]): FaultPlan {
  const plan: FaultPlan = { byOrder: new Map(), byRefund: new Map(), extras: [] };
  for (const fault of faults) {
    if (fault.kind === 'extra') {
      plan.extras.push(fault);
      continue;
    }
    const [map, key] = fault.out_refund_no ? [plan.byRefund, fault.out_refund_no] : [plan.byOrder, fault.out_trade_no];
    const kinds = map.get(key) ?? new Set<SandboxStatementFaultKind>();
    kinds.add(fault.kind);
    map.set(key, kinds);
  }
  return plan;
}

export const otherCurrency = (currency: string) => (currency === 'CNY' ? 'USD' : 'CNY');

/** One line as the faults on it bend it: none (drop), one, or the same twice (duplicate). */
export function bendLine(line: StatementLine, kinds: ReadonlySet<SandboxStatementFaultKind> | undefined, day: SandboxDay): StatementLine[] {
  if (!kinds) return [line];
  if (kinds.has('drop')) return [];
  let bent = structuredClone(line);
  if (kinds.has('amount')) {
    if (bent.type === 'PAYMENT') bent.amount.total += 1;
    else bent.amount.refund += 1;
  }
  if (kinds.has('currency')) bent.amount.currency = otherCurrency(bent.amount.currency);
  if (kinds.has('state') && bent.type === 'REFUND') bent = { ...bent, state: bent.state === 'SUCCESS' ? 'CLOSED' : 'SUCCESS' };
  if (kinds.has('time')) {
    // Moved within the day, far enough that reconciliation sees a drift.
    const later = bent.time + statementTimeFaultShiftMs;
    bent = { ...bent, time: later < day.to ? later : bent.time - statementTimeFaultShiftMs };
  }
  return kinds.has('duplicate') ? [bent, bent] : [bent];
}

export function paymentLineOf(row: SandboxOrderRow): PaymentStatementLine {
  return {
    type: 'PAYMENT',
    merchantId: row.merchant_id,
    outTradeNo: row.out_trade_no,
    channelOrderId: row.id,
    prepayId: row.prepay_id,
    channelTransactionId: row.channel_transaction_id,
    amount: { total: row.amount_total, currency: row.currency },
    state: 'SUCCESS',
    time: row.paid_at!,
  };
}

function refundLineOf(row: RefundWithPayment): RefundStatementLine {
  return {
    type: 'REFUND',
    merchantId: row.merchant_id,
    outTradeNo: row.out_trade_no,
    channelTransactionId: row.order_channel_transaction_id,
    outRefundNo: row.out_refund_no,
    channelRefundId: row.id,
    amount: { refund: row.amount_refund, total: row.amount_total, currency: row.currency },
    state: row.state as RefundStatementLine['state'],
    time: row.settled_at!,
  };
}

const rejected = <T>(code: ChannelErrorCode, message: string): ChannelResult<T> => ({ outcome: 'rejected', code, message });

export interface SandboxStatementReaderOptions {
  db: DatabaseClient;
  clock: Clock;
  superappId: string;
  summaries: StatementSummaryCache;
}

/** Serves pages of one sandbox superapp's statement. */
export class SandboxStatementReader {
  constructor(private readonly options: SandboxStatementReaderOptions) {}

  async queryStatement(query: StatementQuery): Promise<ChannelResult<StatementPage>> {
    const { clock, superappId } = this.options;
    if (superappId !== '' && query.applicationId !== superappId)
      return rejected('PARAM_ERROR', `This view of the sandbox serves ${superappId}, not ${query.applicationId}`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(query.billDate)) return rejected('PARAM_ERROR', 'bill_date must be YYYY-MM-DD');
    if (!(query.fromTime < query.toTime) || query.toTime - query.fromTime > 2 * dayMs)
      return rejected('PARAM_ERROR', 'from_time must be before to_time, at most two days apart');
    if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > maxStatementPageLines)
      return rejected('PARAM_ERROR', `limit must be 1 to ${maxStatementPageLines}`);
    const now = clock.nowMs();
    if (now < query.toTime) return rejected('STATEMENT_NOT_READY', `The day ${query.billDate} has not ended yet`);
    if (query.fromTime < now - statementRetentionDays * dayMs)
      return rejected('PARAM_ERROR', `Statements are kept ${statementRetentionDays} days; ${query.billDate} is older`);
    const cursor = query.cursor === null ? null : decodeStatementCursor(query.cursor);
    if (cursor === undefined) return rejected('PARAM_ERROR', 'cursor is not one this channel gave');

    const day: SandboxDay = { superappId, from: query.fromTime, to: query.toTime };
    // One snapshot for the page: its name, its summary and its lines agree even while the sandbox moves on.
    const page = await this.options.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const faults = await sandboxStatementRepository.faultsOfDay(trx, superappId, query.billDate);
        const fingerprint = await sandboxStatementRepository.dayFingerprint(trx, day);
        const statementId = `stmt_${createHash('sha256')
          .update(
            JSON.stringify([
              superappId,
              query.billDate,
              day.from,
              day.to,
              fingerprint,
              faults.map((f) => [f.id, f.kind, f.out_trade_no, f.out_refund_no, f.merchant_id]),
            ]),
          )
          .digest('hex')
          .slice(0, 40)}`;
        const plan = planFaults(faults);
        let summary = this.options.summaries.get(statementId);
        if (!summary) {
          summary = await this.summarize(trx, day, plan);
          this.options.summaries.set(statementId, summary);
        }
        const placed = await this.linesFrom(trx, day, plan, cursor, query.limit + 1);
        return { statementId, summary, placed };
      });

    const served = page.placed.slice(0, query.limit);
    const last = served.at(-1);
    return {
      outcome: 'ok',
      value: {
        applicationId: query.applicationId,
        billDate: query.billDate,
        statementId: page.statementId,
        lines: served.map((entry) => entry.line),
        nextCursor: page.placed.length > query.limit && last ? encodeStatementCursor(last.position) : null,
        summary: page.summary.map((entry) => ({ ...entry })),
      },
    };
  }

  /**
   * The whole day as served: the database's totals of the rows no fault names, plus the lines of the rows faults
   * bend and the extra lines, added up by the same function that a reader adds the pages up with.
   */
  private async summarize(trx: DatabaseTransaction, day: SandboxDay, plan: FaultPlan): Promise<StatementSummary[]> {
    const bentOrders = [...plan.byOrder.keys()];
    const bentRefunds = [...plan.byRefund.keys()];
    const totals = new Map<string, StatementSummary>();
    const entry = (currency: string) => {
      let found = totals.get(currency);
      if (!found) {
        found = { currency, paymentCount: 0, paymentAmount: 0n, refundCount: 0, refundAmount: 0n };
        totals.set(currency, found);
      }
      return found;
    };
    for (const row of await sandboxStatementRepository.paymentTotals(trx, day, bentOrders)) {
      entry(row.currency).paymentCount += row.count;
      entry(row.currency).paymentAmount += BigInt(row.amount);
    }
    for (const row of await sandboxStatementRepository.successfulRefundTotals(trx, day, bentRefunds)) {
      entry(row.currency).refundCount += row.count;
      entry(row.currency).refundAmount += BigInt(row.amount);
    }
    const bentLines: StatementLine[] = [];
    // Faults name a handful of rows: each is read whole.
    if (bentOrders.length > 0)
      for (const row of await sandboxStatementRepository.payments(trx, day, null, maxStatementPageLines, bentOrders))
        bentLines.push(...bendLine(paymentLineOf(row), plan.byOrder.get(row.out_trade_no), day));
    if (bentRefunds.length > 0)
      for (const row of await sandboxStatementRepository.refunds(trx, day, null, maxStatementPageLines, bentRefunds))
        bentLines.push(...bendLine(refundLineOf(row), plan.byRefund.get(row.out_refund_no), day));
    bentLines.push(...(await this.extraLines(trx, day, plan)).map((placed) => placed.line));
    summarizeStatementLines(bentLines, totals);
    return [...totals.values()].sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
  }

  /** Up to `wanted` lines after `cursor`, phase after phase. */
  private async linesFrom(
    trx: DatabaseTransaction,
    day: SandboxDay,
    plan: FaultPlan,
    cursor: Position | null,
    wanted: number,
  ): Promise<PlacedLine[]> {
    const out: PlacedLine[] = [];
    const startPhase = cursor ? phases.indexOf(cursor.phase) : 0;
    for (const phase of phases.slice(startPhase)) {
      const resumeAt = cursor && cursor.phase === phase ? cursor : null;
      // Lines of the cursor's own row up to its place were served already.
      const unserved = (position: Position) =>
        !resumeAt || position.time !== resumeAt.time || position.id !== resumeAt.id || position.sub > resumeAt.sub;
      if (phase === 'X') {
        for (const placed of await this.extraLines(trx, day, plan)) {
          if (resumeAt && (placed.position.time < resumeAt.time || !unserved(placed.position))) continue;
          out.push(placed);
          if (out.length >= wanted) return out;
        }
        continue;
      }
      let after: SandboxKeyset | null = resumeAt ? { time: resumeAt.time, id: resumeAt.id, inclusive: true } : null;
      const batch = Math.min(wanted + 1, maxStatementPageLines + 1);
      for (;;) {
        const rows: { time: number; id: string; lines: StatementLine[] }[] =
          phase === 'P'
            ? (await sandboxStatementRepository.payments(trx, day, after, batch)).map((row) => ({
                time: row.paid_at!,
                id: row.id,
                lines: bendLine(paymentLineOf(row), plan.byOrder.get(row.out_trade_no), day),
              }))
            : (await sandboxStatementRepository.refunds(trx, day, after, batch)).map((row) => ({
                time: row.settled_at!,
                id: row.id,
                lines: bendLine(refundLineOf(row), plan.byRefund.get(row.out_refund_no), day),
              }));
        for (const row of rows) {
          for (const [sub, line] of row.lines.entries()) {
            const position = { phase, time: row.time, id: row.id, sub };
            if (!unserved(position)) continue;
            out.push({ line, position });
            if (out.length >= wanted) return out;
          }
        }
        const last = rows.at(-1);
        if (rows.length < batch || !last) break;
        after = { time: last.time, id: last.id, inclusive: false };
      }
    }
    return out;
  }

  /**
   * The extra payment lines, in fault order: for an order the sandbox has, a second payment of it under a new
   * channel_transaction_id; for one it does not have, a payment of an unknown order.
   */
  private async extraLines(trx: DatabaseTransaction, day: SandboxDay, plan: FaultPlan): Promise<PlacedLine[]> {
    if (plan.extras.length === 0) return [];
    const orders = await sandboxStatementRepository.ordersByNumber(
      trx,
      day.superappId,
      plan.extras.map((fault) => fault.out_trade_no),
    );
    const latest = orders.length < plan.extras.length ? await sandboxStatementRepository.latestOrder(trx, day.superappId) : undefined;
    const midDay = day.from + Math.floor((day.to - day.from) / 2);
    return plan.extras.map((fault): PlacedLine => {
      const order = orders.find((row) => row.out_trade_no === fault.out_trade_no);
      const channelTransactionId = `sbx_pay_extra_${fault.id}`;
      const line: PaymentStatementLine = order
        ? {
            ...paymentLineOf(order),
            channelTransactionId,
            time: order.paid_at !== null && order.paid_at >= day.from && order.paid_at < day.to ? order.paid_at : midDay,
          }
        : {
            type: 'PAYMENT',
            merchantId: fault.merchant_id ?? latest?.merchant_id ?? 'unknown',
            outTradeNo: fault.out_trade_no,
            channelOrderId: null,
            prepayId: null,
            channelTransactionId,
            amount: { total: unknownOrderExtraAmount, currency: latest?.currency ?? 'CNY' },
            state: 'SUCCESS',
            time: midDay,
          };
      return { line, position: { phase: 'X', time: fault.id, id: '', sub: 0 } };
    });
  }
}
