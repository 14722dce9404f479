import { createHash } from 'node:crypto';
import type { DatabaseClient, DatabaseTransaction } from '../../db/schema.ts';
import type { SandboxRefundState, SandboxStatementFaultKind } from '../../db/gateway-schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { monotonicUlid, randomString } from '../../domain/ids.ts';
import { sandboxRepository, type SandboxOrderRow, type SandboxRefundRow } from '../../repositories/sandbox.repository.ts';
import { sandboxStatementRepository, type SandboxStatementFaultRow } from '../../repositories/sandbox-statement.repository.ts';
import type {
  ChannelErrorCode,
  ChannelEvent,
  ChannelEventSink,
  ChannelEventSource,
  ChannelOrder,
  ChannelOrderKey,
  ChannelRefund,
  ChannelRefundKey,
  ChannelResult,
  CreateChannelOrderInput,
  CreateChannelRefundInput,
  PaymentChannel,
} from '../channel.ts';
import { eventFromWire, eventToWire, type WireEvent } from '../protocol.ts';
import type { StatementPage, StatementQuery } from '../statement.ts';
import { SandboxStatementReader, StatementSummaryCache } from './sandbox-statement.ts';

/**
 * The built-in sandbox channel (SPEC §4.3): a payment channel with its own store that implements the
 * channel protocol, a cashier where a "user" pays, fails or cancels, refunds that complete after a
 * configurable delay measured on the injectable clock, and a control API for tests and scripts.
 * Its events to Paythrough go to a ChannelEventSink, kept in its own table until accepted.
 */
export interface SandboxChannelOptions {
  db: DatabaseClient;
  clock: Clock;
  sink: ChannelEventSink;
  /** Base of cashier links (PUBLIC_URL); a function when it is known only once the server listens. */
  publicUrl: string | (() => string);
  /** A PROCESSING refund becomes SUCCESS by itself this long after it was created (default 5 s). */
  refundDelayMs?: number;
  /** Waits between delivery attempts of an event the sink did not accept; the last one repeats. */
  eventRetryDelaysMs?: readonly number[];
  /** How the sink is told where events come from. */
  source?: ChannelEventSource;
  /**
   * The sandbox superapp this view serves ('' when the sandbox runs on its own as one superapp's channel):
   * merchant IDs are each superapp's own (SPEC §7 "Credential scope"), so order and refund numbers are too.
   */
  superappId?: string;
  /** Shared by every view of one sandbox (set by `scopedTo`). */
  statementSummaries?: StatementSummaryCache;
}

/** A fault the control API adds to a day's statement (SPEC §9.1): it bends the line of one order or refund. */
export interface SandboxStatementFault {
  billDate: string;
  kind: SandboxStatementFaultKind;
  outTradeNo?: string | undefined;
  outRefundNo?: string | undefined;
  /** The merchant of an `extra` line for an order the sandbox does not have (default: its latest order's). */
  merchantId?: string | undefined;
}

export const defaultSandboxRefundDelayMs = 5000;
const defaultEventRetryDelaysMs = [5_000, 15_000, 30_000, 60_000, 300_000];
// An event being delivered is hidden from other deliverers this long. Handing it over is in-process and takes
// milliseconds, and a repeat is harmless (the sink is idempotent), so a process killed mid-handover delays it little.
const eventClaimLeaseMs = 10_000;

export type SandboxRefundOutcome = 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

const nextUlid = monotonicUlid();

/** An event before it has an id and a time (distributes over the union). */
type EventBody = ChannelEvent extends infer E ? (E extends unknown ? Omit<E, 'eventId' | 'occurredAt'> : never) : never;
const newSandboxId = (kind: 'ord' | 'pay' | 'ref' | 'evt', now: number) => `sbx_${kind}_${nextUlid(now).toLowerCase()}`;

const rejected = <T>(code: ChannelErrorCode, message: string): ChannelResult<T> => ({ outcome: 'rejected', code, message });
const ok = <T>(value: T): ChannelResult<T> => ({ outcome: 'ok', value });

/** Thrown inside a transaction to roll it back and answer with a refusal. */
class Refusal extends Error {
  constructor(
    readonly code: ChannelErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function fingerprintOf(input: CreateChannelOrderInput): string {
  const fields = [
    input.merchantId,
    input.appId,
    input.outTradeNo,
    input.prepayId,
    input.amount.total,
    input.amount.currency,
    input.description,
    input.expiresAt,
    input.attach,
    input.payer.openid,
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

export class SandboxChannel implements PaymentChannel {
  readonly kind = 'sandbox' as const;
  private readonly db: DatabaseClient;
  readonly clock: Clock;
  private readonly sink: ChannelEventSink;
  private readonly publicUrl: () => string;
  readonly refundDelayMs: number;
  private readonly eventRetryDelaysMs: readonly number[];
  private readonly source: ChannelEventSource;
  private readonly superappId: string;
  private readonly statementSummaries: StatementSummaryCache;
  /** Transactions of `write` that recorded an event, to hand over once they commit. */
  private readonly transactionsWithEvents = new WeakSet<DatabaseTransaction>();

  constructor(private readonly options: SandboxChannelOptions) {
    this.db = options.db;
    this.clock = options.clock;
    this.sink = options.sink;
    const publicUrl = options.publicUrl;
    this.publicUrl = () => (typeof publicUrl === 'string' ? publicUrl : publicUrl()).replace(/\/+$/, '');
    this.refundDelayMs = options.refundDelayMs ?? defaultSandboxRefundDelayMs;
    this.eventRetryDelaysMs = options.eventRetryDelaysMs ?? defaultEventRetryDelaysMs;
    this.source = options.source ?? { channelKind: 'sandbox', applicationId: null };
    this.superappId = options.superappId ?? '';
    this.statementSummaries = options.statementSummaries ?? new StatementSummaryCache();
  }

  /** The same sandbox as one superapp's channel: its merchants' numbers are apart from every other superapp's. */
  scopedTo(applicationId: string): SandboxChannel {
    return new SandboxChannel({ ...this.options, superappId: applicationId, statementSummaries: this.statementSummaries });
  }

  cashierUrl(token: string): string {
    return `${this.publicUrl()}/sandbox/cashier/${encodeURIComponent(token)}`;
  }

  toChannelOrder(row: SandboxOrderRow): ChannelOrder {
    return {
      channelOrderId: row.id,
      merchantId: row.merchant_id,
      appId: row.appid,
      outTradeNo: row.out_trade_no,
      prepayId: row.prepay_id,
      state: row.state,
      amount: { total: row.amount_total, currency: row.currency },
      description: row.description,
      expiresAt: row.expires_at,
      channelTransactionId: row.channel_transaction_id,
      payerOpenid: row.state === 'SUCCESS' ? row.payer_openid : null,
      paidAt: row.paid_at,
      closedAt: row.closed_at,
      failureReason: row.failure_reason,
      cashierToken: row.cashier_token,
      cashierUrl: this.cashierUrl(row.cashier_token),
    };
  }

  private toChannelRefund(row: SandboxRefundRow): ChannelRefund {
    return {
      channelRefundId: row.id,
      merchantId: row.merchant_id,
      outRefundNo: row.out_refund_no,
      outTradeNo: row.out_trade_no,
      state: row.state,
      amount: { refund: row.amount_refund, total: row.amount_total, currency: row.currency },
      reason: row.reason,
      createdAt: row.created_at,
      settledAt: row.settled_at,
    };
  }

  /** Runs `work` in a transaction; a Refusal rolls back and becomes a `rejected` result. Events are delivered after commit. */
  private async write<T>(work: (trx: DatabaseTransaction) => Promise<T>): Promise<ChannelResult<T>> {
    let result: ChannelResult<T>;
    let recordedEvents = false;
    try {
      result = ok(
        await this.db.transaction().execute(async (trx) => {
          const value = await work(trx);
          recordedEvents = this.transactionsWithEvents.has(trx);
          return value;
        }),
      );
    } catch (error) {
      if (error instanceof Refusal) return rejected(error.code, error.message);
      throw error;
    }
    // A write that made no event (an order created) has nothing to hand over; the job loop retries older ones.
    if (recordedEvents) await this.deliverPendingEvents();
    return result;
  }

  private async recordEvent(trx: DatabaseTransaction, superappId: string, event: EventBody): Promise<void> {
    this.transactionsWithEvents.add(trx);
    const now = this.clock.nowMs();
    const full = { ...event, eventId: newSandboxId('evt', now), occurredAt: now } as ChannelEvent;
    await sandboxRepository.insertEvent(trx, {
      superapp_id: superappId,
      event_id: full.eventId,
      event_type: full.type,
      payload_json: JSON.stringify(eventToWire(full)),
      created_at: now,
      delivered_at: null,
      attempts: 0,
      next_attempt_at: now,
      last_error: null,
    });
  }

  // -------------------------------------------------------------------------------------------
  // The channel protocol.

  async createOrder(input: CreateChannelOrderInput): Promise<ChannelResult<ChannelOrder>> {
    const fingerprint = fingerprintOf(input);
    // One statement, so no transaction: the order is made, or the one already there is read and compared.
    const now = this.clock.nowMs();
    const inserted = await sandboxRepository.insertOrder(this.db, {
      id: newSandboxId('ord', now),
      superapp_id: this.superappId,
      merchant_id: input.merchantId,
      appid: input.appId,
      out_trade_no: input.outTradeNo,
      prepay_id: input.prepayId,
      cashier_token: randomString(32),
      description: input.description,
      attach: input.attach,
      payer_openid: input.payer.openid,
      amount_total: input.amount.total,
      currency: input.amount.currency,
      expires_at: input.expiresAt,
      state: 'WAIT_PAY',
      channel_transaction_id: null,
      paid_at: null,
      closed_at: null,
      failure_reason: null,
      refund_reserved: 0,
      fingerprint,
      created_at: now,
      updated_at: now,
    });
    if (inserted) return ok(this.toChannelOrder(inserted));
    const row = await sandboxRepository.findOrder(this.db, this.superappId, input.merchantId, input.outTradeNo);
    if (!row) return rejected('INVALID_REQUEST', `prepay_id ${input.prepayId} belongs to another order`);
    if (row.fingerprint !== fingerprint) {
      return rejected('OUT_TRADE_NO_USED', `out_trade_no ${input.outTradeNo} was created with other parameters`);
    }
    return ok(this.toChannelOrder(row));
  }

  async queryOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>> {
    const row = await sandboxRepository.findOrder(this.db, this.superappId, key.merchantId, key.outTradeNo);
    if (!row) return rejected('ORDER_NOT_EXIST', `No order ${key.outTradeNo} under merchant ${key.merchantId}`);
    return ok(this.toChannelOrder(row));
  }

  async closeOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>> {
    return this.write(async (trx) => {
      const row = await sandboxRepository.findOrder(trx, this.superappId, key.merchantId, key.outTradeNo);
      if (!row) throw new Refusal('ORDER_NOT_EXIST', `No order ${key.outTradeNo} under merchant ${key.merchantId}`);
      if (row.state === 'SUCCESS') throw new Refusal('ORDER_PAID', 'The order is paid; refund it instead');
      if (row.state !== 'WAIT_PAY') return this.toChannelOrder(row);
      const now = this.clock.nowMs();
      if (!(await sandboxRepository.transitionOrder(trx, row.id, 'WAIT_PAY', { state: 'CLOSED', closed_at: now, updated_at: now }))) {
        throw new Error('The sandbox order changed while it was being closed');
      }
      return this.toChannelOrder({ ...row, state: 'CLOSED', closed_at: now, updated_at: now });
    });
  }

  async refund(input: CreateChannelRefundInput): Promise<ChannelResult<ChannelRefund>> {
    const result = await this.write(async (trx) => {
      const now = this.clock.nowMs();
      // A repeated out_refund_no passes the same checks and meets its first refund at the insert.
      const order = await sandboxRepository.findOrder(trx, this.superappId, input.merchantId, input.outTradeNo);
      if (!order) throw new Refusal('ORDER_NOT_EXIST', `No order ${input.outTradeNo} under merchant ${input.merchantId}`);
      if (order.state !== 'SUCCESS') throw new Refusal('ORDER_NOT_PAID', `The order is ${order.state}; only paid orders can be refunded`);
      if (input.amount.currency !== order.currency || input.amount.total !== order.amount_total) {
        throw new Refusal(
          'INVALID_REQUEST',
          `amount.total and amount.currency must be the order's (${order.amount_total} ${order.currency})`,
        );
      }
      if (input.channelTransactionId !== null && input.channelTransactionId !== order.channel_transaction_id) {
        throw new Refusal('INVALID_REQUEST', `channel_transaction_id ${input.channelTransactionId} is not this order's payment`);
      }
      const row = {
        id: newSandboxId('ref', now),
        superapp_id: order.superapp_id,
        merchant_id: input.merchantId,
        out_refund_no: input.outRefundNo,
        order_id: order.id,
        out_trade_no: order.out_trade_no,
        amount_refund: input.amount.refund,
        amount_total: order.amount_total,
        currency: order.currency,
        reason: input.reason,
        state: 'PROCESSING' as const,
        settle_at: now + this.refundDelayMs,
        settled_at: null,
        created_at: now,
        updated_at: now,
      };
      if (!(await sandboxRepository.insertRefund(trx, row))) {
        // This out_refund_no was taken first (a repeat, or another request that won the race).
        const winner = await sandboxRepository.findRefund(trx, this.superappId, input.merchantId, input.outRefundNo);
        if (!winner) throw new Error('The sandbox refund vanished');
        return { view: this.sameRefundOrRefuse(winner, input), settleAt: winner.settle_at };
      }
      if (!(await sandboxRepository.reserveRefund(trx, order.id, input.amount.refund, now))) {
        throw new Refusal('NOT_ENOUGH', `Refunds would exceed the paid amount ${order.amount_total} ${order.currency}`);
      }
      return { view: this.toChannelRefund(row), settleAt: row.settle_at };
    });
    if (result.outcome !== 'ok') return result;
    const { view, settleAt } = result.value;
    // Not due yet (the usual sandbox delay): the row just written is the answer.
    if (view.state !== 'PROCESSING' || settleAt > this.clock.nowMs()) return ok(view);
    return ok(await this.settleIfDue(view.merchantId, view.outRefundNo));
  }

  private sameRefundOrRefuse(existing: SandboxRefundRow, input: CreateChannelRefundInput): ChannelRefund {
    if (existing.out_trade_no !== input.outTradeNo || existing.amount_refund !== input.amount.refund) {
      throw new Refusal('OUT_REFUND_NO_USED', `out_refund_no ${input.outRefundNo} was used with other parameters`);
    }
    return this.toChannelRefund(existing);
  }

  async queryRefund(key: ChannelRefundKey): Promise<ChannelResult<ChannelRefund>> {
    const row = await sandboxRepository.findRefund(this.db, this.superappId, key.merchantId, key.outRefundNo);
    if (!row) return rejected('REFUND_NOT_EXIST', `No refund ${key.outRefundNo} under merchant ${key.merchantId}`);
    return ok(await this.settleIfDue(key.merchantId, key.outRefundNo));
  }

  /** A PROCESSING refund past its delay completes as SUCCESS on the next look, ticker or not. */
  private async settleIfDue(merchantId: string, outRefundNo: string): Promise<ChannelRefund> {
    const row = await sandboxRepository.findRefund(this.db, this.superappId, merchantId, outRefundNo);
    if (!row) throw new Error('The sandbox refund vanished');
    if (row.state !== 'PROCESSING' || row.settle_at > this.clock.nowMs()) return this.toChannelRefund(row);
    const settled = await this.settleRefundRow(row, 'SUCCESS');
    return settled.outcome === 'ok'
      ? settled.value
      : this.toChannelRefund((await sandboxRepository.findRefund(this.db, this.superappId, merchantId, outRefundNo))!);
  }

  /** A page of the statement of a day of this view's superapp (SPEC §9.1), as the faults of that day bend it. */
  queryStatement(query: StatementQuery): Promise<ChannelResult<StatementPage>> {
    return new SandboxStatementReader({
      db: this.db,
      clock: this.clock,
      superappId: this.superappId,
      summaries: this.statementSummaries,
    }).queryStatement(query);
  }

  // -------------------------------------------------------------------------------------------
  // The "user" and the control API.

  findOrderByPrepayId(prepayId: string) {
    return sandboxRepository.findOrderByPrepayId(this.db, prepayId);
  }

  findOrderByCashierToken(token: string) {
    return sandboxRepository.findOrderByCashierToken(this.db, token);
  }

  /**
   * The user paid. Repeats answer the paid order unchanged. An order past its expiry time is still
   * captured (the channel does not close orders by itself; Paythrough does, and treats it as a late
   * payment); a closed or failed order is refused unless `late` says the money arrived anyway.
   */
  async succeedPayment(prepayId: string, options: { payerOpenid?: string; late?: boolean } = {}): Promise<ChannelResult<ChannelOrder>> {
    return this.write(async (trx) => {
      const row = await sandboxRepository.findOrderByPrepayId(trx, prepayId);
      if (!row) throw new Refusal('ORDER_NOT_EXIST', `No sandbox order for prepay_id ${prepayId}`);
      if (row.state === 'SUCCESS') return this.toChannelOrder(row);
      if (row.state !== 'WAIT_PAY' && !options.late) {
        throw new Refusal(
          row.state === 'CLOSED' ? 'ORDER_CLOSED' : 'INVALID_REQUEST',
          `The order is ${row.state}; pass "late": true to simulate a payment arriving anyway`,
        );
      }
      const now = this.clock.nowMs();
      const changes = {
        state: 'SUCCESS' as const,
        channel_transaction_id: newSandboxId('pay', now),
        payer_openid: options.payerOpenid ?? row.payer_openid,
        paid_at: now,
        failure_reason: null,
        updated_at: now,
      };
      if (!(await sandboxRepository.transitionOrder(trx, row.id, row.state, changes))) {
        throw new Refusal('INVALID_REQUEST', 'The order changed meanwhile; try again');
      }
      const paid = this.toChannelOrder({ ...row, ...changes });
      await this.recordEvent(trx, row.superapp_id, { type: 'payment.succeeded', order: paid });
      return paid;
    });
  }

  /** The payment failed (the order becomes PAY_ERROR and Paythrough is told). */
  async failPayment(prepayId: string, reason = 'The payment failed at the sandbox cashier'): Promise<ChannelResult<ChannelOrder>> {
    return this.write(async (trx) => {
      const row = await sandboxRepository.findOrderByPrepayId(trx, prepayId);
      if (!row) throw new Refusal('ORDER_NOT_EXIST', `No sandbox order for prepay_id ${prepayId}`);
      if (row.state === 'PAY_ERROR') return this.toChannelOrder(row);
      if (row.state === 'SUCCESS') throw new Refusal('ORDER_PAID', 'The order is paid already');
      if (row.state === 'CLOSED') throw new Refusal('ORDER_CLOSED', 'The order is closed');
      const now = this.clock.nowMs();
      const changes = { state: 'PAY_ERROR' as const, failure_reason: reason, updated_at: now };
      if (!(await sandboxRepository.transitionOrder(trx, row.id, 'WAIT_PAY', changes))) {
        throw new Refusal('INVALID_REQUEST', 'The order changed meanwhile; try again');
      }
      const failed = this.toChannelOrder({ ...row, ...changes });
      await this.recordEvent(trx, row.superapp_id, { type: 'payment.failed', order: failed });
      return failed;
    });
  }

  /**
   * Settles a refund at once (control API). The refund number must be unambiguous among the sandbox's superapps
   * and merchants, or made so by the merchant and the superapp (`application_id`).
   */
  async settleRefund(
    outRefundNo: string,
    outcome: SandboxRefundOutcome,
    scope: { merchantId?: string | undefined; applicationId?: string | undefined } = {},
  ): Promise<ChannelResult<ChannelRefund>> {
    let row: SandboxRefundRow | undefined;
    if (scope.merchantId && scope.applicationId) {
      row = await sandboxRepository.findRefund(this.db, scope.applicationId, scope.merchantId, outRefundNo);
    } else {
      const rows = await sandboxRepository.findRefundsByNumber(this.db, outRefundNo, scope.merchantId);
      if (rows.length > 1) {
        return rejected('INVALID_REQUEST', `Several sandbox refunds have number ${outRefundNo}; pass mchid and application_id`);
      }
      row = rows[0];
    }
    if (!row) return rejected('REFUND_NOT_EXIST', `No sandbox refund ${outRefundNo}`);
    return this.settleRefundRow(row, outcome);
  }

  private async settleRefundRow(row: SandboxRefundRow, outcome: SandboxRefundOutcome): Promise<ChannelResult<ChannelRefund>> {
    return this.write(async (trx) => {
      const current = await sandboxRepository.findRefund(trx, row.superapp_id, row.merchant_id, row.out_refund_no);
      if (!current) throw new Refusal('REFUND_NOT_EXIST', `No sandbox refund ${row.out_refund_no}`);
      if (current.state === outcome) return this.toChannelRefund(current);
      // As at a real channel, an ABNORMAL refund still ends SUCCESS or CLOSED (SPEC §7).
      if (current.state !== 'PROCESSING' && current.state !== 'ABNORMAL')
        throw new Refusal('INVALID_REQUEST', `The refund is ${current.state} already`);
      const now = this.clock.nowMs();
      if (!(await sandboxRepository.transitionRefund(trx, current.id, current.state, outcome, now))) {
        throw new Refusal('INVALID_REQUEST', 'The refund changed meanwhile; try again');
      }
      // A closed refund gives its amount back to the order; an abnormal one keeps holding it.
      if (outcome === 'CLOSED') await sandboxRepository.releaseRefund(trx, current.order_id, current.amount_refund, now);
      const settled = this.toChannelRefund({ ...current, state: outcome as SandboxRefundState, settled_at: now, updated_at: now });
      const type = outcome === 'SUCCESS' ? 'refund.succeeded' : outcome === 'CLOSED' ? 'refund.closed' : 'refund.abnormal';
      await this.recordEvent(trx, current.superapp_id, { type, refund: settled });
      return settled;
    });
  }

  /**
   * Bends one line of a day's statement (control API). `drop`, `amount`, `currency`, `time` and `duplicate` name an
   * order (its payment line) or a refund; `state` a refund; `extra` an order. Adding the same fault again is a no-op.
   * Answers the day's faults.
   */
  async addStatementFault(applicationId: string, fault: SandboxStatementFault): Promise<ChannelResult<SandboxStatementFaultRow[]>> {
    const outTradeNo = fault.outTradeNo ?? '';
    const outRefundNo = fault.outRefundNo ?? '';
    if ((outTradeNo === '') === (outRefundNo === '')) return rejected('PARAM_ERROR', 'Name exactly one of out_trade_no and out_refund_no');
    if (fault.kind === 'state' && outRefundNo === '') return rejected('PARAM_ERROR', 'A state fault names a refund (out_refund_no)');
    if (fault.kind === 'extra' && outTradeNo === '') return rejected('PARAM_ERROR', 'An extra fault names an order (out_trade_no)');
    if (fault.merchantId !== undefined && fault.kind !== 'extra')
      return rejected('PARAM_ERROR', 'mchid is for an extra line of an order the sandbox does not have');
    await sandboxStatementRepository.insertFault(this.db, {
      superapp_id: applicationId,
      bill_date: fault.billDate,
      kind: fault.kind,
      out_trade_no: outTradeNo,
      out_refund_no: outRefundNo,
      merchant_id: fault.merchantId ?? null,
      created_at: this.clock.nowMs(),
    });
    return ok(await sandboxStatementRepository.faultsOfDay(this.db, applicationId, fault.billDate));
  }

  /** Removes a day's faults (or those of one kind, order or refund); how many went. */
  async clearStatementFaults(
    applicationId: string,
    billDate: string,
    only: { kind?: SandboxStatementFaultKind | undefined; outTradeNo?: string | undefined; outRefundNo?: string | undefined } = {},
  ): Promise<number> {
    return sandboxStatementRepository.deleteFaults(this.db, applicationId, billDate, only);
  }

  // -------------------------------------------------------------------------------------------
  // Time-driven work: refunds that complete by themselves, events the sink has not accepted yet.

  /** Completes due refunds and retries due events; call it from a job loop or after moving a test clock. */
  async tick(): Promise<{ refundsSettled: number; eventsDelivered: number }> {
    let refundsSettled = 0;
    for (const row of await sandboxRepository.dueRefunds(this.db, this.clock.nowMs(), 100)) {
      const settled = await this.settleRefundRow(row, 'SUCCESS');
      if (settled.outcome === 'ok') refundsSettled += 1;
    }
    const eventsDelivered = await this.deliverPendingEvents();
    return { refundsSettled, eventsDelivered };
  }

  /** Hands due events to the sink, oldest first; an event the sink refuses waits and is tried again. */
  async deliverPendingEvents(): Promise<number> {
    let delivered = 0;
    const now = this.clock.nowMs();
    for (const event of await sandboxRepository.dueEvents(this.db, now, 100)) {
      if (!(await sandboxRepository.claimEvent(this.db, event.id, event.next_attempt_at!, now + eventClaimLeaseMs))) continue;
      try {
        // Each event tells the sink whose record it speaks about, whichever view of the sandbox delivers it.
        const source = event.superapp_id ? { channelKind: 'sandbox' as const, applicationId: event.superapp_id } : this.source;
        await this.sink.handle(eventFromWire(JSON.parse(event.payload_json) as WireEvent), source);
        await sandboxRepository.markEventDelivered(this.db, event.id, this.clock.nowMs());
        delivered += 1;
      } catch (error) {
        const delay = this.eventRetryDelaysMs[Math.min(event.attempts, this.eventRetryDelaysMs.length - 1)] ?? 60_000;
        await sandboxRepository.markEventFailed(
          this.db,
          event.id,
          this.clock.nowMs() + delay,
          error instanceof Error ? error.message : String(error),
        );
      }
    }
    return delivered;
  }
}
