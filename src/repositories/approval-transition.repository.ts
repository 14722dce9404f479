import type { Insertable } from 'kysely';
import type { ApprovalTransitionTable } from '../db/payment-schema.ts';
import type { Executor } from '../db/schema.ts';
import type { ApprovalKind } from '../domain/approval-state.ts';

export const approvalTransitionRepository = {
  append: (db: Executor, row: Insertable<ApprovalTransitionTable>) => db.insertInto('approval_transitions').values(row).execute(),
  listByRecords: (db: Executor, kind: ApprovalKind, recordIds: readonly number[]) =>
    recordIds.length === 0
      ? Promise.resolve([])
      : db
          .selectFrom('approval_transitions')
          .selectAll()
          .where('kind', '=', kind)
          .where('record_id', 'in', recordIds)
          .orderBy('id', 'asc')
          .execute(),
};
