import type { Kysely, Migration } from 'kysely';

/**
 * ABNORMAL refunds settled by hand (SPEC §7): the account of the superapp administrator who settled one, so a
 * later channel result that contradicts the settlement is recognised (recorded and flagged, never applied).
 */
export function manualRefundSettlementMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('refunds').addColumn('settled_by', 'text').execute();
    },
  };
}
