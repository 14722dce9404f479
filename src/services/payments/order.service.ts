import type { ChannelEvent, ChannelEventSink, ChannelEventSource, ChannelOrder, PaymentChannel } from '../../channels/channel.ts';
import type { Config } from '../../config/config.ts';
import { OrderAnomaly, PaymentTypes, type PendingChannelOperation } from '../../db/order-schema.ts';
import type { ChannelKind } from '../../db/payment-schema.ts';
import type { DatabaseClient, Executor } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { paidTradeStates, type OrderEvent } from '../../domain/order-state.ts';
import { EnablementStatus } from '../../domain/approval-state.ts';
import { believedTime } from '../../domain/channel-time.ts';
import { checkNotifyUrl } from '../../domain/notify-url.ts';
import { channelPaymentRepository, paymentStateHistoryRepository } from '../../repositories/channel-payment.repository.ts';
import { orderRepository, type NewOrderRow, type OrderRow } from '../../repositories/order.repository.ts';
import { refundRepository } from '../../repositories/refund.repository.ts';
import type { GatewayCaller } from '../auth/index.ts';
import { channelRefusal, channelUnavailable, eventSourceMatches, nextCheckAt, type ChannelResolver } from './channel-resolver.ts';
import { mintPrepayId, mintTransactionId, prepayFingerprint } from './gateway-ids.ts';
import { transactionSuccessNotification, type PaymentNotifier } from './gateway-notifications.ts';
import { orderTransitions } from './payment-transitions.ts';
import { toV3Transaction, type V3Transaction } from './gateway-views.ts';
import type { PaymentAccountLookup, PaymentAccounts } from '../payment-setup/index.ts';
import type { RefundService } from './refund.service.ts';

const minuteMs = 60_000;
/** SPEC §4.1: an order without `time_expire` may be paid for 2 hours. */
export const defaultOrderLifetimeMs = 120 * minuteMs;
/** Reference §7: an earlier expiry moves to 1 minute, a later one to 90 days. */
const minimumOrderLifetimeMs = minuteMs;
const maximumOrderLifetimeMs = 90 * 24 * 60 * minuteMs;
/** A channel call whose outcome is unknown is first checked this long after. */
const firstCheckDelayMs = minuteMs;
/** An unpaid order on an HTTP channel is asked about this long after creation (its payment callback may be lost), then less often. */
const unpaidFirstCheckMs = 5 * minuteMs;
const unpaidMaxCheckIntervalMs = 30 * minuteMs;

export interface PrepayRequest {
  appid: string;
  mchid: string;
  description: string;
  out_trade_no: string;
  time_expire?: string | undefined;
  attach?: string | undefined;
  notify_url: string;
  amount: { total: number; currency?: string | undefined };
  payer: { openid: string };
  scene_info?: { h5_info?: { type?: string | undefined } | undefined; client_platform?: number | undefined } | undefined;
}

/** A payment a channel or host reports for an order. */
export interface ReportedPayment {
  /** The channel's id of the payment; null for a host report without a `transaction_id` (SPEC §4.5, §9.3). */
  channelTransactionId: string | null;
  amount: number;
  currency: string;
  payerOpenid: string | null;
  /** When the channel says the user paid; null when it does not say. */
  paidAt: number | null;
}

const noAuth = (message: string) => new AppError('FailedOperation.PaymentNotEnabled', message);
const orderNotFound = () => new AppError('ResourceNotFound.Order', 'The order does not exist');
const paramError = (field: string, issue: string, value?: unknown) =>
  new AppError('InvalidParameterValue', `${field}: ${issue}`, {
    field,
    issue,
    location: 'body',
    ...(value === undefined ? {} : { value }),
  });

/** scene_info → client platform (0 unknown, 2 Android, 3 iOS): `h5_info.type`, or our `client_platform`. */
export function clientPlatformOf(sceneInfo: PrepayRequest['scene_info']): number {
  if (sceneInfo?.client_platform === 2 || sceneInfo?.client_platform === 3) return sceneInfo.client_platform;
  const type = sceneInfo?.h5_info?.type?.toLowerCase();
  if (type === 'android') return 2;
  if (type === 'ios') return 3;
  return 0;
}

/** What the gate hands on to a prepay's insert. */
interface PrepayAdmission {
  account: PaymentAccountLookup;
  channelKind: ChannelKind;
  /** The superapp's current connection: the order keeps it until it is final (SPEC §7). */
  channelConnectionId: number | null;
  channel: PaymentChannel;
  superappTeamId: string;
  currency: string;
  /** The merchant's `time_expire` as given (it is part of the fingerprint); null when absent. */
  requestedExpiry: number | null;
  /** When the order expires: the requested time moved into the allowed lifetime, or the default lifetime. */
  timeExpire: number;
}

function orderExpiryOf(timeExpire: string | undefined, now: number): Pick<PrepayAdmission, 'requestedExpiry' | 'timeExpire'> {
  const requestedExpiry = timeExpire === undefined ? null : Date.parse(timeExpire);
  if (requestedExpiry !== null && !Number.isFinite(requestedExpiry)) {
    throw paramError('/time_expire', 'must be an RFC 3339 time', timeExpire);
  }
  return {
    requestedExpiry,
    timeExpire:
      requestedExpiry === null
        ? now + defaultOrderLifetimeMs
        : Math.min(Math.max(requestedExpiry, now + minimumOrderLifetimeMs), now + maximumOrderLifetimeMs),
  };
}

/** The order's columns a prepay request sets (a new order's, or a refused one's taken over). */
function requestedOrderFields(request: PrepayRequest, admission: Pick<PrepayAdmission, 'currency' | 'timeExpire'>) {
  return {
    description: request.description,
    attach: request.attach ?? null,
    notify_url: request.notify_url,
    amount_total: request.amount.total,
    currency: admission.currency,
    payer_openid: request.payer.openid,
    time_expire: admission.timeExpire,
    client_platform: clientPlatformOf(request.scene_info),
  };
}

/**
 * Orders (SPEC §4.1, §4.5, §7): prepay behind the gate, idempotent per (superapp, mchid, out_trade_no); query;
 * close; auto-close at `time_expire`; payments reported by channels (including late and duplicate
 * ones, refunded at once); and the reconciler's half for orders. Every state change is a compare-and-set
 * with its history row and outbox event in one transaction; channels are called only outside one.
 */
export class OrderService implements ChannelEventSink {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone' | 'sandboxEnabled'>,
    private readonly accounts: PaymentAccounts,
    private readonly channels: ChannelResolver,
    private readonly notifier: PaymentNotifier,
    private readonly refunds: RefundService,
  ) {}

  /** `POST /v3/pay/transactions/jsapi`. */
  async prepay(caller: GatewayCaller, request: PrepayRequest): Promise<{ prepay_id: string }> {
    const now = this.clock.nowMs();
    const admission = await this.admitPrepay(caller, request, now);
    const fingerprint = prepayFingerprint({
      appid: request.appid,
      description: request.description,
      amountTotal: request.amount.total,
      currency: admission.currency,
      payerOpenid: request.payer.openid,
      notifyUrl: request.notify_url,
      attach: request.attach ?? null,
      timeExpire: admission.requestedExpiry,
    });
    const inserted = await this.insertPrepayOrder(request, admission, fingerprint, now);
    let order = inserted ?? (await orderRepository.findByOutTradeNo(this.db, caller.applicationId, request.mchid, request.out_trade_no));
    if (!order) throw new AppError('InternalError', 'The order vanished after its insert');
    let reopened: OrderRow | undefined;
    if (!inserted && order.channel_refused === 1 && order.mnp_id === caller.mnpId && order.payment_type === PaymentTypes.Standard) {
      reopened = await this.reopenRefused(order, request, admission, fingerprint, now);
      // Undefined: a concurrent prepay reopened it first, and this one is a repeat of that one.
      order = reopened ?? (await orderRepository.findById(this.db, order.id)) ?? order;
    }
    if (!inserted && !reopened) this.checkRepeatedPrepay(order, fingerprint, caller, now);
    if (order.channel_order_id === null) await this.createChannelOrder(order, await this.channelOfOrder(order, admission));
    return { prepay_id: order.prepay_id };
  }

  /** The gate before a prepay writes anything: caller, enablement, binding, team, currency, channel, notify_url, time_expire. */
  private async admitPrepay(caller: GatewayCaller, request: PrepayRequest, now: number): Promise<PrepayAdmission> {
    if (request.mchid !== caller.mchid) throw paramError('/mchid', 'must be the mchid of the Authorization header', request.mchid);
    if (request.appid !== caller.mnpId) {
      throw new AppError('FailedOperation.AppIdMchIdNotMatch', 'The appid is not the mini program of this merchant certificate');
    }
    const account = await this.accounts.findPaymentAccount(this.db, request.appid, caller.configGeneration);
    if (!account || account.enablementStatus !== EnablementStatus.Approved) {
      throw noAuth('Payment is not enabled for this mini program (not approved, or disabled by the superapp)');
    }
    if (!account.bindingEffective || account.mchid !== request.mchid) {
      const message = "The mchid is not the effective merchant binding of the mini program's team";
      throw new AppError('FailedOperation.AppIdMchIdNotMatch', message);
    }
    if (!account.paymentEnabled) throw noAuth('The superapp has payment switched off');
    const team = account.team;
    if (!team || team.status !== 'active' || (team.expiresAt !== null && team.expiresAt <= now)) {
      throw noAuth("The mini program's team is disabled or expired");
    }
    const currency = request.amount.currency ?? account.currencies[0] ?? 'CNY';
    if (!(account.currencies as string[]).includes(currency)) {
      throw paramError('/amount/currency', `the superapp accepts ${account.currencies.join(', ')}`, currency);
    }
    const channelKind = account.channelKind;
    if (!channelKind || (channelKind === 'sandbox' && !this.config.sandboxEnabled)) {
      throw noAuth('The superapp has no payment channel available');
    }
    checkNotifyUrl(request.notify_url, '/notify_url', channelKind === 'sandbox' && this.config.sandboxEnabled);
    const route = { channel_kind: channelKind, application_id: account.applicationId, channel_connection_id: account.channelConnectionId };
    const channel = await this.channels.channelFor(route);
    if (!channel) throw noAuth('The superapp has no payment channel available');
    if (account.superappTeamId === undefined) throw noAuth('The superapp does not exist');
    return {
      account,
      channelKind,
      channelConnectionId: account.channelConnectionId,
      channel,
      superappTeamId: account.superappTeamId,
      currency,
      ...orderExpiryOf(request.time_expire, now),
    };
  }

  /** Writes the order with its creation history; undefined when the (superapp, mchid, out_trade_no) exists already. */
  /** SPEC §7: a refused create leaves no unpaid order: closed, the refusal in its history, not counted. */
  private async closeRefused(order: OrderRow, reason: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const current = await orderRepository.findById(trx, order.id);
      if (!current || current.trade_state !== 'WAIT_PAY') return;
      const now = this.clock.nowMs();
      await orderTransitions.transition(trx, current, 'close', {
        nowMs: now,
        reason,
        changes: { channel_refused: 1, closed_at: now, pending_operation: null, reconcile_at: null },
      });
    });
  }

  /**
   * A prepay whose out_trade_no names an order the channel refused to create takes that row over, whatever its
   * fields: a new prepay_id and the new request's fields, open again, the history saying so. Undefined when the
   * row is not such an order (any more).
   */
  private async reopenRefused(
    order: OrderRow,
    request: PrepayRequest,
    admission: PrepayAdmission,
    fingerprint: string,
    now: number,
  ): Promise<OrderRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const current = await orderRepository.findById(trx, order.id);
      if (!current || current.trade_state !== 'CLOSED' || current.channel_refused !== 1) return undefined;
      return orderTransitions.transition(trx, current, 'retry_refused', {
        nowMs: now,
        reason: 'prepay again after the channel refused to create it',
        changes: {
          prepay_id: mintPrepayId(now),
          ...requestedOrderFields(request, admission),
          // A new attempt: created under the superapp's channel of now, like a new order.
          sandbox: admission.channelKind === 'sandbox' ? 1 : 0,
          channel_kind: admission.channelKind,
          channel_connection_id: admission.channelConnectionId,
          fingerprint,
          channel_refused: 0,
          closed_at: null,
          channel_order_id: null,
          cashier_token: null,
          pending_operation: 'create',
          reconcile_at: now + firstCheckDelayMs,
        },
      });
    });
  }

  private async insertPrepayOrder(
    request: PrepayRequest,
    admission: PrepayAdmission,
    fingerprint: string,
    now: number,
  ): Promise<OrderRow | undefined> {
    const { account, channelKind } = admission;
    const inserted = await this.db.transaction().execute(async (trx) => {
      const row = await orderRepository.insertReturningIfAbsent(trx, {
        prepay_id: mintPrepayId(now),
        transaction_id: null,
        mchid: request.mchid,
        out_trade_no: request.out_trade_no,
        mnp_id: request.appid,
        application_id: account.applicationId,
        mini_program_team_id: account.teamId,
        superapp_team_id: admission.superappTeamId,
        ...requestedOrderFields(request, admission),
        sandbox: channelKind === 'sandbox' ? 1 : 0,
        trade_state: 'WAIT_PAY',
        channel_kind: channelKind,
        channel_connection_id: admission.channelConnectionId,
        channel_order_id: null,
        channel_transaction_id: null,
        cashier_token: null,
        fingerprint,
        refund_reserved: 0,
        refund_count: 0,
        refund_succeeded: 0,
        anomaly_flags: 0,
        // Until the channel confirms the order, the reconciler owns the question "does the channel have it?".
        pending_operation: 'create',
        reconcile_at: now + firstCheckDelayMs,
        created_at: now,
        updated_at: now,
        success_time: null,
        closed_at: null,
      });
      if (row) await orderTransitions.recordCreation(trx, Number(row.id), now, 'prepay');
      return row;
    });
    return inserted ? { ...inserted, id: Number(inserted.id) } : undefined;
  }

  /**
   * A virtual order (SPEC §8.3, payment_type 2) written with its creation history; undefined when its
   * (superapp, mchid, out_trade_no) exists already (standard or virtual: one namespace).
   */
  async insertVirtualOrder(order: NewOrderRow): Promise<OrderRow | undefined> {
    const inserted = await this.db.transaction().execute(async (trx) => {
      const row = await orderRepository.insertReturningIfAbsent(trx, { ...order, payment_type: PaymentTypes.Virtual });
      if (row) await orderTransitions.recordCreation(trx, Number(row.id), order.created_at, 'virtual payment verified');
      return row;
    });
    return inserted ? { ...inserted, id: Number(inserted.id) } : undefined;
  }

  /**
   * SPEC §7 for virtual orders: a verification whose outTradeNo names an order the channel refused to create takes
   * that row over with its own fields (a new wx_order_id among them), open again. Undefined when the row is not such
   * an order (any more): a concurrent verification took it first.
   */
  async retakeRefusedVirtualOrder(order: OrderRow, fields: NewOrderRow): Promise<OrderRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const current = await orderRepository.findById(trx, order.id);
      if (!current || current.trade_state !== 'CLOSED' || current.channel_refused !== 1 || current.payment_type !== PaymentTypes.Virtual)
        return undefined;
      const { id: _id, trade_state: _state, created_at: _created, ...changes } = fields;
      return orderTransitions.transition(trx, current, 'retry_refused', {
        nowMs: fields.updated_at,
        reason: 'verified again after the channel refused to create it',
        changes: { ...changes, channel_refused: 0, closed_at: null },
      });
    });
  }

  /**
   * Creates an order on its channel (§4.3) unless the channel has it already, and answers the order as it is
   * then. Refused: the order is closed as a refused create; unknown: the reconciler's; both throw as a prepay would.
   */
  async openOnChannel(order: OrderRow): Promise<OrderRow> {
    if (order.channel_order_id !== null) return order;
    const channel = await this.channels.channelFor(order);
    if (!channel) throw channelUnavailable('no channel is configured for this order');
    await this.createChannelOrder(order, channel);
    return (await orderRepository.findById(this.db, order.id)) ?? order;
  }

  /** `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`. */
  async queryByOutTradeNo(caller: GatewayCaller, mchid: string, outTradeNo: string): Promise<V3Transaction> {
    if (mchid !== caller.mchid) throw orderNotFound();
    const order = await orderRepository.findByOutTradeNo(this.db, caller.applicationId, mchid, outTradeNo);
    if (!order || order.mnp_id !== caller.mnpId || order.payment_type !== PaymentTypes.Standard) throw orderNotFound();
    return toV3Transaction(order, this.config.timezone);
  }

  /** `GET /v3/pay/transactions/id/{transaction_id}?mchid=`. */
  async queryByTransactionId(caller: GatewayCaller, mchid: string, transactionId: string): Promise<V3Transaction> {
    if (mchid !== caller.mchid) throw orderNotFound();
    const order = await orderRepository.findByTransactionId(this.db, transactionId);
    if (!order || order.mchid !== mchid || order.mnp_id !== caller.mnpId || order.payment_type !== PaymentTypes.Standard)
      throw orderNotFound();
    return toV3Transaction(order, this.config.timezone);
  }

  /** `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`: closed (again) or ORDERPAID. */
  async close(caller: GatewayCaller, mchid: string, outTradeNo: string): Promise<void> {
    if (mchid !== caller.mchid) throw paramError('/mchid', 'must be the mchid of the Authorization header', mchid);
    const order = await orderRepository.findByOutTradeNo(this.db, caller.applicationId, mchid, outTradeNo);
    // Virtual orders are invisible to /v3 (SPEC §8.3).
    if (!order || order.mnp_id !== caller.mnpId || order.payment_type !== PaymentTypes.Standard) throw orderNotFound();
    const after = await this.closeOnChannel(order, 'close');
    if (paidTradeStates.includes(after.trade_state))
      throw new AppError('FailedOperation.OrderPaid', 'The order is paid; refund it instead');
  }

  /** The auto-close job: closes unpaid orders past `time_expire` (the channel first). Returns how many it looked at. */
  async closeExpired(limit = 100): Promise<number> {
    const expired = await orderRepository.listExpired(this.db, this.clock.nowMs(), limit);
    for (const order of expired) {
      try {
        await this.closeOnChannel(order, 'expire');
      } catch {
        // An unknown outcome is already marked for the reconciler; anything else is tried again next run.
      }
    }
    return expired.length;
  }

  /**
   * A payment report refused for its amount or currency, with no channel transaction to record it under:
   * the order is flagged and its history says what was reported, in its current state; nothing is applied.
   */
  async recordRefusedReport(orderId: number, reported: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const order = await orderRepository.findById(trx, orderId);
      if (!order) return;
      const now = this.clock.nowMs();
      await orderRepository.addAnomaly(trx, order.id, OrderAnomaly.MismatchRefused, now);
      await paymentStateHistoryRepository.append(trx, {
        subject: 'order',
        subject_id: order.id,
        from_state: order.trade_state,
        to_state: order.trade_state,
        at: now,
        reason: `refused report: ${reported}`,
      });
    });
  }

  /**
   * Closes one unpaid order past its `time_expire` (the channel first), as the auto-close job would, and
   * answers it as it is now. Only that order: a caller never runs the job's whole pass inline.
   */
  async closeIfExpired(order: OrderRow): Promise<OrderRow> {
    if (order.trade_state !== 'WAIT_PAY' || order.time_expire > this.clock.nowMs()) return order;
    try {
      return await this.closeOnChannel(order, 'expire');
    } catch {
      // An unknown outcome is already marked for the reconciler; the row says what is known.
      return (await orderRepository.findById(this.db, order.id)) ?? order;
    }
  }

  /**
   * The reconciler's half for orders: settle due orders to what the channel says, either those with an
   * outcome in doubt (`unknown`) or the routine checks of unpaid orders (`routine`), each its own batch.
   */
  async reconcileDue(limit: number, kind: 'unknown' | 'routine'): Promise<number> {
    const due = await orderRepository.listDueForReconcile(this.db, this.clock.nowMs(), limit, kind);
    for (const order of due) {
      try {
        await this.reconcileOne(order);
      } catch {
        await orderRepository.markPending(
          this.db,
          order.id,
          order.pending_operation ?? 'create',
          nextCheckAt(this.clock.nowMs(), order.created_at),
          this.clock.nowMs(),
        );
      }
    }
    return due.length;
  }

  /** Channel events (ChannelEventSink): payments and refund results. Idempotent; unknown records are ignored. */
  async handle(event: ChannelEvent, source: ChannelEventSource): Promise<void> {
    if ('order' in event) {
      const reported = event.order;
      const order =
        (await orderRepository.findByPrepayId(this.db, reported.prepayId)) ??
        (source.applicationId === null
          ? undefined
          : await orderRepository.findByOutTradeNo(this.db, source.applicationId, reported.merchantId, reported.outTradeNo));
      if (!order || order.mchid !== reported.merchantId || order.out_trade_no !== reported.outTradeNo || !eventSourceMatches(source, order))
        return;
      if (order.channel_order_id === null)
        await orderRepository.setChannelOrder(this.db, order.id, reported.channelOrderId, reported.cashierToken, this.clock.nowMs());
      if (event.type === 'payment.succeeded') {
        const payment = paymentOf(reported);
        if (payment) await this.applyPayment(order.id, payment);
      } else {
        await this.failPayment(order.id, reported.failureReason ?? 'the channel reports the payment failed');
      }
      return;
    }
    const reported = event.refund;
    // A source names its superapp (the sandbox's events too since migration 0019; older ones are matched by the
    // refund number alone while it is one superapp's only).
    const refund =
      source.applicationId === null
        ? await refundRepository.findOnlyByOutRefundNo(this.db, reported.merchantId, reported.outRefundNo)
        : await refundRepository.findByOutRefundNo(this.db, source.applicationId, reported.merchantId, reported.outRefundNo);
    if (!refund || !eventSourceMatches(source, refund)) return;
    await this.refunds.recordChannelView(refund, reported);
  }

  /**
   * Applies a reported payment (SPEC §4.5, §7): to an unpaid order it is the payment; to a closed,
   * expired or failed one it is a late payment (the order becomes SUCCESS and is refunded in full at
   * once); to a paid order under another channel transaction it is a duplicate (refunded in full). An
   * amount or currency other than the order's is refused and flagged. The same report twice is one.
   */
  async applyPayment(orderId: number, payment: ReportedPayment): Promise<void> {
    const refundIds = await this.db.transaction().execute(async (trx) => {
      const now = this.clock.nowMs();
      for (let attempt = 0; attempt < 20; attempt += 1) {
        const order = await orderRepository.findById(trx, orderId);
        if (!order) return [];
        const reportedId = payment.channelTransactionId;
        if (reportedId !== null && (await channelPaymentRepository.find(trx, order.id, reportedId))) return [];
        const record = (disposition: 'applied' | 'late_payment_refunded' | 'duplicate_refunded' | 'mismatch_refused') =>
          channelPaymentRepository.insertIfAbsent(trx, {
            order_id: order.id,
            channel_kind: order.channel_kind,
            channel_transaction_id: payment.channelTransactionId,
            amount: payment.amount,
            currency: payment.currency,
            payer_openid: payment.payerOpenid,
            paid_at: payment.paidAt ?? now,
            reported_at: now,
            disposition,
          });

        if (payment.amount !== order.amount_total || payment.currency !== order.currency) {
          await record('mismatch_refused');
          await orderRepository.addAnomaly(trx, order.id, OrderAnomaly.MismatchRefused, now);
          return [];
        }
        if (paidTradeStates.includes(order.trade_state)) {
          // The same payment again: its id, or a host report naming none (it cannot be told from the first).
          if (reportedId === null || order.channel_transaction_id === reportedId) return [];
          if (order.channel_transaction_id === null) {
            // The payment was first reported without an id: this report names it, it is not a second payment.
            if (await this.learnTransactionId(trx, order, reportedId, now)) return [];
            continue;
          }
          const paymentId = await record('duplicate_refunded');
          if (paymentId === undefined) return [];
          await orderRepository.addAnomaly(trx, order.id, OrderAnomaly.DuplicatePayment, now);
          return [
            await this.refunds.startSystemRefund(trx, order, {
              kind: 'duplicate_payment',
              amount: payment.amount,
              channelPaymentId: paymentId,
            }),
          ];
        }

        const late = order.trade_state !== 'WAIT_PAY';
        const event: OrderEvent = late ? 'late_payment' : 'pay';
        const paidAt = believedTime(payment.paidAt, { notBefore: order.created_at, learnedAt: now });
        const flags = order.anomaly_flags | (late ? OrderAnomaly.LatePayment : 0) | (paidAt.drift ? OrderAnomaly.TimeDrift : 0);
        const paid = await orderTransitions.transition(trx, order, event, {
          nowMs: now,
          reason: late ? `late payment after ${order.trade_state}` : 'payment reported by the channel',
          changes: {
            transaction_id: mintTransactionId(now),
            channel_transaction_id: payment.channelTransactionId,
            success_time: paidAt.time,
            success_learned_at: now,
            pending_operation: null,
            reconcile_at: null,
            ...(flags !== order.anomaly_flags ? { anomaly_flags: flags } : {}),
          },
        });
        if (!paid) continue;
        const paymentId = await record(late ? 'late_payment_refunded' : 'applied');
        // A virtual order's payment queues its delivery notification; a late one delivers nothing (SPEC §8.3).
        if (paid.payment_type === PaymentTypes.Virtual) {
          if (!late) await this.notifier.virtual.orderPaid(trx, paid);
        } else await this.notifier.enqueue(trx, transactionSuccessNotification(paid, this.config.timezone));
        if (!late || paymentId === undefined) return [];
        return [
          await this.refunds.startSystemRefund(trx, paid, { kind: 'late_payment', amount: paid.amount_total, channelPaymentId: paymentId }),
        ];
      }
      throw new AppError('InternalError', 'The order kept changing while a payment was applied');
    });
    for (const refundId of refundIds) await this.refunds.submit(refundId);
  }

  /** Records the channel transaction id learned for a payment reported without one; false when someone else moved first. */
  private async learnTransactionId(trx: Executor, order: OrderRow, channelTransactionId: string, now: number): Promise<boolean> {
    if (!(await orderRepository.learnChannelTransactionId(trx, order.id, order.trade_state, channelTransactionId, now))) return false;
    await channelPaymentRepository.learnTransactionId(trx, order.id, channelTransactionId);
    await paymentStateHistoryRepository.append(trx, {
      subject: 'order',
      subject_id: order.id,
      from_state: order.trade_state,
      to_state: order.trade_state,
      at: now,
      reason: `channel transaction id ${channelTransactionId} reported for the payment first reported without one`,
    });
    return true;
  }

  private async failPayment(orderId: number, reason: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const order = await orderRepository.findById(trx, orderId);
      if (!order || order.trade_state !== 'WAIT_PAY') return;
      await orderTransitions.transition(trx, order, 'fail', {
        nowMs: this.clock.nowMs(),
        reason,
        changes: { pending_operation: null, reconcile_at: null },
      });
    });
  }

  /** SPEC §7's table for a prepay whose out_trade_no exists. */
  private checkRepeatedPrepay(order: OrderRow, fingerprint: string, caller: GatewayCaller, now: number): void {
    if (order.mnp_id !== caller.mnpId || order.fingerprint !== fingerprint || order.payment_type !== PaymentTypes.Standard) {
      throw new AppError('FailedOperation.OutTradeNoUsed', 'out_trade_no is already used with other parameters');
    }
    if (paidTradeStates.includes(order.trade_state)) throw new AppError('FailedOperation.OrderPaid', 'The order is paid already');
    if (order.trade_state !== 'WAIT_PAY' || order.time_expire <= now)
      throw new AppError('FailedOperation.OrderClosed', 'The order is closed');
  }

  /** A repeated prepay reaches the order's own connection, which may no longer be the superapp's current one. */
  private async channelOfOrder(order: OrderRow, admission: PrepayAdmission): Promise<PaymentChannel> {
    const sameConnection = order.channel_kind === admission.channelKind && order.channel_connection_id === admission.channelConnectionId;
    const channel = sameConnection ? admission.channel : await this.channels.channelFor(order);
    if (!channel) throw channelUnavailable('no channel is configured for this order');
    return channel;
  }

  private async createChannelOrder(order: OrderRow, channel: PaymentChannel): Promise<void> {
    const result = await channel.createOrder({
      merchantId: order.mchid,
      appId: order.mnp_id,
      outTradeNo: order.out_trade_no,
      prepayId: order.prepay_id,
      amount: { total: order.amount_total, currency: order.currency },
      description: order.description,
      expiresAt: order.time_expire,
      attach: order.attach,
      payer: { openid: order.payer_openid },
    });
    const now = this.clock.nowMs();
    if (result.outcome === 'unknown') {
      await orderRepository.markPending(this.db, order.id, 'create', now + firstCheckDelayMs, now);
      throw channelUnavailable(result.reason);
    }
    if (result.outcome === 'rejected') {
      await this.closeRefused(order, `the channel refused to create it: ${result.code} ${result.message}`);
      throw channelRefusal(result);
    }
    const { channelOrderId, cashierToken, state } = result.value;
    const unpaid = state === 'WAIT_PAY';
    // One write for the usual answer: the channel's order, and when to look at it next.
    const recorded = await orderRepository.setChannelOrder(
      this.db,
      order.id,
      channelOrderId,
      cashierToken,
      now,
      unpaid ? unpaidCheckAt(order, now) : null,
    );
    if (!unpaid) await this.settleFromChannel(order, result.value, 'create');
    else if (recorded === 0) await this.watchUnpaid(order);
  }

  /** An unpaid order's next check (see {@link unpaidCheckAt}), or none. */
  private async watchUnpaid(order: OrderRow): Promise<void> {
    const now = this.clock.nowMs();
    const next = unpaidCheckAt(order, now);
    if (next !== null) await orderRepository.scheduleCheck(this.db, order.id, next, now);
    else await orderRepository.clearPending(this.db, order.id, now);
  }

  /**
   * Closes an unpaid order on its channel first, then here (merchant close or expiry). The channel's
   * answer decides: closed → closed here; paid → the payment is applied. Unknown → the reconciler.
   */
  private async closeOnChannel(order: OrderRow, intent: 'close' | 'expire'): Promise<OrderRow> {
    if (order.trade_state !== 'WAIT_PAY') return order;
    const channel = await this.channels.channelFor(order);
    if (!channel) throw channelUnavailable('no channel is configured for this order');
    const key = { merchantId: order.mchid, outTradeNo: order.out_trade_no };
    // Written before the call: a process killed after the channel closed it leaves the close to the reconciler.
    await orderRepository.markPending(this.db, order.id, intent, this.clock.nowMs() + firstCheckDelayMs, this.clock.nowMs());
    let result = await channel.closeOrder(key);
    if (result.outcome === 'rejected' && result.code === 'ORDER_PAID') result = await channel.queryOrder(key);
    const now = this.clock.nowMs();
    if (result.outcome === 'unknown') {
      await orderRepository.markPending(this.db, order.id, intent, now + firstCheckDelayMs, now);
      throw channelUnavailable(result.reason);
    }
    if (result.outcome === 'rejected') {
      if (result.code !== 'ORDER_NOT_EXIST') {
        // The channel refused and changed nothing: the order is as it was before the call.
        await orderRepository.restorePending(this.db, order, now);
        throw channelRefusal(result);
      }
      // The channel never had the order: nothing can be paid there, so it closes here.
      await this.closeHere(order.id, intent, 'the channel has no such order');
    } else {
      await this.settleFromChannel(order, result.value, intent);
    }
    return (await orderRepository.findById(this.db, order.id)) ?? order;
  }

  /** Brings an order to the channel's view of it (the channel is the truth about payments). */
  private async settleFromChannel(order: OrderRow, view: ChannelOrder, intent: PendingChannelOperation): Promise<void> {
    if (order.channel_order_id === null)
      await orderRepository.setChannelOrder(this.db, order.id, view.channelOrderId, view.cashierToken, this.clock.nowMs());
    switch (view.state) {
      case 'SUCCESS': {
        const payment = paymentOf(view);
        if (payment) await this.applyPayment(order.id, payment);
        return;
      }
      case 'CLOSED':
        await this.closeHere(order.id, intent === 'close' ? 'close' : 'expire', 'the channel closed the order');
        return;
      case 'PAY_ERROR':
        await this.failPayment(order.id, view.failureReason ?? 'the channel reports the payment failed');
        return;
      case 'WAIT_PAY':
        if (intent === 'create') await this.watchUnpaid(order);
        return;
    }
  }

  private async closeHere(orderId: number, intent: 'close' | 'expire', reason: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const order = await orderRepository.findById(trx, orderId);
      if (!order || order.trade_state !== 'WAIT_PAY') return;
      const now = this.clock.nowMs();
      await orderTransitions.transition(trx, order, intent, {
        nowMs: now,
        reason,
        changes: { closed_at: now, pending_operation: null, reconcile_at: null },
      });
    });
  }

  private async reconcileOne(order: OrderRow): Promise<void> {
    const now = this.clock.nowMs();
    const intent = order.pending_operation;
    if (order.trade_state !== 'WAIT_PAY') {
      await orderRepository.clearPending(this.db, order.id, now);
      return;
    }
    const channel = await this.channels.channelFor(order);
    const result = channel ? await channel.queryOrder({ merchantId: order.mchid, outTradeNo: order.out_trade_no }) : undefined;
    if (intent === null) {
      // A watched unpaid order: settle to what the channel says, or look again later.
      if (result?.outcome === 'ok') await this.settleFromChannel(order, result.value, 'create');
      else await this.watchUnpaid(order);
      return;
    }
    if (result?.outcome === 'ok') {
      const view = result.value;
      if (view.state === 'WAIT_PAY' && intent !== 'create') {
        // The close we asked for did not happen there: ask again (an unknown outcome is marked again).
        await this.settleFromChannel(order, view, 'create');
        await this.closeOnChannel(order, intent).catch(() => undefined);
        return;
      }
      await this.settleFromChannel(order, view, intent);
      await orderRepository.clearPending(this.db, order.id, this.clock.nowMs());
      return;
    }
    if (result?.outcome === 'rejected' && result.code === 'ORDER_NOT_EXIST') {
      // The channel never received it: nothing was paid. A create is repeated by the merchant's retry
      // (or the order expires); a close or expiry completes here.
      if (intent === 'create') await orderRepository.clearPending(this.db, order.id, now);
      else await this.closeHere(order.id, intent, 'the channel has no such order');
      return;
    }
    await orderRepository.markPending(this.db, order.id, intent, nextCheckAt(now, order.created_at), now);
  }
}

function paymentOf(view: ChannelOrder): ReportedPayment | undefined {
  if (!view.channelTransactionId) return undefined;
  return {
    channelTransactionId: view.channelTransactionId,
    amount: view.amount.total,
    currency: view.amount.currency,
    payerOpenid: view.payerOpenid,
    paidAt: view.paidAt,
  };
}

/**
 * A callback can be lost: an unpaid order on an HTTP channel is queried from time to time until it expires
 * (docs/channel-protocol.md), so a payment whose callback never came is found before the expiry. Null: no check.
 */
function unpaidCheckAt(order: OrderRow, now: number): number | null {
  const age = Math.max(0, now - order.created_at);
  const next = now + Math.min(Math.max(age, unpaidFirstCheckMs), unpaidMaxCheckIntervalMs);
  return order.channel_kind === 'http' && next < order.time_expire ? next : null;
}
