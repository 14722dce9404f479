import { sql } from 'kysely';
import { onPostgres } from '../db/batched-delete.ts';
import type { Executor } from '../db/schema.ts';
import '../db/gateway-schema.ts';

export const replayNonceRepository = {
  /**
   * Records a nonce; true when it is new in its scope, false when it was seen and has not expired.
   * One statement (unique key insert; a conflict with an expired row takes that row over), so two
   * instances racing on the same nonce cannot both win.
   */
  async remember(db: Executor, row: { scope: string; nonce: string; seenAt: number; expiresAt: number }): Promise<boolean> {
    const result = await db
      .insertInto('replay_nonces')
      .values({ scope: row.scope, nonce: row.nonce, seen_at: row.seenAt, expires_at: row.expiresAt })
      .onConflict((oc) =>
        oc
          .columns(['scope', 'nonce'])
          .doUpdateSet({ seen_at: row.seenAt, expires_at: row.expiresAt })
          .where('replay_nonces.expires_at', '<=', row.seenAt),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  },
  /** Deletes up to `limit` rows expired by `before` (index replay_nonces_expires); returns how many went. */
  async deleteExpiredBatch(db: Executor, before: number, limit: number): Promise<number> {
    const expired = db.selectFrom('replay_nonces').where('expires_at', '<=', before).limit(limit);
    // PostgreSQL: the batch's row addresses (ctid), so the delete is a lookup, not a scan; SQLite: rowid.
    const batch = onPostgres(db)
      ? sql<boolean>`ctid = any(array(${expired.select(sql`ctid`.as('row'))}))`
      : sql<boolean>`rowid in (${expired.select(sql`rowid`.as('row'))})`;
    const result = await db.deleteFrom('replay_nonces').where(batch).where('expires_at', '<=', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  },
  count: async (db: Executor) =>
    Number(
      (
        await db
          .selectFrom('replay_nonces')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
};
