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
};
