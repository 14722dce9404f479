import type { Generated } from 'kysely';

// Tables of the gateway's building blocks: the sandbox channel's own store (migration 0003), the outbox
// with its delivery log and the replay-nonce store (migration 0004).
// Times are ms since the epoch (UTC); money is an integer in the currency's minor unit.

export type SandboxOrderState = 'WAIT_PAY' | 'SUCCESS' | 'CLOSED' | 'PAY_ERROR';
export type SandboxRefundState = 'PROCESSING' | 'SUCCESS' | 'CLOSED' | 'ABNORMAL';

/** An order as the sandbox channel knows it (the channel's view, not Paythrough's). */
export interface SandboxOrderTable {
  /** The channel order id. */
  id: string;
  /** The sandbox superapp this record is of; '' when the sandbox runs on its own as one superapp's channel. */
  superapp_id: string;
  merchant_id: string;
  appid: string;
  out_trade_no: string;
  /** Paythrough's prepay_id: the host's requestPayment carries it, so the cashier is found by it. */
  prepay_id: string;
  cashier_token: string;
  description: string;
  attach: string | null;
  payer_openid: string;
  amount_total: number;
  currency: string;
  expires_at: number;
  state: SandboxOrderState;
  channel_transaction_id: string | null;
  paid_at: number | null;
  closed_at: number | null;
  failure_reason: string | null;
  /** PROCESSING + SUCCESS + ABNORMAL refunds; never above amount_total (check constraint). */
  refund_reserved: number;
  /** SHA-256 of the create parameters, so a repeated create with other parameters is refused. */
  fingerprint: string;
  created_at: number;
  updated_at: number;
}

export interface SandboxRefundTable {
  /** The channel refund id. */
  id: string;
  /** The sandbox superapp this record is of; '' when the sandbox runs on its own as one superapp's channel. */
  superapp_id: string;
  merchant_id: string;
  out_refund_no: string;
  order_id: string;
  out_trade_no: string;
  amount_refund: number;
  amount_total: number;
  currency: string;
  reason: string | null;
  state: SandboxRefundState;
  /** When a PROCESSING refund completes by itself (created_at + the configured delay). */
  settle_at: number;
  settled_at: number | null;
  created_at: number;
  updated_at: number;
}

export type SandboxStatementFaultKind = 'drop' | 'amount' | 'currency' | 'state' | 'time' | 'extra' | 'duplicate';

/** What the sandbox bends in the statement it serves of one superapp's day (SPEC §9.1), for demo and tests. */
export interface SandboxStatementFaultTable {
  id: Generated<number>;
  /** '' when the sandbox runs on its own as one superapp's channel. */
  superapp_id: string;
  /** `YYYY-MM-DD`, as the statement is asked for. */
  bill_date: string;
  kind: SandboxStatementFaultKind;
  /** The order whose payment line is bent ('' when the fault names a refund). */
  out_trade_no: string;
  /** The refund whose line is bent ('' when the fault names an order). */
  out_refund_no: string;
  /** The merchant of an extra payment line for an order the sandbox does not have. */
  merchant_id: string | null;
  created_at: number;
}

/** Channel → Paythrough events, kept until the sink accepted them (the channel's own outbox). */
export interface SandboxEventTable {
  id: Generated<number>;
  /** Whose record the event speaks about: the sink is told so ('' when the sandbox runs on its own). */
  superapp_id: string;
  event_id: string;
  event_type: string;
  payload_json: string;
  created_at: number;
  delivered_at: number | null;
  attempts: number;
  /** Null once delivered. */
  next_attempt_at: number | null;
  last_error: string | null;
}

export type OutboxStatus = 'pending' | 'delivered' | 'failed';

/** Work that must leave after a commit: written in the same transaction as the state change. */
export interface OutboxTable {
  id: Generated<number>;
  /** Unique id of the event (a notification's `id`). */
  event_id: string;
  /** Which handler delivers it, e.g. `merchant_notification`. */
  topic: string;
  /** `TRANSACTION.SUCCESS`, `REFUND.*`, `refund.requested` (a host's refund webhook): the delivery log filters on it (migration 0013). */
  event_type: string | null;
  payload_json: string;
  target_url: string | null;
  /** 1 when the target's superapp uses the sandbox channel: plain http and loopback are allowed while the sandbox is on. */
  sandbox: number;
  /** What the event is about, for the console's order / refund details. */
  subject_type: string | null;
  subject_id: string | null;
  // Owners, so the delivery log filters by visibility without joins.
  mnp_id: string | null;
  application_id: string | null;
  mini_program_team_id: string | null;
  superapp_team_id: string | null;
  status: OutboxStatus;
  /** Attempts over the event's life (manual resends included). */
  attempts: number;
  /** Attempts in the current round: drives the retry schedule; a manual resend starts a new round. */
  round_attempts: number;
  /** When the next attempt is due; null once delivered or failed. */
  next_attempt_at: number | null;
  claimed_by: string | null;
  /** Random per claim: completing requires the same token, so an expired claim cannot overwrite a newer one. */
  claim_token: string | null;
  claim_expires_at: number | null;
  /** 1 while the current round was started by a console user. */
  manual: number;
  last_error: string | null;
  last_http_status: number | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
  failed_at: number | null;
}

export type DeliveryOutcome = 'delivered' | 'failed';

/** One row per delivery attempt, whatever its outcome. */
export interface DeliveryAttemptTable {
  id: Generated<number>;
  outbox_id: number;
  /** 1-based over the event's life. */
  attempt_no: number;
  manual: number;
  target_url: string | null;
  started_at: number;
  latency_ms: number;
  outcome: DeliveryOutcome;
  http_status: number | null;
  /** The first 1 KB of the answer. */
  response_excerpt: string | null;
  error: string | null;
  worker: string;
}

/** Nonces seen inside the signature window, shared by every instance (SPEC §7). */
export interface ReplayNonceTable {
  scope: string;
  nonce: string;
  seen_at: number;
  /** After this the nonce's timestamp is outside the window anyway, and the row may go. */
  expires_at: number;
}

export interface GatewayTables {
  sandbox_orders: SandboxOrderTable;
  sandbox_refunds: SandboxRefundTable;
  sandbox_events: SandboxEventTable;
  sandbox_statement_faults: SandboxStatementFaultTable;
  outbox: OutboxTable;
  delivery_attempts: DeliveryAttemptTable;
  replay_nonces: ReplayNonceTable;
}

declare module './schema.ts' {
  // Adds these tables to the one Database interface (declaration merging keeps schema.ts untouched).
  interface Database extends GatewayTables {}
}
