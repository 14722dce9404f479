import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The reconciler takes outcomes in doubt (`pending_operation` set) before routine checks of unpaid orders;
 * without this index a large backlog of due routine checks would be read on every pass to find them.
 */
export function reconcileInDoubtIndexMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('orders_reconcile_in_doubt')
        .on('orders')
        .column('reconcile_at')
        .where(sql.ref('pending_operation'), 'is not', null)
        .execute();
    },
  };
}
