import type { Insertable, Selectable, Updateable } from 'kysely';
import type { RefundStatus, RefundTable } from '../db/order-schema.ts';
import type { Executor } from '../db/schema.ts';

export type RefundRow = Selectable<RefundTable>;
export type NewRefundRow = Insertable<RefundTable>;
export type RefundChanges = Updateable<RefundTable>;

export const refundRepository = {
  /** Inserts unless (superapp, mchid, out_refund_no) exists; the id of the new row, or undefined when it existed. */
  /** The new refund as stored; undefined when (superapp, mchid, out_refund_no) exists already. */
  async insertIfAbsent(db: Executor, refund: NewRefundRow): Promise<RefundRow | undefined> {
    const row = await db
      .insertInto('refunds')
      .values(refund)
      .onConflict((oc) => oc.columns(['application_id', 'mchid', 'out_refund_no']).doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ? { ...row, id: Number(row.id) } : undefined;
  },
  findById: (db: Executor, id: number) => db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst(),
  /** Merchant IDs are each superapp's own (SPEC §7): a refund number is one superapp's merchant's. */
  findByOutRefundNo: (db: Executor, applicationId: string, mchid: string, outRefundNo: string) =>
    db
      .selectFrom('refunds')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('mchid', '=', mchid)
      .where('out_refund_no', '=', outRefundNo)
      .executeTakeFirst(),
  /** The refund with this merchant and number when exactly one superapp has one (events that do not name theirs). */
  async findOnlyByOutRefundNo(db: Executor, mchid: string, outRefundNo: string) {
    const rows = await db
      .selectFrom('refunds')
      .selectAll()
      .where('mchid', '=', mchid)
      .where('out_refund_no', '=', outRefundNo)
      .limit(2)
      .execute();
    return rows.length === 1 ? rows[0] : undefined;
  },
  findByRefundId: (db: Executor, refundId: string) =>
    db.selectFrom('refunds').selectAll().where('refund_id', '=', refundId).executeTakeFirst(),
  listByOrder: (db: Executor, orderId: number) =>
    db.selectFrom('refunds').selectAll().where('order_id', '=', orderId).orderBy('id', 'asc').execute(),

  /** Compare-and-set on status: 1 when this caller moved the refund, 0 when someone else did first. */
  async transition(db: Executor, id: number, from: RefundStatus, to: RefundStatus, changes: Updateable<RefundTable>): Promise<number> {
    const result = await db
      .updateTable('refunds')
      .set({ ...changes, status: to })
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },
  /** Notes the channel's refund id (first writer wins) and when to ask the channel next. */
  /** Records the channel's refund id on a PROCESSING refund; the row as updated, or undefined when it is settled. */
  setChannelRefund: (db: Executor, id: number, channelRefundId: string | null, reconcileAt: number | null, nowMs: number) =>
    db
      .updateTable('refunds')
      .set((eb) => ({
        channel_refund_id:
          channelRefundId === null ? eb.ref('channel_refund_id') : eb.fn.coalesce('channel_refund_id', eb.val(channelRefundId)),
        reconcile_at: reconcileAt,
        updated_at: nowMs,
      }))
      .where('id', '=', id)
      .where('status', '=', 'PROCESSING')
      .returningAll()
      .executeTakeFirst(),
  setReconcileAt: (db: Executor, id: number, reconcileAt: number | null, nowMs: number) =>
    db.updateTable('refunds').set({ reconcile_at: reconcileAt, updated_at: nowMs }).where('id', '=', id).executeTakeFirst(),

  /** PROCESSING refunds whose channel outcome is due to be checked. */
  listDueForReconcile: (db: Executor, nowMs: number, limit: number) =>
    db
      .selectFrom('refunds')
      .selectAll()
      .where('reconcile_at', 'is not', null)
      .where('reconcile_at', '<=', nowMs)
      .orderBy('reconcile_at', 'asc')
      .limit(limit)
      .execute(),

  /**
   * PROCESSING refunds: how many, how many were created before `stuckBefore`, and the oldest's creation time
   * (for /metrics; one range of `refunds_state_created`).
   */
  async processingSummary(
    db: Executor,
    stuckBefore: number,
  ): Promise<{ processing: number; stuck: number; oldestCreatedAt: number | null }> {
    const row = await db
      .selectFrom('refunds')
      .select((eb) => [
        eb.fn.countAll<number>().as('processing'),
        eb.fn.count<number>(eb.case().when('created_at', '<', stuckBefore).then(eb.lit(1)).end()).as('stuck'),
        eb.fn.min<number>('created_at').as('oldest'),
      ])
      .where('status', '=', 'PROCESSING')
      .executeTakeFirstOrThrow();
    return {
      processing: Number(row.processing),
      stuck: Number(row.stuck),
      oldestCreatedAt: row.oldest === null ? null : Number(row.oldest),
    };
  },
  /**
   * The earliest time the reconciler is due to ask a channel about a PROCESSING refund
   * (for /metrics; the partial index `refunds_reconcile`).
   */
  async earliestReconcileAt(db: Executor): Promise<number | null> {
    const row = await db
      .selectFrom('refunds')
      .select((eb) => eb.fn.min<number>('reconcile_at').as('earliest'))
      .where('reconcile_at', 'is not', null)
      .executeTakeFirstOrThrow();
    return row.earliest === null ? null : Number(row.earliest);
  },

  /** Refunds that succeeded in [fromMs, toMs) for one mini program, with their order's fields, for the trade bill. */
  listSucceededBetween: (db: Executor, mnpId: string, mchid: string, fromMs: number, toMs: number) =>
    db
      .selectFrom('refunds')
      .innerJoin('orders', 'orders.id', 'refunds.order_id')
      .selectAll('refunds')
      .select(['orders.payer_openid', 'orders.description', 'orders.attach'])
      .where('refunds.mnp_id', '=', mnpId)
      .where('refunds.mchid', '=', mchid)
      .where('refunds.status', '=', 'SUCCESS')
      .where('refunds.success_time', '>=', fromMs)
      .where('refunds.success_time', '<', toMs)
      .orderBy('refunds.success_time', 'asc')
      .orderBy('refunds.id', 'asc')
      .execute(),
};
