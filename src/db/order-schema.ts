import type { Generated } from 'kysely';
import type { TradeState } from '../domain/order-state.ts';
import type { RefundStatus } from '../domain/refund-state.ts';

export type { RefundStatus, TradeState };

// Orders, refunds, their state history and the payments channels report (SPEC §4.1, §7); migration 0005.
// Times are ms since the epoch (UTC); money is an integer in the currency's minor unit.

/** Why a refund exists: the merchant asked, or Paythrough returns money it must not keep (SPEC §4.5). */
export type RefundKind = 'merchant' | 'late_payment' | 'duplicate_payment';
/** What became of a payment a channel or host reported. */
export type PaymentDisposition = 'applied' | 'late_payment_refunded' | 'duplicate_refunded' | 'mismatch_refused';
/** A channel call whose outcome is not known yet; the reconciler settles it by querying the channel. */
export type PendingChannelOperation = 'create' | 'close' | 'expire';

/**
 * Bits of `orders.anomaly_flags`: shown in the console, never cleared. `RefundMismatch`: a channel or host
 * reported one of the order's refunds with another amount or currency (not applied; see the refund).
 */
export const OrderAnomaly = { LatePayment: 1, DuplicatePayment: 2, MismatchRefused: 4, RefundMismatch: 8, TimeDrift: 16 } as const;

export interface OrderTable {
  id: Generated<number>;
  prepay_id: string;
  /** Minted by Paythrough when the order is paid: digits, 30 long. */
  transaction_id: string | null;
  mchid: string;
  out_trade_no: string;
  /** The appid. */
  mnp_id: string;
  // Denormalised owners, so record lists filter by visibility without joins (SPEC §7 "Records at scale").
  application_id: string;
  mini_program_team_id: string;
  superapp_team_id: string;
  description: string;
  attach: string | null;
  notify_url: string;
  amount_total: number;
  currency: string;
  payer_openid: string;
  time_expire: number;
  /** 0 unknown, 2 Android, 3 iOS (scene_info or the host's report). */
  client_platform: number;
  /** 1 for orders of a superapp on the sandbox channel. */
  sandbox: number;
  trade_state: TradeState;
  channel_kind: string;
  /** The channel connection it was created under (SPEC §7); null only in rows written outside the services. Migration 0020. */
  channel_connection_id: number | null;
  channel_order_id: string | null;
  channel_transaction_id: string | null;
  cashier_token: string | null;
  /** SHA-256 of the fields a repeated prepay must match (SPEC §7). */
  fingerprint: string;
  /** PROCESSING + SUCCESS + ABNORMAL refunds of the paid amount (duplicate-payment refunds excluded). */
  refund_reserved: number;
  refund_count: number;
  refund_succeeded: number;
  anomaly_flags: number;
  pending_operation: PendingChannelOperation | null;
  /** When the reconciler should look at this order next; null when nothing is unknown. */
  reconcile_at: number | null;
  created_at: number;
  updated_at: number;
  success_time: number | null;
  /** When Paythrough learned of the success (success_time is the channel's time when it reported one). */
  success_learned_at: number | null;
  closed_at: number | null;
  /** 1 when the channel refused to create the order: closed, not counted, and its out_trade_no may be used again. */
  channel_refused: Generated<number>;
  // Virtual payment (SPEC §8.3, migration 0026): payment_type 2; the columns below are null on standard orders.
  /** 1 standard (WeChat Pay v3), 2 virtual payment. */
  payment_type: Generated<PaymentType>;
  /** `wx` + 30 digits; also the order's prepay_id. */
  wx_order_id: string | null;
  product_id: string | null;
  quantity: number | null;
  zone_id: string | null;
  /** goodsPrice × quantity; `amount_total` is the paid_fee. */
  order_fee: number | null;
  /** SHA-256 (hex) of the exact signData. */
  sign_data_digest: string | null;
  /** 1 when the host said it checked `signature` with the session key. */
  session_verified: number | null;
  delivery_status: DeliveryStatus | null;
  delivered_at: number | null;
}

/** SPEC §8.1 `PaymentType`: 1 standard, 2 virtual. */
export type PaymentType = 1 | 2;
export const PaymentTypes = { Standard: 1, Virtual: 2 } as const;
/** A virtual order's delivery notification: queued (no answer yet), delivering (an attempt went unacknowledged), delivered. */
export type DeliveryStatus = 'queued' | 'delivering' | 'delivered';

export interface RefundTable {
  id: Generated<number>;
  refund_id: string;
  mchid: string;
  out_refund_no: string;
  order_id: number;
  mnp_id: string;
  application_id: string;
  mini_program_team_id: string;
  superapp_team_id: string;
  sandbox: number;
  out_trade_no: string;
  transaction_id: string;
  kind: RefundKind;
  /** For late and duplicate payment refunds: the channel payment returned. */
  channel_payment_id: number | null;
  amount_refund: number;
  /** The paid amount the refund is taken from. */
  amount_total: number;
  currency: string;
  reason: string | null;
  notify_url: string | null;
  status: RefundStatus;
  channel_kind: string;
  /** Its order's channel connection (SPEC §7). Migration 0020. */
  channel_connection_id: number | null;
  channel_refund_id: string | null;
  user_received_account: string | null;
  /** When the reconciler should ask the channel about this refund next; null once final. */
  reconcile_at: number | null;
  created_at: number;
  updated_at: number;
  success_time: number | null;
  /** When Paythrough learned of the success (success_time is the channel's time when it reported one). */
  success_learned_at: number | null;
  /** The account that settled this ABNORMAL refund by hand (SPEC §7); null when the channel's result settled it. Migration 0018. */
  settled_by: string | null;
  /** 1 standard, 2 virtual (migration 0026). */
  payment_type: Generated<PaymentType>;
  /** SHA-256 of a virtual refund_order's fields: a repeat of its refund_order_id must match (SPEC §8.5). */
  request_fingerprint: string | null;
  biz_meta: string | null;
}

/** Every persisted transition of an order or a refund (append-only). */
export interface PaymentStateHistoryTable {
  id: Generated<number>;
  subject: 'order' | 'refund';
  subject_id: number;
  from_state: string | null;
  to_state: string;
  at: number;
  reason: string;
}

/** Every payment a channel or a host reported for an order, and what Paythrough did with it. */
export interface ChannelPaymentTable {
  id: Generated<number>;
  order_id: number;
  channel_kind: string;
  /** The channel's id of the payment; null for a host report without a `transaction_id` (SPEC §9.3). */
  channel_transaction_id: string | null;
  amount: number;
  currency: string;
  payer_openid: string | null;
  paid_at: number;
  reported_at: number;
  disposition: PaymentDisposition;
  /** The refund started for a late or duplicate payment. */
  refund_id: number | null;
}

export interface OrderTables {
  orders: OrderTable;
  refunds: RefundTable;
  payment_state_history: PaymentStateHistoryTable;
  channel_payments: ChannelPaymentTable;
}

declare module './schema.ts' {
  // Adds the order tables to the one Database interface (declaration merging keeps schema.ts untouched).
  interface Database extends OrderTables {}
}
