import { once } from 'node:events';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sqliteFilePath } from '../src/db/database.ts';
import { paymentStatsTriggerStatements } from '../src/db/migrations/0010-records.ts';
import {
  amountOf,
  channelRefundIdOf,
  channelTransactionIdOf,
  currencyOf,
  isRefundItem,
  outRefundNoOf,
  outTradeNoOf,
  paidAtOf,
  recordOf,
  refundAmountOf,
  settledAtOf,
  type BenchDay,
} from './reconciliation-day.ts';

/**
 * Bulk-loads Paythrough's side of the reconciliation bench's day (bench/reconciliation-day.ts): the orders, their
 * channel payments and refunds, with explicit ids after the world's own rows. COPY on PostgreSQL, 50-row INSERTs in
 * large transactions on SQLite; the payment-data triggers are off during the load (the bench reads no payment data).
 */

export interface SeedOwners {
  applicationId: string;
  mnpId: string;
  miniProgramTeamId: string;
  superappTeamId: string;
  connectionId: number;
}

export interface SeedTarget {
  kind: 'sqlite' | 'postgres';
  databaseUrl: string;
  postgresSchema?: string | undefined;
}

type Value = string | number | null;

const orderColumns = [
  'id',
  'prepay_id',
  'transaction_id',
  'mchid',
  'out_trade_no',
  'mnp_id',
  'application_id',
  'mini_program_team_id',
  'superapp_team_id',
  'description',
  'notify_url',
  'amount_total',
  'currency',
  'payer_openid',
  'time_expire',
  'client_platform',
  'sandbox',
  'trade_state',
  'channel_kind',
  'channel_connection_id',
  'channel_order_id',
  'channel_transaction_id',
  'fingerprint',
  'refund_reserved',
  'refund_count',
  'refund_succeeded',
  'anomaly_flags',
  'created_at',
  'updated_at',
  'success_time',
  'success_learned_at',
] as const;

const paymentColumns = [
  'id',
  'order_id',
  'channel_kind',
  'channel_transaction_id',
  'amount',
  'currency',
  'payer_openid',
  'paid_at',
  'reported_at',
  'disposition',
] as const;

const refundColumns = [
  'id',
  'refund_id',
  'mchid',
  'out_refund_no',
  'order_id',
  'mnp_id',
  'application_id',
  'mini_program_team_id',
  'superapp_team_id',
  'sandbox',
  'out_trade_no',
  'transaction_id',
  'kind',
  'amount_refund',
  'amount_total',
  'currency',
  'status',
  'channel_kind',
  'channel_connection_id',
  'channel_refund_id',
  'created_at',
  'updated_at',
  'success_time',
  'success_learned_at',
] as const;

interface Rows {
  orders: Value[][];
  payments: Value[][];
  refunds: Value[][];
}

interface IdBase {
  order: number;
  payment: number;
  refund: number;
}

const transactionIdOf = (orderId: number) => `4200BENCH${String(orderId).padStart(19, '0')}`;

function generate(day: BenchDay, owners: SeedOwners, ids: IdBase, first: number, count: number): Rows {
  const rows: Rows = { orders: [], payments: [], refunds: [] };
  for (let index = first; index < first + count; index++) {
    const record = recordOf(index);
    if (isRefundItem(index)) {
      if (!record.refund) continue;
      const order = index - 1;
      const refundId = ids.refund + index;
      const settled = settledAtOf(day, order);
      rows.refunds.push([
        refundId,
        `5030BENCH${String(refundId).padStart(19, '0')}`,
        day.merchantId,
        outRefundNoOf(order),
        ids.order + order,
        owners.mnpId,
        owners.applicationId,
        owners.miniProgramTeamId,
        owners.superappTeamId,
        0,
        outTradeNoOf(order),
        transactionIdOf(ids.order + order),
        'merchant',
        refundAmountOf(order),
        amountOf(order),
        currencyOf(order),
        record.refund,
        'http',
        owners.connectionId,
        channelRefundIdOf(order),
        settled - 60_000,
        settled,
        settled,
        settled,
      ]);
      continue;
    }
    if (!record.order) continue;
    const orderId = ids.order + index;
    const paid = paidAtOf(day, index);
    const amount = amountOf(index);
    // Order i − 1 of a refund item i is refunded (half of it), unless Paythrough has no record of that refund.
    const refunded = isRefundItem(index + 1) && recordOf(index + 1).refund !== null && index + 1 < day.items;
    const refund = refunded ? refundAmountOf(index) : 0;
    rows.orders.push([
      orderId,
      `wxrb${String(index).padStart(28, '0')}`,
      transactionIdOf(orderId),
      day.merchantId,
      outTradeNoOf(index),
      owners.mnpId,
      owners.applicationId,
      owners.miniProgramTeamId,
      owners.superappTeamId,
      'Bench coffee',
      'https://merchant.example/pay/notify',
      amount,
      currencyOf(index),
      'obench',
      paid + 7_200_000,
      2,
      0,
      refunded ? 'REFUND' : 'SUCCESS',
      'http',
      owners.connectionId,
      `BCO${index}`,
      channelTransactionIdOf(index),
      'bench',
      refund,
      refunded ? 1 : 0,
      refund,
      0,
      paid - 60_000,
      paid,
      paid,
      paid,
    ]);
    rows.payments.push([
      ids.payment + index,
      orderId,
      'http',
      channelTransactionIdOf(index),
      amount,
      currencyOf(index),
      'obench',
      paid,
      paid,
      'applied',
    ]);
  }
  return rows;
}

const copyText = (rows: Value[][]) =>
  rows.map((row) => row.map((value) => (value === null ? '\\N' : String(value))).join('\t')).join('\n') + '\n';

async function copyInto(client: pg.Client, table: string, columns: readonly string[], rows: Value[][]): Promise<void> {
  if (rows.length === 0) return;
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  stream.write(copyText(rows));
  stream.end();
  await once(stream, 'finish');
}

/** Loads the day's records; returns how many orders, payments and refunds were written. */
export async function seedReconciliationDay(
  target: SeedTarget,
  day: BenchDay,
  owners: SeedOwners,
  log: (message: string) => void,
): Promise<{ orders: number; payments: number; refunds: number }> {
  const chunk = 50_000;
  const counts = { orders: 0, payments: 0, refunds: 0 };
  const started = performance.now();
  const progress = (done: number) =>
    log(`${done.toLocaleString('en')} of ${day.items.toLocaleString('en')} items (${Math.round((performance.now() - started) / 1000)} s)`);
  const triggers = paymentStatsTriggerStatements(target.kind);
  const add = (rows: Rows) => {
    counts.orders += rows.orders.length;
    counts.payments += rows.payments.length;
    counts.refunds += rows.refunds.length;
  };
  if (target.kind === 'postgres') {
    const client = new pg.Client({
      connectionString: target.databaseUrl,
      ...(target.postgresSchema ? { options: `-c search_path=${target.postgresSchema}` } : {}),
    });
    await client.connect();
    try {
      await client.query('set synchronous_commit = off');
      const max = async (table: string) => Number((await client.query(`select coalesce(max(id), 0) as m from ${table}`)).rows[0].m);
      const ids = { order: (await max('orders')) + 1, payment: (await max('channel_payments')) + 1, refund: (await max('refunds')) + 1 };
      for (const statement of triggers.drop) await client.query(statement);
      for (let first = 0; first < day.items; first += chunk) {
        const rows = generate(day, owners, ids, first, Math.min(chunk, day.items - first));
        await client.query('begin');
        await copyInto(client, 'orders', orderColumns, rows.orders);
        await copyInto(client, 'channel_payments', paymentColumns, rows.payments);
        await copyInto(client, 'refunds', refundColumns, rows.refunds);
        await client.query('commit');
        add(rows);
        if ((first / chunk) % 4 === 3) progress(first + chunk);
      }
      for (const table of ['orders', 'channel_payments', 'refunds'])
        await client.query(`select setval(pg_get_serial_sequence('${table}', 'id'), greatest(1, (select max(id) from ${table})))`);
      for (const statement of triggers.create) await client.query(statement);
      await client.query('vacuum (analyze) orders');
      await client.query('vacuum (analyze) channel_payments');
      await client.query('vacuum (analyze) refunds');
    } finally {
      await client.end();
    }
  } else {
    const connection = new SQLite(sqliteFilePath(target.databaseUrl));
    try {
      connection.pragma('journal_mode = WAL');
      connection.pragma('synchronous = OFF');
      connection.pragma('cache_size = -262144');
      const max = (table: string) =>
        Number((connection.prepare(`select coalesce(max(id), 0) as m from ${table}`).get() as { m: number }).m);
      const ids = { order: max('orders') + 1, payment: max('channel_payments') + 1, refund: max('refunds') + 1 };
      for (const statement of triggers.drop) connection.exec(statement);
      const rowsPerStatement = 50;
      const insertMany = (table: string, columns: readonly string[]) => {
        const placeholders = `(${columns.map(() => '?').join(',')})`;
        const head = `insert into ${table} (${columns.join(',')}) values `;
        const many = connection.prepare(head + Array.from({ length: rowsPerStatement }, () => placeholders).join(','));
        const one = connection.prepare(head + placeholders);
        return (rows: Value[][]) => {
          let index = 0;
          for (; index + rowsPerStatement <= rows.length; index += rowsPerStatement)
            many.run(rows.slice(index, index + rowsPerStatement).flat());
          for (; index < rows.length; index++) one.run(rows[index]!);
        };
      };
      const insertOrders = insertMany('orders', orderColumns);
      const insertPayments = insertMany('channel_payments', paymentColumns);
      const insertRefunds = insertMany('refunds', refundColumns);
      const load = connection.transaction((rows: Rows) => {
        insertOrders(rows.orders);
        insertPayments(rows.payments);
        insertRefunds(rows.refunds);
      });
      for (let first = 0; first < day.items; first += chunk) {
        const rows = generate(day, owners, ids, first, Math.min(chunk, day.items - first));
        load(rows);
        add(rows);
        if ((first / chunk) % 4 === 3) progress(first + chunk);
      }
      for (const statement of triggers.create) connection.exec(statement);
      connection.exec('analyze');
      connection.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      connection.close();
    }
  }
  log(
    `loaded ${counts.orders.toLocaleString('en')} orders, ${counts.payments.toLocaleString('en')} payments, ` +
      `${counts.refunds.toLocaleString('en')} refunds in ${Math.round((performance.now() - started) / 1000)} s`,
  );
  return counts;
}
