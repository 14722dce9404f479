import type { Insertable, Selectable, Updateable } from 'kysely';
import type { TeamRole } from '../domain/roles.ts';
import type { Executor, TeamMemberTable, TeamTable } from '../db/schema.ts';

export type TeamRow = Selectable<TeamTable>;
export type TeamMemberRow = Selectable<TeamMemberTable>;

export const teamRepository = {
  /** A user's memberships with their team's status and expiry (what an actor is loaded from). */
  listMembershipsOfUser: (db: Executor, userId: string) =>
    db
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.id', 'team_members.team_id')
      .select(['team_members.team_id', 'team_members.role', 'teams.status', 'teams.expires_at'])
      .where('team_members.user_id', '=', userId)
      .execute(),

  insert: (db: Executor, team: Insertable<TeamTable>) => db.insertInto('teams').values(team).execute(),
  findById: (db: Executor, id: string) => db.selectFrom('teams').selectAll().where('id', '=', id).executeTakeFirst(),
  listByIds: (db: Executor, ids: readonly string[]) =>
    ids.length === 0 ? Promise.resolve([]) : db.selectFrom('teams').selectAll().where('id', 'in', ids).execute(),
  listAll: (db: Executor) => db.selectFrom('teams').selectAll().orderBy('created_at', 'asc').execute(),
  /** The given teams, plus the mini program teams on superapps owned by any of them. */
  listReachableFrom: (db: Executor, teamIds: readonly string[]) =>
    teamIds.length === 0
      ? Promise.resolve([])
      : db
          .selectFrom('teams')
          .selectAll()
          .where((eb) =>
            eb.or([
              eb('id', 'in', teamIds),
              eb('superapp_id', 'in', eb.selectFrom('superapps').select('id').where('team_id', 'in', teamIds)),
            ]),
          )
          .orderBy('created_at', 'asc')
          .execute(),
  update: (db: Executor, id: string, changes: Updateable<TeamTable>) =>
    db.updateTable('teams').set(changes).where('id', '=', id).executeTakeFirst(),

  membershipsOf: (db: Executor, userId: string) => db.selectFrom('team_members').selectAll().where('user_id', '=', userId).execute(),
  findMember: (db: Executor, teamId: string, userId: string) =>
    db.selectFrom('team_members').selectAll().where('team_id', '=', teamId).where('user_id', '=', userId).executeTakeFirst(),
  listMembers: (db: Executor, teamId: string) =>
    db
      .selectFrom('team_members')
      .innerJoin('users', 'users.id', 'team_members.user_id')
      .select([
        'team_members.team_id',
        'team_members.user_id',
        'team_members.role',
        'team_members.created_at',
        'users.account',
        'users.display_name',
      ])
      .where('team_members.team_id', '=', teamId)
      .orderBy('team_members.created_at', 'asc')
      .execute(),
  insertMember: (db: Executor, member: Insertable<TeamMemberTable>) => db.insertInto('team_members').values(member).execute(),
  /** Compare-and-set on the member's role; 0 rows means someone else changed it first. */
  updateMemberRole: (db: Executor, teamId: string, userId: string, from: TeamRole, to: TeamRole) =>
    db
      .updateTable('team_members')
      .set({ role: to })
      .where('team_id', '=', teamId)
      .where('user_id', '=', userId)
      .where('role', '=', from)
      .executeTakeFirst(),
  deleteMember: (db: Executor, teamId: string, userId: string) =>
    db.deleteFrom('team_members').where('team_id', '=', teamId).where('user_id', '=', userId).executeTakeFirst(),
};
