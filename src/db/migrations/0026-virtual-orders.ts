import { type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes } from './column-types.ts';

/**
 * Virtual orders and refunds (SPEC §8.3) are rows of `orders` and `refunds` with `payment_type` 2 (1, the
 * default, for every standard row): they share the trade-state machine, the reconciler, auto-close, late and
 * duplicate payments and the refund machinery, and `out_trade_no` / `out_refund_no` stay unique per merchant
 * across both kinds. The virtual columns are null on standard rows.
 */
export function virtualOrdersMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      const orderColumns: [string, 'text' | 'integer' | 'bigint'][] = [
        ['wx_order_id', 'text'],
        ['product_id', 'text'],
        ['quantity', 'integer'],
        ['zone_id', 'text'],
        ['order_fee', bigint],
        // SHA-256 of the exact signData: the same signData answers the same order.
        ['sign_data_digest', 'text'],
        ['session_verified', 'integer'],
        // Kept apart from the trade state (SPEC §8.3): null (nothing to deliver), queued, delivering, delivered.
        ['delivery_status', 'text'],
        ['delivered_at', bigint],
      ];
      await db.schema
        .alterTable('orders')
        .addColumn('payment_type', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      for (const [name, type] of orderColumns) await db.schema.alterTable('orders').addColumn(name, type).execute();
      // Null on standard rows; several nulls never collide in a unique index on either database.
      await db.schema.createIndex('orders_wx_order_id_unique').on('orders').column('wx_order_id').unique().execute();

      await db.schema
        .alterTable('refunds')
        .addColumn('payment_type', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      // refund_order's fields (SPEC §8.5): a repeat of the refund_order_id must carry the same ones.
      await db.schema.alterTable('refunds').addColumn('request_fingerprint', 'text').execute();
      await db.schema.alterTable('refunds').addColumn('biz_meta', 'text').execute();
    },
  };
}
