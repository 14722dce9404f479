import type { Kysely, Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes, withSerialId } from './column-types.ts';

/**
 * The sandbox channel's statement of a day (SPEC §9.1): a superapp's payments by paid time and refunds by settle
 * time, read in keyset order; and the faults that bend what it serves, per superapp and business day. A fault names
 * an order or a refund; the other number is '' (not NULL, so the unique key makes adding a fault idempotent).
 */
export function sandboxStatementFaultsMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('sandbox_orders_by_paid_time').on('sandbox_orders').columns(['superapp_id', 'paid_at', 'id']).execute();
      await db.schema
        .createIndex('sandbox_refunds_by_settle_time')
        .on('sandbox_refunds')
        .columns(['superapp_id', 'settled_at', 'id'])
        .execute();

      await withSerialId(kind, db.schema.createTable('sandbox_statement_faults'))
        .addColumn('superapp_id', 'text', (c) => c.notNull())
        .addColumn('bill_date', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('out_trade_no', 'text', (c) => c.notNull())
        .addColumn('out_refund_no', 'text', (c) => c.notNull())
        // The merchant of an extra payment line for an order the sandbox does not have.
        .addColumn('merchant_id', 'text')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addUniqueConstraint('sandbox_statement_faults_key', ['superapp_id', 'bill_date', 'kind', 'out_trade_no', 'out_refund_no'])
        .execute();
    },
  };
}
