import { sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely } from 'kysely';
import type { DatabaseKind } from '../../config/config.ts';

/** Column types that differ between SQLite and PostgreSQL, so migrations read the same on both. */
export function columnTypes(kind: DatabaseKind) {
  return {
    /** Times (ms since epoch) and money (minor units): BIGINT on PostgreSQL. */
    bigint: kind === 'postgres' ? ('bigint' as const) : ('integer' as const),
    json: kind === 'postgres' ? ('text' as const) : ('text' as const),
  };
}

/** An auto-incrementing integer primary key on either database. */
export function withSerialId<T extends string>(
  kind: DatabaseKind,
  table: CreateTableBuilder<T, never>,
  column = 'id',
): CreateTableBuilder<T, never> {
  if (kind === 'postgres') {
    return table.addColumn(column, 'bigint', (c: ColumnDefinitionBuilder) => c.primaryKey().generatedByDefaultAsIdentity());
  }
  return table.addColumn(column, 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement());
}

/** Makes a table append-only at the database level: updates and deletes are refused. */
export async function makeAppendOnly(kind: DatabaseKind, db: Kysely<unknown>, table: string): Promise<void> {
  if (kind === 'postgres') {
    await sql
      .raw(
        `CREATE OR REPLACE FUNCTION paythrough_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$`,
      )
      .execute(db);
    await sql
      .raw(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION paythrough_refuse_change()`,
      )
      .execute(db);
    return;
  }
  for (const operation of ['UPDATE', 'DELETE']) {
    await sql
      .raw(
        `CREATE TRIGGER ${table}_no_${operation.toLowerCase()} BEFORE ${operation} ON ${table}
         BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`,
      )
      .execute(db);
  }
}
