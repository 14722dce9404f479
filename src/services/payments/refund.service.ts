import type { ChannelRefund } from '../../channels/channel.ts';
import type { Config } from '../../config/config.ts';
import { OrderAnomaly, PaymentTypes, type RefundKind } from '../../db/order-schema.ts';
import type { Executor, DatabaseClient } from '../../db/schema.ts';
import { type Clock, dayMs } from '../../domain/clock.ts';
import { believedTime } from '../../domain/channel-time.ts';
import { checkNotifyUrl } from '../../domain/notify-url.ts';
import { refundStateMachine, systemRefundPrefix } from '../../domain/refund-state.ts';
import { requireAllowed, requireVisible, type Actor } from '../../domain/access.ts';
import { AppError, invalid, notFound } from '../../domain/errors.ts';
import { orderStateMachine, refundableTradeStates } from '../../domain/order-state.ts';
import type { RefundEvent } from '../../domain/refund-state.ts';
import { channelPaymentRepository, paymentStateHistoryRepository } from '../../repositories/channel-payment.repository.ts';
import { orderRepository, type OrderRow } from '../../repositories/order.repository.ts';
import { refundRepository, type RefundRow } from '../../repositories/refund.repository.ts';
import type { GatewayCaller } from '../auth/index.ts';
import { recordAudit } from '../tenancy/index.ts';
import { nextCheckAt, type ChannelResolver } from './channel-resolver.ts';
import { mintRefundId } from './gateway-ids.ts';
import { refundNotification, type PaymentNotifier } from './gateway-notifications.ts';
import { refundTransitions } from './payment-transitions.ts';
import { toV3Refund, type V3Refund } from './gateway-views.ts';

/** SPEC §4.1: refunds only within 365 days of payment, at most 50 per order. */
export const refundWindowMs = 365 * dayMs;
export const maxRefundsPerOrder = 50;
/** A PROCESSING refund is looked at by the reconciler this long after it was written, unless settled first. */
const firstCheckDelayMs = 60_000;
/** Compare-and-set retries before giving up on a very busy order (each retry sees the latest row). */
const maxAdmissionAttempts = 200;

export interface RefundRequest {
  transaction_id?: string | undefined;
  out_trade_no?: string | undefined;
  out_refund_no: string;
  reason?: string | undefined;
  notify_url?: string | undefined;
  amount: { refund: number; total: number; currency?: string | undefined };
}

const refundNotAllowed = (message: string) => new AppError('FailedOperation.RefundNotAllowed', message);
const refundNotAbnormal = (status: string) =>
  new AppError('FailedOperation.RefundNotAbnormal', `Only an ABNORMAL refund can be settled by hand; this one is ${status}`);

/** SPEC §7: an administrator's settlement of an ABNORMAL refund, with the note saying why. */
export interface ManualSettlement {
  status: 'SUCCESS' | 'CLOSED';
  note: string;
}

/** A channel's final result that says the opposite of how an administrator settled the refund by hand. */
const contradictsManualSettlement = (refund: RefundRow, event: RefundEvent) =>
  refund.settled_by !== null && ((refund.status === 'SUCCESS' && event === 'close') || (refund.status === 'CLOSED' && event === 'succeed'));

/** Signals, inside a transaction, that the out_refund_no exists already (the insert did nothing). */
class RefundAlreadyExists extends Error {}

/**
 * Refunds (SPEC §4.1, §7): admission is a compare-and-set on the order's reservation and count in the
 * transaction that inserts the refund, so concurrent requests never refund more than was paid; the
 * channel is called after the commit; unknown outcomes are left to the reconciler.
 */
export class RefundService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone' | 'sandboxEnabled'>,
    private readonly channels: ChannelResolver,
    private readonly notifier: PaymentNotifier,
  ) {}

  /** `POST /v3/refund/domestic/refunds`. */
  async create(caller: GatewayCaller, request: RefundRequest): Promise<V3Refund> {
    const order = await this.findOrderOfCaller(caller, request);
    const existing = await refundRepository.findByOutRefundNo(this.db, caller.applicationId, caller.mchid, request.out_refund_no);
    if (existing) return this.repeat(caller, existing, order, request);
    if (request.notify_url !== undefined)
      checkNotifyUrl(request.notify_url, '/notify_url', order.sandbox === 1 && this.config.sandboxEnabled);
    if (request.amount.total !== order.amount_total) {
      throw refundNotAllowed(`amount.total must be the order's total (${order.amount_total})`);
    }
    if (request.amount.currency !== undefined && request.amount.currency !== order.currency) {
      throw refundNotAllowed(`amount.currency must be the order's currency (${order.currency})`);
    }
    let refund: RefundRow;
    try {
      refund = await this.db.transaction().execute(async (trx) => {
        const inserted = await this.insertRefund(trx, order, {
          kind: 'merchant',
          outRefundNo: request.out_refund_no,
          amount: request.amount.refund,
          reason: request.reason ?? null,
          notifyUrl: request.notify_url ?? null,
          channelPaymentId: null,
        });
        if (!inserted) throw new RefundAlreadyExists();
        await this.admit(trx, order.id, request.amount.refund, 'merchant', { readBefore: order });
        return inserted;
      });
    } catch (error) {
      if (!(error instanceof RefundAlreadyExists)) throw error;
      const winner = await refundRepository.findByOutRefundNo(this.db, caller.applicationId, caller.mchid, request.out_refund_no);
      if (!winner) throw error;
      return this.repeat(caller, winner, order, request);
    }
    // The refund as committed, and its order (the payment it refunds does not change): nothing to read again.
    const submitted = await this.submitToChannel(refund, order);
    return submitted ? toV3Refund(submitted, this.config.timezone) : this.view(refund.id);
  }

  /**
   * A virtual order's refund (`xpay/refund_order`, SPEC §8.5, §8.6): inserted with the order's admission in one
   * transaction, where `leftFee` must still equal the order's left_fee (else `FailedOperation.RefundNotAllowed`,
   * nothing written); the channel is called after the commit. Undefined when the number exists already (the caller
   * compares the existing refund with its request).
   */
  async createVirtual(
    order: OrderRow,
    request: { outRefundNo: string; amount: number; leftFee: number; reason: string | null; bizMeta: string | null; fingerprint: string },
  ): Promise<RefundRow | undefined> {
    let refund: RefundRow;
    try {
      refund = await this.db.transaction().execute(async (trx) => {
        const inserted = await this.insertRefund(trx, order, {
          kind: 'merchant',
          outRefundNo: request.outRefundNo,
          amount: request.amount,
          reason: request.reason,
          notifyUrl: null,
          channelPaymentId: null,
          requestFingerprint: request.fingerprint,
          bizMeta: request.bizMeta,
        });
        if (!inserted) throw new RefundAlreadyExists();
        await this.admit(trx, order.id, request.amount, 'merchant', { expectedLeftFee: request.leftFee });
        return inserted;
      });
    } catch (error) {
      if (error instanceof RefundAlreadyExists) return undefined;
      throw error;
    }
    await this.submitToChannel(refund, order);
    return (await refundRepository.findById(this.db, refund.id)) ?? refund;
  }

  /** `GET /v3/refund/domestic/refunds/{out_refund_no}`: only the caller's own mini program's refunds exist. */
  async query(caller: GatewayCaller, outRefundNo: string): Promise<V3Refund> {
    const refund = await refundRepository.findByOutRefundNo(this.db, caller.applicationId, caller.mchid, outRefundNo);
    // Virtual refunds are invisible to /v3 (SPEC §8.3).
    if (!refund || refund.mnp_id !== caller.mnpId || refund.payment_type !== PaymentTypes.Standard)
      throw new AppError('ResourceNotFound.Refund', 'The refund does not exist');
    return toV3Refund(refund, this.config.timezone);
  }

  /**
   * A refund Paythrough starts itself inside the caller's transaction (late or duplicate payment, SPEC
   * §4.5). Late-payment refunds take the whole paid amount from the order; duplicate-payment refunds
   * return a payment the order never counted, so they reserve nothing. Submit it after the commit.
   */
  async startSystemRefund(
    trx: Executor,
    order: OrderRow,
    input: { kind: Exclude<RefundKind, 'merchant'>; amount: number; channelPaymentId: number },
  ): Promise<number> {
    const outRefundNo =
      input.kind === 'late_payment'
        ? `${systemRefundPrefix}LATE_${order.transaction_id}`
        : `${systemRefundPrefix}DUP_${input.channelPaymentId}_${order.transaction_id}`;
    const refund = await this.insertRefund(trx, order, {
      kind: input.kind,
      outRefundNo,
      amount: input.amount,
      reason: input.kind === 'late_payment' ? 'late payment' : 'duplicate payment',
      notifyUrl: null,
      channelPaymentId: input.channelPaymentId,
    });
    if (!refund) throw new Error(`The system refund ${outRefundNo} exists already`);
    const id = refund.id;
    if (input.kind === 'late_payment') await this.admit(trx, order.id, input.amount, input.kind);
    await channelPaymentRepository.setRefund(trx, input.channelPaymentId, id);
    return id;
  }

  /** Hands a PROCESSING refund to its channel (after the commit that created it); the outcome is recorded. */
  async submit(refundId: number): Promise<void> {
    const refund = await refundRepository.findById(this.db, refundId);
    if (!refund || refund.status !== 'PROCESSING') return;
    const order = await orderRepository.findById(this.db, refund.order_id);
    if (order) await this.submitToChannel(refund, order);
  }

  /** Hands the refund to its channel; the refund as the channel's answer left it, when that is known without a read. */
  private async submitToChannel(refund: RefundRow, order: OrderRow): Promise<RefundRow | undefined> {
    const channel = await this.channels.channelFor(refund);
    if (!channel) return undefined;
    const channelTransactionId =
      refund.kind === 'duplicate_payment' && refund.channel_payment_id !== null
        ? ((await channelPaymentRepository.listByOrder(this.db, order.id)).find((p) => p.id === refund.channel_payment_id)
            ?.channel_transaction_id ?? null)
        : order.channel_transaction_id;
    const result = await channel.refund({
      merchantId: refund.mchid,
      outTradeNo: refund.out_trade_no,
      outRefundNo: refund.out_refund_no,
      channelTransactionId,
      amount: { refund: refund.amount_refund, total: refund.amount_total, currency: refund.currency },
      reason: refund.reason,
    });
    if (result.outcome === 'ok') return this.recordChannelView(refund, result.value);
    if (result.outcome === 'rejected')
      await this.settle(refund.id, 'close', { reason: `the channel refused: ${result.code} ${result.message}` });
    // Unknown: reconcile_at is already set; the reconciler asks the channel and settles to its answer.
    return undefined;
  }

  /**
   * What the channel says about a refund (an answer, a query or an event): settle when final, else check later.
   * Returns the refund as updated when it stayed PROCESSING (undefined otherwise: read it again to see it).
   */
  async recordChannelView(refund: RefundRow, view: ChannelRefund): Promise<RefundRow | undefined> {
    const { refund: amount, total, currency } = view.amount;
    if (amount !== refund.amount_refund || total !== refund.amount_total || currency !== refund.currency) {
      await this.flagMismatch(refund, `the channel reports ${view.state} for ${amount} of ${total} ${currency}`);
      return undefined;
    }
    if (view.state === 'PROCESSING') {
      // Nothing moves back to PROCESSING: an ABNORMAL refund waits for a final result.
      if (refund.status !== 'PROCESSING') return undefined;
      const now = this.clock.nowMs();
      return refundRepository.setChannelRefund(this.db, refund.id, view.channelRefundId, nextCheckAt(now, refund.created_at), now);
    }
    const event: RefundEvent = view.state === 'SUCCESS' ? 'succeed' : view.state === 'CLOSED' ? 'close' : 'abnormal';
    await this.settle(refund.id, event, {
      reason: `channel reports ${view.state}`,
      channelRefundId: view.channelRefundId,
      settledAt: view.settledAt,
    });
    return undefined;
  }

  /**
   * SPEC §7, as for payments: a refund result with another amount or currency than the refund's is never
   * applied. The order is flagged for the operator; a PROCESSING refund stays so, and the reconciler keeps
   * asking the channel until it answers about this refund's amount and currency.
   */
  async flagMismatch(refund: RefundRow, reported: string): Promise<void> {
    const now = this.clock.nowMs();
    const reason = `not applied: ${reported}, the refund is ${refund.amount_refund} of ${refund.amount_total} ${refund.currency}`;
    await this.db.transaction().execute(async (trx) => {
      await orderRepository.addAnomaly(trx, refund.order_id, OrderAnomaly.RefundMismatch, now);
      if (refund.status === 'PROCESSING') await refundRepository.setReconcileAt(trx, refund.id, nextCheckAt(now, refund.created_at), now);
      // The refund's history says what was reported, once per distinct report (the reconciler may hear it many times).
      const history = await paymentStateHistoryRepository.listOf(trx, 'refund', refund.id);
      if (history.at(-1)?.reason !== reason) {
        await paymentStateHistoryRepository.append(trx, {
          subject: 'refund',
          subject_id: refund.id,
          from_state: refund.status,
          to_state: refund.status,
          at: now,
          reason,
        });
      }
    });
  }

  /**
   * Moves a PROCESSING (or ABNORMAL) refund on, as the refund machine allows, with its history row and
   * notification; SUCCESS adds to the order's refunded total, CLOSED releases the reservation. Repeats are no-ops.
   */
  async settle(
    refundId: number,
    event: RefundEvent,
    input: { reason: string; channelRefundId?: string; settledAt?: number | null },
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const refund = await refundRepository.findById(trx, refundId);
      if (!refund) return;
      // A final refund stays so; an ABNORMAL one takes the channel's later result (SPEC §7).
      if (refundStateMachine.can(refund.status, event)) await this.settleIn(trx, refund, event, input);
      else if (contradictsManualSettlement(refund, event)) await this.recordContradiction(trx, refund, input.reason);
    });
  }

  /**
   * Settles a refund in the caller's transaction: the transition with its history row, the order's totals and
   * the merchant's notification. The refund as written, or undefined when someone else moved it first.
   */
  private async settleIn(
    trx: Executor,
    refund: RefundRow,
    event: RefundEvent,
    input: { reason: string; channelRefundId?: string; settledAt?: number | null; settledBy?: string },
  ): Promise<RefundRow | undefined> {
    const now = this.clock.nowMs();
    const settledAt = believedTime(input.settledAt, { notBefore: refund.created_at, learnedAt: now });
    const settled = await refundTransitions.transition(trx, refund, event, {
      nowMs: now,
      reason: input.reason,
      changes: {
        // An ABNORMAL refund is asked about again (its channel may still settle it); a final one never.
        reconcile_at: event === 'abnormal' ? nextCheckAt(now, refund.created_at) : null,
        ...(input.channelRefundId && refund.channel_refund_id === null ? { channel_refund_id: input.channelRefundId } : {}),
        ...(event === 'succeed' ? { success_time: settledAt.time, success_learned_at: now } : {}),
        ...(input.settledBy !== undefined ? { settled_by: input.settledBy } : {}),
      },
    });
    if (!settled) return undefined;
    if (event === 'succeed' && settledAt.drift) await orderRepository.addAnomaly(trx, refund.order_id, OrderAnomaly.TimeDrift, now);
    if (settled.kind !== 'duplicate_payment') {
      if (event === 'succeed') await orderRepository.addRefundSucceeded(trx, refund.order_id, refund.amount_refund, now);
      if (event === 'close') await orderRepository.releaseRefund(trx, refund.order_id, refund.amount_refund, now);
    }
    const order = await orderRepository.findById(trx, refund.order_id);
    if (order?.payment_type === PaymentTypes.Virtual) {
      if (settled.status !== 'PROCESSING') await this.notifier.virtual.refundSettled(trx, settled, order);
      return settled;
    }
    const notification = order ? refundNotification(settled, order, this.config.timezone) : undefined;
    if (notification) await this.notifier.enqueue(trx, notification);
    return settled;
  }

  /**
   * SPEC §7: a channel result that contradicts a settlement by hand is not applied; it is recorded in the
   * refund's history (once per distinct report) and the order is flagged RefundMismatch for the operator.
   */
  private async recordContradiction(trx: Executor, refund: RefundRow, reported: string): Promise<void> {
    const now = this.clock.nowMs();
    const reason = `not applied: ${reported}, contradicting the settlement by hand as ${refund.status} by ${refund.settled_by}`;
    await orderRepository.addAnomaly(trx, refund.order_id, OrderAnomaly.RefundMismatch, now);
    const history = await paymentStateHistoryRepository.listOf(trx, 'refund', refund.id);
    if (history.at(-1)?.reason === reason) return;
    await paymentStateHistoryRepository.append(trx, {
      subject: 'refund',
      subject_id: refund.id,
      from_state: refund.status,
      to_state: refund.status,
      at: now,
      reason,
    });
  }

  /**
   * SPEC §7 "ABNORMAL refunds", management API: a superapp administrator settles an ABNORMAL refund of the
   * superapp by hand. Another superapp's refund, or one out of the caller's reach, does not exist for them.
   */
  async settleAbnormal(actor: Actor, input: ManualSettlement & { applicationId: string; refundId: string }, requestId?: string) {
    const refund = await refundRepository.findByRefundId(this.db, input.refundId);
    return this.settleByHand(actor, refund?.application_id === input.applicationId ? refund : undefined, input, requestId);
  }

  /** The same, from the console's After-sales record (the refund's record id). */
  async settleAbnormalById(actor: Actor, id: number, input: ManualSettlement, requestId?: string) {
    return this.settleByHand(actor, await refundRepository.findById(this.db, id), input, requestId);
  }

  private async settleByHand(actor: Actor, refund: RefundRow | undefined, input: ManualSettlement, requestId: string | undefined) {
    const scope = refund && { miniProgramTeamId: refund.mini_program_team_id, superappTeamId: refund.superapp_team_id };
    if (!refund || !scope) throw notFound('Refund');
    requireVisible(actor, 'refund.view', scope, 'Refund');
    requireAllowed(actor, 'refund.settle', scope);
    const note = input.note.trim();
    if (!note) throw invalid('note', 'a note saying why is required to settle a refund by hand');
    if (refund.status !== 'ABNORMAL') throw refundNotAbnormal(refund.status);
    // A manual CLOSED gives the amount back to the order: only once the channel no longer holds the refund.
    if (input.status === 'CLOSED') await this.requireReleasedByChannel(refund);
    const event: RefundEvent = input.status === 'SUCCESS' ? 'succeed' : 'close';
    const settled = await this.db.transaction().execute(async (trx) => {
      const current = await refundRepository.findById(trx, refund.id);
      if (!current || current.status !== 'ABNORMAL') throw refundNotAbnormal(current?.status ?? refund.status);
      const written = await this.settleIn(trx, current, event, {
        reason: `settled by hand as ${input.status} by ${actor.account}: ${note}`,
        settledBy: actor.account,
      });
      if (!written) throw refundNotAbnormal('settled meanwhile');
      await recordAudit(
        trx,
        this.clock,
        actor,
        {
          action: 'refund.settle_abnormal',
          targetType: 'refund',
          targetId: current.refund_id,
          teamId: current.superapp_team_id,
          before: { status: current.status },
          after: { status: written.status, note },
        },
        requestId,
      );
      return written;
    });
    return { id: settled.id, refundId: settled.refund_id, outRefundNo: settled.out_refund_no, status: settled.status };
  }

  /** The channel must answer CLOSED or "no such refund" (SPEC §7); any other answer, or none, refuses. */
  private async requireReleasedByChannel(refund: RefundRow): Promise<void> {
    const channel = await this.channels.channelFor(refund);
    const result = channel ? await channel.queryRefund({ merchantId: refund.mchid, outRefundNo: refund.out_refund_no }) : undefined;
    if (result?.outcome === 'ok' && result.value.state === 'CLOSED') return;
    if (result?.outcome === 'rejected' && result.code === 'REFUND_NOT_EXIST') return;
    const answer =
      result?.outcome === 'ok'
        ? `the channel reports it ${result.value.state}`
        : result?.outcome === 'rejected'
          ? `the channel answers ${result.code}`
          : 'the channel could not be asked';
    throw new AppError(
      'FailedOperation.RefundStillAtChannel',
      `The refund can be closed by hand only while the channel answers CLOSED or does not know it: ${answer}`,
    );
  }

  /** The reconciler's half for refunds: ask the channel about every due PROCESSING refund. */
  async reconcileDue(limit = 100): Promise<number> {
    const due = await refundRepository.listDueForReconcile(this.db, this.clock.nowMs(), limit);
    for (const refund of due) {
      try {
        await this.reconcileOne(refund);
      } catch {
        await refundRepository.setReconcileAt(this.db, refund.id, nextCheckAt(this.clock.nowMs(), refund.created_at), this.clock.nowMs());
      }
    }
    return due.length;
  }

  private async reconcileOne(refund: RefundRow): Promise<void> {
    const now = this.clock.nowMs();
    const awaitingLaterResult = refund.status === 'ABNORMAL' && refund.settled_by === null;
    if (refund.status !== 'PROCESSING' && !awaitingLaterResult) {
      await refundRepository.setReconcileAt(this.db, refund.id, null, now);
      return;
    }
    const channel = await this.channels.channelFor(refund);
    const result = channel ? await channel.queryRefund({ merchantId: refund.mchid, outRefundNo: refund.out_refund_no }) : undefined;
    if (result?.outcome === 'ok') {
      await this.recordChannelView(refund, result.value);
      // Still ABNORMAL at the channel: ask again later, at most every 30 minutes.
      const after = await refundRepository.findById(this.db, refund.id);
      if (after?.status === 'ABNORMAL' && after.settled_by === null) {
        await refundRepository.setReconcileAt(this.db, refund.id, nextCheckAt(now, refund.created_at), now);
      }
      return;
    }
    // Ask again later whatever happens next; a submit that settles it clears this.
    await refundRepository.setReconcileAt(this.db, refund.id, nextCheckAt(now, refund.created_at), now);
    // The channel does not have it: the request never arrived, so sending it again is safe (idempotent by out_refund_no).
    if (refund.status === 'PROCESSING' && result?.outcome === 'rejected' && result.code === 'REFUND_NOT_EXIST')
      await this.submit(refund.id);
  }

  private async view(refundId: number): Promise<V3Refund> {
    const refund = await refundRepository.findById(this.db, refundId);
    if (!refund) throw new AppError('ResourceNotFound.Refund', 'The refund does not exist');
    return toV3Refund(refund, this.config.timezone);
  }

  /** The same out_refund_no again: the same refund for the same order and amount, else refused. */
  private async repeat(caller: GatewayCaller, existing: RefundRow, order: OrderRow, request: RefundRequest): Promise<V3Refund> {
    if (existing.mnp_id !== caller.mnpId || existing.order_id !== order.id || existing.amount_refund !== request.amount.refund) {
      throw refundNotAllowed('out_refund_no is already used by another refund (another order or amount)');
    }
    if (existing.status === 'PROCESSING' && existing.channel_refund_id === null) await this.submit(existing.id);
    return this.view(existing.id);
  }

  private async findOrderOfCaller(caller: GatewayCaller, request: RefundRequest): Promise<OrderRow> {
    const order = request.transaction_id
      ? await orderRepository.findByTransactionId(this.db, request.transaction_id)
      : await orderRepository.findByOutTradeNo(this.db, caller.applicationId, caller.mchid, request.out_trade_no ?? '');
    if (!order || order.mchid !== caller.mchid || order.mnp_id !== caller.mnpId || order.payment_type !== PaymentTypes.Standard)
      throw new AppError('ResourceNotFound.Order', 'The order does not exist');
    if (request.transaction_id && request.out_trade_no && request.out_trade_no !== order.out_trade_no) {
      throw new AppError('ResourceNotFound.Order', 'The order does not exist');
    }
    return order;
  }

  private async insertRefund(
    trx: Executor,
    order: OrderRow,
    input: {
      kind: RefundKind;
      outRefundNo: string;
      amount: number;
      reason: string | null;
      notifyUrl: string | null;
      channelPaymentId: number | null;
      requestFingerprint?: string;
      bizMeta?: string | null;
    },
  ): Promise<RefundRow | undefined> {
    const now = this.clock.nowMs();
    if (!order.transaction_id) throw refundNotAllowed('The order is not paid: only paid orders are refunded');
    const refund = await refundRepository.insertIfAbsent(trx, {
      refund_id: mintRefundId(now),
      mchid: order.mchid,
      out_refund_no: input.outRefundNo,
      order_id: order.id,
      mnp_id: order.mnp_id,
      application_id: order.application_id,
      mini_program_team_id: order.mini_program_team_id,
      superapp_team_id: order.superapp_team_id,
      sandbox: order.sandbox,
      out_trade_no: order.out_trade_no,
      transaction_id: order.transaction_id,
      kind: input.kind,
      channel_payment_id: input.channelPaymentId,
      amount_refund: input.amount,
      amount_total: order.amount_total,
      currency: order.currency,
      reason: input.reason,
      notify_url: input.notifyUrl,
      status: 'PROCESSING',
      // A virtual order's refunds (its late and duplicate payments' too) are virtual refunds.
      payment_type: order.payment_type,
      request_fingerprint: input.requestFingerprint ?? null,
      biz_meta: input.bizMeta ?? null,
      channel_kind: order.channel_kind,
      // A refund goes through its order's connection, wherever the superapp's channel is now (SPEC §7).
      channel_connection_id: order.channel_connection_id,
      channel_refund_id: null,
      user_received_account: null,
      // Should the process stop between commit and channel call, the reconciler picks the refund up.
      reconcile_at: now + firstCheckDelayMs,
      created_at: now,
      updated_at: now,
      success_time: null,
    });
    if (refund)
      await refundTransitions.recordCreation(
        trx,
        refund.id,
        now,
        input.kind === 'merchant' ? 'merchant request' : (input.reason ?? input.kind),
      );
    return refund;
  }

  /**
   * Admits a refund against the order: reserve its amount and count it, moving SUCCESS to REFUND for the
   * first one, as one compare-and-set on (trade_state, refund_reserved, refund_count). A lost race re-reads
   * the order and checks the rules again, so the reservation never passes the paid amount. `readBefore` (the order
   * as read just before the transaction) is tried first: the compare-and-set refuses it if it is stale.
   */
  private async admit(
    trx: Executor,
    orderId: number,
    amount: number,
    kind: RefundKind,
    options: { readBefore?: OrderRow; expectedLeftFee?: number } = {},
  ): Promise<void> {
    const now = this.clock.nowMs();
    let guess = options.readBefore;
    for (let attempt = 0; attempt < maxAdmissionAttempts;) {
      const order = guess ?? (await orderRepository.findById(trx, orderId));
      const fromGuess = guess !== undefined;
      guess = undefined;
      const refusal = admissionRefusal(order, amount, kind, now, options.expectedLeftFee);
      if (refusal || !order) {
        // A refusal on the earlier read is checked again on the order as it is now (a closed refund frees its amount).
        if (fromGuess) continue;
        throw refusal;
      }
      const nextTradeState = order.trade_state === 'SUCCESS' ? orderStateMachine.transition('SUCCESS', 'refund') : order.trade_state;
      const admitted = await orderRepository.admitRefund(trx, order.id, {
        tradeState: order.trade_state,
        refundReserved: order.refund_reserved,
        refundCount: order.refund_count,
        amount,
        nextTradeState,
        nowMs: now,
      });
      if (admitted === 0) {
        if (!fromGuess) attempt += 1;
        continue;
      }
      if (nextTradeState !== order.trade_state) {
        await paymentStateHistoryRepository.append(trx, {
          subject: 'order',
          subject_id: order.id,
          from_state: order.trade_state,
          to_state: nextTradeState,
          at: now,
          reason: kind === 'merchant' ? 'first refund accepted' : `${kind.replace('_', ' ')} refund accepted`,
        });
      }
      return;
    }
    throw new AppError('InternalError', 'The order is too busy to take this refund now; retry with the same out_refund_no');
  }
}

/** Why the order cannot take this refund now, or undefined when it can (SPEC §7's refund rules). */
function admissionRefusal(
  order: OrderRow | undefined,
  amount: number,
  kind: RefundKind,
  now: number,
  expectedLeftFee: number | undefined,
): AppError | undefined {
  if (!order || !refundableTradeStates.includes(order.trade_state) || order.success_time === null) {
    return refundNotAllowed('The order is not paid: only paid orders are refunded');
  }
  if (kind === 'merchant' && now - order.success_time > refundWindowMs) {
    return refundNotAllowed('Refunds are accepted only within 365 days of payment');
  }
  if (order.refund_count >= maxRefundsPerOrder) return refundNotAllowed(`An order takes at most ${maxRefundsPerOrder} refunds`);
  const refundable = order.amount_total - order.refund_reserved;
  // A virtual refund names the left_fee it saw (SPEC §8.5): the compare-and-set holds it to that.
  if (expectedLeftFee !== undefined && expectedLeftFee !== refundable)
    return refundNotAllowed(`left_fee ${expectedLeftFee} is not the order's left_fee ${refundable}`);
  if (amount > refundable) {
    return refundNotAllowed(`The refund amount ${amount} is more than the refundable amount ${refundable} of the order`);
  }
  return undefined;
}
