import type { Generated } from 'kysely';

// Daily reconciliation (SPEC §9, migration 0024): one run per (superapp, business day, channel connection), the
// statement lines it read (kept 7 days), and the exceptions matching found (kept with the run for ever).
// Times are ms since the epoch (UTC); money is an integer in the currency's minor unit.

export type ReconciliationStatus = 'PENDING' | 'RUNNING' | 'DONE' | 'RETRYING' | 'FAILED' | 'NO_STATEMENT';

export interface ReconciliationRunTable {
  id: Generated<number>;
  application_id: string;
  /** `YYYY-MM-DD` in PAYTHROUGH_TIMEZONE. */
  bill_date: string;
  channel_connection_id: number;
  status: ReconciliationStatus;
  /** The statement being read; a new one mid-read restarts the read. */
  statement_id: string | null;
  /** Where the next page starts; null before the first page and after the last. */
  next_cursor: string | null;
  /** True once the last page is stored. */
  fetched: number;
  pages: number;
  attempts: number;
  /** How many times the run's lines were matched (each re-run once more). */
  match_passes: number;
  /** The instance holding the run and until when; another takes it over once the lease lapses. */
  lease_owner: string | null;
  lease_until: number | null;
  next_attempt_at: number;
  /** When the statement was first asked for: the give-up time counts from here. */
  first_attempt_at: number | null;
  last_error: string | null;
  /** The channel's summary, as JSON with sums as decimal strings. */
  summary_json: string | null;
  /** The §9.4 report (totals per currency and side, counts per outcome) once DONE, as JSON. */
  report_json: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export type StatementLineType = 'PAYMENT' | 'REFUND';

export interface ReconciliationLineTable {
  id: Generated<number>;
  run_id: number;
  /** Order within the statement (page and place), so a crash resumes without reading a page twice. */
  seq: number;
  line_type: StatementLineType;
  merchant_id: string;
  out_trade_no: string;
  channel_transaction_id: string | null;
  out_refund_no: string | null;
  channel_refund_id: string | null;
  amount: number;
  total: number;
  currency: string;
  state: string;
  time: number;
}

export type ReconciliationExceptionKind =
  'MISSING_AT_PAYTHROUGH' | 'MISSING_AT_CHANNEL' | 'AMOUNT_MISMATCH' | 'STATE_MISMATCH' | 'TIME_DRIFT' | 'DUPLICATE_LINE';
export type ReconciliationExceptionStatus = 'OPEN' | 'RESOLVED' | 'AUTO_RESOLVED';

export interface ReconciliationExceptionTable {
  id: Generated<number>;
  run_id: number;
  application_id: string;
  bill_date: string;
  /** Names the item across re-runs: one exception per (superapp, day, item). */
  item_key: string;
  kind: ReconciliationExceptionKind;
  status: ReconciliationExceptionStatus;
  /** What Paythrough did about it (AUTO_RESOLVED), or null. */
  action: string | null;
  mnp_id: string | null;
  mchid: string;
  out_trade_no: string;
  transaction_id: string | null;
  out_refund_no: string | null;
  refund_id: string | null;
  currency: string | null;
  our_amount: number | null;
  channel_amount: number | null;
  our_state: string | null;
  channel_state: string | null;
  our_time: number | null;
  channel_time: number | null;
  /** A user id, or `system`. */
  resolved_by: string | null;
  resolved_at: number | null;
  resolution_note: string | null;
  /** The run's matching pass that last found it: an OPEN one a later pass no longer finds is resolved as absent. */
  last_seen_pass: number;
  created_at: number;
  updated_at: number;
}

export interface ReconciliationTables {
  reconciliation_runs: ReconciliationRunTable;
  reconciliation_lines: ReconciliationLineTable;
  reconciliation_exceptions: ReconciliationExceptionTable;
}

declare module './schema.ts' {
  // Adds the reconciliation tables to the one Database interface (declaration merging keeps schema.ts untouched).
  interface Database extends ReconciliationTables {}
}
