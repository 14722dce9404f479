import { sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { DatabaseKind } from '../config/config.ts';
import type { Database, Executor } from '../db/schema.ts';
import type { PaymentDailyStatsTable, PaymentStatsChangeTable } from '../db/records-schema.ts';
import type { RecordScope } from '../domain/record-scope.ts';

/** The orders payment data counts (SPEC §7): one currency, inside the scope, optionally narrowed. */
export interface PaymentFilter {
  scope: RecordScope;
  currency: string;
  mnpIds?: readonly string[] | undefined;
  /** 1 sandbox superapps' orders, 0 production ones; undefined both. */
  sandbox?: 0 | 1 | undefined;
  /** 2 Android, 3 iOS; undefined all. */
  clientPlatform?: 2 | 3 | undefined;
  /** 1 standard payment, 2 virtual payment (SPEC §8.7 keeps them apart). */
  paymentType: 1 | 2;
}

/** The summable figures of some orders. */
export interface Figures {
  order_count: number;
  paid_count: number;
  refund_order_count: number;
  /** Sums of minor units, exact however large (SPEC §7: never floating point, never past 2^53). */
  total_amount: bigint;
  paid_amount: bigint;
  refund_amount: bigint;
}

/** The figures of one mini program's orders. */
export interface MiniProgramFigures extends Figures {
  mnp_id: string;
}

/** A change the triggers wrote; its figures arrive as numbers (SQLite) or decimal text (PostgreSQL's bigint). */
export type PaymentStatsChangeRow = Selectable<PaymentStatsChangeTable>;

/** Changes summed per row of `payment_daily_stats` (one mini program, business day, currency, sandbox flag, platform). */
export interface DayChange {
  mnp_id: string;
  business_day: string;
  currency: string;
  sandbox: number;
  client_platform: number;
  payment_type: number;
  application_id: string;
  mini_program_team_id: string;
  order_count: bigint;
  paid_count: bigint;
  refund_order_count: bigint;
  total_amount: bigint;
  paid_amount: bigint;
  refund_amount: bigint;
}

export interface DayWindow {
  day: string;
  startMs: number;
  /** Exclusive. */
  endMs: number;
}

type OwnedTable = 'orders' | 'payment_daily_stats';

function filterConditions<T extends OwnedTable>(eb: ExpressionBuilder<Database, T>, filter: PaymentFilter): Expression<SqlBool>[] {
  // Both tables carry these columns; the builder is narrowed to them.
  const e = eb as unknown as ExpressionBuilder<Database, 'orders'>;
  const out: Expression<SqlBool>[] = [e('currency', '=', filter.currency)];
  const { scope } = filter;
  if (!scope.all) {
    out.push(
      e.or([
        ...(scope.miniProgramTeamIds.length ? [e('mini_program_team_id', 'in', scope.miniProgramTeamIds)] : []),
        ...(scope.applicationIds.length ? [e('application_id', 'in', scope.applicationIds)] : []),
      ]),
    );
  }
  if (filter.mnpIds?.length) out.push(e('mnp_id', 'in', filter.mnpIds));
  if (filter.sandbox !== undefined) out.push(e('sandbox', '=', filter.sandbox));
  if (filter.clientPlatform !== undefined) out.push(e('client_platform', '=', filter.clientPlatform));
  out.push(e('payment_type', '=', filter.paymentType));
  return out;
}

// Amount sums arrive as text (see exactSum), or null over no rows.
const exactAmount = (value: unknown) => BigInt(value === null || value === undefined ? 0 : String(value));

const toFigures = (row: Record<string, unknown>): Figures => ({
  order_count: Number(row.order_count),
  paid_count: Number(row.paid_count),
  refund_order_count: Number(row.refund_order_count),
  total_amount: exactAmount(row.total_amount),
  paid_amount: exactAmount(row.paid_amount),
  refund_amount: exactAmount(row.refund_amount),
});

/** A sum read as decimal text: a JavaScript number would round past 2^53, on either database. */
const exactSum = (sum: Expression<unknown>) => sql<string>`cast(${sum} as text)`;

const toNumbers = (row: Record<string, unknown>): MiniProgramFigures => ({ mnp_id: String(row.mnp_id), ...toFigures(row) });

/** Sums of the kept figures (null on no rows becomes 0 in toFigures). */
const sums = (eb: ExpressionBuilder<Database, 'payment_daily_stats'>) => [
  eb.fn.sum<number>('order_count').as('order_count'),
  eb.fn.sum<number>('paid_count').as('paid_count'),
  eb.fn.sum<number>('refund_order_count').as('refund_order_count'),
  exactSum(eb.fn.sum('total_amount')).as('total_amount'),
  exactSum(eb.fn.sum('paid_amount')).as('paid_amount'),
  exactSum(eb.fn.sum('refund_amount')).as('refund_amount'),
];

/** The aggregate columns, computed from orders: a paid order has a success_time; a refunded one refund_succeeded > 0. */
const orderAggregates = {
  order_count: sql<number>`count(*)`,
  paid_count: sql<number>`sum(case when success_time is not null then 1 else 0 end)`,
  refund_order_count: sql<number>`sum(case when refund_succeeded > 0 then 1 else 0 end)`,
  total_amount: sql<number>`sum(amount_total)`,
  paid_amount: sql<number>`sum(case when success_time is not null then amount_total else 0 end)`,
  refund_amount: sql<number>`sum(refund_succeeded)`,
};

export const paymentStatsRepository = {
  /**
   * Takes up to `limit` of the changes the triggers wrote, oldest first: read and removed in one statement, so a change
   * is added once however many instances refresh (they also hold the stats lock).
   */
  takeChanges: (db: Executor, limit: number) =>
    db
      .deleteFrom('payment_stats_changes')
      .where('id', 'in', (eb) => eb.selectFrom('payment_stats_changes').select('id').orderBy('id').limit(limit))
      .returningAll()
      .execute(),

  /** Adds changes to their days' figures; `changes` carry exact sums (bigint) per row of the table. */
  async addToDays(db: Executor, changes: readonly DayChange[], now: number): Promise<void> {
    if (changes.length === 0) return;
    await db
      .insertInto('payment_daily_stats')
      // The drivers bind bigint as an exact integer (better-sqlite3 natively, pg as its decimal text).
      .values(changes.map((change) => ({ ...change, updated_at: now }) as unknown as PaymentDailyStatsTable))
      .onConflict((conflict) =>
        conflict.columns(['mnp_id', 'business_day', 'currency', 'sandbox', 'client_platform', 'payment_type']).doUpdateSet((eb) => ({
          application_id: eb.ref('excluded.application_id'),
          mini_program_team_id: eb.ref('excluded.mini_program_team_id'),
          order_count: eb('payment_daily_stats.order_count', '+', eb.ref('excluded.order_count')),
          paid_count: eb('payment_daily_stats.paid_count', '+', eb.ref('excluded.paid_count')),
          refund_order_count: eb('payment_daily_stats.refund_order_count', '+', eb.ref('excluded.refund_order_count')),
          total_amount: eb('payment_daily_stats.total_amount', '+', eb.ref('excluded.total_amount')),
          paid_amount: eb('payment_daily_stats.paid_amount', '+', eb.ref('excluded.paid_amount')),
          refund_amount: eb('payment_daily_stats.refund_amount', '+', eb.ref('excluded.refund_amount')),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
    // A day whose last order left it (moved or deleted) has no figures, as a recount would leave it.
    await db
      .deleteFrom('payment_daily_stats')
      .where('mnp_id', 'in', [...new Set(changes.map((change) => change.mnp_id))])
      .where('business_day', 'in', [...new Set(changes.map((change) => change.business_day))])
      .where('order_count', '=', 0)
      .execute();
  },

  clearChanges: (db: Executor) => db.deleteFrom('payment_stats_changes').execute(),

  /**
   * Serialises stats writers across instances (PostgreSQL; SQLite has one writer anyway). A table lock rather than an
   * advisory one: taken as a repeatable-read transaction's first statement, it is held before that transaction's
   * snapshot is (a rebuild's recount and the changes it drops must be read in one snapshot). Readers are not blocked.
   */
  async lockForWrite(db: Executor, kind: DatabaseKind): Promise<void> {
    if (kind === 'postgres') await sql`lock table payment_daily_stats in share row exclusive mode`.execute(db);
  },

  /** Replaces one mini program's figures for one business day with a fresh count of its orders. */
  async recomputeDay(db: Executor, mnpId: string | null, window: DayWindow, now: number): Promise<void> {
    let remove = db.deleteFrom('payment_daily_stats').where('business_day', '=', window.day);
    if (mnpId !== null) remove = remove.where('mnp_id', '=', mnpId);
    await remove.execute();
    let select = db
      .selectFrom('orders')
      .select([
        'mnp_id',
        sql<string>`${window.day}`.as('business_day'),
        'currency',
        'sandbox',
        'client_platform',
        'payment_type',
        (eb) => eb.fn.max('application_id').as('application_id'),
        (eb) => eb.fn.max('mini_program_team_id').as('mini_program_team_id'),
        orderAggregates.order_count.as('order_count'),
        orderAggregates.paid_count.as('paid_count'),
        orderAggregates.refund_order_count.as('refund_order_count'),
        orderAggregates.total_amount.as('total_amount'),
        orderAggregates.paid_amount.as('paid_amount'),
        orderAggregates.refund_amount.as('refund_amount'),
        sql<number>`${now}`.as('updated_at'),
      ])
      .where('created_at', '>=', window.startMs)
      .where('created_at', '<', window.endMs)
      // An order the channel refused to create never existed for the payment figures (SPEC §7).
      .where('channel_refused', '=', 0)
      .groupBy(['mnp_id', 'currency', 'sandbox', 'client_platform', 'payment_type']);
    if (mnpId !== null) select = select.where('mnp_id', '=', mnpId);
    await db
      .insertInto('payment_daily_stats')
      .columns([
        'mnp_id',
        'business_day',
        'currency',
        'sandbox',
        'client_platform',
        'payment_type',
        'application_id',
        'mini_program_team_id',
        'order_count',
        'paid_count',
        'refund_order_count',
        'total_amount',
        'paid_amount',
        'refund_amount',
        'updated_at',
      ])
      .expression(select)
      .execute();
  },

  clearAll: (db: Executor) => db.deleteFrom('payment_daily_stats').execute(),

  /** The first order created at or after `fromMs` (a rebuild skips days without orders). */
  async firstCreatedFrom(db: Executor, fromMs: number): Promise<number | undefined> {
    const row = await db
      .selectFrom('orders')
      .select((eb) => eb.fn.min('created_at').as('first'))
      .where('created_at', '>=', fromMs)
      .executeTakeFirst();
    return row?.first === null || row?.first === undefined ? undefined : Number(row.first);
  },

  /** Per business day of [fromDay, toDay]: the kept figures summed, and how many mini programs had orders. */
  async statsByDay(
    db: Executor,
    filter: PaymentFilter,
    fromDay: string,
    toDay: string,
  ): Promise<(Figures & { day: string; mini_programs: number })[]> {
    const rows = await db
      .selectFrom('payment_daily_stats')
      .select((eb) => ['business_day', eb.fn.count<number>('mnp_id').distinct().as('mini_programs'), ...sums(eb)])
      .where('business_day', '>=', fromDay)
      .where('business_day', '<=', toDay)
      .where((eb) => eb.and(filterConditions(eb, filter)))
      .groupBy('business_day')
      .execute();
    return rows.map((row) => ({ ...toFigures(row), day: row.business_day, mini_programs: Number(row.mini_programs) }));
  },

  /** The kept figures of [fromDay, toDay] summed, and the mini programs that had orders then. */
  async statsTotals(
    db: Executor,
    filter: PaymentFilter,
    fromDay: string,
    toDay: string,
  ): Promise<{ figures: Figures; miniPrograms: string[] }> {
    const inRange = db
      .selectFrom('payment_daily_stats')
      .where('business_day', '>=', fromDay)
      .where('business_day', '<=', toDay)
      .where((eb) => eb.and(filterConditions(eb, filter)));
    const totals = await inRange.select((eb) => sums(eb)).executeTakeFirstOrThrow();
    const miniPrograms = await inRange.select('mnp_id').distinct().execute();
    return { figures: toFigures(totals), miniPrograms: miniPrograms.map((row) => row.mnp_id) };
  },

  /** Per mini program, the figures counted straight from orders created in [fromMs, toMs) (a part of a day). */
  async ordersFigures(db: Executor, filter: PaymentFilter, fromMs: number, toMs: number): Promise<MiniProgramFigures[]> {
    const rows = await db
      .selectFrom('orders')
      .select([
        'mnp_id',
        orderAggregates.order_count.as('order_count'),
        orderAggregates.paid_count.as('paid_count'),
        orderAggregates.refund_order_count.as('refund_order_count'),
        exactSum(orderAggregates.total_amount).as('total_amount'),
        exactSum(orderAggregates.paid_amount).as('paid_amount'),
        exactSum(orderAggregates.refund_amount).as('refund_amount'),
      ])
      .where('created_at', '>=', fromMs)
      .where('created_at', '<', toMs)
      .where('channel_refused', '=', 0)
      .where((eb) => eb.and(filterConditions(eb, filter)))
      .groupBy('mnp_id')
      .execute();
    return rows.map(toNumbers);
  },

  /**
   * Distinct payers (all orders, and paid ones) in [fromMs, toMs): users are distinct over what is asked,
   * never summed over days (SPEC §7). One hash aggregate per payer (cheaper than count(distinct), which
   * sorts); `dayStartMs` set: per business day of exactly 24 hours from it (a zone without a DST change
   * in the range), keyed by the day's index.
   */
  async distinctUsers(
    db: Kysely<Database>,
    kind: DatabaseKind,
    filter: PaymentFilter,
    fromMs: number,
    toMs: number,
    dayStartMs?: number,
  ): Promise<Map<number, { users: number; paidUsers: number }>> {
    const conditions = sql.join(
      filterConditionsSql(filter).map((condition) => sql`and ${condition}`),
      sql` `,
    );
    const bucket = dayStartMs === undefined ? sql`0` : sql`cast((orders.created_at - ${dayStartMs}) / 86400000 as integer)`;
    const query = sql<{ day: number | string; users: number | string; paid_users: number | string | null }>`
      select day, count(*) as users, sum(paid) as paid_users from (
        select ${bucket} as day, orders.payer_openid, max(case when orders.success_time is not null then 1 else 0 end) as paid
        from orders
        where orders.created_at >= ${fromMs} and orders.created_at < ${toMs} and orders.payer_openid <> ''
          and orders.channel_refused = 0 ${conditions}
        group by 1, 2
      ) payers group by day`;
    const run = async (executor: Executor) => (await query.execute(executor)).rows;
    // Enough memory for the payer hash on PostgreSQL, for this statement only.
    const rows =
      kind === 'postgres'
        ? await db.transaction().execute(async (trx) => {
            await sql`set local work_mem = '64MB'`.execute(trx);
            return run(trx);
          })
        : await run(db);
    return new Map(rows.map((row) => [Number(row.day), { users: Number(row.users), paidUsers: Number(row.paid_users ?? 0) }]));
  },
};

/** The same filter as raw SQL on `orders` (for the windowed distinct-user query). */
function filterConditionsSql(filter: PaymentFilter) {
  const out = [sql`orders.currency = ${filter.currency}`];
  const { scope } = filter;
  if (!scope.all) {
    const owners = [
      ...(scope.miniProgramTeamIds.length ? [sql`orders.mini_program_team_id in (${sql.join(scope.miniProgramTeamIds)})`] : []),
      ...(scope.applicationIds.length ? [sql`orders.application_id in (${sql.join(scope.applicationIds)})`] : []),
    ];
    out.push(owners.length ? sql`(${sql.join(owners, sql` or `)})` : sql`1 = 0`);
  }
  if (filter.mnpIds?.length) out.push(sql`orders.mnp_id in (${sql.join([...filter.mnpIds])})`);
  if (filter.sandbox !== undefined) out.push(sql`orders.sandbox = ${filter.sandbox}`);
  if (filter.clientPlatform !== undefined) out.push(sql`orders.client_platform = ${filter.clientPlatform}`);
  out.push(sql`orders.payment_type = ${filter.paymentType}`);
  return out;
}
