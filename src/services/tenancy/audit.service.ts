import type { Executor, DatabaseClient } from '../../db/schema.ts';
import { accessLevel, type Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { notFound } from '../../domain/errors.ts';
import { auditRepository } from '../../repositories/audit.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';
import { ownTeamScope } from './access-scope.ts';

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId: string;
  teamId?: string | null;
  before?: unknown;
  after?: unknown;
}

/** Appends to the audit log inside the caller's transaction, so the entry lands with the change. */
export async function recordAudit(db: Executor, clock: Clock, actor: Actor, entry: AuditEntry, requestId?: string): Promise<void> {
  await auditRepository.append(db, {
    at: clock.nowMs(),
    actor_user_id: actor.userId,
    actor_account: actor.account,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId,
    team_id: entry.teamId ?? null,
    before_json: entry.before === undefined ? null : JSON.stringify(entry.before),
    after_json: entry.after === undefined ? null : JSON.stringify(entry.after),
    request_id: requestId ?? null,
  });
}

export class AuditService {
  constructor(private readonly db: DatabaseClient) {}

  /**
   * Entries of the teams whose audit log the actor reads (SPEC §1.1 table: admins every entry, a
   * team's own roles with `audit.view` that team's). Asking for a team outside that reach, or having
   * no such team at all, is "not found".
   */
  async list(actor: Actor, query: { teamId?: string | undefined; beforeId?: number | undefined; limit: number }) {
    let teamIds: string[] | undefined;
    if (query.teamId) {
      const team = await teamRepository.findById(this.db, query.teamId);
      if (!team || !accessLevel(actor, 'audit.view', ownTeamScope(team))) throw notFound('Audit log');
      teamIds = [team.id];
    } else if (!accessLevel(actor, 'audit.view', {})) {
      teamIds = [];
      for (const teamId of actor.memberships.keys()) {
        const team = await teamRepository.findById(this.db, teamId);
        if (team && accessLevel(actor, 'audit.view', ownTeamScope(team))) teamIds.push(team.id);
      }
      if (teamIds.length === 0) throw notFound('Audit log');
    }
    const rows = await auditRepository.list(this.db, { teamIds, beforeId: query.beforeId, limit: query.limit });
    return rows.map((row) => ({
      id: Number(row.id),
      at: row.at,
      actorUserId: row.actor_user_id,
      actorAccount: row.actor_account,
      action: row.action,
      targetType: row.target_type,
      targetId: row.target_id,
      teamId: row.team_id,
      before: row.before_json ? (JSON.parse(row.before_json) as unknown) : null,
      after: row.after_json ? (JSON.parse(row.after_json) as unknown) : null,
    }));
  }
}
