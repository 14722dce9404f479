import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes } from './column-types.ts';

/**
 * Whose time (SPEC §7): `success_time` of a payment or refund becomes the channel's when it reports one, so
 * the time Paythrough learned it is kept beside it (rows already there learned it at their success time).
 * A superapp's business day is read by those times (daily reconciliation, SPEC §9.6).
 */
export function channelTimesMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      for (const table of ['orders', 'refunds']) {
        await db.schema.alterTable(table).addColumn('success_learned_at', bigint).execute();
        await sql`update ${sql.table(table)} set success_learned_at = success_time where success_time is not null`.execute(db);
      }
      await db.schema.createIndex('orders_application_success').on('orders').columns(['application_id', 'success_time']).execute();
      await db.schema.createIndex('refunds_application_success').on('refunds').columns(['application_id', 'success_time']).execute();
    },
  };
}
