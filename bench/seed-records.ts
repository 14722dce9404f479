import { once } from 'node:events';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sqliteFilePath } from '../src/db/database.ts';
import { paymentStatsChangeTriggerStatements } from '../src/db/migrations/0028-payment-stats-changes.ts';
import { systemClock, dayMs as day } from '../src/domain/clock.ts';
import { PaymentStatsService } from '../src/services/records/payment-stats.service.ts';
import {
  benchConfig,
  dataFolderOf,
  ensureWorld,
  freeBytes,
  merchantIdOfTeam,
  miniProgramCount,
  miniProgramId,
  miniProgramTeamId,
  openBenchDatabase,
  parseDatabaseArg,
  randomFrom,
  superappId,
  superappOfTeam,
  superappTeamId,
  teamOfMiniProgram,
} from './records-world.ts';

/**
 * Fills a database with N realistic orders and their refunds for the records benchmark: 200 mini
 * programs in 50 teams on 4 superapps (a few big mini programs, many small ones), a year of creation
 * times, the trade states and refunds a live platform has. Bulk loads: COPY on PostgreSQL, multi-row
 * INSERTs in large transactions on SQLite; secondary indexes and the payment-data triggers are dropped
 * during the load and rebuilt after it, then the planner statistics and the daily figures are refreshed.
 *
 *   npm run bench -- seed-records --orders 1000000 [--database sqlite|postgres|URL] [--append] [--force]
 */

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
  'attach',
  'notify_url',
  'amount_total',
  'currency',
  'payer_openid',
  'time_expire',
  'client_platform',
  'sandbox',
  'trade_state',
  'channel_kind',
  'channel_order_id',
  'channel_transaction_id',
  'cashier_token',
  'fingerprint',
  'refund_reserved',
  'refund_count',
  'refund_succeeded',
  'anomaly_flags',
  'pending_operation',
  'reconcile_at',
  'created_at',
  'updated_at',
  'success_time',
  'closed_at',
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
  'channel_payment_id',
  'amount_refund',
  'amount_total',
  'currency',
  'reason',
  'notify_url',
  'status',
  'channel_kind',
  'channel_refund_id',
  'user_received_account',
  'reconcile_at',
  'created_at',
  'updated_at',
  'success_time',
] as const;

type Value = string | number | null;

/** Bytes on disk per order, indexes and its share of refunds included (measured at 1M, rounded up). */
const bytesPerOrder = { postgres: 1_600, sqlite: 1_300 };

const products = [
  'Coffee beans 1kg',
  'Monthly membership',
  'Game coins ×600',
  'Phone case, black',
  'Train ticket G1234',
  'Movie ticket',
  'Bubble tea (large, "less sugar")',
  'Book: Designing Data-Intensive Applications',
  'Gift card 100',
  '外卖订单',
  'Ride 12.4 km',
  'Cloud storage 200 GB',
];
const refundReasons = ['customer asked', 'out of stock', 'duplicate order', 'late delivery', null];

interface Generated {
  orders: Value[][];
  refunds: Value[][];
}

/** Orders `first .. first + count` of a seed of `total`, spread over the year before `now`, and their refunds. */
function generate(
  first: number,
  count: number,
  total: number,
  now: number,
  firstOrderId: number,
  refundIdState: { next: number },
): Generated {
  const random = randomFrom(first * 7919 + 17);
  const span = 365 * day;
  const step = span / total;
  const orders: Value[][] = [];
  const refunds: Value[][] = [];
  for (let index = first; index < first + count; index++) {
    const id = firstOrderId + index;
    const createdAt = Math.floor(now - span + index * step + random() * step);
    // A few big mini programs and many small ones: P(mnp < k) = sqrt(k / 200).
    const mnp = Math.min(miniProgramCount - 1, Math.floor(miniProgramCount * random() ** 2));
    const team = teamOfMiniProgram(mnp);
    const superapp = superappOfTeam(team);
    const mchid = merchantIdOfTeam(team);
    const amount = Math.max(1, Math.round(Math.exp(4 + random() * 7)));
    const currency = random() < 0.95 ? 'CNY' : 'USD';
    const recent = now - createdAt < 2 * 60 * 60 * 1000;
    const roll = random();
    const tradeState =
      recent && roll < 0.3
        ? 'WAIT_PAY'
        : roll < 0.72
          ? 'SUCCESS'
          : roll < 0.84
            ? 'REFUND'
            : roll < 0.9
              ? 'CLOSED'
              : roll < 0.97
                ? 'AUTO_CLOSED'
                : 'PAY_ERROR';
    const paid = tradeState === 'SUCCESS' || tradeState === 'REFUND';
    const successTime = paid ? createdAt + 5_000 + Math.floor(random() * 120_000) : null;
    const dateCode = new Date(createdAt).toISOString().slice(2, 10).replaceAll('-', '');
    const transactionId = paid ? `4200${dateCode}${String(id).padStart(20, '0')}` : null;
    const outTradeNo = `P${dateCode}${id.toString(36).padStart(9, '0')}`;
    let refundReserved = 0;
    let refundSucceeded = 0;
    let refundCount = 0;
    if (tradeState === 'REFUND') {
      const pieces = random() < 0.8 ? 1 : 2;
      let left = amount;
      for (let piece = 0; piece < pieces && left > 0; piece++) {
        const refundAmount = piece === pieces - 1 || left < 2 ? left : Math.max(1, Math.floor(left * (0.2 + random() * 0.5)));
        left -= refundAmount;
        const refundCreatedAt = Math.min(now - 1000, successTime! + Math.floor(random() * 20 * day));
        const statusRoll = random();
        const status =
          now - refundCreatedAt < 2 * day && statusRoll < 0.5
            ? 'PROCESSING'
            : statusRoll < 0.94
              ? 'SUCCESS'
              : statusRoll < 0.97
                ? 'CLOSED'
                : 'ABNORMAL';
        if (status !== 'CLOSED') refundReserved += refundAmount;
        if (status === 'SUCCESS') refundSucceeded += refundAmount;
        refundCount += 1;
        const refundRowId = refundIdState.next++;
        refunds.push([
          refundRowId,
          `5030${dateCode}${String(refundRowId).padStart(20, '0')}`,
          mchid,
          `R${refundRowId.toString(36).padStart(9, '0')}`,
          id,
          miniProgramId(mnp),
          superappId(superapp),
          miniProgramTeamId(team),
          superappTeamId(superapp),
          0,
          outTradeNo,
          transactionId,
          'merchant',
          null,
          refundAmount,
          amount,
          currency,
          refundReasons[Math.floor(random() * refundReasons.length)]!,
          null,
          status,
          'http',
          `chr${refundRowId}`,
          status === 'SUCCESS' ? '招商银行信用卡0403' : null,
          status === 'PROCESSING' ? refundCreatedAt + 60_000 : null,
          refundCreatedAt,
          refundCreatedAt + 30_000,
          status === 'SUCCESS' ? refundCreatedAt + 30_000 : null,
        ]);
      }
    }
    orders.push([
      id,
      `wx${String(id).padStart(30, '0')}`,
      transactionId,
      mchid,
      outTradeNo,
      miniProgramId(mnp),
      superappId(superapp),
      miniProgramTeamId(team),
      superappTeamId(superapp),
      products[Math.floor(random() * products.length)]!,
      random() < 0.1 ? `{"cart":${Math.floor(random() * 1000)}}` : null,
      'https://merchant.example/pay/notify',
      amount,
      currency,
      `o${Math.floor(random() * 2_000_000)
        .toString(36)
        .padStart(6, '0')}`,
      createdAt + 2 * 60 * 60 * 1000,
      random() < 0.55 ? 2 : random() < 0.9 ? 3 : 0,
      0,
      tradeState,
      'http',
      `co${id}`,
      paid ? `ct${id}` : null,
      null,
      'bench',
      refundReserved,
      refundCount,
      refundSucceeded,
      0,
      null,
      null,
      createdAt,
      successTime ?? createdAt,
      successTime,
      tradeState === 'CLOSED' || tradeState === 'AUTO_CLOSED' ? createdAt + 2 * 60 * 60 * 1000 : null,
    ]);
  }
  return { orders, refunds };
}

const copyText = (rows: Value[][]) =>
  rows
    .map((row) =>
      row
        .map((value) =>
          value === null
            ? '\\N'
            : typeof value === 'number'
              ? String(value)
              : value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r'),
        )
        .join('\t'),
    )
    .join('\n') + '\n';

async function copyInto(client: pg.PoolClient, table: string, columns: readonly string[], rows: Value[][]): Promise<void> {
  if (rows.length === 0) return;
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  const text = copyText(rows);
  // Large chunks with back-pressure, so the generator never runs far ahead of the server.
  for (let offset = 0; offset < text.length; offset += 1 << 20) {
    if (!stream.write(text.slice(offset, offset + (1 << 20)))) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      orders: { type: 'string', default: '100000' },
      database: { type: 'string' },
      append: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      chunk: { type: 'string', default: '100000' },
    },
  });
  const total = Number(values.orders);
  if (!Number.isSafeInteger(total) || total <= 0) throw new Error('--orders must be a positive integer');
  const databaseUrl = parseDatabaseArg(values.database ?? process.env.RECORDS_BENCH_DATABASE_URL);
  const database = await openBenchDatabase(databaseUrl);
  const log = (message: string) => process.stderr.write(`[seed-records] ${message}\n`);
  try {
    const folder = await dataFolderOf(database, databaseUrl);
    const needed = total * bytesPerOrder[database.kind];
    const free = freeBytes(folder);
    const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
    log(
      `${total.toLocaleString('en')} orders on ${database.kind} need about ${gb(needed)} ` +
        `(and as much again while indexes are rebuilt); ${gb(free)} free on ${folder}`,
    );
    if (free < needed * 1.5 && !values.force)
      throw new Error(`not enough free disk: about ${gb(needed * 1.5)} needed, ${gb(free)} free (--force to try anyway)`);

    const now = Date.now();
    await ensureWorld(database.db, now);
    const existing = Number(
      (
        await database.db
          .selectFrom('orders')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    if (existing > 0 && !values.append)
      throw new Error(`the database already holds ${existing} orders (--append to add more, or use a fresh database)`);
    const maxOrderId = Number(
      (
        await database.db
          .selectFrom('orders')
          .select((eb) => eb.fn.max('id').as('m'))
          .executeTakeFirst()
      )?.m ?? 0,
    );
    const maxRefundId = Number(
      (
        await database.db
          .selectFrom('refunds')
          .select((eb) => eb.fn.max('id').as('m'))
          .executeTakeFirst()
      )?.m ?? 0,
    );
    const refundIds = { next: maxRefundId + 1 };
    const chunk = Number(values.chunk);
    const started = performance.now();
    let refundsWritten = 0;

    const triggers = paymentStatsChangeTriggerStatements(database.kind);
    if (database.kind === 'postgres') {
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
      const client = await pool.connect();
      try {
        await client.query('set synchronous_commit = off');
        const indexes = (
          await client.query<{ indexname: string; indexdef: string }>(
            `select indexname, indexdef from pg_indexes where schemaname = current_schema() and tablename in ('orders', 'refunds')
             and indexname not in (select conname from pg_constraint)`,
          )
        ).rows;
        for (const statement of triggers.drop) await client.query(statement);
        for (const index of indexes) await client.query(`drop index ${index.indexname}`);
        log(`dropped ${indexes.length} secondary indexes and the payment-data triggers for the load`);
        for (let first = 0; first < total; first += chunk) {
          const part = generate(first, Math.min(chunk, total - first), total, now, maxOrderId + 1, refundIds);
          await copyInto(client, 'orders', orderColumns, part.orders);
          await copyInto(client, 'refunds', refundColumns, part.refunds);
          refundsWritten += part.refunds.length;
          log(
            `${(first + part.orders.length).toLocaleString('en')} orders, ${refundsWritten.toLocaleString('en')} refunds ` +
              `(${Math.round((performance.now() - started) / 1000)} s)`,
          );
        }
        await client.query("select setval(pg_get_serial_sequence('orders', 'id'), (select max(id) from orders))");
        await client.query("select setval(pg_get_serial_sequence('refunds', 'id'), greatest(1, (select max(id) from refunds)))");
        await client.query("set maintenance_work_mem = '1GB'");
        for (const index of indexes) {
          const at = performance.now();
          await client.query(index.indexdef);
          log(`rebuilt ${index.indexname} (${Math.round((performance.now() - at) / 1000)} s)`);
        }
        for (const statement of triggers.create) await client.query(statement);
        await client.query('vacuum (analyze) orders');
        await client.query('vacuum (analyze) refunds');
      } finally {
        client.release();
        await pool.end();
      }
    } else {
      await database.close();
      const connection = new SQLite(sqliteFilePath(databaseUrl));
      try {
        connection.pragma('journal_mode = WAL');
        connection.pragma('synchronous = OFF');
        connection.pragma('foreign_keys = OFF');
        connection.pragma('cache_size = -262144');
        const indexes = connection
          .prepare<[], { name: string; sql: string }>(
            "select name, sql from sqlite_master where type = 'index' and tbl_name in ('orders', 'refunds') and sql is not null",
          )
          .all();
        for (const statement of triggers.drop) connection.exec(statement);
        for (const index of indexes) connection.exec(`drop index ${index.name}`);
        log(`dropped ${indexes.length} secondary indexes and the payment-data triggers for the load`);
        const rowsPerStatement = 50;
        const insertMany = (table: string, columns: readonly string[]) => {
          const placeholders = `(${columns.map(() => '?').join(',')})`;
          const many = connection.prepare(
            `insert into ${table} (${columns.join(',')}) values ${Array.from({ length: rowsPerStatement }, () => placeholders).join(',')}`,
          );
          const one = connection.prepare(`insert into ${table} (${columns.join(',')}) values ${placeholders}`);
          return (rows: Value[][]) => {
            let index = 0;
            for (; index + rowsPerStatement <= rows.length; index += rowsPerStatement)
              many.run(rows.slice(index, index + rowsPerStatement).flat());
            for (; index < rows.length; index++) one.run(rows[index]!);
          };
        };
        const insertOrders = insertMany('orders', orderColumns);
        const insertRefunds = insertMany('refunds', refundColumns);
        const load = connection.transaction((part: Generated) => {
          insertOrders(part.orders);
          insertRefunds(part.refunds);
        });
        for (let first = 0; first < total; first += chunk) {
          const part = generate(first, Math.min(chunk, total - first), total, now, maxOrderId + 1, refundIds);
          load(part);
          refundsWritten += part.refunds.length;
          log(
            `${(first + part.orders.length).toLocaleString('en')} orders, ${refundsWritten.toLocaleString('en')} refunds ` +
              `(${Math.round((performance.now() - started) / 1000)} s)`,
          );
        }
        for (const index of indexes) {
          const at = performance.now();
          connection.exec(index.sql);
          log(`rebuilt ${index.name} (${Math.round((performance.now() - at) / 1000)} s)`);
        }
        for (const statement of triggers.create) connection.exec(statement);
        connection.exec('analyze');
      } finally {
        connection.close();
      }
    }
    log(`loaded in ${Math.round((performance.now() - started) / 1000)} s; recounting the daily payment figures`);
    const reopened = await openBenchDatabase(databaseUrl);
    try {
      const days = await new PaymentStatsService(reopened.db, systemClock, benchConfig(databaseUrl)).rebuild();
      log(`daily figures for ${days} business days`);
    } finally {
      await reopened.close();
    }
    process.stdout.write(
      `${JSON.stringify({ bench: 'seed-records', metric: `${database.kind}.orders`, value: existing + total, unit: 'rows' })}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ bench: 'seed-records', metric: `${database.kind}.refunds_added`, value: refundsWritten, unit: 'rows' })}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'seed-records',
        metric: `${database.kind}.load_seconds`,
        value: Math.round((performance.now() - started) / 100) / 10,
        unit: 's',
      })}\n`,
    );
  } finally {
    await database.close().catch(() => undefined);
  }
}
