import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Executor, MiniProgramTable } from '../db/schema.ts';

export type MiniProgramRow = Selectable<MiniProgramTable>;

export const miniProgramRepository = {
  insert: (db: Executor, miniProgram: Insertable<MiniProgramTable>) => db.insertInto('mini_programs').values(miniProgram).execute(),
  findById: (db: Executor, id: string) => db.selectFrom('mini_programs').selectAll().where('id', '=', id).executeTakeFirst(),
  /** Mini programs by id with their team and that team's superapp. */
  listWithSuperapp: (db: Executor, ids: readonly string[]) =>
    ids.length === 0
      ? Promise.resolve([])
      : db
          .selectFrom('mini_programs')
          .innerJoin('teams', 'teams.id', 'mini_programs.team_id')
          .select(['mini_programs.id', 'mini_programs.team_id', 'teams.superapp_id'])
          .where('mini_programs.id', 'in', ids)
          .execute(),
  listByTeam: (db: Executor, teamId: string) =>
    db.selectFrom('mini_programs').selectAll().where('team_id', '=', teamId).orderBy('created_at', 'asc').execute(),
  update: (db: Executor, id: string, changes: Updateable<MiniProgramTable>) =>
    db.updateTable('mini_programs').set(changes).where('id', '=', id).executeTakeFirst(),
};
