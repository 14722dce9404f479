import type { Insertable } from 'kysely';
import type { Executor, SessionTable } from '../db/schema.ts';

export const sessionRepository = {
  insert: (db: Executor, session: Insertable<SessionTable>) => db.insertInto('sessions').values(session).execute(),
  findLive: (db: Executor, tokenHash: string, nowMs: number) =>
    db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).where('expires_at', '>', nowMs).executeTakeFirst(),
  delete: (db: Executor, tokenHash: string) => db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute(),
  deleteAllOfUser: (db: Executor, userId: string) => db.deleteFrom('sessions').where('user_id', '=', userId).execute(),
  deleteExpired: (db: Executor, nowMs: number) => db.deleteFrom('sessions').where('expires_at', '<=', nowMs).execute(),
};
