import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { OutboxStatus } from '../db/gateway-schema.ts';
import type { Database, Executor } from '../db/schema.ts';
import { keysetOperatorOf, sqlDirectionOf, type Keyset, type RecordPart, type RecordSort } from './record-keyset.ts';

/** What the notification delivery log may filter on (the service validates and defaults it). */
export interface NotificationListFilter {
  /** Inclusive bounds on created_at, ms. */
  createdFrom: number;
  createdTo: number;
  statuses?: readonly OutboxStatus[] | undefined;
  eventTypes?: readonly string[] | undefined;
  /** Only notifications about these orders and refunds (a search by number). */
  subjects?: { orderIds: readonly number[]; refundIds: readonly number[] } | undefined;
  /** Newest first unless asked otherwise. */
  sort?: RecordSort | undefined;
}

/** The columns a log row shows. */
export const notificationListColumns = [
  'id',
  'event_id',
  'event_type',
  'topic',
  'subject_type',
  'subject_id',
  'mnp_id',
  'target_url',
  'sandbox',
  'status',
  'attempts',
  'next_attempt_at',
  'claim_expires_at',
  'last_error',
  'last_http_status',
  'created_at',
  'delivered_at',
  'failed_at',
] as const;

export type NotificationListRow = Awaited<ReturnType<typeof notificationLogRepository.page>>[number];

type OutboxWhere = ExpressionBuilder<Database, 'outbox'>;

function conditions(eb: OutboxWhere, part: RecordPart, filter: NotificationListFilter, after?: Keyset): Expression<SqlBool>[] {
  // Payment notifications and refund webhooks: each is about an order or a refund, and visible as its record is.
  const out: Expression<SqlBool>[] = [eb('subject_type', 'in', ['order', 'refund'])];
  if (part.column) out.push(eb(part.column, '=', part.value));
  out.push(eb('created_at', '>=', filter.createdFrom), eb('created_at', '<=', filter.createdTo));
  if (filter.statuses?.length) out.push(eb('status', 'in', filter.statuses));
  if (filter.eventTypes?.length) out.push(eb('event_type', 'in', filter.eventTypes));
  if (filter.subjects) {
    const { orderIds, refundIds } = filter.subjects;
    const bySubject: Expression<SqlBool>[] = [];
    if (orderIds.length) bySubject.push(eb.and([eb('subject_type', '=', 'order'), eb('subject_id', 'in', orderIds.map(String))]));
    if (refundIds.length) bySubject.push(eb.and([eb('subject_type', '=', 'refund'), eb('subject_id', 'in', refundIds.map(String))]));
    out.push(eb.or(bySubject));
  }
  if (after) out.push(eb(eb.refTuple('created_at', 'id'), keysetOperatorOf(filter.sort), eb.tuple(after.createdAt, after.id)));
  return out;
}

export const notificationLogRepository = {
  /** One part's rows after `after` in the filter's order: a keyset scan of the outbox's (owner, created_at, id) index. */
  page: (db: Executor, part: RecordPart, filter: NotificationListFilter, after: Keyset | undefined, limit: number) =>
    db
      .selectFrom('outbox')
      .select(notificationListColumns)
      .where((eb) => eb.and(conditions(eb, part, filter, after)))
      .orderBy('created_at', sqlDirectionOf(filter.sort))
      .orderBy('id', sqlDirectionOf(filter.sort))
      .limit(limit)
      .execute(),

  findById: (db: Executor, id: number) => db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst(),

  /** The orders with this out_trade_no (unique per superapp and mchid, so one per merchant at most). */
  ordersByOutTradeNo: (db: Executor, outTradeNo: string) =>
    db.selectFrom('orders').select('id').where('out_trade_no', '=', outTradeNo).execute(),

  /** The refunds with this out_refund_no (and, when given, of an order with this out_trade_no). */
  refundsByNumbers: (db: Executor, numbers: { outRefundNo?: string | undefined; outTradeNo?: string | undefined }) => {
    let query = db.selectFrom('refunds').select('id');
    if (numbers.outRefundNo !== undefined) query = query.where('out_refund_no', '=', numbers.outRefundNo);
    if (numbers.outTradeNo !== undefined) query = query.where('out_trade_no', '=', numbers.outTradeNo);
    return query.execute();
  },

  /** The numbers of the orders and refunds a page of notifications is about. */
  ordersByIds: (db: Executor, ids: readonly number[]) =>
    ids.length === 0 ? Promise.resolve([]) : db.selectFrom('orders').select(['id', 'out_trade_no']).where('id', 'in', ids).execute(),
  refundsByIds: (db: Executor, ids: readonly number[]) =>
    ids.length === 0
      ? Promise.resolve([])
      : db.selectFrom('refunds').select(['id', 'order_id', 'out_trade_no', 'out_refund_no']).where('id', 'in', ids).execute(),
  miniProgramNames: (db: Executor, ids: readonly string[]) =>
    ids.length === 0 ? Promise.resolve([]) : db.selectFrom('mini_programs').select(['id', 'name']).where('id', 'in', ids).execute(),

  /** The latest attempt of each notification: when it started, its HTTP status and error. */
  async lastAttempts(db: Executor, outboxIds: readonly number[]) {
    if (outboxIds.length === 0) return [];
    const latest = db
      .selectFrom('delivery_attempts')
      .select((eb) => eb.fn.max('id').as('id'))
      .where('outbox_id', 'in', outboxIds)
      .groupBy('outbox_id');
    return db
      .selectFrom('delivery_attempts')
      .select(['outbox_id', 'started_at', 'http_status', 'error', 'outcome'])
      .where('id', 'in', latest)
      .execute();
  },

  attemptsOf: (db: Executor, outboxId: number) =>
    db.selectFrom('delivery_attempts').selectAll().where('outbox_id', '=', outboxId).orderBy('id', 'asc').execute(),
};
