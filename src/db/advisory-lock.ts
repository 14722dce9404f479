import { sql, type Kysely } from 'kysely';
import type { DatabaseKind } from '../config/config.ts';
import type { Database } from './schema.ts';

/*
 * Named locks shared by every instance of one deployment (SPEC §7 "Shared state when scaled out"):
 * PostgreSQL session advisory locks, keyed by the schema and the name, held on a connection reserved
 * for the lock while `run` works through the pool. SQLite runs one process per file, so there `run`
 * simply runs.
 */

const lockKey = (name: string) => sql`hashtext(current_schema() || ${`:paythrough:${name}`})`;

/** Runs `run` while holding the named lock, waiting for it if another instance holds it. */
export async function withDatabaseLock<T>(db: Kysely<Database>, kind: DatabaseKind, name: string, run: () => Promise<T>): Promise<T> {
  if (kind !== 'postgres') return run();
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${lockKey(name)})`.execute(connection);
    try {
      return await run();
    } finally {
      await sql`select pg_advisory_unlock(${lockKey(name)})`.execute(connection);
    }
  });
}

/** Runs `run` only if no other instance holds the named lock now; undefined when it was skipped. */
export async function whenDatabaseLockFree<T>(
  db: Kysely<Database>,
  kind: DatabaseKind,
  name: string,
  run: () => Promise<T>,
): Promise<T | undefined> {
  if (kind !== 'postgres') return run();
  return db.connection().execute(async (connection) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${lockKey(name)}) as locked`.execute(connection);
    if (!rows[0]?.locked) return undefined;
    try {
      return await run();
    } finally {
      await sql`select pg_advisory_unlock(${lockKey(name)})`.execute(connection);
    }
  });
}
