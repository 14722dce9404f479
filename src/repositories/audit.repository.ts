import type { Insertable } from 'kysely';
import type { AuditLogTable, Executor } from '../db/schema.ts';

export interface AuditQuery {
  teamIds?: readonly string[] | undefined;
  beforeId?: number | undefined;
  limit: number;
}

export const auditRepository = {
  append: (db: Executor, entry: Insertable<AuditLogTable>) => db.insertInto('audit_log').values(entry).execute(),
  /** Newest first, paged by id; `teamIds` restricts to those teams' entries (undefined: all). */
  list: (db: Executor, query: AuditQuery) => {
    let select = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(query.limit);
    if (query.teamIds) {
      const teamIds = query.teamIds;
      if (teamIds.length === 0) return Promise.resolve([]);
      select = select.where('team_id', 'in', teamIds);
    }
    if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId);
    return select.execute();
  },
};
