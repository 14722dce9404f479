import type { Generated } from 'kysely';

// Tables of the record pages: export jobs, the daily payment figures and their change queue;
// migration 0010. Times are ms since the epoch (UTC); money is an integer in the currency's minor unit.

export type ExportKind = 'orders' | 'refunds';
export type ExportFormat = 'csv' | 'xlsx';
export type ExportStatus = 'queued' | 'running' | 'done' | 'failed' | 'expired';

/** One export of a record list: what the filter matched when asked, written to a file its owner downloads. */
export interface ExportJobTable {
  id: string;
  /** The user who asked: the only one who may see or download it. */
  user_id: string;
  kind: ExportKind;
  format: ExportFormat;
  /** The validated filter, as the record service takes it. */
  filter_json: string;
  status: ExportStatus;
  /** Rows the filter matched when the job started; null before. */
  total_rows: number | null;
  rows_written: number;
  /** 0–100. */
  progress: number;
  /** The name the download offers. */
  file_name: string;
  /** Relative to the exports folder; null until the file is complete. */
  file_path: string | null;
  file_size: number | null;
  error: string | null;
  claimed_by: string | null;
  /** Random per claim: progress and completion require it, so an expired claim cannot overwrite a newer one. */
  claim_token: string | null;
  claim_expires_at: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /**
   * After this the file is purged and the job shows as expired
   * (PAYTHROUGH_EXPORT_RETENTION_HOURS, 24 by default, after it was asked for).
   */
  expires_at: number;
}

/**
 * Payment data per mini program, business day (PAYTHROUGH_TIMEZONE), currency, sandbox flag and client
 * platform, counted by order creation day (SPEC §7). Kept by adding the changes the triggers on `orders` write;
 * distinct users are not kept here, since they cannot be summed over days.
 */
export interface PaymentDailyStatsTable {
  mnp_id: string;
  /** `YYYY-MM-DD` in the business time zone. */
  business_day: string;
  currency: string;
  sandbox: number;
  client_platform: number;
  /** 1 standard, 2 virtual payment (migration 0028). */
  payment_type: number;
  application_id: string;
  mini_program_team_id: string;
  order_count: number;
  paid_count: number;
  refund_order_count: number;
  total_amount: number;
  paid_amount: number;
  refund_amount: number;
  updated_at: number;
}

/**
 * One order's change to its day's figures, signed (an order moving to another day or currency is a minus row and a
 * plus row), written by triggers on `orders` (migration 0028) and added to `payment_daily_stats` by the stats refresh.
 */
export interface PaymentStatsChangeTable {
  id: Generated<number>;
  mnp_id: string;
  /** The order's creation time: names the business day the change counts on. */
  created_at: number;
  currency: string;
  sandbox: number;
  client_platform: number;
  payment_type: number;
  application_id: string;
  mini_program_team_id: string;
  order_count: number;
  paid_count: number;
  refund_order_count: number;
  total_amount: number;
  paid_amount: number;
  refund_amount: number;
}

export interface RecordTables {
  export_jobs: ExportJobTable;
  payment_daily_stats: PaymentDailyStatsTable;
  payment_stats_changes: PaymentStatsChangeTable;
}

declare module './schema.ts' {
  // Adds these tables to the one Database interface (declaration merging keeps schema.ts untouched).
  interface Database extends RecordTables {}
}
