import { sql, type ExpressionBuilder, type Insertable, type RawBuilder, type Selectable, type SqlBool } from 'kysely';
import type {
  ReconciliationExceptionKind,
  ReconciliationExceptionStatus,
  ReconciliationExceptionTable,
  ReconciliationLineTable,
  ReconciliationRunTable,
  ReconciliationStatus,
} from '../db/reconciliation-schema.ts';
import { onPostgres } from '../db/batched-delete.ts';
import type { Database, Executor } from '../db/schema.ts';

export type ReconciliationRunRow = Selectable<ReconciliationRunTable>;
export type ReconciliationExceptionRow = Selectable<ReconciliationExceptionTable>;
export type NewReconciliationLine = Insertable<ReconciliationLineTable>;

/** One run's matching context: whose day, which connection, the day's range and the drift allowed. */
export interface MatchScope {
  runId: number;
  applicationId: string;
  billDate: string;
  connectionId: number;
  fromMs: number;
  toMs: number;
  driftMs: number;
  now: number;
  /** This matching pass of the run: OPEN exceptions of the run it does not find again are absent on re-run. */
  pass: number;
}

/** Per currency, one side's figures; sums as exact decimal strings. */
export interface SideTotals {
  currency: string;
  payment_count: number;
  payment_amount: string;
  refund_count: number;
  refund_amount: string;
}

const toNumber = (value: unknown) => Number(value ?? 0);

/** The columns of a stored statement line, in the order `insertLines` sends them. */
const lineColumns = [
  'run_id',
  'seq',
  'line_type',
  'merchant_id',
  'out_trade_no',
  'channel_transaction_id',
  'out_refund_no',
  'channel_refund_id',
  'amount',
  'total',
  'currency',
  'state',
  'time',
] as const satisfies readonly (keyof NewReconciliationLine)[];
const integerLineColumns = new Set<string>(['run_id', 'seq', 'amount', 'total', 'time']);

/**
 * A page's lines in one INSERT whatever its size: the rows go as one JSON array parameter, unpacked by the database
 * (a multi-row VALUES of 5,000 lines would be 65,000 variables, past SQLite's limit, and costly to build and prepare).
 */
async function insertLines(db: Executor, lines: NewReconciliationLine[]): Promise<void> {
  const rows = JSON.stringify(lines.map((line) => lineColumns.map((column) => line[column] ?? null)));
  const columns = sql.raw(lineColumns.join(', '));
  if (onPostgres(db)) {
    const values = sql.raw(
      lineColumns.map((column, index) => (integerLineColumns.has(column) ? `(e ->> ${index})::bigint` : `e ->> ${index}`)).join(', '),
    );
    await sql`insert into reconciliation_lines (${columns})
      select ${values} from jsonb_array_elements(${rows}::jsonb) with ordinality as page(e, n) order by n`.execute(db);
  } else {
    const values = sql.raw(lineColumns.map((_, index) => `value ->> ${index}`).join(', '));
    await sql`insert into reconciliation_lines (${columns}) select ${values} from json_each(${rows}) order by key`.execute(db);
  }
}

/** A line and a recorded payment are the same payment: the same channel id, or either side has none (a host report). */
const samePayment = sql.raw(
  '(cp.channel_transaction_id = l.channel_transaction_id or cp.channel_transaction_id is null or l.channel_transaction_id is null)',
);

/** The finding columns every matching query selects (by these names), in this order. */
const findingColumns =
  'kind, item_key, mnp_id, mchid, out_trade_no, transaction_id, out_refund_no, refund_id, currency, ' +
  'our_amount, channel_amount, our_state, channel_state, our_time, channel_time';

/**
 * Records one kind of finding: an exception per item (the first when a key appears twice), and a finding seen
 * again keeps its status, note and resolution — only when it was last seen, and by which run, move.
 */
function recordFindings(db: Executor, s: MatchScope, findings: RawBuilder<unknown>) {
  return sql`insert into reconciliation_exceptions
      (${sql.raw(findingColumns)}, run_id, application_id, bill_date, status, last_seen_pass, created_at, updated_at)
    select ${sql.raw(findingColumns)}, ${s.runId}, ${s.applicationId}, ${s.billDate}, 'OPEN', ${s.pass}, ${s.now}, ${s.now}
    from (select found.*, row_number() over (partition by found.item_key order by found.channel_time, found.our_time) as place
          from (${findings}) found) ranked
    where place = 1
    on conflict (application_id, bill_date, item_key) do update set
      last_seen_pass = excluded.last_seen_pass, run_id = excluded.run_id, updated_at = excluded.updated_at`.execute(db);
}

/** What an exception list asks for; `mnpIds` undefined: every exception of the superapp, else only those mini programs'. */
/** Whose exceptions an actor reads: every superapp's, or some superapps' whole and some mini programs' own. */
export type ReconciliationReach = 'all' | { applicationIds: readonly string[]; mnpIds: readonly string[] };

export interface ReconciliationExceptionFilter {
  reach: ReconciliationReach;
  applicationId?: string | undefined;
  fromDate: string;
  toDate: string;
  kinds?: readonly ReconciliationExceptionKind[] | undefined;
  statuses?: readonly ReconciliationExceptionStatus[] | undefined;
  mnpIds?: readonly string[] | undefined;
  /** out_trade_no or transaction_id. */
  orderNo?: string | undefined;
  /** out_refund_no or refund_id. */
  refundNo?: string | undefined;
}

/** Exceptions of the superapps whole or of the mini programs (none when both are empty). */
function withinReach(eb: ExpressionBuilder<Database, 'reconciliation_exceptions'>, reach: Exclude<ReconciliationReach, 'all'>) {
  const parts = [];
  if (reach.applicationIds.length > 0) parts.push(eb('application_id', 'in', reach.applicationIds));
  if (reach.mnpIds.length > 0) parts.push(eb('mnp_id', 'in', reach.mnpIds));
  return parts.length > 0 ? eb.or(parts) : sql<SqlBool>`1 = 0`;
}

function exceptionsMatching(db: Executor, f: ReconciliationExceptionFilter) {
  return db
    .selectFrom('reconciliation_exceptions')
    .$if(f.reach !== 'all', (qb) => qb.where((eb) => withinReach(eb, f.reach as Exclude<ReconciliationReach, 'all'>)))
    .$if(f.applicationId !== undefined, (qb) => qb.where('application_id', '=', f.applicationId!))
    .where('bill_date', '>=', f.fromDate)
    .where('bill_date', '<=', f.toDate)
    .$if(f.kinds !== undefined, (qb) => qb.where('kind', 'in', f.kinds!.length > 0 ? f.kinds! : ['-' as never]))
    .$if(f.statuses !== undefined, (qb) => qb.where('status', 'in', f.statuses!.length > 0 ? f.statuses! : ['-' as never]))
    .$if(f.mnpIds !== undefined, (qb) => qb.where('mnp_id', 'in', f.mnpIds!.length > 0 ? f.mnpIds! : ['']))
    .$if(f.orderNo !== undefined, (qb) =>
      qb.where((eb) => eb.or([eb('out_trade_no', '=', f.orderNo!), eb('transaction_id', '=', f.orderNo!)])),
    )
    .$if(f.refundNo !== undefined, (qb) =>
      qb.where((eb) => eb.or([eb('out_refund_no', '=', f.refundNo!), eb('refund_id', '=', f.refundNo!)])),
    );
}

export const reconciliationRepository = {
  /**
   * The (superapp, connection) pairs that could carry money on a day: every connection that existed during it, of
   * every superapp with a payment configuration (a channel may have money Paythrough has no record of).
   */
  listConnectionsLiveDuring: (db: Executor, fromMs: number, toMs: number) =>
    db
      .selectFrom('channel_connections')
      .innerJoin('superapp_payment_configs', 'superapp_payment_configs.superapp_id', 'channel_connections.application_id')
      .select(['channel_connections.id', 'channel_connections.application_id', 'channel_connections.kind'])
      .where('channel_connections.created_at', '<', toMs)
      .where((eb) => eb.or([eb('channel_connections.retired_at', 'is', null), eb('channel_connections.retired_at', '>=', fromMs)]))
      .orderBy('channel_connections.id')
      .execute(),
  findConnection: (db: Executor, id: number) => db.selectFrom('channel_connections').selectAll().where('id', '=', id).executeTakeFirst(),
  /** The superapp's merchant IDs: a statement line of another merchant is not this superapp's. */
  async merchantIdsOf(db: Executor, applicationId: string): Promise<Set<string>> {
    const rows = await db.selectFrom('superapp_merchants').select('merchant_id').where('superapp_id', '=', applicationId).execute();
    return new Set(rows.map((row) => row.merchant_id));
  },

  /** Creates the run of (superapp, day, connection) unless it exists; true when created. */
  async insertRunIfAbsent(db: Executor, row: Insertable<ReconciliationRunTable>): Promise<boolean> {
    const result = await db
      .insertInto('reconciliation_runs')
      .values(row)
      .onConflict((oc) => oc.columns(['application_id', 'bill_date', 'channel_connection_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  },
  findRun: (db: Executor, id: number) => db.selectFrom('reconciliation_runs').selectAll().where('id', '=', id).executeTakeFirst(),
  listRunsOfDay: (db: Executor, applicationId: string, billDate: string) =>
    db
      .selectFrom('reconciliation_runs')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', billDate)
      .orderBy('channel_connection_id')
      .execute(),
  /** Runs to work on now: new, due again, or held by an instance whose lease lapsed. */
  listDue: (db: Executor, now: number, limit: number) =>
    db
      .selectFrom('reconciliation_runs')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb('status', 'in', ['PENDING', 'RETRYING']), eb('next_attempt_at', '<=', now)]),
          eb.and([eb('status', '=', 'RUNNING'), eb('lease_until', '<', now)]),
        ]),
      )
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute(),

  /** Takes a run for this instance (compare-and-set on what was read); false when another instance did first. */
  async claim(db: Executor, seen: ReconciliationRunRow, owner: string, now: number, leaseUntil: number): Promise<boolean> {
    const result = await db
      .updateTable('reconciliation_runs')
      .set({
        status: 'RUNNING',
        lease_owner: owner,
        lease_until: leaseUntil,
        attempts: seen.attempts + 1,
        first_attempt_at: seen.first_attempt_at ?? now,
        updated_at: now,
      })
      .where('id', '=', seen.id)
      .where('status', '=', seen.status)
      .where('updated_at', '=', seen.updated_at)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Stores a page's lines and moves the run past it in one step; false when the run is no longer this owner's. */
  async storePage(
    db: Executor,
    runId: number,
    owner: string,
    expected: { pages: number },
    page: { statementId: string; nextCursor: string | null; summaryJson: string; lines: NewReconciliationLine[] },
    now: number,
    leaseUntil: number,
  ): Promise<boolean> {
    const moved = await db
      .updateTable('reconciliation_runs')
      .set({
        pages: expected.pages + 1,
        statement_id: page.statementId,
        next_cursor: page.nextCursor,
        fetched: page.nextCursor === null ? 1 : 0,
        summary_json: page.summaryJson,
        lease_until: leaseUntil,
        updated_at: now,
      })
      .where('id', '=', runId)
      .where('status', '=', 'RUNNING')
      .where('lease_owner', '=', owner)
      .where('pages', '=', expected.pages)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) return false;
    if (page.lines.length > 0) await insertLines(db, page.lines);
    return true;
  },

  /** Forgets what was read of a statement that changed mid-read, so the read starts again. */
  async restartRead(db: Executor, runId: number, owner: string, now: number): Promise<boolean> {
    const moved = await db
      .updateTable('reconciliation_runs')
      .set({ pages: 0, statement_id: null, next_cursor: null, fetched: 0, summary_json: null, updated_at: now })
      .where('id', '=', runId)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'RUNNING')
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) return false;
    await db.deleteFrom('reconciliation_lines').where('run_id', '=', runId).execute();
    return true;
  },

  /** Ends this owner's hold on a run with a status; false when the run is no longer its. */
  async finish(
    db: Executor,
    runId: number,
    owner: string,
    status: ReconciliationStatus,
    changes: { nextAttemptAt?: number; lastError?: string | null; reportJson?: string | null },
    now: number,
  ): Promise<boolean> {
    const result = await db
      .updateTable('reconciliation_runs')
      .set({
        status,
        lease_owner: null,
        lease_until: null,
        ...(changes.nextAttemptAt === undefined ? {} : { next_attempt_at: changes.nextAttemptAt }),
        ...(changes.lastError === undefined ? {} : { last_error: changes.lastError }),
        ...(changes.reportJson === undefined ? {} : { report_json: changes.reportJson }),
        ...(status === 'DONE' || status === 'FAILED' || status === 'NO_STATEMENT' ? { finished_at: now } : {}),
        updated_at: now,
      })
      .where('id', '=', runId)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'RUNNING')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** A finished day read again from the start (SPEC §9.2 re-run); false while it runs or is due anyway. */
  async rerun(db: Executor, runId: number, now: number): Promise<boolean> {
    const result = await db
      .updateTable('reconciliation_runs')
      .set({
        status: 'PENDING',
        statement_id: null,
        next_cursor: null,
        fetched: 0,
        pages: 0,
        attempts: 0,
        first_attempt_at: null,
        last_error: null,
        next_attempt_at: now,
        updated_at: now,
      })
      .where('id', '=', runId)
      .where('status', 'in', ['DONE', 'FAILED', 'NO_STATEMENT'])
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    await db.deleteFrom('reconciliation_lines').where('run_id', '=', runId).execute();
    return true;
  },

  /** The lines' own figures per currency (every payment; SUCCESS refunds), to check against the channel's summary. */
  async lineTotals(db: Executor, runId: number): Promise<SideTotals[]> {
    const rows = await sql<Record<string, unknown>>`
      select currency,
        sum(case when line_type = 'PAYMENT' then 1 else 0 end) as payment_count,
        cast(sum(case when line_type = 'PAYMENT' then amount else 0 end) as text) as payment_amount,
        sum(case when line_type = 'REFUND' and state = 'SUCCESS' then 1 else 0 end) as refund_count,
        cast(sum(case when line_type = 'REFUND' and state = 'SUCCESS' then amount else 0 end) as text) as refund_amount
      from reconciliation_lines where run_id = ${runId} group by currency order by currency`.execute(db);
    return rows.rows.map((row) => ({
      currency: String(row.currency),
      payment_count: toNumber(row.payment_count),
      payment_amount: String(row.payment_amount ?? '0'),
      refund_count: toNumber(row.refund_count),
      refund_amount: String(row.refund_amount ?? '0'),
    }));
  },

  /** Paythrough's side of the day on this connection, by the channel's times (SPEC §9.6). */
  async ourTotals(db: Executor, scope: MatchScope): Promise<SideTotals[]> {
    const payments = await sql<Record<string, unknown>>`
      select cp.currency as currency, count(*) as n, cast(sum(cp.amount) as text) as total
      from channel_payments cp join orders o on o.id = cp.order_id
      where o.application_id = ${scope.applicationId} and o.channel_connection_id = ${scope.connectionId}
        and cp.paid_at >= ${scope.fromMs} and cp.paid_at < ${scope.toMs} and cp.disposition <> 'mismatch_refused'
      group by cp.currency`.execute(db);
    const refunds = await sql<Record<string, unknown>>`
      select currency, count(*) as n, cast(sum(amount_refund) as text) as total
      from refunds
      where application_id = ${scope.applicationId} and channel_connection_id = ${scope.connectionId}
        and status = 'SUCCESS' and success_time >= ${scope.fromMs} and success_time < ${scope.toMs}
      group by currency`.execute(db);
    const byCurrency = new Map<string, SideTotals>();
    const entry = (currency: string) => {
      let found = byCurrency.get(currency);
      if (!found) {
        found = { currency, payment_count: 0, payment_amount: '0', refund_count: 0, refund_amount: '0' };
        byCurrency.set(currency, found);
      }
      return found;
    };
    for (const row of payments.rows)
      Object.assign(entry(String(row.currency)), { payment_count: toNumber(row.n), payment_amount: String(row.total) });
    for (const row of refunds.rows)
      Object.assign(entry(String(row.currency)), { refund_count: toNumber(row.n), refund_amount: String(row.total) });
    return [...byCurrency.values()].sort((a, b) => a.currency.localeCompare(b.currency));
  },

  // ---------------------------------------------------------------------------------------------
  // Matching (SPEC §9.3), each kind of finding one set-based statement over the run's lines and our records.

  /** The same key listed twice: DUPLICATE_LINE. */
  recordDuplicateLines: (db: Executor, s: MatchScope) =>
    recordFindings(
      db,
      s,
      sql`select 'DUPLICATE_LINE' as kind,
          'DUPLICATE_LINE:' || line_type || ':' || merchant_id || ':' || out_trade_no || ':' || coalesce(channel_transaction_id, '')
            || ':' || coalesce(out_refund_no, '') as item_key,
          null as mnp_id, merchant_id as mchid, out_trade_no, null as transaction_id, max(out_refund_no) as out_refund_no,
          null as refund_id, max(currency) as currency, cast(null as bigint) as our_amount, max(amount) as channel_amount,
          null as our_state,
          max(state) as channel_state, cast(null as bigint) as our_time, max(time) as channel_time
        from reconciliation_lines where run_id = ${s.runId}
        group by line_type, merchant_id, out_trade_no, coalesce(channel_transaction_id, ''), coalesce(out_refund_no, '')
        having count(*) > 1`,
    ),

  /** Payment lines for money Paythrough has no record of (no such order, or no such payment of it). */
  recordPaymentsMissingHere: (db: Executor, s: MatchScope) =>
    recordFindings(
      db,
      s,
      sql`select 'MISSING_AT_PAYTHROUGH' as kind,
          'MISSING_AT_PAYTHROUGH:PAY:' || l.merchant_id || ':' || l.out_trade_no || ':'
            || coalesce(l.channel_transaction_id, '') as item_key,
          o.mnp_id as mnp_id, l.merchant_id as mchid, l.out_trade_no as out_trade_no, o.transaction_id as transaction_id,
          null as out_refund_no, null as refund_id, l.currency as currency, cast(null as bigint) as our_amount, l.amount as channel_amount,
          o.trade_state as our_state, l.state as channel_state, cast(null as bigint) as our_time, l.time as channel_time
        from reconciliation_lines l
          left join orders o on o.application_id = ${s.applicationId} and o.mchid = l.merchant_id and o.out_trade_no = l.out_trade_no
        where l.run_id = ${s.runId} and l.line_type = 'PAYMENT'
          and not exists (
            select 1 from channel_payments cp
            where cp.order_id = o.id
              and ${samePayment})`,
    ),

  /** Payment lines whose payment Paythrough has with another amount or currency, or refused as such (never applied, SPEC §7). */
  recordPaymentAmountMismatches: (db: Executor, s: MatchScope) =>
    recordFindings(
      db,
      s,
      sql`select 'AMOUNT_MISMATCH' as kind,
          'AMOUNT_MISMATCH:PAY:' || l.merchant_id || ':' || l.out_trade_no || ':' || coalesce(l.channel_transaction_id, '') as item_key,
          o.mnp_id as mnp_id, l.merchant_id as mchid, l.out_trade_no as out_trade_no, o.transaction_id as transaction_id,
          null as out_refund_no, null as refund_id, l.currency as currency, cp.amount as our_amount, l.amount as channel_amount,
          o.trade_state as our_state, l.state as channel_state, cp.paid_at as our_time, l.time as channel_time
        from reconciliation_lines l
          join orders o on o.application_id = ${s.applicationId} and o.mchid = l.merchant_id and o.out_trade_no = l.out_trade_no
          join channel_payments cp on cp.order_id = o.id
            and ${samePayment}
        where l.run_id = ${s.runId} and l.line_type = 'PAYMENT'
          and (cp.amount <> l.amount or cp.currency <> l.currency or cp.disposition = 'mismatch_refused')`,
    ),

  /** Payment lines whose time is further from Paythrough's than the drift allows. */
  recordPaymentTimeDrifts: (db: Executor, s: MatchScope) =>
    recordFindings(
      db,
      s,
      sql`select 'TIME_DRIFT' as kind,
          'TIME_DRIFT:PAY:' || l.merchant_id || ':' || l.out_trade_no || ':' || coalesce(l.channel_transaction_id, '') as item_key,
          o.mnp_id as mnp_id, l.merchant_id as mchid, l.out_trade_no as out_trade_no, o.transaction_id as transaction_id,
          null as out_refund_no, null as refund_id, l.currency as currency, cp.amount as our_amount, l.amount as channel_amount,
          o.trade_state as our_state, l.state as channel_state, cp.paid_at as our_time, l.time as channel_time
        from reconciliation_lines l
          join orders o on o.application_id = ${s.applicationId} and o.mchid = l.merchant_id and o.out_trade_no = l.out_trade_no
          join channel_payments cp on cp.order_id = o.id
            and ${samePayment}
        where l.run_id = ${s.runId} and l.line_type = 'PAYMENT'
          and cp.amount = l.amount and cp.currency = l.currency and cp.disposition <> 'mismatch_refused'
          and (cp.paid_at - l.time > ${s.driftMs} or l.time - cp.paid_at > ${s.driftMs})`,
    ),

  /**
   * Paythrough's payments of the day the statement does not list: matched when another day's statement lists them,
   * carried to the next day's run when within the drift of the day's end or in doubt at the reconciler, else missing.
   */
  recordPaymentsMissingAtChannel: (db: Executor, s: MatchScope) =>
    recordFindings(
      db,
      s,
      sql`select 'MISSING_AT_CHANNEL' as kind,
          'MISSING_AT_CHANNEL:PAY:' || o.mchid || ':' || o.out_trade_no || ':' || coalesce(cp.channel_transaction_id, '') as item_key,
          o.mnp_id as mnp_id, o.mchid as mchid, o.out_trade_no as out_trade_no, o.transaction_id as transaction_id,
          null as out_refund_no, null as refund_id, cp.currency as currency, cp.amount as our_amount,
          cast(null as bigint) as channel_amount,
          o.trade_state as our_state, null as channel_state, cp.paid_at as our_time, cast(null as bigint) as channel_time
        from channel_payments cp join orders o on o.id = cp.order_id
        where o.application_id = ${s.applicationId} and o.channel_connection_id = ${s.connectionId}
          and cp.paid_at >= ${s.fromMs} and cp.paid_at < ${s.toMs - s.driftMs} and cp.disposition <> 'mismatch_refused'
          and o.pending_operation is null
          and not exists (
            select 1 from reconciliation_lines l join reconciliation_runs r on r.id = l.run_id
            where r.application_id = ${s.applicationId} and l.line_type = 'PAYMENT'
              and l.merchant_id = o.mchid and l.out_trade_no = o.out_trade_no
              and ${samePayment})`,
    ),

  /** Refund lines Paythrough has no refund for (a refund it never made). */
  recordRefundsMissingHere: (db: Executor, s: MatchScope) =>
    recordFindings(
      db,
      s,
      sql`select 'MISSING_AT_PAYTHROUGH' as kind, 'MISSING_AT_PAYTHROUGH:REF:' || l.merchant_id || ':' || l.out_refund_no as item_key,
          o.mnp_id as mnp_id, l.merchant_id as mchid, l.out_trade_no as out_trade_no, o.transaction_id as transaction_id,
          l.out_refund_no as out_refund_no, null as refund_id, l.currency as currency, cast(null as bigint) as our_amount,
          l.amount as channel_amount,
          null as our_state, l.state as channel_state, cast(null as bigint) as our_time, l.time as channel_time
        from reconciliation_lines l
          left join orders o on o.application_id = ${s.applicationId} and o.mchid = l.merchant_id and o.out_trade_no = l.out_trade_no
        where l.run_id = ${s.runId} and l.line_type = 'REFUND'
          and not exists (
            select 1 from refunds r
            where r.application_id = ${s.applicationId} and r.mchid = l.merchant_id and r.out_refund_no = l.out_refund_no)`,
    ),

  /** Refund lines whose refund differs: amount or currency first, then state, then time. */
  recordRefundDifferences: (db: Executor, s: MatchScope) =>
    recordFindings(
      db,
      s,
      sql`select kind, kind || ':REF:' || mchid || ':' || out_refund_no as item_key, mnp_id, mchid, out_trade_no, transaction_id,
          out_refund_no, refund_id, currency, our_amount, channel_amount, our_state, channel_state, our_time, channel_time
        from (
          select case when r.amount_refund <> l.amount or r.currency <> l.currency then 'AMOUNT_MISMATCH'
                      when r.status <> l.state then 'STATE_MISMATCH'
                      else 'TIME_DRIFT' end as kind,
            r.mnp_id as mnp_id, l.merchant_id as mchid, l.out_trade_no as out_trade_no, r.transaction_id as transaction_id,
            l.out_refund_no as out_refund_no, r.refund_id as refund_id, l.currency as currency, r.amount_refund as our_amount,
            l.amount as channel_amount, r.status as our_state, l.state as channel_state, r.success_time as our_time, l.time as channel_time
          from reconciliation_lines l
            join refunds r on r.application_id = ${s.applicationId} and r.mchid = l.merchant_id and r.out_refund_no = l.out_refund_no
          where l.run_id = ${s.runId} and l.line_type = 'REFUND'
            and (r.amount_refund <> l.amount or r.currency <> l.currency or r.status <> l.state
              or (r.status = 'SUCCESS' and (r.success_time - l.time > ${s.driftMs} or l.time - r.success_time > ${s.driftMs})))
        ) differing`,
    ),

  /** Paythrough's SUCCESS refunds of the day the statement does not list (another day's listing or the drift excuse them). */
  recordRefundsMissingAtChannel: (db: Executor, s: MatchScope) =>
    recordFindings(
      db,
      s,
      sql`select 'MISSING_AT_CHANNEL' as kind, 'MISSING_AT_CHANNEL:REF:' || r.mchid || ':' || r.out_refund_no as item_key,
          r.mnp_id as mnp_id, r.mchid as mchid, r.out_trade_no as out_trade_no, r.transaction_id as transaction_id,
          r.out_refund_no as out_refund_no, r.refund_id as refund_id, r.currency as currency, r.amount_refund as our_amount,
          cast(null as bigint) as channel_amount, r.status as our_state, null as channel_state, r.success_time as our_time,
          cast(null as bigint) as channel_time
        from refunds r
        where r.application_id = ${s.applicationId} and r.channel_connection_id = ${s.connectionId} and r.status = 'SUCCESS'
          and r.success_time >= ${s.fromMs} and r.success_time < ${s.toMs - s.driftMs}
          and not exists (
            select 1 from reconciliation_lines l join reconciliation_runs rr on rr.id = l.run_id
            where rr.application_id = ${s.applicationId} and l.line_type = 'REFUND'
              and l.merchant_id = r.mchid and l.out_refund_no = r.out_refund_no)`,
    ),

  /** Starts a matching pass of the run; its number. */
  async nextMatchPass(db: Executor, runId: number): Promise<number> {
    const row = await db
      .updateTable('reconciliation_runs')
      .set((eb) => ({ match_passes: eb('match_passes', '+', 1) }))
      .where('id', '=', runId)
      .returning('match_passes')
      .executeTakeFirstOrThrow();
    return Number(row.match_passes);
  },

  /** OPEN exceptions of this run that this pass did not find again: resolved by the re-run itself. */
  async resolveAbsent(db: Executor, s: MatchScope): Promise<number> {
    const result = await db
      .updateTable('reconciliation_exceptions')
      .set({ status: 'AUTO_RESOLVED', action: 'absent on re-run', resolved_by: 'system', resolved_at: s.now, updated_at: s.now })
      .where('application_id', '=', s.applicationId)
      .where('bill_date', '=', s.billDate)
      .where('run_id', '=', s.runId)
      .where('status', '=', 'OPEN')
      .where('last_seen_pass', '<', s.pass)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  },

  listExceptionsOfRun: (db: Executor, runId: number) =>
    db.selectFrom('reconciliation_exceptions').selectAll().where('run_id', '=', runId).orderBy('item_key').execute(),

  /** Exceptions per kind and status of a run. */
  async countExceptions(db: Executor, runId: number): Promise<{ kind: string; status: string; n: number }[]> {
    const rows = await db
      .selectFrom('reconciliation_exceptions')
      .select(['kind', 'status', (eb) => eb.fn.countAll().as('n')])
      .where('run_id', '=', runId)
      .groupBy(['kind', 'status'])
      .orderBy('kind')
      .orderBy('status')
      .execute();
    return rows.map((row) => ({ kind: row.kind, status: row.status, n: Number(row.n) }));
  },

  /** Statement lines matched with nothing to say about them. */
  async countLines(db: Executor, runId: number): Promise<number> {
    const row = await db
      .selectFrom('reconciliation_lines')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('run_id', '=', runId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  },

  /** Lines older than their keeping time go; reports and exceptions stay (SPEC §9.4). */
  async purgeLines(db: Executor, finishedBefore: number): Promise<number> {
    const result = await db
      .deleteFrom('reconciliation_lines')
      .where('run_id', 'in', (eb) => eb.selectFrom('reconciliation_runs').select('id').where('finished_at', '<', finishedBefore))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },
  // ---------------------------------------------------------------------------------------------
  // Actions of matching (SPEC §9.3) and the /metrics gauges (SPEC §9.5).

  /**
   * OPEN payments missing at Paythrough of a run whose order exists, with the line that found each (a line listed
   * twice gives its exception once): a batch after exception `afterId`, in exception order.
   */
  async listPaymentsToAct(
    db: Executor,
    runId: number,
    afterId: number,
    limit: number,
  ): Promise<
    {
      exception_id: number;
      order_id: number;
      channel_kind: string;
      mchid: string;
      out_trade_no: string;
      prepay_id: string | null;
      channel_transaction_id: string | null;
      amount: number;
      currency: string;
      time: number;
    }[]
  > {
    const result = await sql<Record<string, unknown>>`select e.id as exception_id, o.id as order_id, o.channel_kind as channel_kind,
        o.mchid as mchid, o.out_trade_no as out_trade_no, o.prepay_id as prepay_id, l.channel_transaction_id as channel_transaction_id,
        l.amount as amount, l.currency as currency, l.time as time
      from reconciliation_exceptions e
        join orders o on o.application_id = e.application_id and o.mchid = e.mchid and o.out_trade_no = e.out_trade_no
        join reconciliation_lines l on l.id = (
          select min(l2.id) from reconciliation_lines l2
          where l2.run_id = e.run_id and l2.line_type = 'PAYMENT' and l2.merchant_id = e.mchid and l2.out_trade_no = e.out_trade_no
            and 'MISSING_AT_PAYTHROUGH:PAY:' || l2.merchant_id || ':' || l2.out_trade_no || ':'
              || coalesce(l2.channel_transaction_id, '') = e.item_key)
      where e.run_id = ${runId} and e.kind = 'MISSING_AT_PAYTHROUGH' and e.status = 'OPEN' and e.out_refund_no is null
        and e.id > ${afterId}
      order by e.id
      limit ${limit}`.execute(db);
    return result.rows.map((row) => ({
      exception_id: Number(row.exception_id),
      order_id: Number(row.order_id),
      channel_kind: String(row.channel_kind),
      mchid: String(row.mchid),
      out_trade_no: String(row.out_trade_no),
      prepay_id: row.prepay_id === null ? null : String(row.prepay_id),
      channel_transaction_id: row.channel_transaction_id === null ? null : String(row.channel_transaction_id),
      amount: Number(row.amount),
      currency: String(row.currency),
      time: Number(row.time),
    }));
  },

  /** OPEN refund state mismatches of a run whose refund is still PROCESSING here: a batch after exception `afterId`. */
  async listRefundsToSettle(
    db: Executor,
    runId: number,
    afterId: number,
    limit: number,
  ): Promise<{ exception_id: number; refund_id: number }[]> {
    const rows = await db
      .selectFrom('reconciliation_exceptions as e')
      .innerJoin('refunds as r', (join) =>
        join
          .onRef('r.application_id', '=', 'e.application_id')
          .onRef('r.mchid', '=', 'e.mchid')
          .onRef('r.out_refund_no', '=', 'e.out_refund_no'),
      )
      .select(['e.id as exception_id', 'r.id as refund_id'])
      .where('e.run_id', '=', runId)
      .where('e.kind', '=', 'STATE_MISMATCH')
      .where('e.status', '=', 'OPEN')
      .where('r.status', '=', 'PROCESSING')
      .where('e.id', '>', afterId)
      .orderBy('e.id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ exception_id: Number(row.exception_id), refund_id: Number(row.refund_id) }));
  },

  /** An OPEN exception Paythrough acted on: AUTO_RESOLVED by `system` with the action; false when no longer OPEN. */
  async autoResolve(db: Executor, exceptionId: number, action: string, now: number): Promise<boolean> {
    const result = await db
      .updateTable('reconciliation_exceptions')
      .set({ status: 'AUTO_RESOLVED', action, resolved_by: 'system', resolved_at: now, updated_at: now })
      .where('id', '=', exceptionId)
      .where('status', '=', 'OPEN')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** OPEN exceptions per kind, over every superapp (the /metrics gauge). */
  async countOpenExceptionsByKind(db: Executor): Promise<{ kind: string; n: number }[]> {
    const rows = await db
      .selectFrom('reconciliation_exceptions')
      .select(['kind', (eb) => eb.fn.countAll().as('n')])
      .where('status', '=', 'OPEN')
      .groupBy('kind')
      .execute();
    return rows.map((row) => ({ kind: row.kind, n: Number(row.n) }));
  },

  /** Runs per status (the status leads the runs_due index). */
  async countRunsByStatus(db: Executor): Promise<{ status: string; n: number }[]> {
    const rows = await db
      .selectFrom('reconciliation_runs')
      .select(['status', (eb) => eb.fn.countAll().as('n')])
      .groupBy('status')
      .execute();
    return rows.map((row) => ({ status: row.status, n: Number(row.n) }));
  },

  /**
   * Per superapp with runs, its last day read to the end (DONE; or NO_STATEMENT, where nothing can be read), null when
   * none is, and its first day with a run.
   */
  async lastReconciledDays(db: Executor): Promise<{ application_id: string; last_done: string | null; first_day: string }[]> {
    const rows = await db
      .selectFrom('reconciliation_runs')
      .select([
        'application_id',
        (eb) => eb.fn.max(eb.case().when('status', 'in', ['DONE', 'NO_STATEMENT']).then(eb.ref('bill_date')).end()).as('last_done'),
        (eb) => eb.fn.min('bill_date').as('first_day'),
      ])
      .groupBy('application_id')
      .execute();
    return rows.map((row) => ({
      application_id: row.application_id,
      last_done: row.last_done === null || row.last_done === undefined ? null : String(row.last_done),
      first_day: String(row.first_day),
    }));
  },

  /** The run finished last (DONE, FAILED or NO_STATEMENT): when it started being asked for and when it finished. */
  lastFinishedRun: (db: Executor) =>
    db
      .selectFrom('reconciliation_runs')
      .select(['first_attempt_at', 'created_at', 'finished_at'])
      .where('status', 'in', ['DONE', 'FAILED', 'NO_STATEMENT'])
      .where('finished_at', 'is not', null)
      .orderBy('finished_at', 'desc')
      .limit(1)
      .executeTakeFirst(),

  // ---------------------------------------------------------------------------------------------
  // The surfaces (SPEC §9.5): days, reports and exceptions as the console and the management API read them.

  /** A superapp's runs of the days from `fromDate` to `toDate` (YYYY-MM-DD, both included): at most 31 days' worth. */
  listRunsBetween: (db: Executor, applicationId: string, fromDate: string, toDate: string) =>
    db
      .selectFrom('reconciliation_runs')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('bill_date', '>=', fromDate)
      .where('bill_date', '<=', toDate)
      .orderBy('bill_date', 'desc')
      .orderBy('channel_connection_id')
      .execute(),

  /** Exceptions per day of a superapp between two days: all, and the OPEN ones. */
  async countExceptionsPerDay(
    db: Executor,
    applicationId: string,
    fromDate: string,
    toDate: string,
  ): Promise<Map<string, { total: number; open: number; channelSided: number }>> {
    const rows = await db
      .selectFrom('reconciliation_exceptions')
      .select((eb) => [
        'bill_date',
        eb.fn.countAll().as('n'),
        eb.fn.sum<number>(eb.case().when('status', '=', 'OPEN').then(1).else(0).end()).as('open'),
        eb.fn.sum<number>(eb.case().when('channel_amount', 'is not', null).then(1).else(0).end()).as('channel_sided'),
      ])
      .where('application_id', '=', applicationId)
      .where('bill_date', '>=', fromDate)
      .where('bill_date', '<=', toDate)
      .groupBy('bill_date')
      .execute();
    return new Map(
      rows.map((row) => [
        row.bill_date,
        { total: Number(row.n), open: Number(row.open ?? 0), channelSided: Number(row.channel_sided ?? 0) },
      ]),
    );
  },

  /** Exceptions per kind and status of a superapp's day, as they stand now (resolutions included). */
  async countExceptionsOfDay(
    db: Executor,
    applicationId: string,
    billDate: string,
  ): Promise<{ kind: string; status: string; n: number }[]> {
    const rows = await db
      .selectFrom('reconciliation_exceptions')
      .select(['kind', 'status', (eb) => eb.fn.countAll().as('n')])
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', billDate)
      .groupBy(['kind', 'status'])
      .orderBy('kind')
      .orderBy('status')
      .execute();
    return rows.map((row) => ({ kind: row.kind, status: row.status, n: Number(row.n) }));
  },

  /** A page of exceptions matching a filter (newest day first, then by id), and how many match in all. */
  async listExceptionsPage(
    db: Executor,
    filter: ReconciliationExceptionFilter,
    offset: number,
    limit: number,
  ): Promise<{ total: number; rows: ReconciliationExceptionRow[] }> {
    const filtered = exceptionsMatching(db, filter);
    const counted = await filtered.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    const rows = await filtered.selectAll().orderBy('bill_date', 'desc').orderBy('id').offset(offset).limit(limit).execute();
    return { total: Number(counted?.n ?? 0), rows };
  },

  /** Every exception matching a filter, a page at a time after `afterKey` (for exports): by day then id. */
  listExceptionsAfter: (
    db: Executor,
    filter: ReconciliationExceptionFilter,
    after: { billDate: string; id: number } | null,
    limit: number,
  ) =>
    exceptionsMatching(db, filter)
      .selectAll()
      .$if(after !== null, (qb) =>
        qb.where((eb) =>
          eb.or([eb('bill_date', '<', after!.billDate), eb.and([eb('bill_date', '=', after!.billDate), eb('id', '>', after!.id)])]),
        ),
      )
      .orderBy('bill_date', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute(),

  findException: (db: Executor, id: number) =>
    db.selectFrom('reconciliation_exceptions').selectAll().where('id', '=', id).executeTakeFirst(),

  /** Resolves an OPEN exception by hand (compare-and-set on its status); false when it was no longer OPEN. */
  async resolveException(db: Executor, id: number, by: string, note: string, now: number): Promise<boolean> {
    const result = await db
      .updateTable('reconciliation_exceptions')
      .set({ status: 'RESOLVED', resolved_by: by, resolved_at: now, resolution_note: note, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'OPEN')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** OPEN exceptions of the superapps (all of them) or of the mini programs given. */
  async countOpenExceptions(db: Executor, reach: ReconciliationReach): Promise<number> {
    const row = await db
      .selectFrom('reconciliation_exceptions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('status', '=', 'OPEN')
      .$if(reach !== 'all', (qb) => qb.where((eb) => withinReach(eb, reach as Exclude<ReconciliationReach, 'all'>)))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  },

  /** The mini programs of the given teams (what mini program roles reach of the exceptions). */
  async miniProgramIdsOfTeams(db: Executor, teamIds: readonly string[]): Promise<string[]> {
    if (teamIds.length === 0) return [];
    const rows = await db.selectFrom('mini_programs').select('id').where('team_id', 'in', teamIds).execute();
    return rows.map((row) => row.id);
  },
};
