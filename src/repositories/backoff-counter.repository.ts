import { sql, type Selectable } from 'kysely';
import type { BackoffCounterTable, Executor } from '../db/schema.ts';

export type BackoffCounterRow = Selectable<BackoffCounterTable>;
export type BackoffState = Omit<BackoffCounterRow, 'counter_key'>;

export const backoffCounterRepository = {
  find: (db: Executor, counterKey: string) =>
    db.selectFrom('backoff_counters').selectAll().where('counter_key', '=', counterKey).executeTakeFirst(),
  /** Creates the key's first state; false when a parallel attempt created it first. */
  async insertIfAbsent(db: Executor, counterKey: string, state: BackoffState): Promise<boolean> {
    const result = await db
      .insertInto('backoff_counters')
      .values({ counter_key: counterKey, ...state })
      .onConflict((oc) => oc.column('counter_key').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  },
  /** Moves the key from the state read to the next one; false when a parallel attempt moved it first. */
  async compareAndSet(db: Executor, counterKey: string, read: BackoffState, next: BackoffState): Promise<boolean> {
    const result = await db
      .updateTable('backoff_counters')
      .set(next)
      .where('counter_key', '=', counterKey)
      .where('failures', '=', read.failures)
      .where('next_attempt_at', '=', read.next_attempt_at)
      .where('updated_at', '=', read.updated_at)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  /** Takes back one counted attempt and lets the next one come at once. */
  forgiveOne: (db: Executor, counterKey: string, nowMs: number) =>
    db
      .updateTable('backoff_counters')
      .set({ failures: sql`failures - 1`, next_attempt_at: nowMs })
      .where('counter_key', '=', counterKey)
      .where('failures', '>', 0)
      .execute(),
  delete: (db: Executor, counterKey: string) => db.deleteFrom('backoff_counters').where('counter_key', '=', counterKey).execute(),
  deleteUpdatedBefore: (db: Executor, updatedBefore: number) =>
    db.deleteFrom('backoff_counters').where('updated_at', '<', updatedBefore).execute(),
};
