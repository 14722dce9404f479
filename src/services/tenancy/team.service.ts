import type { Executor, DatabaseClient } from '../../db/schema.ts';
import { isPlatformAdmin, requireAllowed, requireVisible, type Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, forbidden, notFound } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { rolesOfTeamKind, type TeamKind, type TeamRole, type TeamStatus } from '../../domain/roles.ts';
import { superappRepository } from '../../repositories/superapp.repository.ts';
import { teamRepository, type TeamRow } from '../../repositories/team.repository.ts';
import { userRepository } from '../../repositories/user.repository.ts';
import { capabilityMapOf, ownTeamScope, scopeOfTeam } from './access-scope.ts';
import { recordAudit } from './audit.service.ts';

export const cannotAddAccountMessage = 'account: this account cannot be added to the team';
const cannotAddAccount = () => new AppError('InvalidParameterValue', cannotAddAccountMessage, { field: 'account' });

export interface TeamView {
  id: string;
  kind: TeamKind;
  name: string;
  status: TeamStatus;
  /** The status with expiry applied: an active team past its expiry time reads `expired`. */
  effectiveStatus: TeamStatus;
  expiresAt: number | null;
  superappId: string | null;
  createdAt: number;
  /** The caller's role in this team, if a member. */
  myRole: TeamRole | null;
}

export interface MemberView {
  userId: string;
  account: string;
  displayName: string;
  role: TeamRole;
  joinedAt: number;
}

export interface NewTeam {
  kind: TeamKind;
  name: string;
  superappId?: string | undefined;
  expiresAt?: number | null | undefined;
  administratorUserId: string;
}

export class TeamService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
  ) {}

  toView(actor: Actor, team: TeamRow): TeamView {
    const expired = team.expires_at !== null && team.expires_at <= this.clock.nowMs();
    return {
      id: team.id,
      kind: team.kind,
      name: team.name,
      status: team.status,
      effectiveStatus: team.status === 'active' && expired ? 'expired' : team.status,
      expiresAt: team.expires_at,
      superappId: team.superapp_id,
      createdAt: team.created_at,
      myRole: actor.memberships.get(team.id) ?? null,
    };
  }

  async create(actor: Actor, input: NewTeam): Promise<TeamView> {
    requireVisible(actor, 'team.create', {}, 'Teams');
    requireAllowed(actor, 'team.create', {});
    const now = this.clock.nowMs();
    return this.db.transaction().execute(async (trx) => {
      if (input.kind === 'miniprogram') {
        if (!input.superappId)
          throw new AppError('InvalidParameterValue', 'superappId: a mini program team needs its superapp', { field: 'superappId' });
        if (!(await superappRepository.findById(trx, input.superappId))) {
          throw new AppError('InvalidParameterValue', 'superappId: no such superapp', { field: 'superappId' });
        }
      } else if (input.superappId) {
        throw new AppError('InvalidParameterValue', 'superappId: only mini program teams name a superapp', { field: 'superappId' });
      }
      await this.requireJoinableUser(trx, input.administratorUserId, 'administratorUserId');
      const team: TeamRow = {
        id: newId('team', now),
        kind: input.kind,
        name: input.name,
        status: 'active',
        expires_at: input.expiresAt ?? null,
        superapp_id: input.kind === 'miniprogram' ? (input.superappId ?? null) : null,
        created_at: now,
        updated_at: now,
      };
      await teamRepository.insert(trx, team);
      await teamRepository.insertMember(trx, {
        team_id: team.id,
        user_id: input.administratorUserId,
        role: 'administrator',
        created_at: now,
      });
      await recordAudit(trx, this.clock, actor, {
        action: 'team.create',
        targetType: 'team',
        targetId: team.id,
        teamId: team.id,
        after: { ...team, administratorUserId: input.administratorUserId },
      });
      return this.toView(actor, team);
    });
  }

  async list(actor: Actor): Promise<TeamView[]> {
    return (await this.listWithRows(actor)).map(({ view }) => view);
  }

  /** Admins reach every team; members their own teams and the mini program teams on their superapps. */
  async listWithRows(actor: Actor): Promise<{ row: TeamRow; view: TeamView }[]> {
    const teams = isPlatformAdmin(actor)
      ? await teamRepository.listAll(this.db)
      : await teamRepository.listReachableFrom(this.db, [...actor.memberships.keys()]);
    return teams.map((row) => ({ row, view: this.toView(actor, row) }));
  }

  /** The actor's teams, each with what the actor may do there: the same scopes the services check with. */
  async listWithCapabilities(actor: Actor) {
    const teams = await this.listWithRows(actor);
    return Promise.all(
      teams.map(async ({ row, view }) => ({
        ...view,
        capabilities: capabilityMapOf(actor, await scopeOfTeam(this.db, row), ownTeamScope(row)),
      })),
    );
  }

  /** The team if the actor may see it; otherwise "not found". */
  async get(actor: Actor, teamId: string, db: Executor = this.db): Promise<{ team: TeamRow; view: TeamView }> {
    const team = await teamRepository.findById(db, teamId);
    if (!team) throw notFound('Team');
    requireVisible(actor, 'team.view', await scopeOfTeam(db, team), 'Team');
    return { team, view: this.toView(actor, team) };
  }

  async update(
    actor: Actor,
    teamId: string,
    changes: { name?: string | undefined; status?: TeamStatus | undefined; expiresAt?: number | null | undefined },
  ): Promise<TeamView> {
    return this.db.transaction().execute(async (trx) => {
      const { team } = await this.get(actor, teamId, trx);
      requireAllowed(actor, 'team.manage', ownTeamScope(team));
      const updated: TeamRow = {
        ...team,
        name: changes.name ?? team.name,
        status: changes.status ?? team.status,
        expires_at: changes.expiresAt === undefined ? team.expires_at : changes.expiresAt,
        updated_at: this.clock.nowMs(),
      };
      await teamRepository.update(trx, teamId, {
        name: updated.name,
        status: updated.status,
        expires_at: updated.expires_at,
        updated_at: updated.updated_at,
      });
      await recordAudit(trx, this.clock, actor, {
        action: 'team.update',
        targetType: 'team',
        targetId: teamId,
        teamId,
        before: { name: team.name, status: team.status, expiresAt: team.expires_at },
        after: { name: updated.name, status: updated.status, expiresAt: updated.expires_at },
      });
      return this.toView(actor, updated);
    });
  }

  async listMembers(actor: Actor, teamId: string): Promise<MemberView[]> {
    await this.get(actor, teamId);
    const members = await teamRepository.listMembers(this.db, teamId);
    return members.map((m) => ({
      userId: m.user_id,
      account: m.account,
      displayName: m.display_name,
      role: m.role,
      joinedAt: m.created_at,
    }));
  }

  async addMember(actor: Actor, teamId: string, input: { account: string; role: TeamRole }): Promise<MemberView> {
    return this.db.transaction().execute(async (trx) => {
      const { team } = await this.get(actor, teamId, trx);
      requireAllowed(actor, 'team.members.manage', ownTeamScope(team));
      this.requireRoleOfKind(team, input.role);
      if (input.role === 'administrator')
        throw new AppError('InvalidParameterValue', 'role: a team has exactly one Administrator; transfer it instead', { field: 'role' });
      this.requireGrantable(actor, teamId, input.role);
      // One answer whatever the reason (no such account, an admin, disabled, already a member): the form must not
      // tell a member admin which accounts exist or what they are.
      const user = await userRepository.findByAccount(trx, input.account);
      const joinable = user !== undefined && user.platform_role === 'member' && user.status === 'active';
      if (!joinable || (await teamRepository.findMember(trx, teamId, user.id))) throw cannotAddAccount();
      const now = this.clock.nowMs();
      await teamRepository.insertMember(trx, { team_id: teamId, user_id: user.id, role: input.role, created_at: now });
      await recordAudit(trx, this.clock, actor, {
        action: 'team.member.add',
        targetType: 'user',
        targetId: user.id,
        teamId,
        after: { role: input.role },
      });
      return { userId: user.id, account: user.account, displayName: user.display_name, role: input.role, joinedAt: now };
    });
  }

  /**
   * Changes a member's role. Making someone Administrator transfers the role: the previous
   * Administrator takes the new Administrator's former role, so a team always has exactly one.
   */
  async changeMemberRole(actor: Actor, teamId: string, userId: string, role: TeamRole): Promise<MemberView[]> {
    await this.db.transaction().execute(async (trx) => {
      const { team } = await this.get(actor, teamId, trx);
      requireAllowed(actor, 'team.members.manage', ownTeamScope(team));
      this.requireRoleOfKind(team, role);
      const member = await teamRepository.findMember(trx, teamId, userId);
      if (!member) throw notFound('Member');
      if (userId === actor.userId) throw forbidden('Nobody changes their own role');
      if (member.role === role) return;
      const actorIsAdministrator = isPlatformAdmin(actor) || actor.memberships.get(teamId) === 'administrator';
      if (member.role === 'administrator') {
        throw new AppError('InvalidParameterValue', 'role: make another member Administrator to transfer the role', { field: 'role' });
      }
      if (role === 'administrator') {
        if (!actorIsAdministrator) throw forbidden('Only the Administrator or a platform admin transfers the Administrator role');
        const current = (await teamRepository.listMembers(trx, teamId)).find((m) => m.role === 'administrator');
        // Demote first: the one-Administrator index holds at every step.
        if (current) await this.setRole(trx, teamId, current.user_id, 'administrator', member.role);
        await this.setRole(trx, teamId, userId, member.role, 'administrator');
      } else {
        this.requireGrantable(actor, teamId, role);
        await this.setRole(trx, teamId, userId, member.role, role);
      }
      await recordAudit(trx, this.clock, actor, {
        action: 'team.member.change_role',
        targetType: 'user',
        targetId: userId,
        teamId,
        before: { role: member.role },
        after: { role },
      });
    });
    return this.listMembers(actor, teamId);
  }

  async removeMember(actor: Actor, teamId: string, userId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { team } = await this.get(actor, teamId, trx);
      requireAllowed(actor, 'team.members.manage', ownTeamScope(team));
      const member = await teamRepository.findMember(trx, teamId, userId);
      if (!member) throw notFound('Member');
      if (member.role === 'administrator') {
        throw new AppError('FailedOperation', 'The Administrator cannot be removed; transfer the role first');
      }
      await teamRepository.deleteMember(trx, teamId, userId);
      await recordAudit(trx, this.clock, actor, {
        action: 'team.member.remove',
        targetType: 'user',
        targetId: userId,
        teamId,
        before: { role: member.role },
      });
    });
  }

  private async setRole(db: Executor, teamId: string, userId: string, from: TeamRole, to: TeamRole) {
    const result = await teamRepository.updateMemberRole(db, teamId, userId, from, to);
    if (Number(result.numUpdatedRows) !== 1) throw new AppError('FailedOperation', 'The member changed meanwhile; reload and try again');
  }

  /** A Member admin manages members and nothing else (SPEC §7 "Roles"): it grants no role that manages members. */
  private requireGrantable(actor: Actor, teamId: string, role: TeamRole) {
    const grantsMemberManagement = role === 'administrator' || role === 'member_admin';
    if (grantsMemberManagement && !isPlatformAdmin(actor) && actor.memberships.get(teamId) !== 'administrator') {
      throw forbidden('Only the Administrator or a platform admin makes someone Administrator or Member admin');
    }
  }

  private requireRoleOfKind(team: TeamRow, role: TeamRole) {
    if (!rolesOfTeamKind(team.kind).includes(role)) {
      throw new AppError('InvalidParameterValue', `role: "${role}" is not a role of a ${team.kind} team`, { field: 'role' });
    }
  }

  private async requireJoinableUser(db: Executor, userId: string, field: string) {
    const user = await userRepository.findById(db, userId);
    if (!user) throw new AppError('InvalidParameterValue', `${field}: no such user`, { field });
    if (user.platform_role !== 'member')
      throw new AppError('InvalidParameterValue', `${field}: only members join teams; admins are not team members`, { field });
    if (user.status !== 'active') throw new AppError('InvalidParameterValue', `${field}: the user is disabled`, { field });
  }
}
