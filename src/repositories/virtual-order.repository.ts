import type { DeliveryStatus } from '../db/order-schema.ts';
import type { Executor } from '../db/schema.ts';
import type { RefundStatus } from '../domain/refund-state.ts';

/** The virtual side of `orders` and `refunds` (payment_type 2, SPEC §8.3); the rest goes through order and refund repositories. */
export const virtualOrderRepository = {
  findByWxOrderId: (db: Executor, wxOrderId: string) =>
    db.selectFrom('orders').selectAll().where('wx_order_id', '=', wxOrderId).where('payment_type', '=', 2).executeTakeFirst(),
  /** By the merchant's order number (outTradeNo), among the mini program's virtual orders. */
  findByOrderId: (db: Executor, mnpId: string, orderId: string) =>
    db
      .selectFrom('orders')
      .selectAll()
      .where('mnp_id', '=', mnpId)
      .where('out_trade_no', '=', orderId)
      .where('payment_type', '=', 2)
      .executeTakeFirst(),
  /** A paid order's delivery notification is queued (once). */
  queueDelivery: (db: Executor, id: number, nowMs: number) =>
    db
      .updateTable('orders')
      .set({ delivery_status: 'queued', updated_at: nowMs })
      .where('id', '=', id)
      .where('payment_type', '=', 2)
      .where('delivery_status', 'is', null)
      .executeTakeFirst(),
  /** Compare-and-set of the delivery status: 1 when this caller moved it. */
  async moveDelivery(db: Executor, id: number, from: readonly DeliveryStatus[], to: DeliveryStatus, nowMs: number): Promise<number> {
    const result = await db
      .updateTable('orders')
      .set({ delivery_status: to, updated_at: nowMs, ...(to === 'delivered' ? { delivered_at: nowMs } : {}) })
      .where('id', '=', id)
      .where('payment_type', '=', 2)
      .where('delivery_status', 'in', [...from])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },
  /** refundStatusesOf for many orders at once (a record page's virtual orders). */
  async refundStatusesOfOrders(db: Executor, orderIds: readonly number[]): Promise<Map<number, RefundStatus[]>> {
    const statuses = new Map<number, RefundStatus[]>();
    if (orderIds.length === 0) return statuses;
    const rows = await db
      .selectFrom('refunds')
      .select(['order_id', 'status'])
      .where('order_id', 'in', [...orderIds])
      .where('kind', '!=', 'duplicate_payment')
      .orderBy('id')
      .execute();
    for (const row of rows) {
      const id = Number(row.order_id);
      statuses.set(id, [...(statuses.get(id) ?? []), row.status]);
    }
    return statuses;
  },
  /** The statuses of the order's refunds oldest first, duplicate-payment refunds left out (SPEC §8.3's status). */
  async refundStatusesOf(db: Executor, orderId: number): Promise<RefundStatus[]> {
    const rows = await db
      .selectFrom('refunds')
      .select('status')
      .where('order_id', '=', orderId)
      .where('kind', '!=', 'duplicate_payment')
      .orderBy('id')
      .execute();
    return rows.map((row) => row.status);
  },
};
