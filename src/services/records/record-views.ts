import { OrderAnomaly } from '../../db/order-schema.ts';
import { formatMinorUnits } from '../../domain/money.ts';
import type { VirtualOrderStatus } from '../../domain/virtual-order-status.ts';
import type { ChannelPaymentRow, PaymentStateHistoryRow } from '../../repositories/channel-payment.repository.ts';
import type { OrderListRow } from '../../repositories/order-record.repository.ts';
import type { OrderRow } from '../../repositories/order.repository.ts';
import type { DeliveryAttemptRow, OutboxRow } from '../../repositories/outbox.repository.ts';
import type { RefundListRow } from '../../repositories/refund-record.repository.ts';
import type { RefundRow } from '../../repositories/refund.repository.ts';

// How the console shows orders and refunds: minor-unit integers for machines, major-unit strings in the
// currency's own exponent for people (SPEC §7 "Money and time").

/** `virtualStatus`: a virtual order's query_order status (SPEC §8.3); null for standard orders. */
export function orderListItem(row: OrderListRow, activeRefundTotal: number, virtualStatus: VirtualOrderStatus | null = null) {
  return {
    id: row.id,
    mnpId: row.mnp_id,
    mchid: row.mchid,
    outTradeNo: row.out_trade_no,
    transactionId: row.transaction_id,
    tradeState: row.trade_state,
    description: row.description,
    amountTotal: row.amount_total,
    amount: formatMinorUnits(row.amount_total, row.currency),
    currency: row.currency,
    payerOpenid: row.payer_openid,
    clientPlatform: row.client_platform,
    sandbox: row.sandbox === 1,
    anomalies: anomaliesOf(row.anomaly_flags),
    /** PROCESSING and SUCCESS refunds (SPEC §7 `RefundTotal`). */
    refundTotal: formatMinorUnits(activeRefundTotal, row.currency),
    refundedAmount: formatMinorUnits(row.refund_succeeded, row.currency),
    createdAt: row.created_at,
    successTime: row.success_time,
    // Virtual payment (SPEC §8.6): null on standard orders.
    paymentType: row.payment_type,
    productId: row.product_id,
    quantity: row.quantity,
    deliveryStatus: row.delivery_status,
    status: virtualStatus,
  };
}

export type OrderListItem = ReturnType<typeof orderListItem>;

export function refundListItem(row: RefundListRow) {
  return {
    id: row.id,
    orderId: row.order_id,
    mnpId: row.mnp_id,
    mchid: row.mchid,
    outTradeNo: row.out_trade_no,
    transactionId: row.transaction_id,
    outRefundNo: row.out_refund_no,
    refundId: row.refund_id,
    kind: row.kind,
    status: row.status,
    amountRefund: row.amount_refund,
    refund: formatMinorUnits(row.amount_refund, row.currency),
    amountTotal: row.amount_total,
    total: formatMinorUnits(row.amount_total, row.currency),
    currency: row.currency,
    reason: row.reason,
    sandbox: row.sandbox === 1,
    createdAt: row.created_at,
    successTime: row.success_time,
    paymentType: row.payment_type,
  };
}

export type RefundListItem = ReturnType<typeof refundListItem>;

const noAnomalies: string[] = [];
const anomalyNames = Object.entries(OrderAnomaly);

export function anomaliesOf(flags: number): string[] {
  // Nearly every order has none: no allocation for those (exports map millions of rows).
  if (flags === 0) return noAnomalies;
  return anomalyNames.filter(([, bit]) => (flags & bit) !== 0).map(([name]) => name);
}

/**
 * Every field of an order but two: the cashier token (a bearer credential for the cashier page, not a
 * record) and the request fingerprint (an internal hash of the prepay fields).
 */
export function orderFields(row: OrderRow) {
  return {
    id: row.id,
    prepayId: row.prepay_id,
    transactionId: row.transaction_id,
    mchid: row.mchid,
    outTradeNo: row.out_trade_no,
    mnpId: row.mnp_id,
    applicationId: row.application_id,
    miniProgramTeamId: row.mini_program_team_id,
    description: row.description,
    attach: row.attach,
    notifyUrl: row.notify_url,
    amountTotal: row.amount_total,
    amount: formatMinorUnits(row.amount_total, row.currency),
    currency: row.currency,
    payerOpenid: row.payer_openid,
    timeExpire: row.time_expire,
    clientPlatform: row.client_platform,
    sandbox: row.sandbox === 1,
    tradeState: row.trade_state,
    channelKind: row.channel_kind,
    channelOrderId: row.channel_order_id,
    channelTransactionId: row.channel_transaction_id,
    refundReserved: formatMinorUnits(row.refund_reserved, row.currency),
    refundCount: row.refund_count,
    refundedAmount: formatMinorUnits(row.refund_succeeded, row.currency),
    anomalies: anomaliesOf(row.anomaly_flags),
    pendingOperation: row.pending_operation,
    reconcileAt: row.reconcile_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    successTime: row.success_time,
    closedAt: row.closed_at,
  };
}

export function refundFields(row: RefundRow) {
  return {
    ...refundListItem(row),
    superappTeamId: row.superapp_team_id,
    settledBy: row.settled_by,
    channelKind: row.channel_kind,
    channelRefundId: row.channel_refund_id,
    channelPaymentId: row.channel_payment_id,
    userReceivedAccount: row.user_received_account,
    notifyUrl: row.notify_url,
    reconcileAt: row.reconcile_at,
    updatedAt: row.updated_at,
  };
}

export function historyEntry(row: PaymentStateHistoryRow) {
  return {
    id: row.id,
    subject: row.subject,
    subjectId: row.subject_id,
    fromState: row.from_state,
    toState: row.to_state,
    at: row.at,
    reason: row.reason,
  };
}

export function channelPaymentEntry(row: ChannelPaymentRow) {
  return {
    id: row.id,
    channelKind: row.channel_kind,
    channelTransactionId: row.channel_transaction_id,
    amount: formatMinorUnits(row.amount, row.currency),
    currency: row.currency,
    payerOpenid: row.payer_openid,
    paidAt: row.paid_at,
    reportedAt: row.reported_at,
    disposition: row.disposition,
    refundId: row.refund_id,
  };
}

export function notificationEntry(row: OutboxRow, attempts: DeliveryAttemptRow[]) {
  // Every topic records its event type on the row (virtual payment's payloads have no event_type of their own).
  let eventType: string | null = row.event_type;
  try {
    eventType ??= (JSON.parse(row.payload_json) as { event_type?: string }).event_type ?? null;
  } catch {
    // A payload that is not JSON shows without an event type.
  }
  return {
    id: row.id,
    eventId: row.event_id,
    eventType,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    targetUrl: row.target_url,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    lastHttpStatus: row.last_http_status,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
    failedAt: row.failed_at,
    deliveryAttempts: attempts.map((attempt) => ({
      attemptNo: attempt.attempt_no,
      manual: attempt.manual === 1,
      startedAt: attempt.started_at,
      latencyMs: attempt.latency_ms,
      outcome: attempt.outcome,
      httpStatus: attempt.http_status,
      responseExcerpt: attempt.response_excerpt,
      error: attempt.error,
    })),
  };
}
