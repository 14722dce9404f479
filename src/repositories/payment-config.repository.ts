import type { Insertable, Selectable, Updateable } from 'kysely';
import type { SuperappPaymentConfigTable } from '../db/payment-schema.ts';
import type { Executor } from '../db/schema.ts';

export type PaymentConfigRow = Selectable<SuperappPaymentConfigTable>;

export const paymentConfigRepository = {
  find: (db: Executor, superappId: string) =>
    db.selectFrom('superapp_payment_configs').selectAll().where('superapp_id', '=', superappId).executeTakeFirst(),
  insert: (db: Executor, row: Insertable<SuperappPaymentConfigTable>) => db.insertInto('superapp_payment_configs').values(row).execute(),
  update: (db: Executor, superappId: string, changes: Updateable<SuperappPaymentConfigTable>) =>
    db.updateTable('superapp_payment_configs').set(changes).where('superapp_id', '=', superappId).executeTakeFirst(),
  /** Compare-and-set on `updated_at`: false when the configuration changed since it was read. */
  async updateIfUnchanged(
    db: Executor,
    superappId: string,
    readUpdatedAt: number,
    changes: Updateable<SuperappPaymentConfigTable>,
  ): Promise<boolean> {
    const result = await db
      .updateTable('superapp_payment_configs')
      .set(changes)
      .where('superapp_id', '=', superappId)
      .where('updated_at', '=', readUpdatedAt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  /** Forgets the HTTP channel key (current and previous), only if it is still the one read. */
  async dropChannelKey(db: Executor, superappId: string, readKeySealed: string): Promise<boolean> {
    const result = await db
      .updateTable('superapp_payment_configs')
      .set({ channel_key_sealed: null, previous_channel_key_sealed: null, previous_channel_key_until: null })
      .where('superapp_id', '=', superappId)
      .where('channel_key_sealed', '=', readKeySealed)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  /** Forgets the host key (current and previous), only if it is still the one read. */
  async dropHostKey(db: Executor, superappId: string, readKeySealed: string): Promise<boolean> {
    const result = await db
      .updateTable('superapp_payment_configs')
      .set({ host_key_sealed: null, previous_host_key_sealed: null, previous_host_key_until: null })
      .where('superapp_id', '=', superappId)
      .where('host_key_sealed', '=', readKeySealed)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
};
