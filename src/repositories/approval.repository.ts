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
  /** 1 standard, 2 virtual; null for merchant binding requests (they serve both). */
  payment_type: number | null;
  /** The item of a `virtual_item` request; null for the other kinds. */
  product_id: string | null;
}

/** Binding requests, payment applications (standard and virtual), item revisions and exemption requests of one superapp, newest first. */
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
          sql<number | null>`cast(null as integer)`.as('payment_type'),
          sql<string | null>`cast(null as text)`.as('product_id'),
        ])
        .where('superapp_id', '=', query.superappId);
      if (query.statuses) q = q.where('status', 'in', query.statuses as never[]);
      if (query.teamId) q = q.where('team_id', '=', query.teamId);
      return q;
    };
    const enablements = (paymentType: 1 | 2) => {
      let q = db
        .selectFrom('payment_enablements')
        .select([
          'approval_no',
          sql<ApprovalKind>`cast(${paymentType === 2 ? 'virtual_payment_enable' : 'payment_enable'} as text)`.as('kind'),
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
          sql<number | null>`payment_type`.as('payment_type'),
          sql<string | null>`cast(null as text)`.as('product_id'),
        ])
        .where('superapp_id', '=', query.superappId)
        .where('payment_type', '=', paymentType);
      if (query.statuses) q = q.where('status', 'in', query.statuses as never[]);
      if (query.teamId) q = q.where('team_id', '=', query.teamId);
      if (query.mnpId) q = q.where('mnp_id', '=', query.mnpId);
      return q;
    };
    const revisions = () => {
      let q = db
        .selectFrom('virtual_item_revisions')
        .select([
          'approval_no',
          sql<ApprovalKind>`cast('virtual_item' as text)`.as('kind'),
          'team_id',
          sql<string | null>`mnp_id`.as('mnp_id'),
          sql<string>`cast('' as text)`.as('merchant_id'),
          sql<string>`cast('' as text)`.as('merchant_name'),
          sql<string>`name`.as('apply_note'),
          'status',
          'requested_at',
          'decided_at',
          'approval_note',
          sql<number>`item_id`.as('id'),
          sql<number | null>`cast(2 as integer)`.as('payment_type'),
          sql<string | null>`product_id`.as('product_id'),
        ])
        .where('superapp_id', '=', query.superappId);
      if (query.statuses) q = q.where('status', 'in', query.statuses as never[]);
      if (query.teamId) q = q.where('team_id', '=', query.teamId);
      if (query.mnpId) q = q.where('mnp_id', '=', query.mnpId);
      return q;
    };
    const exemptions = () => {
      let q = db
        .selectFrom('virtual_item_exemptions')
        .select([
          'approval_no',
          sql<ApprovalKind>`cast('item_exemption' as text)`.as('kind'),
          'team_id',
          sql<string | null>`mnp_id`.as('mnp_id'),
          sql<string>`cast('' as text)`.as('merchant_id'),
          sql<string>`cast('' as text)`.as('merchant_name'),
          'apply_note',
          'status',
          'requested_at',
          'decided_at',
          'approval_note',
          'id',
          sql<number | null>`cast(2 as integer)`.as('payment_type'),
          sql<string | null>`cast(null as text)`.as('product_id'),
        ])
        .where('superapp_id', '=', query.superappId);
      if (query.statuses) q = q.where('status', 'in', query.statuses as never[]);
      if (query.teamId) q = q.where('team_id', '=', query.teamId);
      if (query.mnpId) q = q.where('mnp_id', '=', query.mnpId);
      return q;
    };
    const wanted = (kind: ApprovalKind) => query.kind === undefined || query.kind === kind;
    // A mini program filter leaves out binding requests (they are per team).
    const parts = [
      ...(wanted('merchant_binding') && !query.mnpId ? [bindings()] : []),
      ...(wanted('payment_enable') ? [enablements(1)] : []),
      ...(wanted('virtual_payment_enable') ? [enablements(2)] : []),
      ...(wanted('virtual_item') ? [revisions()] : []),
      ...(wanted('item_exemption') ? [exemptions()] : []),
    ];
    const [first, ...rest] = parts;
    if (query.statuses?.length === 0 || !first) return { total: 0, rows: [] };
    const union = rest.reduce<typeof first>((all, part) => all.unionAll(part) as typeof first, first);
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
    return {
      total,
      rows: rows.map((row) => ({ ...row, id: Number(row.id), payment_type: row.payment_type === null ? null : Number(row.payment_type) })),
    };
  },
};
