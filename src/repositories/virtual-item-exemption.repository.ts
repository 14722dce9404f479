import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Executor } from '../db/schema.ts';
import type { VirtualItemExemptionTable } from '../db/virtual-payment-schema.ts';
import { ExemptionStatus } from '../domain/approval-state.ts';

export type ItemExemptionRow = Selectable<VirtualItemExemptionTable>;
export type StoredExemptionStatus = ItemExemptionRow['status'];
export type ItemExemptionChanges = Updateable<VirtualItemExemptionTable>;

const exemptions = (db: Executor) => db.selectFrom('virtual_item_exemptions').selectAll();
const numeric = (row: ItemExemptionRow): ItemExemptionRow => ({ ...row, id: Number(row.id) });

/** Approval exemptions for virtual items, one row per request (SPEC §8.1). */
export const itemExemptionRepository = {
  insert: async (db: Executor, row: Insertable<VirtualItemExemptionTable>) =>
    Number((await db.insertInto('virtual_item_exemptions').values(row).returning('id').executeTakeFirstOrThrow()).id),
  findByApprovalNo: async (db: Executor, approvalNo: string) => {
    const row = await exemptions(db).where('approval_no', '=', approvalNo).executeTakeFirst();
    return row && numeric(row);
  },
  findById: async (db: Executor, id: number) => {
    const row = await exemptions(db).where('id', '=', id).executeTakeFirst();
    return row && numeric(row);
  },
  /** The mini program's latest request: its exemption state now. */
  findLatestByMnp: async (db: Executor, mnpId: string) => {
    const row = await exemptions(db).where('mnp_id', '=', mnpId).orderBy('id', 'desc').limit(1).executeTakeFirst();
    return row && numeric(row);
  },
  /** Whether saved items are approved at once (an APPROVED exemption). */
  isExempt: async (db: Executor, mnpId: string) =>
    (await db
      .selectFrom('virtual_item_exemptions')
      .select('id')
      .where('mnp_id', '=', mnpId)
      .where('status', '=', ExemptionStatus.Approved)
      .executeTakeFirst()) !== undefined,
  compareAndSet: async (db: Executor, id: number, from: StoredExemptionStatus, to: StoredExemptionStatus, changes: ItemExemptionChanges) =>
    Number(
      (
        await db
          .updateTable('virtual_item_exemptions')
          .set({ ...changes, status: to })
          .where('id', '=', id)
          .where('status', '=', from)
          .executeTakeFirst()
      ).numUpdatedRows,
    ),
};
