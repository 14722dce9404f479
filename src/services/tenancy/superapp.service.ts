import type { Executor, DatabaseClient } from '../../db/schema.ts';
import { isPlatformAdmin, requireAllowed, requireVisible, type Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { superappRepository, type SuperappRow } from '../../repositories/superapp.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';
import { scopeOfSuperapp } from './access-scope.ts';
import { recordAudit } from './audit.service.ts';

export interface SuperappView {
  applicationId: string;
  teamId: string;
  name: string;
  description: string;
  createdAt: number;
}

export const toSuperappView = (row: SuperappRow): SuperappView => ({
  applicationId: row.id,
  teamId: row.team_id,
  name: row.name,
  description: row.description,
  createdAt: row.created_at,
});

export class SuperappService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
  ) {}

  async create(actor: Actor, input: { teamId: string; name: string; description: string }): Promise<SuperappView> {
    requireVisible(actor, 'team.create', {}, 'Superapps');
    requireAllowed(actor, 'team.create', {});
    const now = this.clock.nowMs();
    return this.db.transaction().execute(async (trx) => {
      const team = await teamRepository.findById(trx, input.teamId);
      if (!team || team.kind !== 'superapp') {
        throw new AppError('InvalidParameterValue', 'teamId: a superapp belongs to a superapp team', { field: 'teamId' });
      }
      const row: SuperappRow = {
        id: newId('app', now),
        team_id: team.id,
        name: input.name,
        description: input.description,
        created_at: now,
        updated_at: now,
      };
      await superappRepository.insert(trx, row);
      await recordAudit(trx, this.clock, actor, {
        action: 'superapp.create',
        targetType: 'superapp',
        targetId: row.id,
        teamId: team.id,
        after: row,
      });
      return toSuperappView(row);
    });
  }

  async list(actor: Actor): Promise<SuperappView[]> {
    const rows = isPlatformAdmin(actor)
      ? await superappRepository.listAll(this.db)
      : await superappRepository.listByTeams(this.db, [...actor.memberships.keys()]);
    return rows.map(toSuperappView);
  }

  async get(actor: Actor, applicationId: string, db: Executor = this.db): Promise<SuperappRow> {
    const row = await superappRepository.findById(db, applicationId);
    if (!row) throw notFound('Superapp');
    requireVisible(actor, 'superapp.view', scopeOfSuperapp(row), 'Superapp');
    return row;
  }

  async update(
    actor: Actor,
    applicationId: string,
    changes: { name?: string | undefined; description?: string | undefined },
  ): Promise<SuperappView> {
    return this.db.transaction().execute(async (trx) => {
      const row = await this.get(actor, applicationId, trx);
      requireAllowed(actor, 'superapp.manage', scopeOfSuperapp(row));
      const updated = {
        ...row,
        name: changes.name ?? row.name,
        description: changes.description ?? row.description,
        updated_at: this.clock.nowMs(),
      };
      await superappRepository.update(trx, row.id, {
        name: updated.name,
        description: updated.description,
        updated_at: updated.updated_at,
      });
      await recordAudit(trx, this.clock, actor, {
        action: 'superapp.update',
        targetType: 'superapp',
        targetId: row.id,
        teamId: row.team_id,
        before: { name: row.name, description: row.description },
        after: { name: updated.name, description: updated.description },
      });
      return toSuperappView(updated);
    });
  }
}
