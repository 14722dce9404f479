import { sql, type Insertable, type Selectable } from 'kysely';
import type { Executor } from '../db/schema.ts';
import type {
  SandboxEventTable,
  SandboxOrderState,
  SandboxOrderTable,
  SandboxRefundState,
  SandboxRefundTable,
} from '../db/gateway-schema.ts';

export type SandboxOrderRow = Selectable<SandboxOrderTable>;
export type SandboxRefundRow = Selectable<SandboxRefundTable>;
export type SandboxEventRow = Selectable<SandboxEventTable>;

/** The sandbox channel's own store. Transitions are compare-and-set on the current state. */
export const sandboxRepository = {
  /** Inserts unless a unique key (superapp + merchant + out_trade_no, prepay_id, cashier token) is taken; the row when inserted. */
  insertOrder: (db: Executor, row: Insertable<SandboxOrderTable>) =>
    db
      .insertInto('sandbox_orders')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst(),
  findOrder: (db: Executor, superappId: string, merchantId: string, outTradeNo: string) =>
    db
      .selectFrom('sandbox_orders')
      .selectAll()
      .where('superapp_id', '=', superappId)
      .where('merchant_id', '=', merchantId)
      .where('out_trade_no', '=', outTradeNo)
      .executeTakeFirst(),
  findOrderById: (db: Executor, id: string) => db.selectFrom('sandbox_orders').selectAll().where('id', '=', id).executeTakeFirst(),
  findOrderByPrepayId: (db: Executor, prepayId: string) =>
    db.selectFrom('sandbox_orders').selectAll().where('prepay_id', '=', prepayId).executeTakeFirst(),
  findOrderByCashierToken: (db: Executor, token: string) =>
    db.selectFrom('sandbox_orders').selectAll().where('cashier_token', '=', token).executeTakeFirst(),

  /** Moves an order from `from` to `to` with the given changes; false when it was no longer in `from`. */
  async transitionOrder(
    db: Executor,
    id: string,
    from: SandboxOrderState,
    changes: Partial<
      Pick<
        SandboxOrderTable,
        'state' | 'channel_transaction_id' | 'payer_openid' | 'paid_at' | 'closed_at' | 'failure_reason' | 'updated_at'
      >
    >,
  ): Promise<boolean> {
    const result = await db.updateTable('sandbox_orders').set(changes).where('id', '=', id).where('state', '=', from).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Reserves part of the paid amount for a refund; false when it would exceed the amount. */
  async reserveRefund(db: Executor, orderId: string, amount: number, now: number): Promise<boolean> {
    const result = await db
      .updateTable('sandbox_orders')
      .set({ refund_reserved: sql`refund_reserved + ${amount}`, updated_at: now })
      .where('id', '=', orderId)
      .where('state', '=', 'SUCCESS')
      .where(sql<boolean>`refund_reserved + ${amount} <= amount_total`)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  releaseRefund: (db: Executor, orderId: string, amount: number, now: number) =>
    db
      .updateTable('sandbox_orders')
      .set({ refund_reserved: sql`refund_reserved - ${amount}`, updated_at: now })
      .where('id', '=', orderId)
      .executeTakeFirst(),

  async insertRefund(db: Executor, row: Insertable<SandboxRefundTable>): Promise<boolean> {
    const result = await db
      .insertInto('sandbox_refunds')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  },
  findRefund: (db: Executor, superappId: string, merchantId: string, outRefundNo: string) =>
    db
      .selectFrom('sandbox_refunds')
      .selectAll()
      .where('superapp_id', '=', superappId)
      .where('merchant_id', '=', merchantId)
      .where('out_refund_no', '=', outRefundNo)
      .executeTakeFirst(),
  /** Refunds with this number under any superapp and merchant, or one merchant (the control API may name neither). */
  findRefundsByNumber: (db: Executor, outRefundNo: string, merchantId?: string) => {
    let query = db.selectFrom('sandbox_refunds').selectAll().where('out_refund_no', '=', outRefundNo);
    if (merchantId !== undefined) query = query.where('merchant_id', '=', merchantId);
    return query.limit(2).execute();
  },
  async transitionRefund(db: Executor, id: string, from: SandboxRefundState, to: SandboxRefundState, now: number): Promise<boolean> {
    const result = await db
      .updateTable('sandbox_refunds')
      .set({ state: to, settled_at: now, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  dueRefunds: (db: Executor, now: number, limit: number) =>
    db
      .selectFrom('sandbox_refunds')
      .selectAll()
      .where('state', '=', 'PROCESSING')
      .where('settle_at', '<=', now)
      .orderBy('settle_at')
      .limit(limit)
      .execute(),

  insertEvent: (db: Executor, row: Insertable<SandboxEventTable>) => db.insertInto('sandbox_events').values(row).execute(),
  dueEvents: (db: Executor, now: number, limit: number) =>
    db
      .selectFrom('sandbox_events')
      .selectAll()
      .where('delivered_at', 'is', null)
      .where('next_attempt_at', '<=', now)
      .orderBy('id')
      .limit(limit)
      .execute(),
  /** Claims an event for one delivery attempt by moving its due time (compare-and-set); false when someone else did. */
  async claimEvent(db: Executor, id: number, seenNextAttemptAt: number, leaseUntil: number): Promise<boolean> {
    const result = await db
      .updateTable('sandbox_events')
      .set({ next_attempt_at: leaseUntil })
      .where('id', '=', id)
      .where('delivered_at', 'is', null)
      .where('next_attempt_at', '=', seenNextAttemptAt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
  markEventDelivered: (db: Executor, id: number, now: number) =>
    db
      .updateTable('sandbox_events')
      .set((eb) => ({ delivered_at: now, next_attempt_at: null, attempts: eb('attempts', '+', 1), last_error: null }))
      .where('id', '=', id)
      .where('delivered_at', 'is', null)
      .execute(),
  markEventFailed: (db: Executor, id: number, nextAttemptAt: number, error: string) =>
    db
      .updateTable('sandbox_events')
      .set((eb) => ({ next_attempt_at: nextAttemptAt, attempts: eb('attempts', '+', 1), last_error: error.slice(0, 1024) }))
      .where('id', '=', id)
      .where('delivered_at', 'is', null)
      .execute(),
  findEvent: (db: Executor, eventId: string) =>
    db.selectFrom('sandbox_events').selectAll().where('event_id', '=', eventId).executeTakeFirst(),
  listEvents: (db: Executor) => db.selectFrom('sandbox_events').selectAll().orderBy('id').execute(),
};
