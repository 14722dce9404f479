import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes, withSerialId } from './column-types.ts';

/** The sandbox channel's own store (SPEC §4.3): its orders, refunds and the events it owes Paythrough. */
export function sandboxChannelMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sandbox_orders')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('appid', 'text', (c) => c.notNull())
        .addColumn('out_trade_no', 'text', (c) => c.notNull())
        .addColumn('prepay_id', 'text', (c) => c.notNull())
        .addColumn('cashier_token', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('attach', 'text')
        .addColumn('payer_openid', 'text', (c) => c.notNull())
        .addColumn('amount_total', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('expires_at', bigint, (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('channel_transaction_id', 'text')
        .addColumn('paid_at', bigint)
        .addColumn('closed_at', bigint)
        .addColumn('failure_reason', 'text')
        .addColumn('refund_reserved', bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addUniqueConstraint('sandbox_orders_merchant_out_trade_no', ['merchant_id', 'out_trade_no'])
        .addUniqueConstraint('sandbox_orders_prepay_id', ['prepay_id'])
        .addUniqueConstraint('sandbox_orders_cashier_token', ['cashier_token'])
        .addUniqueConstraint('sandbox_orders_channel_transaction_id', ['channel_transaction_id'])
        .addCheckConstraint('sandbox_orders_refund_within_total', sql`refund_reserved >= 0 and refund_reserved <= amount_total`)
        .execute();

      await db.schema
        .createTable('sandbox_refunds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('merchant_id', 'text', (c) => c.notNull())
        .addColumn('out_refund_no', 'text', (c) => c.notNull())
        .addColumn('order_id', 'text', (c) => c.notNull().references('sandbox_orders.id'))
        .addColumn('out_trade_no', 'text', (c) => c.notNull())
        .addColumn('amount_refund', bigint, (c) => c.notNull())
        .addColumn('amount_total', bigint, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('settle_at', bigint, (c) => c.notNull())
        .addColumn('settled_at', bigint)
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addUniqueConstraint('sandbox_refunds_merchant_out_refund_no', ['merchant_id', 'out_refund_no'])
        .addCheckConstraint('sandbox_refunds_amount_positive', sql`amount_refund > 0`)
        .execute();
      await db.schema.createIndex('sandbox_refunds_order').on('sandbox_refunds').column('order_id').execute();
      await db.schema.createIndex('sandbox_refunds_out_refund_no').on('sandbox_refunds').column('out_refund_no').execute();
      // The queue of refunds that complete by themselves.
      await db.schema
        .createIndex('sandbox_refunds_due')
        .on('sandbox_refunds')
        .column('settle_at')
        .where(sql.ref('state'), '=', 'PROCESSING')
        .execute();

      await withSerialId(kind, db.schema.createTable('sandbox_events'))
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('payload_json', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('delivered_at', bigint)
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', bigint)
        .addColumn('last_error', 'text')
        .execute();
      await db.schema
        .createIndex('sandbox_events_undelivered')
        .on('sandbox_events')
        .column('next_attempt_at')
        .where(sql.ref('delivered_at'), 'is', null)
        .execute();
    },
  };
}
