import type { ChannelKind, PaymentChannel } from '../../channels/channel.ts';
import { maxStatementPageLines, type StatementLine, type StatementPage, type StatementQuery } from '../../channels/statement.ts';
import type { Config } from '../../config/config.ts';
import type { ReconciliationStatus } from '../../db/reconciliation-schema.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { addCalendarDays, businessDateOf, businessDayRange, businessTimeOn } from '../../domain/business-time.ts';
import { dayMs, minuteMs, type Clock } from '../../domain/clock.ts';
import type { Actor } from '../../domain/access.ts';
import { AppError } from '../../domain/errors.ts';
import {
  reconciliationRepository,
  type MatchScope,
  type NewReconciliationLine,
  type ReconciliationRunRow,
  type SideTotals,
} from '../../repositories/reconciliation.repository.ts';
import { channelPaymentRepository } from '../../repositories/channel-payment.repository.ts';
import { orderRepository } from '../../repositories/order.repository.ts';
import { refundRepository } from '../../repositories/refund.repository.ts';
import type { OrderService, RefundService } from '../payments/index.ts';
import { recordAudit } from '../tenancy/index.ts';

/** How many days back the first runs catch up (SPEC §9.2). */
export const catchUpDays = 7;
/** Statement lines are kept this long after their run finished (SPEC §9.4). */
export const lineRetentionDays = 7;
/** An instance holds a run this long between pages; another takes it over once it lapses. */
const leaseMs = 5 * minuteMs;
/** A statement not ready yet is asked for again after this long (SPEC §9.2). */
const notReadyRetryMs = 30 * minuteMs;
/** A statement that changes mid-read this many times in one attempt is read again later. */
const maxRestartsPerAttempt = 3;

/** Exceptions acted on per query of the database: the work of a run is read a batch at a time, never a day at once. */
const actionBatch = 100;

/** The existing idempotent paths the matching acts through (SPEC §9.3, §4.5): payments, and refunds' channel views. */
export interface ReconciliationActions {
  orders: Pick<OrderService, 'handle' | 'applyPayment'>;
  refunds: Pick<RefundService, 'recordChannelView'>;
}

/** What became of a payment Paythrough was missing, as its channel_payments row says; undefined: nothing to resolve. */
const actionOfDisposition: Record<string, string | undefined> = {
  applied: 'paid',
  late_payment_refunded: 'late payment refunded',
  duplicate_refunded: 'duplicate refunded',
};

/** Where a run reads its statement: the connection's channel, or why there is none (the run is NO_STATEMENT). */
export type StatementSource = { channel: PaymentChannel } | { unavailable: string };

export interface StatementSources {
  statementSourceFor(run: { application_id: string; channel_connection_id: number }): Promise<StatementSource>;
}

/** Waits after a failed attempt: 1, 2, 4 … 60 minutes (SPEC §9.2). */
export function retryDelayMs(failedAttempts: number): number {
  return Math.min(2 ** Math.max(0, failedAttempts - 1), 60) * minuteMs;
}

/** Why a page is not taken (SPEC §9.1: nothing is applied from it), or undefined when it may be stored. */
export function pageProblem(
  page: StatementPage,
  query: StatementQuery,
  merchants: { isTheSuperapps(merchantId: string): boolean },
): string | undefined {
  if (page.applicationId !== query.applicationId || page.billDate !== query.billDate)
    return `the page is of ${page.applicationId} ${page.billDate}, not the day asked`;
  if (page.lines.length > query.limit) return `the page holds ${page.lines.length} lines, more than the ${query.limit} asked`;
  if (page.nextCursor !== null && page.nextCursor === query.cursor) return 'the next cursor is the one just read';
  for (const line of page.lines) {
    if (line.time < query.fromTime || line.time >= query.toTime) return `a line of ${line.outTradeNo} is outside the day`;
    if (!merchants.isTheSuperapps(line.merchantId)) return `merchant ${line.merchantId} is not this superapp's`;
  }
  return undefined;
}

const summaryJsonOf = (page: StatementPage) =>
  JSON.stringify(
    page.summary
      .map((entry) => ({
        currency: entry.currency,
        payment_count: entry.paymentCount,
        payment_amount: entry.paymentAmount.toString(),
        refund_count: entry.refundCount,
        refund_amount: entry.refundAmount.toString(),
      }))
      .sort((a, b) => a.currency.localeCompare(b.currency)),
  );

function lineRow(runId: number, seq: number, line: StatementLine): NewReconciliationLine {
  const refund = line.type === 'REFUND' ? line : undefined;
  return {
    run_id: runId,
    seq,
    line_type: line.type,
    merchant_id: line.merchantId,
    out_trade_no: line.outTradeNo,
    channel_transaction_id: line.channelTransactionId,
    out_refund_no: refund?.outRefundNo ?? null,
    channel_refund_id: refund?.channelRefundId ?? null,
    amount: refund ? refund.amount.refund : line.amount.total,
    total: line.amount.total,
    currency: line.amount.currency,
    state: line.state,
    time: line.time,
  };
}

/** The §9.4 report of a finished run: both sides' figures per currency and the findings per kind and status. */
export interface ReconciliationReport {
  ours: SideTotals[];
  channel: SideTotals[];
  lines: number;
  exceptions: { kind: string; status: string; n: number }[];
}

/**
 * Daily reconciliation (SPEC §9): each business day, per superapp and channel connection, reads the channel's
 * statement page by page (each page stored with its cursor in one step, so a crash resumes where it stopped),
 * checks the lines add up to the summary, then matches them with Paythrough's records set-based in the database.
 * Runs are claimed with a lease, so any number of instances read each page once.
 */
export class StatementReconciliationService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone' | 'reconciliationCutoff' | 'reconciliationGiveUpHours' | 'reconciliationDriftSeconds'>,
    private readonly sources: StatementSources,
    private readonly instanceId: string,
    /** Without them (tests of matching alone) the findings are only recorded. */
    private readonly actions?: ReconciliationActions,
  ) {}

  /** The days due now (from the cut-off on the next day), catching up `catchUpDays`; creates their runs. */
  async scheduleDue(): Promise<number> {
    const now = this.clock.nowMs();
    const today = businessDateOf(now, this.config.timezone);
    let created = 0;
    for (let back = catchUpDays; back >= 1; back -= 1) {
      const day = addCalendarDays(today, -back);
      if (now < businessTimeOn(addCalendarDays(day, 1), this.config.reconciliationCutoff, this.config.timezone)) continue;
      created += await this.scheduleDay(day);
    }
    return created;
  }

  /** Creates the runs of one day (every superapp, every connection live that day); how many were new. */
  async scheduleDay(billDate: string, onlyApplicationId?: string): Promise<number> {
    const range = this.dayRange(billDate);
    const now = this.clock.nowMs();
    let created = 0;
    for (const connection of await reconciliationRepository.listConnectionsLiveDuring(this.db, range.startMs, range.endMs)) {
      if (onlyApplicationId !== undefined && connection.application_id !== onlyApplicationId) continue;
      const inserted = await reconciliationRepository.insertRunIfAbsent(this.db, {
        application_id: connection.application_id,
        bill_date: billDate,
        channel_connection_id: Number(connection.id),
        status: 'PENDING',
        fetched: 0,
        pages: 0,
        attempts: 0,
        match_passes: 0,
        next_attempt_at: now,
        created_at: now,
        updated_at: now,
      });
      if (inserted) created += 1;
    }
    return created;
  }

  /** Works on due runs (new, due again, or a lapsed lease); returns how many it took. */
  async runDue(limit = 10): Promise<number> {
    let taken = 0;
    for (const seen of await reconciliationRepository.listDue(this.db, this.clock.nowMs(), limit)) {
      if (await this.runClaimed(seen)) taken += 1;
    }
    return taken;
  }

  /**
   * Runs a day now for a superapp (or all), whatever its schedule: `paythrough reconcile --date`. Only a day that is
   * over; with an actor (the CLI), each run is audited with the status it ended in.
   */
  async reconcileDay(billDate: string, applicationId?: string, actor?: Actor): Promise<ReconciliationRunRow[]> {
    if (this.dayRange(billDate).endMs > this.clock.nowMs())
      throw new AppError('InvalidParameterValue.InvalidBillDate', `bill date ${billDate} is not over yet`);
    await this.scheduleDay(billDate, applicationId);
    const runs = (await this.runsOfDay(billDate, applicationId)).filter((run) => run.status !== 'RUNNING');
    for (const run of runs) {
      if (run.status === 'DONE' || run.status === 'FAILED' || run.status === 'NO_STATEMENT') {
        await reconciliationRepository.rerun(this.db, run.id, this.clock.nowMs());
      }
      // Now, whatever its schedule: a claim takes a waiting run as well as a due one.
      const fresh = await reconciliationRepository.findRun(this.db, run.id);
      if (fresh) await this.runClaimed(fresh);
    }
    const done = await this.runsOfDay(billDate, applicationId);
    if (actor) {
      for (const run of done) {
        await recordAudit(this.db, this.clock, actor, {
          action: 'reconciliation.run',
          targetType: 'reconciliation_run',
          targetId: String(run.id),
          after: { applicationId: run.application_id, billDate: run.bill_date, status: run.status, lastError: run.last_error },
        });
      }
    }
    return done;
  }

  /** Statement lines of runs finished more than `lineRetentionDays` ago go; reports and exceptions stay (SPEC §9.4). */
  purgeOldLines(): Promise<number> {
    return reconciliationRepository.purgeLines(this.db, this.clock.nowMs() - lineRetentionDays * dayMs);
  }

  /** A finished day read again (SPEC §9.2 re-run): the runs go back to PENDING; a running one refuses. */
  async rerunDay(applicationId: string, billDate: string): Promise<ReconciliationStatus> {
    const runs = await reconciliationRepository.listRunsOfDay(this.db, applicationId, billDate);
    if (runs.length === 0) throw new AppError('ResourceNotFound', `No reconciliation of ${billDate} for this superapp`);
    if (runs.some((run) => run.status === 'RUNNING'))
      throw new AppError('FailedOperation.ReconciliationRunning', 'The day is being reconciled; re-run it once it has finished');
    for (const run of runs) await reconciliationRepository.rerun(this.db, run.id, this.clock.nowMs());
    return 'PENDING';
  }

  private async runsOfDay(billDate: string, applicationId?: string): Promise<ReconciliationRunRow[]> {
    if (applicationId !== undefined) return reconciliationRepository.listRunsOfDay(this.db, applicationId, billDate);
    const range = this.dayRange(billDate);
    const applications = new Set(
      (await reconciliationRepository.listConnectionsLiveDuring(this.db, range.startMs, range.endMs)).map((c) => c.application_id),
    );
    const runs: ReconciliationRunRow[] = [];
    for (const id of applications) runs.push(...(await reconciliationRepository.listRunsOfDay(this.db, id, billDate)));
    return runs;
  }

  private dayRange(billDate: string): { startMs: number; endMs: number } {
    const range = businessDayRange(billDate, this.config.timezone);
    if (!range) throw new AppError('InvalidParameterValue.InvalidBillDate', `bill date ${billDate} is not a date YYYY-MM-DD`);
    return range;
  }

  private async runClaimed(seen: ReconciliationRunRow): Promise<boolean> {
    const now = this.clock.nowMs();
    if (!(await reconciliationRepository.claim(this.db, seen, this.instanceId, now, now + leaseMs))) return false;
    const run = (await reconciliationRepository.findRun(this.db, seen.id))!;
    try {
      await this.read(run);
    } catch (error) {
      // An unexpected failure is a failed attempt like a channel outage: tried again later, given up after the give-up time.
      await this.retryLater(run, error instanceof Error ? error.message : String(error));
    }
    return true;
  }

  /** Reads the statement from where the run stopped, then checks and matches it. */
  private async read(run: ReconciliationRunRow): Promise<void> {
    const source = await this.sources.statementSourceFor(run);
    if ('unavailable' in source) {
      await this.finish(run, 'NO_STATEMENT', { lastError: source.unavailable });
      return;
    }
    const query = source.channel.queryStatement;
    if (!query) {
      await this.finish(run, 'NO_STATEMENT', { lastError: 'the channel serves no statements' });
      return;
    }
    const range = this.dayRange(run.bill_date);
    const merchants = await this.merchantsOf(run.application_id);
    let current = run;
    let restarts = 0;
    while (current.fetched !== 1) {
      const request: StatementQuery = {
        applicationId: run.application_id,
        billDate: run.bill_date,
        fromTime: range.startMs,
        toTime: range.endMs,
        cursor: current.next_cursor,
        limit: maxStatementPageLines,
      };
      const result = await query.call(source.channel, request);
      if (result.outcome === 'unknown') return this.retryLater(current, `the channel did not answer: ${result.reason}`);
      if (result.outcome === 'rejected') {
        if (result.code === 'NOT_SUPPORTED') return this.finish(current, 'NO_STATEMENT', { lastError: result.message });
        // The connector refused the page it was given (SPEC §9.1): nothing from it is applied.
        if (result.code === 'INVALID_REQUEST') return this.finish(current, 'FAILED', { lastError: `STATEMENT_INVALID: ${result.message}` });
        if (result.code === 'STATEMENT_NOT_READY')
          return this.retryLater(current, `the statement is not ready: ${result.message}`, notReadyRetryMs);
        return this.retryLater(current, `the channel refused: ${result.code} ${result.message}`);
      }
      const page = result.value;
      if (page.lines.length <= request.limit) await merchants.learn(this.db, page);
      const problem = pageProblem(page, request, merchants);
      if (problem) return this.finish(current, 'FAILED', { lastError: `STATEMENT_INVALID: ${problem}` });
      if (current.statement_id !== null && page.statementId !== current.statement_id) {
        // A new snapshot mid-read: what was read of the old one is dropped and the read starts again.
        restarts += 1;
        if (restarts > maxRestartsPerAttempt) return this.retryLater(current, 'the statement kept changing while it was read');
        if (!(await reconciliationRepository.restartRead(this.db, run.id, this.instanceId, this.clock.nowMs()))) return;
        current = (await reconciliationRepository.findRun(this.db, run.id))!;
        continue;
      }
      const now = this.clock.nowMs();
      const stored = await this.db.transaction().execute((trx) =>
        reconciliationRepository.storePage(
          trx,
          run.id,
          this.instanceId,
          { pages: current.pages },
          {
            statementId: page.statementId,
            nextCursor: page.nextCursor,
            summaryJson: summaryJsonOf(page),
            lines: page.lines.map((line, index) => lineRow(run.id, current.pages * (maxStatementPageLines + 1) + index, line)),
          },
          now,
          now + leaseMs,
        ),
      );
      if (!stored) return; // Another instance holds the run now.
      current = (await reconciliationRepository.findRun(this.db, run.id))!;
    }
    await this.check(current, source.channel);
  }

  /** Lines against the channel's summary, then matching and the report (SPEC §9.2, §9.3, §9.4). */
  private async check(run: ReconciliationRunRow, channel: PaymentChannel): Promise<void> {
    const lineTotals = await reconciliationRepository.lineTotals(this.db, run.id);
    const nonEmpty = (totals: SideTotals[]) =>
      JSON.stringify(
        totals.filter((entry) => entry.payment_count > 0 || entry.refund_count > 0).sort((a, b) => a.currency.localeCompare(b.currency)),
      );
    const claimed = nonEmpty(JSON.parse(run.summary_json ?? '[]') as SideTotals[]);
    const counted = nonEmpty(lineTotals);
    if (claimed !== counted) {
      await this.finish(run, 'FAILED', {
        lastError: `STATEMENT_INCONSISTENT: the lines add up to ${counted}, the summary says ${claimed}`,
      });
      return;
    }
    const range = this.dayRange(run.bill_date);
    const scope: MatchScope = {
      runId: run.id,
      applicationId: run.application_id,
      billDate: run.bill_date,
      connectionId: run.channel_connection_id,
      fromMs: range.startMs,
      toMs: range.endMs,
      driftMs: this.config.reconciliationDriftSeconds * 1000,
      now: this.clock.nowMs(),
      pass: 0,
    };
    await this.db.transaction().execute(async (trx) => {
      scope.pass = await reconciliationRepository.nextMatchPass(trx, run.id);
      await reconciliationRepository.recordDuplicateLines(trx, scope);
      await reconciliationRepository.recordPaymentsMissingHere(trx, scope);
      await reconciliationRepository.recordPaymentAmountMismatches(trx, scope);
      await reconciliationRepository.recordPaymentTimeDrifts(trx, scope);
      await reconciliationRepository.recordPaymentsMissingAtChannel(trx, scope);
      await reconciliationRepository.recordRefundsMissingHere(trx, scope);
      await reconciliationRepository.recordRefundDifferences(trx, scope);
      await reconciliationRepository.recordRefundsMissingAtChannel(trx, scope);
      await reconciliationRepository.resolveAbsent(trx, scope);
    });
    await this.act(run, channel);
    const report: ReconciliationReport = {
      ours: await reconciliationRepository.ourTotals(this.db, scope),
      channel: lineTotals,
      lines: await reconciliationRepository.countLines(this.db, run.id),
      exceptions: await reconciliationRepository.countExceptions(this.db, run.id),
    };
    await this.finish(run, 'DONE', { lastError: null, reportJson: JSON.stringify(report) });
  }

  /**
   * The actions of matching (SPEC §9.3), after the findings are recorded: each OPEN payment missing here whose order
   * exists goes through the payment.succeeded path on the channel's answer (a host-reported one on the line, which
   * the host signed); each OPEN refund state mismatch whose refund is PROCESSING here takes the channel's view.
   * An exception is AUTO_RESOLVED only once its item is recorded; what could not be acted on stays OPEN.
   * Both paths are idempotent per channel transaction and refund, so a re-run never pays or refunds twice.
   */
  private async act(run: ReconciliationRunRow, channel: PaymentChannel): Promise<void> {
    if (!this.actions) return;
    const connection = await reconciliationRepository.findConnection(this.db, run.channel_connection_id);
    const hostReported = connection?.kind === 'host_reported';
    for (let after = 0; ;) {
      const batch = await reconciliationRepository.listPaymentsToAct(this.db, run.id, after, actionBatch);
      for (const item of batch) {
        after = item.exception_id;
        const action = await this.actOnPayment(run, channel, hostReported, item).catch(() => undefined);
        if (action) await reconciliationRepository.autoResolve(this.db, item.exception_id, action, this.clock.nowMs());
      }
      if (batch.length < actionBatch) break;
    }
    for (let after = 0; ;) {
      const batch = await reconciliationRepository.listRefundsToSettle(this.db, run.id, after, actionBatch);
      for (const item of batch) {
        after = item.exception_id;
        const action = await this.actOnRefund(channel, item.refund_id).catch(() => undefined);
        if (action) await reconciliationRepository.autoResolve(this.db, item.exception_id, action, this.clock.nowMs());
      }
      if (batch.length < actionBatch) break;
    }
  }

  private async actOnPayment(
    run: ReconciliationRunRow,
    channel: PaymentChannel,
    hostReported: boolean,
    item: Awaited<ReturnType<typeof reconciliationRepository.listPaymentsToAct>>[number],
  ): Promise<string | undefined> {
    const actions = this.actions!;
    if (hostReported) {
      // The host reports its payments; its statement is its signed report of this one (SPEC §9.3).
      await actions.orders.applyPayment(item.order_id, {
        channelTransactionId: item.channel_transaction_id,
        amount: item.amount,
        currency: item.currency,
        payerOpenid: null,
        paidAt: item.time,
      });
    } else {
      const answer = await channel.queryOrder({ merchantId: item.mchid, outTradeNo: item.out_trade_no });
      if (answer.outcome !== 'ok' || answer.value.state !== 'SUCCESS' || answer.value.channelTransactionId === null) return undefined;
      // The channel confirms the order is paid, but its answer names one payment only (the first): a second payment of
      // the order is named by the channel's signed line alone. The order as answered, under the line's payment, goes the
      // payment.succeeded path, which refunds it as a duplicate (SPEC §9.3); acting on the answer alone never would.
      const order =
        item.channel_transaction_id !== null && answer.value.channelTransactionId !== item.channel_transaction_id
          ? {
              ...answer.value,
              channelTransactionId: item.channel_transaction_id,
              amount: { ...answer.value.amount, total: item.amount, currency: item.currency },
              paidAt: item.time,
            }
          : answer.value;
      await actions.orders.handle(
        {
          eventId: `reconciliation-${run.id}-${item.exception_id}`,
          type: 'payment.succeeded',
          occurredAt: this.clock.nowMs(),
          order,
        },
        { channelKind: item.channel_kind as ChannelKind, applicationId: run.application_id },
      );
    }
    // Resolved only when the payment the line names is now recorded (a channel answering about another one leaves it OPEN).
    const payment = await channelPaymentRepository.find(this.db, item.order_id, item.channel_transaction_id);
    return payment ? actionOfDisposition[payment.disposition] : undefined;
  }

  private async actOnRefund(channel: PaymentChannel, refundId: number): Promise<string | undefined> {
    const refund = await refundRepository.findById(this.db, refundId);
    if (refund?.status !== 'PROCESSING') return undefined;
    const answer = await channel.queryRefund({ merchantId: refund.mchid, outRefundNo: refund.out_refund_no });
    if (answer.outcome !== 'ok') return undefined;
    await this.actions!.refunds.recordChannelView(refund, answer.value);
    const settled = await refundRepository.findById(this.db, refundId);
    return settled && settled.status !== 'PROCESSING' && settled.status === answer.value.state ? `settled to ${settled.status}` : undefined;
  }

  /** The superapp's merchants: its list, and any merchant it has orders of (one taken off the list still had them). */
  private async merchantsOf(applicationId: string) {
    const known = new Map<string, boolean>();
    for (const merchantId of await reconciliationRepository.merchantIdsOf(this.db, applicationId)) known.set(merchantId, true);
    return {
      async learn(db: DatabaseClient, page: StatementPage) {
        for (const line of page.lines) {
          if (!known.has(line.merchantId))
            known.set(line.merchantId, await orderRepository.existsForMerchant(db, applicationId, line.merchantId));
        }
      },
      isTheSuperapps: (merchantId: string) => known.get(merchantId) === true,
    };
  }

  private async retryLater(run: ReconciliationRunRow, reason: string, delayMs = retryDelayMs(run.attempts)): Promise<void> {
    const now = this.clock.nowMs();
    const since = run.first_attempt_at ?? now;
    if (now - since >= this.config.reconciliationGiveUpHours * 3_600_000) {
      await this.finish(run, 'FAILED', { lastError: `gave up after ${this.config.reconciliationGiveUpHours} h: ${reason}` });
      return;
    }
    await this.finish(run, 'RETRYING', { lastError: reason, nextAttemptAt: now + delayMs });
  }

  private async finish(
    run: ReconciliationRunRow,
    status: ReconciliationStatus,
    changes: { nextAttemptAt?: number; lastError?: string | null; reportJson?: string | null },
  ): Promise<void> {
    await reconciliationRepository.finish(this.db, run.id, this.instanceId, status, changes, this.clock.nowMs());
  }
}
