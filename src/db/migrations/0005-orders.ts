import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes, makeAppendOnly, withSerialId } from './column-types.ts';

/**
 * Orders, refunds, their state history and channel payments. Sized for 10 million orders:
 * integer keys, every record list served by an index that ends in (created_at, id) so pages are
 * keyset scans, and the jobs' work queues (auto-close, reconciler) as small partial indexes.
 */
export function ordersMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await withSerialId(kind, db.schema.createTable('orders'))
        .addColumn('prepay_id', 'text', (c) => c.notNull())
        .addColumn('transaction_id', 'text')
        .addColumn('mchid', 'text', (c) => c.notNull())
        .addColumn('out_trade_no', 'text', (c) => c.notNull())
        .addColumn('mnp_id', 'text', (c) => c.notNull())
        .addColumn('application_id', 'text', (c) => c.notNull())
        .addColumn('mini_program_team_id', 'text', (c) => c.notNull())
        .addColumn('superapp_team_id', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('attach', 'text')
        .addColumn('notify_url', 'text', (c) => c.notNull())
        .addColumn('amount_total', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('payer_openid', 'text', (c) => c.notNull())
        .addColumn('time_expire', bigint, (c) => c.notNull())
        .addColumn('client_platform', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('sandbox', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('trade_state', 'text', (c) => c.notNull())
        .addColumn('channel_kind', 'text', (c) => c.notNull())
        .addColumn('channel_order_id', 'text')
        .addColumn('channel_transaction_id', 'text')
        .addColumn('cashier_token', 'text')
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('refund_reserved', bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('refund_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('refund_succeeded', bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('anomaly_flags', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('pending_operation', 'text')
        .addColumn('reconcile_at', bigint)
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addColumn('success_time', bigint)
        .addColumn('closed_at', bigint)
        .addUniqueConstraint('orders_prepay_id_unique', ['prepay_id'])
        .addUniqueConstraint('orders_transaction_id_unique', ['transaction_id'])
        // Idempotency is a schema property (STYLE 9): one order per merchant order number.
        .addUniqueConstraint('orders_mchid_out_trade_no_unique', ['mchid', 'out_trade_no'])
        // The refund reservation can never exceed what was paid, whatever the code does.
        .addCheckConstraint(
          'orders_refund_within_total',
          sql`refund_reserved >= 0 and refund_reserved <= amount_total and refund_count >= 0`,
        )
        .addCheckConstraint('orders_amount_positive', sql`amount_total > 0`)
        .execute();
      await db.schema.createIndex('orders_mnp_created').on('orders').columns(['mnp_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('orders_application_created').on('orders').columns(['application_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('orders_mp_team_created').on('orders').columns(['mini_program_team_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('orders_created').on('orders').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('orders_out_trade_no').on('orders').column('out_trade_no').execute();
      await db.schema.createIndex('orders_success_time').on('orders').columns(['mnp_id', 'success_time']).execute();
      await db.schema.createIndex('orders_channel_order').on('orders').columns(['channel_kind', 'channel_order_id']).execute();
      // The auto-close queue: only unpaid orders, by expiry.
      await db.schema
        .createIndex('orders_wait_pay_expire')
        .on('orders')
        .column('time_expire')
        .where(sql.ref('trade_state'), '=', 'WAIT_PAY')
        .execute();
      await db.schema
        .createIndex('orders_reconcile')
        .on('orders')
        .column('reconcile_at')
        .where(sql.ref('reconcile_at'), 'is not', null)
        .execute();

      await withSerialId(kind, db.schema.createTable('refunds'))
        .addColumn('refund_id', 'text', (c) => c.notNull())
        .addColumn('mchid', 'text', (c) => c.notNull())
        .addColumn('out_refund_no', 'text', (c) => c.notNull())
        .addColumn('order_id', bigint, (c) => c.notNull().references('orders.id'))
        .addColumn('mnp_id', 'text', (c) => c.notNull())
        .addColumn('application_id', 'text', (c) => c.notNull())
        .addColumn('mini_program_team_id', 'text', (c) => c.notNull())
        .addColumn('superapp_team_id', 'text', (c) => c.notNull())
        .addColumn('sandbox', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('out_trade_no', 'text', (c) => c.notNull())
        .addColumn('transaction_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('channel_payment_id', bigint)
        .addColumn('amount_refund', bigint, (c) => c.notNull())
        .addColumn('amount_total', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('notify_url', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('channel_kind', 'text', (c) => c.notNull())
        .addColumn('channel_refund_id', 'text')
        .addColumn('user_received_account', 'text')
        .addColumn('reconcile_at', bigint)
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addColumn('success_time', bigint)
        .addUniqueConstraint('refunds_refund_id_unique', ['refund_id'])
        .addUniqueConstraint('refunds_mchid_out_refund_no_unique', ['mchid', 'out_refund_no'])
        .addCheckConstraint('refunds_amount_positive', sql`amount_refund > 0 and amount_refund <= amount_total`)
        .execute();
      await db.schema.createIndex('refunds_order').on('refunds').columns(['order_id', 'id']).execute();
      await db.schema.createIndex('refunds_mnp_created').on('refunds').columns(['mnp_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('refunds_application_created').on('refunds').columns(['application_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('refunds_mp_team_created').on('refunds').columns(['mini_program_team_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('refunds_created').on('refunds').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('refunds_out_trade_no').on('refunds').column('out_trade_no').execute();
      await db.schema.createIndex('refunds_transaction_id').on('refunds').column('transaction_id').execute();
      await db.schema.createIndex('refunds_out_refund_no').on('refunds').column('out_refund_no').execute();
      await db.schema.createIndex('refunds_success_time').on('refunds').columns(['mnp_id', 'success_time']).execute();
      await db.schema
        .createIndex('refunds_reconcile')
        .on('refunds')
        .column('reconcile_at')
        .where(sql.ref('reconcile_at'), 'is not', null)
        .execute();

      await withSerialId(kind, db.schema.createTable('payment_state_history'))
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('subject_id', bigint, (c) => c.notNull())
        .addColumn('from_state', 'text')
        .addColumn('to_state', 'text', (c) => c.notNull())
        .addColumn('at', bigint, (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('payment_state_history_subject')
        .on('payment_state_history')
        .columns(['subject', 'subject_id', 'id'])
        .execute();
      await makeAppendOnly(kind, db, 'payment_state_history');

      await withSerialId(kind, db.schema.createTable('channel_payments'))
        .addColumn('order_id', bigint, (c) => c.notNull().references('orders.id'))
        .addColumn('channel_kind', 'text', (c) => c.notNull())
        .addColumn('channel_transaction_id', 'text', (c) => c.notNull())
        .addColumn('amount', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('payer_openid', 'text')
        .addColumn('paid_at', bigint, (c) => c.notNull())
        .addColumn('reported_at', bigint, (c) => c.notNull())
        .addColumn('disposition', 'text', (c) => c.notNull())
        .addColumn('refund_id', bigint)
        // The same report twice is one payment.
        .addUniqueConstraint('channel_payments_order_transaction_unique', ['order_id', 'channel_transaction_id'])
        .execute();
    },
  };
}
