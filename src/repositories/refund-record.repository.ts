import type { PaymentType } from '../db/order-schema.ts';
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { RefundStatus } from '../db/order-schema.ts';
import type { Database, Executor } from '../db/schema.ts';
import { keysetOperatorOf, sqlDirectionOf, type Keyset, type RecordPart, type RecordSort } from './record-keyset.ts';

/** What a refund list may filter on (the service validates and defaults it). */
export interface RefundListFilter {
  /** Inclusive bounds on the refund's initiation time (created_at), ms. */
  createdFrom: number;
  createdTo: number;
  /** out_trade_no, transaction_id, or a virtual order's wx_order_id (SPEC §8.6). */
  orderNo?: string | undefined;
  /** out_refund_no or refund_id (a virtual refund's refund_order_id and refund_wx_order_id). */
  refundNo?: string | undefined;
  statuses?: readonly RefundStatus[] | undefined;
  /** 1 standard, 2 virtual (SPEC §8.6); both when omitted. */
  paymentType?: PaymentType | undefined;
  /** Newest first unless asked otherwise. */
  sort?: RecordSort | undefined;
}

export const refundListColumns = [
  'id',
  'order_id',
  'mnp_id',
  'mchid',
  'out_trade_no',
  'transaction_id',
  'out_refund_no',
  'refund_id',
  'kind',
  'status',
  'amount_refund',
  'amount_total',
  'currency',
  'reason',
  'sandbox',
  'created_at',
  'success_time',
  'payment_type',
] as const;

export type RefundListRow = Awaited<ReturnType<typeof refundRecordRepository.page>>[number];

type RefundWhere = ExpressionBuilder<Database, 'refunds'>;

/** A virtual order's `wx_order_id` (SPEC §8.3). */
const wxOrderIdPattern = /^wx\d{30}$/;

function conditions(eb: RefundWhere, part: RecordPart, filter: RefundListFilter, after?: Keyset): Expression<SqlBool>[] {
  const out: Expression<SqlBool>[] = [eb('created_at', '>=', filter.createdFrom), eb('created_at', '<=', filter.createdTo)];
  if (part.column) out.push(eb(part.column, '=', part.value));
  if (filter.orderNo !== undefined) {
    const byNumber = [eb('out_trade_no', '=', filter.orderNo), eb('transaction_id', '=', filter.orderNo)];
    // Only a number shaped like a wx_order_id looks one up, so the other searches keep their plans.
    if (wxOrderIdPattern.test(filter.orderNo))
      byNumber.push(eb('order_id', 'in', eb.selectFrom('orders').select('orders.id').where('orders.wx_order_id', '=', filter.orderNo)));
    out.push(eb.or(byNumber));
  }
  if (filter.refundNo !== undefined) out.push(eb.or([eb('out_refund_no', '=', filter.refundNo), eb('refund_id', '=', filter.refundNo)]));
  if (part.state !== undefined) out.push(eb('status', '=', part.state as RefundStatus));
  else if (filter.statuses?.length) out.push(eb('status', 'in', filter.statuses));
  if (filter.paymentType !== undefined) out.push(eb('payment_type', '=', filter.paymentType));
  if (after) out.push(eb(eb.refTuple('created_at', 'id'), keysetOperatorOf(filter.sort), eb.tuple(after.createdAt, after.id)));
  return out;
}

export const refundRecordRepository = {
  /** One part's refunds after `after` in the filter's order (a keyset scan of the part's index). */
  page: (db: Executor, part: RecordPart, filter: RefundListFilter, after: Keyset | undefined, limit: number) =>
    db
      .selectFrom('refunds')
      .select(refundListColumns)
      .where((eb) => eb.and(conditions(eb, part, filter, after)))
      .orderBy('created_at', sqlDirectionOf(filter.sort))
      .orderBy('id', sqlDirectionOf(filter.sort))
      .limit(limit)
      .execute(),

  /** Rows `offset .. offset + limit` of a part, newest first (the management API's Offset, at most 10,000 deep). */
  pageAt: (db: Executor, part: RecordPart, filter: RefundListFilter, limit: number, offset: number) =>
    db
      .selectFrom('refunds')
      .select(refundListColumns)
      .where((eb) => eb.and(conditions(eb, part, filter)))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .offset(offset)
      .execute(),

  async countUpTo(db: Executor, part: RecordPart, filter: RefundListFilter, cap: number): Promise<number> {
    const limited = db
      .selectFrom('refunds')
      .select(sql<number>`1`.as('one'))
      .where((eb) => eb.and(conditions(eb, part, filter)))
      .limit(cap);
    const row = await db
      .selectFrom(limited.as('limited'))
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  },

  async count(db: Executor, part: RecordPart, filter: RefundListFilter): Promise<number> {
    const row = await db
      .selectFrom('refunds')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where((eb) => eb.and(conditions(eb, part, filter)))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  },

  findById: (db: Executor, id: number) => db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst(),
};
