import { sql } from 'kysely';
import type { Executor } from '../db/schema.ts';
import type { ApprovalKind } from '../domain/approval-state.ts';

export interface ApprovalQuery {
  superappId: string;
  kind?: ApprovalKind | undefined;
  statuses?: readonly number[] | undefined;
  mnpId?: string | undefined;
  teamId?: string | undefined;
  offset: number;
  limit: number;
}

export interface ApprovalListRow {
  approval_no: string;
  kind: ApprovalKind;
  team_id: string;
  mnp_id: string | null;
  merchant_id: string;
  merchant_name: string;
  apply_note: string;
  status: number;
  requested_at: number;
  decided_at: number | null;
  approval_note: string;
  id: number;
}

/** Binding requests and payment applications of one superapp as one list, newest first. */
export const approvalRepository = {
  async list(db: Executor, query: ApprovalQuery): Promise<{ total: number; rows: ApprovalListRow[] }> {
    const bindings = () => {
      let q = db
        .selectFrom('merchant_bindings')
        .select([
          'approval_no',
          sql<ApprovalKind>`cast('merchant_binding' as text)`.as('kind'),
          'team_id',
          sql<string | null>`cast(null as text)`.as('mnp_id'),
          'merchant_id',
          'merchant_name',
          sql<string>`cast('' as text)`.as('apply_note'),
          'status',
          'requested_at',
          'decided_at',
          'approval_note',
          'id',
        ])
        .where('superapp_id', '=', query.superappId);
      if (query.statuses) q = q.where('status', 'in', query.statuses as never[]);
      if (query.teamId) q = q.where('team_id', '=', query.teamId);
      return q;
    };
    const enablements = () => {
      let q = db
        .selectFrom('payment_enablements')
        .select([
          'approval_no',
          sql<ApprovalKind>`cast('payment_enable' as text)`.as('kind'),
          'team_id',
          sql<string | null>`mnp_id`.as('mnp_id'),
          'merchant_id',
          'merchant_name',
          'apply_note',
          'status',
          'requested_at',
          'decided_at',
          'approval_note',
          'id',
        ])
        .where('superapp_id', '=', query.superappId);
      if (query.statuses) q = q.where('status', 'in', query.statuses as never[]);
      if (query.teamId) q = q.where('team_id', '=', query.teamId);
      if (query.mnpId) q = q.where('mnp_id', '=', query.mnpId);
      return q;
    };
    // A mini program filter leaves only payment applications (binding requests are per team).
    const includeBindings = query.kind !== 'payment_enable' && !query.mnpId;
    const includeEnablements = query.kind !== 'merchant_binding';
    if (query.statuses?.length === 0 || (!includeBindings && !includeEnablements)) return { total: 0, rows: [] };
    const union = includeBindings && includeEnablements ? bindings().unionAll(enablements()) : includeBindings ? bindings() : enablements();
    const approvals = union.as('approvals');
    const total = Number(
      (
        await db
          .selectFrom(approvals)
          .select((eb) => eb.fn.countAll<number>().as('total'))
          .executeTakeFirstOrThrow()
      ).total,
    );
    const rows = await db
      .selectFrom(approvals)
      .selectAll()
      .orderBy('requested_at', 'desc')
      .orderBy('approval_no', 'desc')
      .offset(query.offset)
      .limit(query.limit)
      .execute();
    return { total, rows: rows.map((row) => ({ ...row, id: Number(row.id) })) };
  },
};
