import { sql } from 'kysely';
import type { Executor } from '../db/schema.ts';

export const rateLimitRepository = {
  /** Adds one hit to the counter's window and returns the new count (atomic upsert on both databases). */
  async hit(db: Executor, counterKey: string, windowStart: number): Promise<number> {
    const row = await db
      .insertInto('rate_limit_counters')
      .values({ counter_key: counterKey, window_start: windowStart, hits: 1 })
      .onConflict((oc) => oc.columns(['counter_key', 'window_start']).doUpdateSet({ hits: sql`rate_limit_counters.hits + 1` }))
      .returning('hits')
      .executeTakeFirstOrThrow();
    return Number(row.hits);
  },
  count: async (db: Executor, counterKey: string, windowStart: number) => {
    const row = await db
      .selectFrom('rate_limit_counters')
      .select('hits')
      .where('counter_key', '=', counterKey)
      .where('window_start', '=', windowStart)
      .executeTakeFirst();
    return row ? Number(row.hits) : 0;
  },
  release: (db: Executor, counterKey: string, windowStart: number) =>
    db
      .updateTable('rate_limit_counters')
      .set({ hits: sql`hits - 1` })
      .where('counter_key', '=', counterKey)
      .where('window_start', '=', windowStart)
      .where('hits', '>', 0)
      .execute(),
  reset: (db: Executor, counterKey: string) => db.deleteFrom('rate_limit_counters').where('counter_key', '=', counterKey).execute(),
  deleteOlderThan: (db: Executor, windowStart: number) =>
    db.deleteFrom('rate_limit_counters').where('window_start', '<', windowStart).execute(),
};
