import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { rebuildSqliteTable, replaceInDefinition } from './sqlite-table-rebuild.ts';

interface UniqueChange {
  table: string;
  from: { name: string; columns: string[] };
  to: { name: string; columns: string[] };
}

const quoted = (columns: string[]) => columns.map((column) => `"${column}"`).join(', ');

/**
 * Merchant IDs are each superapp's own (SPEC §7 "Credential scope"): order and refund numbers are unique per
 * (superapp, mchid), and so are the sandbox channel's, which serves every sandbox superapp of a deployment.
 */
const uniqueChanges: UniqueChange[] = [
  {
    table: 'orders',
    from: { name: 'orders_mchid_out_trade_no_unique', columns: ['mchid', 'out_trade_no'] },
    to: { name: 'orders_application_mchid_out_trade_no_unique', columns: ['application_id', 'mchid', 'out_trade_no'] },
  },
  {
    table: 'refunds',
    from: { name: 'refunds_mchid_out_refund_no_unique', columns: ['mchid', 'out_refund_no'] },
    to: { name: 'refunds_application_mchid_out_refund_no_unique', columns: ['application_id', 'mchid', 'out_refund_no'] },
  },
  {
    table: 'sandbox_orders',
    from: { name: 'sandbox_orders_merchant_out_trade_no', columns: ['merchant_id', 'out_trade_no'] },
    to: { name: 'sandbox_orders_superapp_merchant_out_trade_no', columns: ['superapp_id', 'merchant_id', 'out_trade_no'] },
  },
  {
    table: 'sandbox_refunds',
    from: { name: 'sandbox_refunds_merchant_out_refund_no', columns: ['merchant_id', 'out_refund_no'] },
    to: { name: 'sandbox_refunds_superapp_merchant_out_refund_no', columns: ['superapp_id', 'merchant_id', 'out_refund_no'] },
  },
];

export function merchantKeysPerSuperappMigration(kind: DatabaseKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // The sandbox serves every sandbox superapp of a deployment: its records say whose they are ('' when it
      // runs on its own as one superapp's channel). Existing ones are their Paythrough order's superapp's.
      for (const table of ['sandbox_orders', 'sandbox_refunds', 'sandbox_events']) {
        await db.schema
          .alterTable(table)
          .addColumn('superapp_id', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
      }
      await sql`update sandbox_orders set superapp_id = coalesce(
        (select orders.application_id from orders where orders.prepay_id = sandbox_orders.prepay_id), '')`.execute(db);
      await sql`update sandbox_refunds set superapp_id = (
        select sandbox_orders.superapp_id from sandbox_orders where sandbox_orders.id = sandbox_refunds.order_id)`.execute(db);

      for (const change of uniqueChanges) {
        if (kind === 'postgres') {
          await sql
            .raw(
              `ALTER TABLE ${change.table} DROP CONSTRAINT ${change.from.name}, ` +
                `ADD CONSTRAINT ${change.to.name} UNIQUE (${change.to.columns.join(', ')})`,
            )
            .execute(db);
        } else {
          await rebuildSqliteTable(db, change.table, (definition) =>
            replaceInDefinition(
              definition,
              `constraint "${change.from.name}" unique (${quoted(change.from.columns)})`,
              `constraint "${change.to.name}" unique (${quoted(change.to.columns)})`,
            ),
          );
        }
      }

      // A host refund webhook's event id names its superapp too, so two superapps' refunds never share one.
      await sql`update outbox set event_id = (
          select 'host-refund:' || refunds.application_id || ':' || refunds.mchid || ':' || refunds.out_refund_no
          from refunds where cast(refunds.id as text) = outbox.subject_id)
        where topic = 'host_refund_webhook' and subject_type = 'refund'`.execute(db);
    },
  };
}
