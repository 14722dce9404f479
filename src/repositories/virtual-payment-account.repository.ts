import type { Insertable, Selectable } from 'kysely';
import type { Executor } from '../db/schema.ts';
import type { VirtualDeliveryConfigTable, VirtualPaymentAccountTable } from '../db/virtual-payment-schema.ts';

export type VirtualPaymentAccountRow = Selectable<VirtualPaymentAccountTable>;
export type VirtualDeliveryConfigRow = Selectable<VirtualDeliveryConfigTable>;

/** A mini program's virtual payment account (SPEC §8.1) and its delivery configuration. */
export const virtualPaymentAccountRepository = {
  find: (db: Executor, mnpId: string) =>
    db.selectFrom('virtual_payment_accounts').selectAll().where('mnp_id', '=', mnpId).executeTakeFirst(),
  listByTeam: (db: Executor, teamId: string) =>
    db.selectFrom('virtual_payment_accounts').selectAll().where('team_id', '=', teamId).execute(),
  insert: (db: Executor, row: Insertable<VirtualPaymentAccountTable>) => db.insertInto('virtual_payment_accounts').values(row).execute(),
  /** A re-approval re-points the account at the team's current merchant. */
  setMchid: (db: Executor, mnpId: string, mchid: string, now: number) =>
    db.updateTable('virtual_payment_accounts').set({ mchid, updated_at: now }).where('mnp_id', '=', mnpId).execute(),
  /** Compare-and-set on the key's generation: false when another reset won. */
  async replaceAppKey(db: Executor, mnpId: string, fromGeneration: number, sealed: string, now: number): Promise<boolean> {
    const result = await db
      .updateTable('virtual_payment_accounts')
      .set({ app_key_sealed: sealed, app_key_generation: fromGeneration + 1, app_key_set_at: now, updated_at: now })
      .where('mnp_id', '=', mnpId)
      .where('app_key_generation', '=', fromGeneration)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  findDeliveryConfig: (db: Executor, mnpId: string) =>
    db.selectFrom('virtual_delivery_configs').selectAll().where('mnp_id', '=', mnpId).executeTakeFirst(),
  upsertDeliveryConfig: (db: Executor, row: Insertable<VirtualDeliveryConfigTable>) =>
    db
      .insertInto('virtual_delivery_configs')
      .values(row)
      .onConflict((oc) =>
        oc.column('mnp_id').doUpdateSet({ delivery_url: row.delivery_url, updated_by: row.updated_by ?? null, updated_at: row.updated_at }),
      )
      .execute(),
};
