import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, sql, type Generated } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, reusingStatements } from '../../src/db/database.ts';
import { GroupCommitSqliteDialect } from '../../src/db/sqlite-group-commit.ts';

interface Row {
  id: Generated<number>;
  note: string;
}

/**
 * SQLite group commit (src/db/sqlite-group-commit.ts): transactions and writes of one event-loop turn share one
 * COMMIT, and none of their callers goes on before it; a transaction that fails takes only itself back.
 */
describe('SQLite group commit', () => {
  let folder: string;
  let file: string;
  let connection: SQLite.Database;
  let db: Kysely<{ notes: Row }>;
  let commits: number;
  // Another connection, as another process would see the file.
  let observer: SQLite.Database;
  const seen = () => (observer.prepare('select note from notes order by id').all() as { note: string }[]).map((row) => row.note);

  beforeEach(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'paythrough-group-commit-'));
    file = path.join(folder, 'notes.db');
    connection = new SQLite(file);
    connection.pragma('journal_mode = WAL');
    connection.pragma('busy_timeout = 5000');
    commits = 0;
    const statements = reusingStatements(connection);
    const counting = {
      prepare: (text: string) => {
        if (text === 'commit') commits += 1;
        return statements.prepare(text);
      },
      close: () => statements.close(),
    };
    db = new Kysely({ dialect: new GroupCommitSqliteDialect(connection, counting) });
    await sql`create table notes (id integer primary key, note text not null unique)`.execute(db);
    observer = new SQLite(file);
    commits = 0;
  });
  afterEach(async () => {
    observer.close();
    await db.destroy();
    rmSync(folder, { recursive: true, force: true });
  });

  const insert = (note: string) => db.insertInto('notes').values({ note }).execute();

  it('a transaction is committed, for everybody, by the time its caller hears it is done', async () => {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ note: 'first' }).execute();
      // Inside: written, not committed.
      expect(seen()).toEqual([]);
    });
    expect(seen()).toEqual(['first']);
    await insert('second');
    expect(seen()).toEqual(['first', 'second']);
  });

  it('concurrent transactions and writes share commits, and every one of them is kept', async () => {
    const work = Array.from({ length: 20 }, (_, index) =>
      index % 2 === 0
        ? insert(`write ${index}`)
        : db.transaction().execute(async (trx) => {
            await trx
              .insertInto('notes')
              .values({ note: `transaction ${index}` })
              .execute();
            await trx.selectFrom('notes').selectAll().execute();
          }),
    );
    await Promise.all(work);
    expect(seen()).toHaveLength(20);
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThan(20);
  });

  it('a transaction that fails takes back only its own writes, not those of its group', async () => {
    const results = await Promise.allSettled([
      insert('kept before'),
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ note: 'taken back' }).execute();
        throw new Error('the caller changed its mind');
      }),
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ note: 'kept in a transaction' }).execute();
      }),
      // A constraint violation inside the group: refused alone.
      insert('kept before'),
      insert('kept after'),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(seen().sort()).toEqual(['kept after', 'kept before', 'kept in a transaction']);
  });

  it('a read waits for the group it looked into: what it saw is committed when it returns', async () => {
    const writing = insert('pending');
    const read = db.selectFrom('notes').selectAll().execute();
    const rows = await read;
    expect(rows.map((row) => row.note)).toEqual(['pending']);
    expect(seen()).toEqual(['pending']);
    await writing;
  });

  it('two handles of one process on one file take turns with the write lock instead of blocking each other', async () => {
    const other = openDatabase(`file:${file}`);
    try {
      const otherDb = other.db as unknown as Kysely<{ notes: Row }>;
      await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          (index % 2 === 0 ? db : otherDb).transaction().execute(async (trx) => {
            await trx
              .insertInto('notes')
              .values({ note: `handle ${index}` })
              .execute();
          }),
        ),
      );
      expect(seen()).toHaveLength(10);
    } finally {
      await other.close();
    }
  });
});
