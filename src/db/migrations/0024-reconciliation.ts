import type { Kysely, Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes, withSerialId } from './column-types.ts';

/**
 * Daily reconciliation (SPEC §9): runs per (superapp, business day, channel connection), the statement lines a run
 * read, and the exceptions matching found; indexes that read a superapp's day by the channel's times (§9.6).
 */
export function reconciliationMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await withSerialId(kind, db.schema.createTable('reconciliation_runs'))
        .addColumn('application_id', 'text', (c) => c.notNull())
        .addColumn('bill_date', 'text', (c) => c.notNull())
        .addColumn('channel_connection_id', bigint, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('statement_id', 'text')
        .addColumn('next_cursor', 'text')
        .addColumn('fetched', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('pages', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('match_passes', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', bigint)
        .addColumn('next_attempt_at', bigint, (c) => c.notNull())
        .addColumn('first_attempt_at', bigint)
        .addColumn('last_error', 'text')
        .addColumn('summary_json', 'text')
        .addColumn('report_json', 'text')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addColumn('finished_at', bigint)
        .addUniqueConstraint('reconciliation_runs_day_connection', ['application_id', 'bill_date', 'channel_connection_id'])
        .execute();
      await db.schema.createIndex('reconciliation_runs_due').on('reconciliation_runs').columns(['status', 'next_attempt_at']).execute();
      await db.schema
        .createIndex('reconciliation_runs_by_day')
        .on('reconciliation_runs')
        .columns(['application_id', 'bill_date'])
        .execute();

      await withSerialId(kind, db.schema.createTable('reconciliation_lines'))
        .addColumn('run_id', bigint, (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('line_type', 'text', (c) => c.notNull())
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('out_trade_no', 'text', (c) => c.notNull())
        .addColumn('channel_transaction_id', 'text')
        .addColumn('out_refund_no', 'text')
        .addColumn('channel_refund_id', 'text')
        .addColumn('amount', bigint, (c) => c.notNull())
        .addColumn('total', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('time', bigint, (c) => c.notNull())
        // A page is stored once: a crash between pages resumes at the cursor without doubling a line.
        .addUniqueConstraint('reconciliation_lines_run_seq', ['run_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('reconciliation_lines_payment_key')
        .on('reconciliation_lines')
        .columns(['run_id', 'line_type', 'merchant_id', 'out_trade_no'])
        .execute();
      await db.schema
        .createIndex('reconciliation_lines_refund_key')
        .on('reconciliation_lines')
        .columns(['run_id', 'line_type', 'merchant_id', 'out_refund_no'])
        .execute();

      await withSerialId(kind, db.schema.createTable('reconciliation_exceptions'))
        .addColumn('run_id', bigint, (c) => c.notNull())
        .addColumn('application_id', 'text', (c) => c.notNull())
        .addColumn('bill_date', 'text', (c) => c.notNull())
        .addColumn('item_key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('action', 'text')
        .addColumn('mnp_id', 'text')
        .addColumn('mchid', 'text', (c) => c.notNull())
        .addColumn('out_trade_no', 'text', (c) => c.notNull())
        .addColumn('transaction_id', 'text')
        .addColumn('out_refund_no', 'text')
        .addColumn('refund_id', 'text')
        .addColumn('currency', 'text')
        .addColumn('our_amount', bigint)
        .addColumn('channel_amount', bigint)
        .addColumn('our_state', 'text')
        .addColumn('channel_state', 'text')
        .addColumn('our_time', bigint)
        .addColumn('channel_time', bigint)
        .addColumn('resolved_by', 'text')
        .addColumn('resolved_at', bigint)
        .addColumn('resolution_note', 'text')
        .addColumn('last_seen_pass', 'integer', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addUniqueConstraint('reconciliation_exceptions_item', ['application_id', 'bill_date', 'item_key'])
        .execute();
      await db.schema
        .createIndex('reconciliation_exceptions_open')
        .on('reconciliation_exceptions')
        .columns(['application_id', 'status', 'bill_date'])
        .execute();
      await db.schema.createIndex('reconciliation_exceptions_run').on('reconciliation_exceptions').column('run_id').execute();

      // A superapp's day read by the channel's times (SPEC §9.6): payments by when the channel was paid.
      await db.schema.createIndex('channel_payments_paid').on('channel_payments').columns(['paid_at', 'order_id']).execute();
    },
  };
}
