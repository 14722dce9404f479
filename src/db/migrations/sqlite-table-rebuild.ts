import { sql, type Kysely } from 'kysely';

interface SchemaObject {
  type: 'table' | 'index' | 'trigger';
  name: string;
  sql: string | null;
}

/**
 * Changes a SQLite table's constraints, which SQLite cannot alter in place: the table is created anew from its
 * own definition as `rewrite` changes it, the rows copied, and its indexes and triggers made again (SQLite's
 * documented procedure). Runs outside a transaction of the migrator (SQLite migrations have none), in its own;
 * foreign keys are checked once the table is back under its name.
 */
export async function rebuildSqliteTable(
  db: Kysely<unknown>,
  table: string,
  rewrite: (createSql: string) => string,
  /** More changes that must land with the rebuild, in its transaction. */
  alongside?: (trx: Kysely<unknown>) => Promise<void>,
): Promise<void> {
  const objects = (await sql<SchemaObject>`select type, name, sql from sqlite_master where tbl_name = ${table}`.execute(db)).rows;
  const definition = objects.find((object) => object.type === 'table')?.sql;
  if (!definition) throw new Error(`rebuildSqliteTable: no table ${table}`);
  const rewritten = rewrite(definition);
  if (rewritten === definition) throw new Error(`rebuildSqliteTable: the rewrite changed nothing in ${table}`);
  const temporary = `${table}__rebuilt`;
  const created = rewritten.replace(/^CREATE TABLE\s+("?)[^\s"(]+\1/i, `CREATE TABLE "${temporary}"`);
  // Indexes made by constraints (sqlite_autoindex_*) have no sql: the new definition makes them again.
  const dependants = objects.filter((object) => object.type !== 'table' && object.sql !== null).map((object) => object.sql!);

  await sql`PRAGMA foreign_keys = OFF`.execute(db);
  try {
    await db.transaction().execute(async (trx) => {
      const counter = await autoincrementCounter(trx, table);
      await sql.raw(created).execute(trx);
      await sql.raw(`INSERT INTO "${temporary}" SELECT * FROM "${table}"`).execute(trx);
      await sql.raw(`DROP TABLE "${table}"`).execute(trx);
      await sql.raw(`ALTER TABLE "${temporary}" RENAME TO "${table}"`).execute(trx);
      for (const statement of dependants) await sql.raw(statement).execute(trx);
      // AUTOINCREMENT never hands out an id twice: the new table starts past every id the old one gave, deleted ones too.
      if (counter !== undefined) {
        await sql`delete from sqlite_sequence where name = ${table}`.execute(trx);
        await sql`insert into sqlite_sequence (name, seq) values (${table}, ${counter})`.execute(trx);
      }
      if (alongside) await alongside(trx);
      const broken = (await sql<{ table: string }>`PRAGMA foreign_key_check`.execute(trx)).rows;
      if (broken.length > 0) throw new Error(`rebuildSqliteTable: ${table} broke ${broken.length} foreign key reference(s)`);
    });
  } finally {
    await sql`PRAGMA foreign_keys = ON`.execute(db);
  }
}

async function autoincrementCounter(db: Kysely<unknown>, table: string): Promise<number | undefined> {
  const sequences = await sql<{ present: number }>`select count(*) as present from sqlite_master where name = 'sqlite_sequence'`.execute(
    db,
  );
  if (!sequences.rows[0]?.present) return undefined;
  const row = (await sql<{ seq: number }>`select seq from sqlite_sequence where name = ${table}`.execute(db)).rows[0];
  return row?.seq;
}

/** Replaces `from` in a table definition, failing loudly when the definition does not hold it. */
export function replaceInDefinition(definition: string, from: string, to: string): string {
  if (!definition.includes(from)) throw new Error(`The table definition does not hold ${from}: ${definition}`);
  return definition.replace(from, to);
}
