import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { TradeState } from '../db/order-schema.ts';
import type { Database, Executor } from '../db/schema.ts';
import type { Keyset, RecordPart } from './record-keyset.ts';

/** What an order list may filter on (the service validates and defaults it). */
export interface OrderListFilter {
  /** Inclusive bounds on created_at, ms. */
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
  tradeStates?: readonly TradeState[] | undefined;
  outTradeNo?: string | undefined;
  transactionId?: string | undefined;
  /** Inclusive bounds on amount_total, minor units. */
  amountMin?: number | undefined;
  amountMax?: number | undefined;
  currency?: string | undefined;
}

/** The columns a list row (and an export row) shows. */
export const orderListColumns = [
  'id',
  'mnp_id',
  'mchid',
  'out_trade_no',
  'transaction_id',
  'trade_state',
  'description',
  'amount_total',
  'currency',
  'payer_openid',
  'client_platform',
  'sandbox',
  'anomaly_flags',
  'refund_succeeded',
  'created_at',
  'success_time',
] as const;

export type OrderListRow = Awaited<ReturnType<typeof orderRecordRepository.page>>[number];

type OrderWhere = ExpressionBuilder<Database, 'orders'>;

function conditions(eb: OrderWhere, part: RecordPart, filter: OrderListFilter, after?: Keyset): Expression<SqlBool>[] {
  const out: Expression<SqlBool>[] = [];
  if (part.column) out.push(eb(part.column, '=', part.value));
  if (filter.createdFrom !== undefined) out.push(eb('created_at', '>=', filter.createdFrom));
  if (filter.createdTo !== undefined) out.push(eb('created_at', '<=', filter.createdTo));
  if (part.state !== undefined) out.push(eb('trade_state', '=', part.state as TradeState));
  else if (filter.tradeStates?.length) out.push(eb('trade_state', 'in', filter.tradeStates));
  if (filter.outTradeNo !== undefined) out.push(eb('out_trade_no', '=', filter.outTradeNo));
  if (filter.transactionId !== undefined) out.push(eb('transaction_id', '=', filter.transactionId));
  if (filter.amountMin !== undefined) out.push(eb('amount_total', '>=', filter.amountMin));
  if (filter.amountMax !== undefined) out.push(eb('amount_total', '<=', filter.amountMax));
  if (filter.currency !== undefined) out.push(eb('currency', '=', filter.currency));
  if (after) out.push(eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(after.createdAt, after.id)));
  return out;
}

export const orderRecordRepository = {
  /** One part's rows after `after`, newest first: a keyset scan of the part's (owner, created_at, id) index. */
  page: (db: Executor, part: RecordPart, filter: OrderListFilter, after: Keyset | undefined, limit: number) =>
    db
      .selectFrom('orders')
      .select(orderListColumns)
      .where((eb) => eb.and(conditions(eb, part, filter, after)))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute(),

  /** Rows `offset .. offset + limit` of a part (the management API's Offset, at most 10,000 deep). */
  pageAt: (db: Executor, part: RecordPart, filter: OrderListFilter, limit: number, offset: number) =>
    db
      .selectFrom('orders')
      .select(orderListColumns)
      .where((eb) => eb.and(conditions(eb, part, filter)))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .offset(offset)
      .execute(),

  /** How many of a part's rows match, counting no further than `cap` (a count that stays cheap). */
  async countUpTo(db: Executor, part: RecordPart, filter: OrderListFilter, cap: number): Promise<number> {
    const limited = db
      .selectFrom('orders')
      .select(sql<number>`1`.as('one'))
      .where((eb) => eb.and(conditions(eb, part, filter)))
      .limit(cap);
    const row = await db.selectFrom(limited.as('limited')).select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
    return Number(row.count);
  },

  /** The exact count of a part's rows (exports, for their progress). */
  async count(db: Executor, part: RecordPart, filter: OrderListFilter): Promise<number> {
    const row = await db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where((eb) => eb.and(conditions(eb, part, filter)))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  },

  findById: (db: Executor, id: number) => db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst(),

  /** Per order: the refunds that are PROCESSING or SUCCESS, summed (SPEC §7 `RefundTotal`). */
  async activeRefundTotals(db: Executor, orderIds: readonly number[]): Promise<Map<number, number>> {
    const totals = new Map<number, number>();
    if (orderIds.length === 0) return totals;
    // Only order_id in SQL, so the planner always takes refunds_order; the status is checked here.
    const rows = await db.selectFrom('refunds').select(['order_id', 'status', 'amount_refund']).where('order_id', 'in', orderIds).execute();
    for (const row of rows) {
      if (row.status === 'PROCESSING' || row.status === 'SUCCESS') totals.set(Number(row.order_id), (totals.get(Number(row.order_id)) ?? 0) + Number(row.amount_refund));
    }
    return totals;
  },

  refundsOf: (db: Executor, orderId: number) => db.selectFrom('refunds').selectAll().where('order_id', '=', orderId).orderBy('id', 'asc').execute(),

  channelPaymentsOf: (db: Executor, orderId: number) =>
    db.selectFrom('channel_payments').selectAll().where('order_id', '=', orderId).orderBy('id', 'asc').execute(),

  /** The state history of an order or refunds, oldest first. */
  historyOf: (db: Executor, subject: 'order' | 'refund', subjectIds: readonly number[]) =>
    subjectIds.length === 0
      ? Promise.resolve([])
      : db
          .selectFrom('payment_state_history')
          .selectAll()
          .where('subject', '=', subject)
          .where('subject_id', 'in', subjectIds)
          .orderBy('at', 'asc')
          .orderBy('id', 'asc')
          .execute(),

  /** Notifications about an order or its refunds, with every delivery attempt. */
  notificationsOf: (db: Executor, subjects: readonly { type: 'order' | 'refund'; id: number }[]) =>
    db
      .selectFrom('outbox')
      .selectAll()
      .where((eb) => eb.or(subjects.map((subject) => eb.and([eb('subject_type', '=', subject.type), eb('subject_id', '=', String(subject.id))]))))
      .orderBy('id', 'asc')
      .execute(),

  deliveryAttemptsOf: (db: Executor, outboxIds: readonly number[]) =>
    outboxIds.length === 0
      ? Promise.resolve([])
      : db.selectFrom('delivery_attempts').selectAll().where('outbox_id', 'in', outboxIds).orderBy('id', 'asc').execute(),
};
