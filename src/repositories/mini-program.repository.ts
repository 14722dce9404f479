import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Executor, MiniProgramTable } from '../db/schema.ts';

export type MiniProgramRow = Selectable<MiniProgramTable>;

export const miniProgramRepository = {
  insert: (db: Executor, miniProgram: Insertable<MiniProgramTable>) => db.insertInto('mini_programs').values(miniProgram).execute(),
  findById: (db: Executor, id: string) => db.selectFrom('mini_programs').selectAll().where('id', '=', id).executeTakeFirst(),
  listByTeam: (db: Executor, teamId: string) =>
    db.selectFrom('mini_programs').selectAll().where('team_id', '=', teamId).orderBy('created_at', 'asc').execute(),
  update: (db: Executor, id: string, changes: Updateable<MiniProgramTable>) =>
    db.updateTable('mini_programs').set(changes).where('id', '=', id).executeTakeFirst(),
};
