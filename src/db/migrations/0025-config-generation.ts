import { sql, type Kysely, type Migration } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';
import { columnTypes } from './column-types.ts';

/**
 * The tables whose rows the gateway keeps in memory between requests: merchant keys, payment accounts and what decides
 * whether they may pay (enablement, binding, team, superapp, payment configuration, channel connections), and the
 * platform's signing keys. SPEC §7: revocations apply from the next request on every instance, whatever is cached.
 */
export const configTables = [
  'payment_accounts',
  'merchant_api_keys',
  'payment_enablements',
  'merchant_bindings',
  'teams',
  'superapps',
  'superapp_payment_configs',
  'channel_connections',
  'platform_signing_keys',
] as const;

/**
 * One counter every instance reads per gateway request, raised by triggers in the same transaction as any change to a
 * configuration table: a cache tagged with an older value is dropped, so a change on one instance is seen by the next
 * request on every instance. PostgreSQL raises it at commit (a deferred constraint trigger), so a transaction holds the
 * counter's row lock only while committing and two configuration changes cannot deadlock on it.
 */
export function configGenerationMigration(kind: DatabaseKind): Migration {
  const { bigint } = columnTypes(kind);
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('config_generation')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('generation', bigint, (c) => c.notNull())
        .addCheckConstraint('config_generation_one_row', sql`id = 1`)
        .execute();
      await sql`insert into config_generation (id, generation) values (1, 1)`.execute(db);
      await addConfigGenerationTriggers(kind, db, configTables);
    },
  };
}

/** The triggers that raise the configuration generation with every change to `tables` (later migrations add theirs). */
export async function addConfigGenerationTriggers(kind: DatabaseKind, db: Kysely<unknown>, tables: readonly string[]): Promise<void> {
  if (kind === 'postgres') {
    await sql
      .raw(
        `CREATE OR REPLACE FUNCTION paythrough_raise_config_generation() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN UPDATE config_generation SET generation = generation + 1 WHERE id = 1; RETURN NULL; END $$`,
      )
      .execute(db);
    for (const table of tables) {
      await sql
        .raw(
          `CREATE CONSTRAINT TRIGGER ${table}_config_generation AFTER INSERT OR UPDATE OR DELETE ON ${table} ` +
            'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION paythrough_raise_config_generation()',
        )
        .execute(db);
    }
    return;
  }
  for (const table of tables) {
    for (const operation of ['insert', 'update', 'delete']) {
      await sql
        .raw(
          `CREATE TRIGGER ${table}_config_generation_${operation} AFTER ${operation.toUpperCase()} ON ${table}
           BEGIN UPDATE config_generation SET generation = generation + 1 WHERE id = 1; END`,
        )
        .execute(db);
    }
  }
}
