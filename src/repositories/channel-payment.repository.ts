import type { Insertable, Selectable } from 'kysely';
import type { ChannelPaymentTable, PaymentStateHistoryTable } from '../db/order-schema.ts';
import type { Executor } from '../db/schema.ts';

export type ChannelPaymentRow = Selectable<ChannelPaymentTable>;
export type PaymentStateHistoryRow = Selectable<PaymentStateHistoryTable>;

export const channelPaymentRepository = {
  /** Records a reported payment unless the same (order, channel transaction) is recorded already. */
  async insertIfAbsent(db: Executor, payment: Insertable<ChannelPaymentTable>): Promise<number | undefined> {
    const row = await db
      .insertInto('channel_payments')
      .values(payment)
      .onConflict((oc) => oc.columns(['order_id', 'channel_transaction_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return row ? Number(row.id) : undefined;
  },
  /** The order's payment under that channel transaction id; null: the payment reported without one (a host's). */
  find: (db: Executor, orderId: number, channelTransactionId: string | null) =>
    db
      .selectFrom('channel_payments')
      .selectAll()
      .where('order_id', '=', orderId)
      .where('channel_transaction_id', channelTransactionId === null ? 'is' : '=', channelTransactionId)
      .orderBy('id', 'asc')
      .executeTakeFirst(),
  /** Names the payment that paid the order, reported without a channel transaction id, once: 1, or 0 if it has one. */
  async learnTransactionId(db: Executor, orderId: number, channelTransactionId: string): Promise<number> {
    const result = await db
      .updateTable('channel_payments')
      .set({ channel_transaction_id: channelTransactionId })
      .where('order_id', '=', orderId)
      .where('channel_transaction_id', 'is', null)
      .where('disposition', 'in', ['applied', 'late_payment_refunded'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },
  listByOrder: (db: Executor, orderId: number) =>
    db.selectFrom('channel_payments').selectAll().where('order_id', '=', orderId).orderBy('id', 'asc').execute(),
  setRefund: (db: Executor, id: number, refundId: number) =>
    db.updateTable('channel_payments').set({ refund_id: refundId }).where('id', '=', id).executeTakeFirst(),
};

export const paymentStateHistoryRepository = {
  append: (db: Executor, entry: Insertable<PaymentStateHistoryTable>) => db.insertInto('payment_state_history').values(entry).execute(),
  listOf: (db: Executor, subject: 'order' | 'refund', subjectId: number) =>
    db
      .selectFrom('payment_state_history')
      .selectAll()
      .where('subject', '=', subject)
      .where('subject_id', '=', subjectId)
      .orderBy('id', 'asc')
      .execute(),
};
