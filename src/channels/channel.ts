/**
 * The connector interface between Paythrough and a superapp's payment channel (SPEC §4.3).
 *
 * Paythrough never holds funds: it passes each order through to the channel of the superapp the
 * mini program pays on, under the bound merchant. Implementations: the built-in sandbox
 * (`channels/sandbox`), the HTTP connector for superapps implementing `docs/channel-protocol.md`
 * (`channels/http`), and any test double.
 *
 * Rules every implementation keeps and every caller relies on:
 * - Amounts are integers in the currency's minor unit; times are ms since the epoch.
 * - Every call is idempotent by its natural key: `(merchantId, outTradeNo)` for orders,
 *   `(merchantId, outRefundNo)` for refunds. Repeating a call with the same parameters returns the
 *   same result; other parameters under the same key are `rejected` (OUT_TRADE_NO_USED / OUT_REFUND_NO_USED).
 * - A call returns `ok` (the channel did it, here is its view), `rejected` (the channel answered and did
 *   nothing), or `unknown` (no definite answer: timeout, 5xx, broken answer). An unknown outcome is never
 *   guessed: the caller records it and resolves it by querying (the reconciler), then repeats a close or
 *   refund the channel does not have (a create is repeated by the merchant's same-parameter retry, or the
 *   order closes at its expiry). Never call a channel inside a database transaction.
 */

import type { StatementPage, StatementQuery } from './statement.ts';

/** A channel order's state, as the channel sees it (Paythrough's AUTO_CLOSED is a CLOSED channel order). */
export type ChannelOrderState = 'WAIT_PAY' | 'SUCCESS' | 'CLOSED' | 'PAY_ERROR';
export type ChannelRefundState = 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

export interface ChannelAmount {
  /** Minor units. */
  total: number;
  /** ISO 4217. */
  currency: string;
}

export interface CreateChannelOrderInput {
  /** The merchant ID of the mini program team's effective binding. */
  merchantId: string;
  appId: string;
  outTradeNo: string;
  /** Paythrough's prepay_id: the superapp's host receives it in requestPayment and finds the order by it. */
  prepayId: string;
  amount: ChannelAmount;
  description: string;
  /** When the order stops being payable (ms). */
  expiresAt: number;
  attach: string | null;
  payer: { openid: string };
}

export interface ChannelOrder {
  channelOrderId: string;
  merchantId: string;
  appId: string;
  outTradeNo: string;
  prepayId: string;
  state: ChannelOrderState;
  amount: ChannelAmount;
  description: string;
  expiresAt: number;
  /** The channel's own payment id, once paid. */
  channelTransactionId: string | null;
  payerOpenid: string | null;
  paidAt: number | null;
  closedAt: number | null;
  failureReason: string | null;
  /** Opens the channel's cashier for this order (what a superapp host shows the user). */
  cashierToken: string;
  cashierUrl: string | null;
}

export interface ChannelOrderKey {
  merchantId: string;
  outTradeNo: string;
}

export interface CreateChannelRefundInput {
  merchantId: string;
  outTradeNo: string;
  outRefundNo: string;
  /** The channel payment being refunded; for a duplicate payment, the duplicate one. */
  channelTransactionId: string | null;
  amount: { refund: number; total: number; currency: string };
  reason: string | null;
}

export interface ChannelRefund {
  channelRefundId: string;
  merchantId: string;
  outRefundNo: string;
  outTradeNo: string;
  state: ChannelRefundState;
  amount: { refund: number; total: number; currency: string };
  reason: string | null;
  createdAt: number;
  /** When it reached SUCCESS, CLOSED or ABNORMAL. */
  settledAt: number | null;
}

export interface ChannelRefundKey {
  merchantId: string;
  outRefundNo: string;
}

/** Codes a channel answers with when it refuses; `docs/channel-protocol.md` defines each. */
export const channelErrorCodes = [
  'PARAM_ERROR',
  'SIGN_ERROR',
  'MERCHANT_NOT_EXIST',
  'ORDER_NOT_EXIST',
  'REFUND_NOT_EXIST',
  'OUT_TRADE_NO_USED',
  'OUT_REFUND_NO_USED',
  'ORDER_PAID',
  'ORDER_CLOSED',
  'ORDER_NOT_PAID',
  'NOT_ENOUGH',
  'INVALID_REQUEST',
  // The statement (SPEC §9.1): the day is not closed yet; the channel serves no statements.
  'STATEMENT_NOT_READY',
  'NOT_SUPPORTED',
] as const;
export type ChannelErrorCode = (typeof channelErrorCodes)[number];

export type ChannelResult<T> =
  | { outcome: 'ok'; value: T }
  /** The channel answered and refused; nothing happened there. */
  | { outcome: 'rejected'; code: ChannelErrorCode; message: string }
  /**
   * No definite answer: it may or may not have happened. Resolve by querying; never guess.
   * `mayHaveApplied` is false only when the request certainly never reached the channel (refused by
   * the outbound policy, or no connection), so the caller may treat it as not done.
   */
  | { outcome: 'unknown'; reason: string; mayHaveApplied: boolean };

export type ChannelKind = 'sandbox' | 'http' | 'host_reported';

export interface PaymentChannel {
  readonly kind: ChannelKind;
  /** Creates the channel order, or returns the existing one for the same parameters. */
  createOrder(input: CreateChannelOrderInput): Promise<ChannelResult<ChannelOrder>>;
  queryOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>>;
  /** Closes an unpaid order; closing a closed order returns it again; a paid one is rejected ORDER_PAID. */
  closeOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>>;
  /** Starts a refund (usually PROCESSING; the final state arrives as an event or by query). */
  refund(input: CreateChannelRefundInput): Promise<ChannelResult<ChannelRefund>>;
  queryRefund(key: ChannelRefundKey): Promise<ChannelResult<ChannelRefund>>;
  /**
   * A channel serving several superapps at once (the in-process sandbox, host reports) answers its view for one:
   * merchant IDs are each superapp's own (SPEC §7 "Credential scope"), so its keys are (superapp, merchant, number).
   */
  scopedTo?(applicationId: string): PaymentChannel;
  /**
   * A page of the channel's statement of a business day (SPEC §9.1); absent on channels that serve none, which
   * is the same as `NOT_SUPPORTED`. A day not closed yet is `STATEMENT_NOT_READY`.
   */
  queryStatement?(query: StatementQuery): Promise<ChannelResult<StatementPage>>;
}

/** Channel → Paythrough: what happened on the channel's side. */
export type ChannelEvent =
  | { eventId: string; type: 'payment.succeeded' | 'payment.failed'; occurredAt: number; order: ChannelOrder }
  | { eventId: string; type: 'refund.succeeded' | 'refund.closed' | 'refund.abnormal'; occurredAt: number; refund: ChannelRefund };

export type ChannelEventType = ChannelEvent['type'];
export const channelEventTypes: readonly ChannelEventType[] = [
  'payment.succeeded',
  'payment.failed',
  'refund.succeeded',
  'refund.closed',
  'refund.abnormal',
];

/** Where an event came from, so the sink finds the order among that channel's orders. */
export interface ChannelEventSource {
  channelKind: ChannelKind;
  /** The superapp whose HTTP channel sent it; null for the sandbox (one per deployment). */
  applicationId: string | null;
}

/**
 * Receives channel events; the gateway implements it. Delivery is at-least-once and may repeat or
 * arrive out of order (a refund event before its payment event): `handle` must be idempotent, and
 * may query the channel when an event does not fit. Throwing means "not accepted": the channel
 * delivers it again later.
 */
export interface ChannelEventSink {
  handle(event: ChannelEvent, source: ChannelEventSource): Promise<void>;
}

/** A sink that can be attached later (the gateway attaches itself after the services are built). */
export class DeferredEventSink implements ChannelEventSink {
  private target: ChannelEventSink | undefined;

  attach(target: ChannelEventSink): void {
    this.target = target;
  }

  get attached(): boolean {
    return this.target !== undefined;
  }

  async handle(event: ChannelEvent, source: ChannelEventSource): Promise<void> {
    if (!this.target) throw new Error('No channel event sink is attached yet');
    await this.target.handle(event, source);
  }
}
