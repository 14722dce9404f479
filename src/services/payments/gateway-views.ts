import { tradeStateDescriptions, type TradeState } from '../../domain/order-state.ts';
import type { RefundStatus } from '../../domain/refund-state.ts';
import type { OrderRow } from '../../repositories/order.repository.ts';
import type { RefundRow } from '../../repositories/refund.repository.ts';
import { rfc3339In } from '../../domain/business-time.ts';

/** The v3 transaction object (query answers and TRANSACTION.SUCCESS resources). */
export interface V3Transaction {
  appid: string;
  /** As v3 clients read it. */
  mchid: string;
  /** As the platform's own query documentation names it (SPEC §4.1). */
  mch_id: string;
  out_trade_no: string;
  transaction_id?: string;
  trade_type?: 'JSAPI';
  trade_state: TradeState;
  trade_state_desc: string;
  bank_type?: string;
  attach: string;
  success_time?: string;
  payer: { openid: string };
  amount: { total: number; currency: string; payer_total?: number; payer_currency?: string };
  scene_info?: { device_id: string };
  promotion_detail: never[];
}

/** Fields that exist only once paid (transaction_id, success_time, payer_total...) appear only then. */
export function toV3Transaction(order: OrderRow, timeZone: string): V3Transaction {
  const paid = order.transaction_id !== null && order.success_time !== null;
  return {
    appid: order.mnp_id,
    mchid: order.mchid,
    mch_id: order.mchid,
    out_trade_no: order.out_trade_no,
    ...(paid ? { transaction_id: order.transaction_id!, trade_type: 'JSAPI' as const } : {}),
    trade_state: order.trade_state,
    trade_state_desc: tradeStateDescriptions[order.trade_state],
    ...(paid ? { bank_type: 'OTHERS', success_time: rfc3339In(order.success_time!, timeZone) } : {}),
    attach: order.attach ?? '',
    payer: { openid: order.payer_openid },
    amount: {
      total: order.amount_total,
      currency: order.currency,
      ...(paid ? { payer_total: order.amount_total, payer_currency: order.currency } : {}),
    },
    promotion_detail: [],
  };
}

/** The v3 refund object (refund create and query answers). */
export interface V3Refund {
  refund_id: string;
  out_refund_no: string;
  transaction_id: string;
  out_trade_no: string;
  channel: 'ORIGINAL';
  user_received_account: string;
  success_time?: string;
  create_time: string;
  status: RefundStatus;
  funds_account: 'AVAILABLE';
  amount: {
    total: number;
    refund: number;
    from: never[];
    payer_total: number;
    payer_refund: number;
    settlement_refund: number;
    settlement_total: number;
    discount_refund: number;
    currency: string;
  };
  promotion_detail: never[];
}

export function toV3Refund(refund: RefundRow, timeZone: string): V3Refund {
  return {
    refund_id: refund.refund_id,
    out_refund_no: refund.out_refund_no,
    transaction_id: refund.transaction_id,
    out_trade_no: refund.out_trade_no,
    channel: 'ORIGINAL',
    user_received_account: refund.user_received_account ?? 'Original payment method',
    ...(refund.success_time !== null ? { success_time: rfc3339In(refund.success_time, timeZone) } : {}),
    create_time: rfc3339In(refund.created_at, timeZone),
    status: refund.status,
    funds_account: 'AVAILABLE',
    amount: {
      total: refund.amount_total,
      refund: refund.amount_refund,
      from: [],
      payer_total: refund.amount_total,
      payer_refund: refund.amount_refund,
      settlement_refund: refund.amount_refund,
      settlement_total: refund.amount_total,
      discount_refund: 0,
      currency: refund.currency,
    },
    promotion_detail: [],
  };
}

/** The decrypted resource of a REFUND.* notification (reference §6). */
export function toV3RefundNotice(refund: RefundRow, timeZone: string) {
  return {
    mchid: refund.mchid,
    transaction_id: refund.transaction_id,
    out_trade_no: refund.out_trade_no,
    refund_id: refund.refund_id,
    out_refund_no: refund.out_refund_no,
    refund_status: refund.status,
    ...(refund.success_time !== null ? { success_time: rfc3339In(refund.success_time, timeZone) } : {}),
    user_received_account: refund.user_received_account ?? 'Original payment method',
    amount: {
      total: refund.amount_total,
      refund: refund.amount_refund,
      payer_total: refund.amount_total,
      payer_refund: refund.amount_refund,
    },
  };
}
