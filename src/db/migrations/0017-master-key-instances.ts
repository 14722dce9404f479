import type { Kysely, Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes } from './column-types.ts';

/**
 * Each running instance reports the master key ids it holds and seals with, and when it was last seen (SPEC §7
 * "Master key rotation"): `rotate-master-key` re-seals only once every live instance holds the new key.
 */
export function masterKeyInstancesMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('master_key_instances')
        .addColumn('instance_id', 'text', (c) => c.primaryKey())
        .addColumn('host_label', 'text', (c) => c.notNull())
        .addColumn('key_ids', 'text', (c) => c.notNull())
        .addColumn('sealing_key_id', 'text', (c) => c.notNull())
        .addColumn('started_at', bigint, (c) => c.notNull())
        .addColumn('last_seen_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('master_key_instances_last_seen').on('master_key_instances').column('last_seen_at').execute();
    },
  };
}
