import { PostgresAdapter } from 'kysely';
import type { Executor } from './schema.ts';

/**
 * PostgreSQL plans `id IN (subquery with LIMIT)` as a hash join over the whole table; `id = any(array(subquery))`
 * makes it an index lookup of the batch. SQLite looks each row up by key either way.
 */
export function onPostgres(db: Executor): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** Rows one purge statement deletes at most: short statements, so a big backlog never holds long locks. */
export const purgeBatchSize = 1000;

/**
 * Runs `deleteBatch(limit)` until it deletes fewer than `limit` rows; returns the total. Each batch is
 * its own statement (and transaction), and a delete is idempotent, so instances purging at the same
 * time only share the work.
 */
export async function deleteInBatches(deleteBatch: (limit: number) => Promise<number>, limit = purgeBatchSize): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteBatch(limit);
    total += deleted;
    if (deleted < limit) return total;
  }
}
