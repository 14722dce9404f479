import type { Kysely, Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes } from './column-types.ts';

/**
 * Password attempts back off per (account or user, address) with growing delays (SPEC §7 "Roles"): each key
 * keeps its failures and when the next attempt may come, in the database so every instance shares them.
 */
export function backoffCountersMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('backoff_counters')
        .addColumn('counter_key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('backoff_counters_updated').on('backoff_counters').column('updated_at').execute();
    },
  };
}
