import type { Executor } from '../db/schema.ts';
import type { Actor } from '../domain/access.ts';
import { isPlatformAdmin } from '../domain/access.ts';
import type { Clock } from '../domain/clock.ts';
import { auditRepository } from '../repositories/audit.repository.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

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
  constructor(private readonly db: Kysely<Database>) {}

  /** Admins read every entry; team Administrators read their own teams' entries. */
  async list(actor: Actor, query: { teamId?: string | undefined; beforeId?: number | undefined; limit: number }) {
    let teamIds: string[] | undefined;
    if (!isPlatformAdmin(actor)) {
      teamIds = [...actor.memberships].filter(([, role]) => role === 'administrator').map(([teamId]) => teamId);
      if (query.teamId) teamIds = teamIds.filter((id) => id === query.teamId);
    } else if (query.teamId) {
      teamIds = [query.teamId];
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
