import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Executor } from '../db/schema.ts';
import type { VirtualItemRevisionTable, VirtualItemTable } from '../db/virtual-payment-schema.ts';
import { RevisionStatus, type ItemStatus } from '../domain/approval-state.ts';

export type VirtualItemRow = Selectable<VirtualItemTable>;
export type VirtualItemRevisionRow = Selectable<VirtualItemRevisionTable>;
export type VirtualItemChanges = Updateable<VirtualItemTable>;
export type VirtualItemRevisionChanges = Updateable<VirtualItemRevisionTable>;

const items = (db: Executor) => db.selectFrom('virtual_items').selectAll();
const revisions = (db: Executor) => db.selectFrom('virtual_item_revisions').selectAll();
const numeric = <T extends { id: number; price: number | null; approved_revision_id: number | null }>(row: T): T => ({
  ...row,
  id: Number(row.id),
  price: row.price === null ? null : Number(row.price),
  approved_revision_id: row.approved_revision_id === null ? null : Number(row.approved_revision_id),
});
const numericRevision = (row: VirtualItemRevisionRow): VirtualItemRevisionRow => ({
  ...row,
  id: Number(row.id),
  item_id: Number(row.item_id),
  price: Number(row.price),
});

/** Virtual items (SPEC §8.1) and their submitted versions. */
export const virtualItemRepository = {
  insertItem: async (db: Executor, row: Insertable<VirtualItemTable>) =>
    Number((await db.insertInto('virtual_items').values(row).returning('id').executeTakeFirstOrThrow()).id),
  findItem: async (db: Executor, mnpId: string, productId: string) => {
    const row = await items(db).where('mnp_id', '=', mnpId).where('product_id', '=', productId).executeTakeFirst();
    return row && numeric(row);
  },
  findItemById: async (db: Executor, id: number) => {
    const row = await items(db).where('id', '=', id).executeTakeFirst();
    return row && numeric(row);
  },
  listItems: async (db: Executor, mnpId: string) =>
    (await items(db).where('mnp_id', '=', mnpId).orderBy('id', 'asc').execute()).map(numeric),
  /** `UPDATE ... SET status = to WHERE id AND status = from`: the rows changed (0 or 1). */
  compareAndSetItem: async (db: Executor, id: number, from: ItemStatus, to: ItemStatus, changes: VirtualItemChanges) =>
    Number(
      (
        await db
          .updateTable('virtual_items')
          .set({ ...changes, status: to })
          .where('id', '=', id)
          .where('status', '=', from)
          .executeTakeFirst()
      ).numUpdatedRows,
    ),
  /** The approved version becomes the selling one (the item's status is unchanged). */
  setSellingVersion: (db: Executor, id: number, changes: VirtualItemChanges) =>
    db.updateTable('virtual_items').set(changes).where('id', '=', id).execute(),
  insertRevision: async (db: Executor, row: Insertable<VirtualItemRevisionTable>) =>
    Number((await db.insertInto('virtual_item_revisions').values(row).returning('id').executeTakeFirstOrThrow()).id),
  findRevisionByApprovalNo: async (db: Executor, approvalNo: string) => {
    const row = await revisions(db).where('approval_no', '=', approvalNo).executeTakeFirst();
    return row && numericRevision(row);
  },
  findPendingRevision: async (db: Executor, itemId: number) => {
    const row = await revisions(db).where('item_id', '=', itemId).where('status', '=', RevisionStatus.Pending).executeTakeFirst();
    return row && numericRevision(row);
  },
  /** The pending revision of each of the mini program's items. */
  listPendingRevisions: async (db: Executor, mnpId: string) =>
    (await revisions(db).where('mnp_id', '=', mnpId).where('status', '=', RevisionStatus.Pending).execute()).map(numericRevision),
  /** The item's latest revision (what its last submission said). */
  findLatestRevision: async (db: Executor, itemId: number) => {
    const row = await revisions(db).where('item_id', '=', itemId).orderBy('id', 'desc').limit(1).executeTakeFirst();
    return row && numericRevision(row);
  },
  compareAndSetRevision: async (db: Executor, id: number, from: RevisionStatus, to: RevisionStatus, changes: VirtualItemRevisionChanges) =>
    Number(
      (
        await db
          .updateTable('virtual_item_revisions')
          .set({ ...changes, status: to })
          .where('id', '=', id)
          .where('status', '=', from)
          .executeTakeFirst()
      ).numUpdatedRows,
    ),
};
