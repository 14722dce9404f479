import type { Insertable, Selectable, Updateable } from 'kysely';
import type { PaymentEnablementTable } from '../db/payment-schema.ts';
import type { Executor } from '../db/schema.ts';
import { EnablementStatus, type PaymentType } from '../domain/approval-state.ts';

export type PaymentEnablementRow = Selectable<PaymentEnablementTable>;
export type StoredEnablementStatus = PaymentEnablementRow['status'];
export type PaymentEnablementChanges = Updateable<PaymentEnablementTable>;

const enablements = (db: Executor) => db.selectFrom('payment_enablements').selectAll();

export const paymentEnablementRepository = {
  insert: async (db: Executor, row: Insertable<PaymentEnablementTable>) =>
    Number((await db.insertInto('payment_enablements').values(row).returning('id').executeTakeFirstOrThrow()).id),
  findById: (db: Executor, id: number) => enablements(db).where('id', '=', id).executeTakeFirst(),
  findByApprovalNo: (db: Executor, approvalNo: string) => enablements(db).where('approval_no', '=', approvalNo).executeTakeFirst(),
  /** The mini program's latest application of a PaymentType: its current state for that type (SPEC §8.1). */
  findLatestByMnp: (db: Executor, mnpId: string, paymentType: PaymentType) =>
    enablements(db).where('mnp_id', '=', mnpId).where('payment_type', '=', paymentType).orderBy('id', 'desc').limit(1).executeTakeFirst(),
  /** The latest application of a PaymentType of each of the team's mini programs. */
  listLatestByTeam: (db: Executor, teamId: string, paymentType: PaymentType) =>
    enablements(db)
      .where('team_id', '=', teamId)
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('payment_enablements')
          .select((e) => e.fn.max('id').as('id'))
          .where('team_id', '=', teamId)
          .where('payment_type', '=', paymentType)
          .groupBy('mnp_id'),
      )
      .execute(),
  /** Every approved record of the team, standard and virtual (an unbinding disables them all). */
  listApprovedByTeam: (db: Executor, teamId: string) =>
    enablements(db).where('team_id', '=', teamId).where('status', '=', EnablementStatus.Approved).orderBy('id', 'asc').execute(),
  compareAndSet: async (
    db: Executor,
    id: number,
    from: StoredEnablementStatus,
    to: StoredEnablementStatus,
    changes: Updateable<PaymentEnablementTable>,
  ) =>
    Number(
      (
        await db
          .updateTable('payment_enablements')
          .set({ ...changes, status: to })
          .where('id', '=', id)
          .where('status', '=', from)
          .executeTakeFirst()
      ).numUpdatedRows,
    ),
};
