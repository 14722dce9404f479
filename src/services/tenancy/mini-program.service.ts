import type { Executor, DatabaseClient } from '../../db/schema.ts';
import { requireAllowed, requireVisible, type Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { miniProgramRepository, type MiniProgramRow } from '../../repositories/mini-program.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';
import { scopeOfTeam } from './access-scope.ts';
import { recordAudit } from './audit.service.ts';

export interface MiniProgramView {
  mnpId: string;
  teamId: string;
  name: string;
  iconUrl: string;
  category: string;
  /** SPEC §8.1: a mini program or a mini game (decides the delivery notification's Event). */
  kind: MiniProgramRow['kind'];
  createdAt: number;
}

export const toMiniProgramView = (row: MiniProgramRow): MiniProgramView => ({
  mnpId: row.id,
  teamId: row.team_id,
  name: row.name,
  iconUrl: row.icon_url,
  category: row.category,
  kind: row.kind,
  createdAt: row.created_at,
});

export interface NewMiniProgram {
  name: string;
  iconUrl?: string | undefined;
  category?: string | undefined;
  kind?: MiniProgramRow['kind'] | undefined;
}

export class MiniProgramService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
  ) {}

  async create(actor: Actor, teamId: string, input: NewMiniProgram): Promise<MiniProgramView> {
    const now = this.clock.nowMs();
    return this.db.transaction().execute(async (trx) => {
      const team = await teamRepository.findById(trx, teamId);
      if (!team) throw notFound('Team');
      const scope = await scopeOfTeam(trx, team);
      requireVisible(actor, 'mini_program.view', scope, 'Team');
      requireAllowed(actor, 'mini_program.manage', scope);
      if (team.kind !== 'miniprogram')
        throw new AppError('InvalidParameterValue', 'teamId: mini programs belong to mini program teams', { field: 'teamId' });
      const row: MiniProgramRow = {
        id: newId('mnp', now),
        team_id: teamId,
        name: input.name,
        icon_url: input.iconUrl ?? '',
        category: input.category ?? '',
        kind: input.kind ?? 'miniprogram',
        created_at: now,
        updated_at: now,
      };
      await miniProgramRepository.insert(trx, row);
      await recordAudit(trx, this.clock, actor, {
        action: 'mini_program.create',
        targetType: 'mini_program',
        targetId: row.id,
        teamId,
        after: row,
      });
      return toMiniProgramView(row);
    });
  }

  async listByTeam(actor: Actor, teamId: string): Promise<MiniProgramView[]> {
    const team = await teamRepository.findById(this.db, teamId);
    if (!team) throw notFound('Team');
    requireVisible(actor, 'mini_program.view', await scopeOfTeam(this.db, team), 'Team');
    return (await miniProgramRepository.listByTeam(this.db, teamId)).map(toMiniProgramView);
  }

  async get(actor: Actor, mnpId: string, db: Executor = this.db): Promise<MiniProgramRow> {
    const row = await miniProgramRepository.findById(db, mnpId);
    if (!row) throw notFound('Mini program');
    const team = await teamRepository.findById(db, row.team_id);
    if (!team) throw notFound('Mini program');
    requireVisible(actor, 'mini_program.view', await scopeOfTeam(db, team), 'Mini program');
    return row;
  }

  async update(actor: Actor, mnpId: string, changes: Partial<NewMiniProgram>): Promise<MiniProgramView> {
    return this.db.transaction().execute(async (trx) => {
      const row = await this.get(actor, mnpId, trx);
      const team = await teamRepository.findById(trx, row.team_id);
      requireAllowed(actor, 'mini_program.manage', team ? await scopeOfTeam(trx, team) : {});
      const updated: MiniProgramRow = {
        ...row,
        name: changes.name ?? row.name,
        icon_url: changes.iconUrl ?? row.icon_url,
        category: changes.category ?? row.category,
        kind: changes.kind ?? row.kind,
        updated_at: this.clock.nowMs(),
      };
      await miniProgramRepository.update(trx, mnpId, {
        name: updated.name,
        icon_url: updated.icon_url,
        category: updated.category,
        kind: updated.kind,
        updated_at: updated.updated_at,
      });
      await recordAudit(trx, this.clock, actor, {
        action: 'mini_program.update',
        targetType: 'mini_program',
        targetId: mnpId,
        teamId: row.team_id,
        before: { name: row.name, iconUrl: row.icon_url, category: row.category, kind: row.kind },
        after: { name: updated.name, iconUrl: updated.icon_url, category: updated.category, kind: updated.kind },
      });
      return toMiniProgramView(updated);
    });
  }
}
