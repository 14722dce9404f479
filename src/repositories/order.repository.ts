import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { OrderTable, PendingChannelOperation, TradeState } from '../db/order-schema.ts';
import type { Executor } from '../db/schema.ts';

export type OrderRow = Selectable<OrderTable>;
export type NewOrderRow = Insertable<OrderTable>;
export type OrderChanges = Updateable<OrderTable>;

/** What a refund admission expects the order to hold; the update happens only if it still does. */
export interface RefundAdmission {
  tradeState: TradeState;
  refundReserved: number;
  refundCount: number;
  amount: number;
  nextTradeState: TradeState;
  nowMs: number;
}

export const orderRepository = {
  /** Inserts unless (superapp, mchid, out_trade_no) exists; the id of the new row, or undefined when it existed. */
  async insertIfAbsent(db: Executor, order: NewOrderRow): Promise<number | undefined> {
    const row = await db
      .insertInto('orders')
      .values(order)
      .onConflict((oc) => oc.columns(['application_id', 'mchid', 'out_trade_no']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return row ? Number(row.id) : undefined;
  },
  /** Like insertIfAbsent, answering the whole new row (so the caller need not read it back). */
  insertReturningIfAbsent: (db: Executor, order: NewOrderRow) =>
    db
      .insertInto('orders')
      .values(order)
      .onConflict((oc) => oc.columns(['application_id', 'mchid', 'out_trade_no']).doNothing())
      .returningAll()
      .executeTakeFirst(),
  findById: (db: Executor, id: number) => db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst(),
  /** Merchant IDs are each superapp's own (SPEC §7): an order number is one superapp's merchant's. */
  findByOutTradeNo: (db: Executor, applicationId: string, mchid: string, outTradeNo: string) =>
    db
      .selectFrom('orders')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('mchid', '=', mchid)
      .where('out_trade_no', '=', outTradeNo)
      .executeTakeFirst(),
  /** True when the superapp has any order of this merchant (a merchant taken off its list keeps its orders). */
  async existsForMerchant(db: Executor, applicationId: string, mchid: string): Promise<boolean> {
    const row = await db
      .selectFrom('orders')
      .select('id')
      .where('application_id', '=', applicationId)
      .where('mchid', '=', mchid)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  },
  findByTransactionId: (db: Executor, transactionId: string) =>
    db.selectFrom('orders').selectAll().where('transaction_id', '=', transactionId).executeTakeFirst(),
  findByPrepayId: (db: Executor, prepayId: string) =>
    db.selectFrom('orders').selectAll().where('prepay_id', '=', prepayId).executeTakeFirst(),
  findByChannelOrderId: (db: Executor, channelKind: string, channelOrderId: string) =>
    db
      .selectFrom('orders')
      .selectAll()
      .where('channel_kind', '=', channelKind)
      .where('channel_order_id', '=', channelOrderId)
      .executeTakeFirst(),

  /** Compare-and-set on trade_state: 1 when this caller moved the order, 0 when someone else did first. */
  async transition(db: Executor, id: number, from: TradeState, to: TradeState, changes: Updateable<OrderTable>): Promise<number> {
    const result = await db
      .updateTable('orders')
      .set({ ...changes, trade_state: to })
      .where('id', '=', id)
      .where('trade_state', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  /**
   * Compare-and-set admission of a refund: moves the reservation, the count and (for the first refund)
   * the trade state, only if none of them changed since the caller read them.
   */
  async admitRefund(db: Executor, id: number, admission: RefundAdmission): Promise<number> {
    const result = await db
      .updateTable('orders')
      .set({
        refund_reserved: admission.refundReserved + admission.amount,
        refund_count: admission.refundCount + 1,
        trade_state: admission.nextTradeState,
        updated_at: admission.nowMs,
      })
      .where('id', '=', id)
      .where('trade_state', '=', admission.tradeState)
      .where('refund_reserved', '=', admission.refundReserved)
      .where('refund_count', '=', admission.refundCount)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },
  /** A CLOSED refund gives its amount back to the refundable balance. */
  releaseRefund: (db: Executor, id: number, amount: number, nowMs: number) =>
    db
      .updateTable('orders')
      .set({ refund_reserved: sql`refund_reserved - ${amount}`, updated_at: nowMs })
      .where('id', '=', id)
      .executeTakeFirst(),
  addRefundSucceeded: (db: Executor, id: number, amount: number, nowMs: number) =>
    db
      .updateTable('orders')
      .set({ refund_succeeded: sql`refund_succeeded + ${amount}`, updated_at: nowMs })
      .where('id', '=', id)
      .executeTakeFirst(),
  addAnomaly: (db: Executor, id: number, flag: number, nowMs: number) =>
    db
      .updateTable('orders')
      .set({ anomaly_flags: sql`anomaly_flags | ${flag}`, updated_at: nowMs })
      .where('id', '=', id)
      .executeTakeFirst(),

  /**
   * Compare-and-set: records the channel transaction id of a paid order whose payment was reported without
   * one (a host report, SPEC §4.5); 0 when the order changed or has one already.
   */
  async learnChannelTransactionId(
    db: Executor,
    id: number,
    tradeState: TradeState,
    channelTransactionId: string,
    nowMs: number,
  ): Promise<number> {
    const result = await db
      .updateTable('orders')
      .set({ channel_transaction_id: channelTransactionId, updated_at: nowMs })
      .where('id', '=', id)
      .where('trade_state', '=', tradeState)
      .where('channel_transaction_id', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  /**
   * Records the channel's order once; a second writer (a retried prepay) does not overwrite it. Nothing is in doubt
   * after it; `reconcileAt` is when to ask the channel again about the unpaid order (null: never).
   */
  async setChannelOrder(
    db: Executor,
    id: number,
    channelOrderId: string,
    cashierToken: string | null,
    nowMs: number,
    reconcileAt: number | null = null,
  ): Promise<number> {
    const result = await db
      .updateTable('orders')
      .set({
        channel_order_id: channelOrderId,
        cashier_token: cashierToken,
        pending_operation: null,
        reconcile_at: reconcileAt,
        updated_at: nowMs,
      })
      .where('id', '=', id)
      .where('channel_order_id', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },
  markPending: (db: Executor, id: number, operation: PendingChannelOperation, reconcileAt: number, nowMs: number) =>
    db
      .updateTable('orders')
      .set({ pending_operation: operation, reconcile_at: reconcileAt, updated_at: nowMs })
      .where('id', '=', id)
      .executeTakeFirst(),
  /** Nothing in doubt, but ask the channel again at `reconcileAt` (an unpaid order whose payment callback may be lost). */
  scheduleCheck: (db: Executor, id: number, reconcileAt: number, nowMs: number) =>
    db
      .updateTable('orders')
      .set({ pending_operation: null, reconcile_at: reconcileAt, updated_at: nowMs })
      .where('id', '=', id)
      .where('trade_state', '=', 'WAIT_PAY')
      .executeTakeFirst(),
  /** Puts back the reconcile marker an order had before a channel call that changed nothing there. */
  restorePending: (db: Executor, order: Pick<OrderRow, 'id' | 'pending_operation' | 'reconcile_at'>, nowMs: number) =>
    db
      .updateTable('orders')
      .set({ pending_operation: order.pending_operation, reconcile_at: order.reconcile_at, updated_at: nowMs })
      .where('id', '=', order.id)
      .executeTakeFirst(),
  clearPending: (db: Executor, id: number, nowMs: number) =>
    db
      .updateTable('orders')
      .set({ pending_operation: null, reconcile_at: null, updated_at: nowMs })
      .where('id', '=', id)
      .executeTakeFirst(),

  /** Unpaid orders past their expiry, oldest first (the auto-close queue). */
  listExpired: (db: Executor, nowMs: number, limit: number) =>
    db
      .selectFrom('orders')
      .selectAll()
      .where('trade_state', '=', 'WAIT_PAY')
      .where('time_expire', '<=', nowMs)
      // A close already in doubt is the reconciler's; a pending create is not a close.
      .where((eb) => eb.or([eb('pending_operation', 'is', null), eb('pending_operation', '=', 'create')]))
      .orderBy('time_expire', 'asc')
      .limit(limit)
      .execute(),
  /**
   * Orders due for the reconciler, earliest first: `unknown` ones have a channel outcome in doubt (a
   * create, close or expiry); the others are routine checks of unpaid orders whose callback may be lost.
   */
  listDueForReconcile: (db: Executor, nowMs: number, limit: number, kind: 'unknown' | 'routine') =>
    db
      .selectFrom('orders')
      .selectAll()
      .where('reconcile_at', 'is not', null)
      .where('reconcile_at', '<=', nowMs)
      .where('pending_operation', kind === 'unknown' ? 'is not' : 'is', null)
      .orderBy('reconcile_at', 'asc')
      .limit(limit)
      .execute(),

  /**
   * Orders whose channel outcome is in doubt and the earliest due check among them
   * (for /metrics; the partial index `orders_reconcile_in_doubt`).
   */
  async inDoubtSummary(db: Executor): Promise<{ inDoubt: number; earliestCheckAt: number | null }> {
    const row = await db
      .selectFrom('orders')
      .select((eb) => [eb.fn.countAll<number>().as('in_doubt'), eb.fn.min<number>('reconcile_at').as('earliest')])
      .where('pending_operation', 'is not', null)
      .executeTakeFirstOrThrow();
    return { inDoubt: Number(row.in_doubt), earliestCheckAt: row.earliest === null ? null : Number(row.earliest) };
  },

  /** Orders paid in [fromMs, toMs) of one mini program, for the trade bill, in a stable order. */
  listPaidBetween: (db: Executor, mnpId: string, mchid: string, fromMs: number, toMs: number) =>
    db
      .selectFrom('orders')
      .selectAll()
      .where('mnp_id', '=', mnpId)
      .where('mchid', '=', mchid)
      .where('success_time', '>=', fromMs)
      .where('success_time', '<', toMs)
      .orderBy('success_time', 'asc')
      .orderBy('id', 'asc')
      .execute(),
};
