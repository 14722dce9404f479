import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { rebuildSqliteTable, replaceInDefinition } from './sqlite-table-rebuild.ts';

/**
 * A host report without a `transaction_id` is recorded with no channel transaction id (SPEC §7, §9.3: matched
 * by merchant and out_trade_no), instead of an invented `HOST-<prepay_id>`; the invented ones become NULL.
 */
export function hostPaymentsWithoutTransactionIdMigration(kind: DatabaseKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (kind === 'postgres') {
        await db.schema
          .alterTable('channel_payments')
          .alterColumn('channel_transaction_id', (c) => c.dropNotNull())
          .execute();
        await forgetInventedIds(db);
        return;
      }
      // SQLite cannot drop NOT NULL in place: the table is rebuilt, the invented ids forgotten in the same transaction.
      await rebuildSqliteTable(
        db,
        'channel_payments',
        (definition) => replaceInDefinition(definition, '"channel_transaction_id" text not null', '"channel_transaction_id" text'),
        forgetInventedIds,
      );
    },
  };
}

async function forgetInventedIds(db: Kysely<unknown>): Promise<void> {
  await sql`update channel_payments set channel_transaction_id = null
    where channel_kind = 'host_reported'
      and channel_transaction_id = 'HOST-' || (select prepay_id from orders where orders.id = channel_payments.order_id)`.execute(db);
  await sql`update orders set channel_transaction_id = null
    where channel_kind = 'host_reported' and channel_transaction_id = 'HOST-' || prepay_id`.execute(db);
}
