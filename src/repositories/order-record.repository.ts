import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type SQLite from 'better-sqlite3';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { sql, type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { PaymentType, TradeState } from '../db/order-schema.ts';
import type { Database, Executor } from '../db/schema.ts';
import { csvAmountSql, csvIdSql, csvSessionSql, csvTextSql, csvTimeSql, inlineParameters } from './csv-sql.ts';
import { keysetOperatorOf, sqlDirectionOf, type Keyset, type RecordPart, type RecordSort } from './record-keyset.ts';

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
  /** 1 standard, 2 virtual (SPEC §8.6); both when omitted. */
  paymentType?: PaymentType | undefined;
  /** Newest first unless asked otherwise. */
  sort?: RecordSort | undefined;
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
  'payment_type',
  'product_id',
  'quantity',
  'delivery_status',
  'refund_reserved',
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
  if (filter.paymentType !== undefined) out.push(eb('payment_type', '=', filter.paymentType));
  if (after) out.push(eb(eb.refTuple('created_at', 'id'), keysetOperatorOf(filter.sort), eb.tuple(after.createdAt, after.id)));
  return out;
}

/**
 * An export row as the fast CSV paths read it: a plain array (no per-row object), in this column order.
 * `active_refund_total` is SPEC §7's RefundTotal (PROCESSING and SUCCESS refunds).
 */
export const orderExportColumns = [
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
  'created_at',
  'success_time',
  'active_refund_total',
  'id',
] as const;

export type OrderExportRow = [
  mnpId: string,
  mchid: string,
  outTradeNo: string,
  transactionId: string | null,
  tradeState: string,
  description: string,
  amountTotal: number,
  currency: string,
  payerOpenid: string | null,
  clientPlatform: number,
  sandbox: number,
  createdAt: number,
  successTime: number | null,
  activeRefundTotal: number,
  id: number,
];

/**
 * Every part's matching orders with their active refund totals (the caller orders them): one keyset range per part
 * under UNION ALL with the order on the whole, which both databases run as a merge of index scans.
 */
function exportQuery(
  db: Kysely<Database>,
  parts: readonly RecordPart[],
  filter: OrderListFilter,
  after: Keyset | undefined,
  kind: 'sqlite' | 'postgres',
) {
  // Only refunded (REFUND) and anomalous orders have refunds (a duplicate payment's refund leaves SUCCESS):
  // the others skip the lookup. Only order_id in its WHERE, so the planner always takes refunds_order.
  const hasRefunds = sql<boolean>`(orders.trade_state = 'REFUND' or orders.anomaly_flags <> 0)`;
  const activeAmount = sql`case when refunds.status in ('PROCESSING', 'SUCCESS') then refunds.amount_refund else 0 end`;
  const activeSum = sql<number>`coalesce(sum(${activeAmount}), 0)`;
  const arms = parts.map((part) => {
    const columns = orderExportColumns.filter((column) => column !== 'active_refund_total' && column !== 'id');
    const where = (eb: OrderWhere) => eb.and(conditions(eb, part, filter, after));
    if (kind === 'sqlite') {
      return db
        .selectFrom('orders')
        .select(columns)
        .select(
          sql<number>`case when ${hasRefunds} then (select ${activeSum} from refunds where refunds.order_id = orders.id) else 0 end`.as(
            'active_refund_total',
          ),
        )
        .select('id')
        .where(where);
    }
    // A lateral join, computed once per row: PostgreSQL would repeat a scalar subquery at every use of the column.
    return db
      .selectFrom('orders')
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom('refunds')
            .select(sql<number>`${activeSum}::bigint`.as('active_refund_total'))
            .whereRef('refunds.order_id', '=', 'orders.id')
            .where(hasRefunds)
            .as('totals'),
        (join) => join.onTrue(),
      )
      .select(columns.map((column) => `orders.${column}` as const))
      .select(sql<number>`coalesce(totals.active_refund_total, 0)`.as('active_refund_total'))
      .select('orders.id')
      .where(where);
  });
  return arms.slice(1).reduce((union, arm) => union.unionAll(arm), arms[0]!);
}

export const orderRecordRepository = {
  /** One part's rows after `after` in the filter's order: a keyset scan of the part's (owner, created_at, id) index. */
  page: (db: Executor, part: RecordPart, filter: OrderListFilter, after: Keyset | undefined, limit: number) =>
    db
      .selectFrom('orders')
      .select(orderListColumns)
      .where((eb) => eb.and(conditions(eb, part, filter, after)))
      .orderBy('created_at', sqlDirectionOf(filter.sort))
      .orderBy('id', sqlDirectionOf(filter.sort))
      .limit(limit)
      .execute(),

  /** Rows `offset .. offset + limit` of a part, newest first (the management API's Offset, at most 10,000 deep). */
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
    const row = await db
      .selectFrom(limited.as('limited'))
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .executeTakeFirstOrThrow();
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

  /**
   * SQLite's export batch: the next `limit` rows after `after` across the parts, as raw arrays straight
   * from better-sqlite3 (Kysely builds the query; its per-row objects are skipped).
   */
  exportBatch(
    db: Kysely<Database>,
    connection: SQLite.Database,
    parts: readonly RecordPart[],
    filter: OrderListFilter,
    after: Keyset | undefined,
    limit: number,
  ): OrderExportRow[] {
    if (parts.length === 0) return [];
    const direction = sqlDirectionOf(filter.sort);
    const compiled = exportQuery(db, parts, filter, after, 'sqlite')
      .orderBy('created_at', direction)
      .orderBy('id', direction)
      .limit(limit)
      .compile();
    return connection
      .prepare(compiled.sql)
      .raw(true)
      .all(...compiled.parameters) as OrderExportRow[];
  },

  /**
   * Runs the export's COPY on a connection of its own and pipes its bytes through `stages` (the last one the
   * file). A COPY stopped half way leaves the connection mid-protocol, so then it is closed, not reused.
   */
  async copyCsvOut(pool: pg.Pool, copySql: string, stages: [NodeJS.ReadWriteStream, Writable]): Promise<void> {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query(csvSessionSql);
      await pipeline(client.query(copyTo(copySql)), ...stages);
      // The connection goes back to the pool as it came.
      await client.query('reset datestyle');
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      client.release(broken);
    }
  },

  /**
   * PostgreSQL's export: one `COPY (SELECT …) TO STDOUT WITH (FORMAT csv)` whose fields are the export's
   * cells, formatted by the database (see csv-sql.ts). COPY takes no bind parameters, so the filter's
   * values are inlined as escaped literals.
   */
  exportCsvCopySql(db: Kysely<Database>, parts: readonly RecordPart[], filter: OrderListFilter, timeZone: string): string {
    const cells: RawBuilder<unknown>[] = [
      csvIdSql(sql.ref('o.mnp_id')),
      csvIdSql(sql.ref('o.mchid')),
      csvIdSql(sql.ref('o.out_trade_no')),
      csvIdSql(sql.ref('o.transaction_id')),
      csvTextSql(sql.ref('o.trade_state')),
      csvTextSql(sql.ref('o.description')),
      csvAmountSql(sql.ref('o.amount_total'), sql.ref('o.currency')),
      csvTextSql(sql.ref('o.currency')),
      csvAmountSql(sql.ref('o.active_refund_total'), sql.ref('o.currency')),
      csvIdSql(sql.ref('o.payer_openid')),
      sql`case o.client_platform when 2 then 'Android' when 3 then 'iOS' end`,
      sql`case when o.sandbox = 1 then 'yes' else 'no' end`,
      csvTimeSql(sql.ref('o.created_at'), timeZone),
      csvTimeSql(sql.ref('o.success_time'), timeZone),
    ];
    if (parts.length === 0) throw new Error('An export reads at least one part');
    const rows = exportQuery(db, parts, filter, undefined, 'postgres');
    const direction = sql.raw(sqlDirectionOf(filter.sort));
    const select = sql`select ${sql.join(cells)} from (${rows}) as o order by o.created_at ${direction}, o.id ${direction}`;
    return `copy (${inlineParameters(select.compile(db))}) to stdout with (format csv)`;
  },

  findById: (db: Executor, id: number) => db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst(),

  /** Per order: the refunds that are PROCESSING or SUCCESS, summed (SPEC §7 `RefundTotal`). */
  async activeRefundTotals(db: Executor, orderIds: readonly number[]): Promise<Map<number, number>> {
    const totals = new Map<number, number>();
    if (orderIds.length === 0) return totals;
    // Only order_id in SQL, so the planner always takes refunds_order; the status is checked here.
    const rows = await db.selectFrom('refunds').select(['order_id', 'status', 'amount_refund']).where('order_id', 'in', orderIds).execute();
    for (const row of rows) {
      if (row.status === 'PROCESSING' || row.status === 'SUCCESS')
        totals.set(Number(row.order_id), (totals.get(Number(row.order_id)) ?? 0) + Number(row.amount_refund));
    }
    return totals;
  },

  refundsOf: (db: Executor, orderId: number) =>
    db.selectFrom('refunds').selectAll().where('order_id', '=', orderId).orderBy('id', 'asc').execute(),

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
      .where((eb) =>
        eb.or(subjects.map((subject) => eb.and([eb('subject_type', '=', subject.type), eb('subject_id', '=', String(subject.id))]))),
      )
      .orderBy('id', 'asc')
      .execute(),

  deliveryAttemptsOf: (db: Executor, outboxIds: readonly number[]) =>
    outboxIds.length === 0
      ? Promise.resolve([])
      : db.selectFrom('delivery_attempts').selectAll().where('outbox_id', 'in', outboxIds).orderBy('id', 'asc').execute(),
};
