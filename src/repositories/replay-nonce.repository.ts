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
  async deleteExpired(db: Executor, nowMs: number): Promise<number> {
    const result = await db.deleteFrom('replay_nonces').where('expires_at', '<=', nowMs).executeTakeFirst();
    return Number(result.numDeletedRows);
  },
  count: async (db: Executor) => Number((await db.selectFrom('replay_nonces').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
};
