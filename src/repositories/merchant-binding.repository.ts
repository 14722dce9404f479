import type { Insertable, Selectable, Updateable } from 'kysely';
import type { MerchantBindingTable } from '../db/payment-schema.ts';
import type { Executor } from '../db/schema.ts';
import { BindingStatus } from '../domain/approval-state.ts';

export type MerchantBindingRow = Selectable<MerchantBindingTable>;
export type MerchantBindingChanges = Updateable<MerchantBindingTable>;

const bindings = (db: Executor) => db.selectFrom('merchant_bindings').selectAll();

export const merchantBindingRepository = {
  insert: async (db: Executor, row: Insertable<MerchantBindingTable>) =>
    Number((await db.insertInto('merchant_bindings').values(row).returning('id').executeTakeFirstOrThrow()).id),
  findById: (db: Executor, id: number) => bindings(db).where('id', '=', id).executeTakeFirst(),
  findByApprovalNo: (db: Executor, approvalNo: string) => bindings(db).where('approval_no', '=', approvalNo).executeTakeFirst(),
  findEffectiveByTeam: (db: Executor, teamId: string) =>
    bindings(db).where('team_id', '=', teamId).where('status', '=', BindingStatus.Effective).executeTakeFirst(),
  findPendingByTeam: (db: Executor, teamId: string) =>
    bindings(db).where('team_id', '=', teamId).where('status', '=', BindingStatus.Pending).executeTakeFirst(),
  findLatestByTeam: (db: Executor, teamId: string) =>
    bindings(db).where('team_id', '=', teamId).orderBy('id', 'desc').limit(1).executeTakeFirst(),
  listByTeam: (db: Executor, teamId: string) => bindings(db).where('team_id', '=', teamId).orderBy('id', 'desc').execute(),
  /** The team (if any) whose effective binding is this merchant. */
  findEffectiveByMerchant: (db: Executor, superappId: string, merchantId: string) =>
    bindings(db)
      .where('superapp_id', '=', superappId)
      .where('merchant_id', '=', merchantId)
      .where('status', '=', BindingStatus.Effective)
      .executeTakeFirst(),
  /** Whether a pending request or an effective binding names this merchant of the list. */
  hasOpenForMerchant: async (db: Executor, merchantRef: number) =>
    (await db
      .selectFrom('merchant_bindings')
      .select('id')
      .where('merchant_ref', '=', merchantRef)
      .where('status', 'in', [BindingStatus.Pending, BindingStatus.Effective])
      .limit(1)
      .executeTakeFirst()) !== undefined,
  /** Compare-and-set: moves the row from `from` to `to`; the number of rows changed is 0 if someone else moved it first. */
  compareAndSet: async (db: Executor, id: number, from: BindingStatus, to: BindingStatus, changes: Updateable<MerchantBindingTable>) =>
    Number(
      (
        await db
          .updateTable('merchant_bindings')
          .set({ ...changes, status: to })
          .where('id', '=', id)
          .where('status', '=', from)
          .executeTakeFirst()
      ).numUpdatedRows,
    ),
};
