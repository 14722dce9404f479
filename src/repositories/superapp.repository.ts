import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Executor, SuperappTable } from '../db/schema.ts';

export type SuperappRow = Selectable<SuperappTable>;

export const superappRepository = {
  insert: (db: Executor, superapp: Insertable<SuperappTable>) => db.insertInto('superapps').values(superapp).execute(),
  findById: (db: Executor, id: string) => db.selectFrom('superapps').selectAll().where('id', '=', id).executeTakeFirst(),
  findOldest: (db: Executor) => db.selectFrom('superapps').selectAll().orderBy('created_at', 'asc').executeTakeFirst(),
  listAll: (db: Executor) => db.selectFrom('superapps').selectAll().orderBy('created_at', 'asc').execute(),
  listByTeams: (db: Executor, teamIds: readonly string[]) =>
    teamIds.length === 0
      ? Promise.resolve([])
      : db.selectFrom('superapps').selectAll().where('team_id', 'in', teamIds).orderBy('created_at', 'asc').execute(),
  update: (db: Executor, id: string, changes: Updateable<SuperappTable>) =>
    db.updateTable('superapps').set(changes).where('id', '=', id).executeTakeFirst(),
};
