import type { Insertable, Selectable } from 'kysely';
import type { ApiKeyTable, Executor } from '../db/schema.ts';

export type ApiKeyRow = Selectable<ApiKeyTable>;

export const apiKeyRepository = {
  insert: (db: Executor, key: Insertable<ApiKeyTable>) => db.insertInto('api_keys').values(key).execute(),
  findBySecretId: (db: Executor, secretId: string) =>
    db.selectFrom('api_keys').selectAll().where('secret_id', '=', secretId).executeTakeFirst(),
  findById: (db: Executor, id: string) => db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst(),
  listByUser: (db: Executor, userId: string) =>
    db.selectFrom('api_keys').selectAll().where('user_id', '=', userId).orderBy('created_at', 'asc').execute(),
  revoke: (db: Executor, id: string) =>
    db.updateTable('api_keys').set({ status: 'revoked' }).where('id', '=', id).where('status', '=', 'active').executeTakeFirst(),
  touch: (db: Executor, id: string, nowMs: number) =>
    db.updateTable('api_keys').set({ last_used_at: nowMs }).where('id', '=', id).executeTakeFirst(),
};
