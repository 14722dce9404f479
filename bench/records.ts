import { execFile } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { freshCompiledFileOf } from '../bin/compiled-build.mjs';
import { systemClock, dayMs as day } from '../src/domain/clock.ts';
import { tradeStates } from '../src/domain/order-state.ts';
import { OrderRecordService } from '../src/services/records/order-record.service.ts';
import { OutboxService } from '../src/services/payments/outbox.service.ts';
import { PaymentDataService } from '../src/services/records/payment-data.service.ts';
import { PaymentStatsService } from '../src/services/records/payment-stats.service.ts';
import { encodeCursor } from '../src/services/records/record-query.ts';
import { RefundRecordService } from '../src/services/records/refund-record.service.ts';
import {
  benchActors,
  benchConfig,
  miniProgramCount,
  miniProgramId,
  openBenchDatabase,
  parseDatabaseArg,
  randomFrom,
} from './records-world.ts';

/**
 * The records benchmark (SPEC §7 "Records at scale"), on a database filled by `seed-records`: p50 / p95
 * latency of the list and search set through the services the console and the management API use
 * (first page unfiltered; by mini program; by state; exact out_trade_no; exact transaction_id; amount
 * range in a 31-day window; a page 1,000 pages deep by cursor; refunds by date range, by order number,
 * by refund number), and CSV export throughput with the peak RSS of the process that exports 1,000,000 rows
 * (bench/records-export.ts, a child process run as the server runs).
 *
 *   npm run bench -- records [--database sqlite|postgres|URL] [--iterations 200] [--export-rows 1000000]
 *                            [--export-compare: the row-by-row writer too, as a baseline of the same run]
 */

const execFileAsync = promisify(execFile);

interface ExportResult {
  rows: number;
  seconds: number;
  cpuSeconds: number;
  databaseCpuSeconds: number | null;
  fileSize: number | null;
  rssBefore: number;
  peakRss: number;
}

/**
 * One export in a process of its own run as the server runs (the compiled JavaScript in dist/ while it is
 * fresh, as bin/paythrough.mjs does; else the sources through tsx), so its peak RSS is the export's.
 */
async function exportInChild(databaseUrl: string, from: number, to: number, format: string, rowByRow: boolean): Promise<ExportResult> {
  const compiled = freshCompiledFileOf('bench/records-export.ts', ['src', 'bench']);
  const entry = compiled ? [compiled] : ['--import', 'tsx', fileURLToPath(new URL('./records-export.ts', import.meta.url))];
  const args = [
    ...entry,
    '--database',
    databaseUrl,
    '--from',
    String(from),
    '--to',
    String(to),
    '--format',
    format,
    ...(rowByRow ? ['--row-by-row'] : []),
  ];
  const { stdout } = await execFileAsync(process.execPath, args, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as ExportResult;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      database: { type: 'string' },
      iterations: { type: 'string', default: '200' },
      'export-rows': { type: 'string', default: '1000000' },
      'export-format': { type: 'string', default: 'csv' },
      'export-compare': { type: 'boolean', default: false },
      only: { type: 'string' },
    },
  });
  const databaseUrl = parseDatabaseArg(values.database ?? process.env.RECORDS_BENCH_DATABASE_URL);
  const iterations = Number(values.iterations);
  const exportRows = Number(values['export-rows']);
  const database = await openBenchDatabase(databaseUrl);
  const { db, kind } = database;
  const config = benchConfig(databaseUrl);
  const orders = new OrderRecordService(db, systemClock, new OutboxService(db, systemClock));
  const refunds = new RefundRecordService(db, systemClock, config);
  const paymentData = new PaymentDataService(db, systemClock, config, new PaymentStatsService(db, systemClock, config));
  const bench = `records.${kind}`;
  const line = (metric: string, value: number, unit: string) =>
    process.stdout.write(`${JSON.stringify({ bench, metric, value: Math.round(value * 100) / 100, unit })}\n`);
  const log = (message: string) => process.stderr.write(`[records] ${message}\n`);
  const random = randomFrom(42);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;

  try {
    const count = Number(
      (
        await db
          .selectFrom('orders')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    const refundCount = Number(
      (
        await db
          .selectFrom('refunds')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    if (count === 0) throw new Error('no orders: run `npm run bench -- seed-records --orders N` first');
    line('orders', count, 'rows');
    line('refunds', refundCount, 'rows');
    log(
      `${count.toLocaleString('en')} orders, ${refundCount.toLocaleString('en')} refunds on ${kind}; ` +
        `${cpus().length} CPUs, ${Math.round(totalmem() / 1e9)} GB RAM`,
    );
    const bounds = await db
      .selectFrom('orders')
      .select((eb) => [eb.fn.min('created_at').as('first'), eb.fn.max('created_at').as('last')])
      .executeTakeFirstOrThrow();
    const first = Number(bounds.first);
    const last = Number(bounds.last);
    // Samples for exact searches, spread over the table.
    const sampleIds = Array.from({ length: 64 }, () => Math.floor(random() * count) + 1);
    const samples = await db.selectFrom('orders').select(['out_trade_no', 'transaction_id']).where('id', 'in', sampleIds).execute();
    const refundSamples = await db
      .selectFrom('refunds')
      .select(['out_refund_no', 'refund_id', 'out_trade_no', 'transaction_id', 'created_at'])
      .where(
        'id',
        'in',
        sampleIds.map((id) => Math.max(1, Math.floor((id / count) * refundCount))),
      )
      .execute();
    const paidSamples = samples.filter((row) => row.transaction_id);

    async function measure(metric: string, query: () => Promise<unknown>) {
      if (values.only && !metric.includes(values.only)) return;
      for (let i = 0; i < Math.min(10, iterations); i++) await query();
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const start = performance.now();
        await query();
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      line(`${metric}.p50`, percentile(times, 50), 'ms');
      line(`${metric}.p95`, percentile(times, 95), 'ms');
      log(`${metric}: p50 ${percentile(times, 50).toFixed(2)} ms, p95 ${percentile(times, 95).toFixed(2)} ms`);
    }

    const page = { limit: 20 };
    const { admin, saOperator, mpOperator } = benchActors;
    const randomMnp = () => miniProgramId(Math.floor(miniProgramCount * random() ** 2));
    const randomWindow = (days: number) => {
      const from = first + random() * Math.max(0, last - first - days * day);
      return { createdFrom: Math.floor(from), createdTo: Math.floor(from + days * day) };
    };

    await measure('orders.first_page.platform_admin', () => orders.list(admin, {}, page));
    await measure('orders.first_page.superapp_operator', () => orders.list(saOperator, {}, page));
    await measure('orders.first_page.mini_program_operator', () => orders.list(mpOperator, {}, page));
    await measure('orders.first_page_with_capped_total.superapp_operator', () => orders.list(saOperator, {}, { ...page, withTotal: true }));
    await measure('orders.by_mini_program', () => orders.list(admin, { mnpIds: [randomMnp()] }, page));
    await measure('orders.by_state', () => orders.list(saOperator, { tradeStates: [pick(tradeStates)] }, page));
    await measure('orders.by_state_and_mini_program', () =>
      orders.list(admin, { mnpIds: [randomMnp()], tradeStates: [pick(tradeStates)] }, page),
    );
    await measure('orders.by_out_trade_no', () => orders.list(admin, { outTradeNo: pick(samples).out_trade_no }, page));
    await measure('orders.by_transaction_id', () => orders.list(admin, { transactionId: pick(paidSamples).transaction_id! }, page));
    await measure('orders.amount_range_31_days', () => {
      const low = Math.floor(Math.exp(4 + random() * 6));
      return orders.list(saOperator, { ...randomWindow(31), amountMin: low, amountMax: low * 2 }, page);
    });

    // A page 1,000 pages deep: the cursor of row 20,000 (found once, by offset, outside the timing).
    const deepCursors: { admin?: string; mnp?: string; last?: string } = {};
    const deepRow = await db
      .selectFrom('orders')
      .select(['id', 'created_at'])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(20 * 1000)
      .limit(1)
      .executeTakeFirst();
    if (deepRow) deepCursors.admin = encodeCursor(deepRow);
    const lastRow = await db
      .selectFrom('orders')
      .select(['id', 'created_at'])
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .offset(10)
      .limit(1)
      .executeTakeFirst();
    if (lastRow) deepCursors.last = encodeCursor(lastRow);
    if (deepCursors.admin)
      await measure('orders.page_1000_by_cursor', () => orders.list(admin, {}, { ...page, cursor: deepCursors.admin }));
    if (deepCursors.last) await measure('orders.last_page_by_cursor', () => orders.list(admin, {}, { ...page, cursor: deepCursors.last }));
    await measure('orders.management_offset_10000', () =>
      orders.listByOffset(saOperator, { createdFrom: last - 30 * day, createdTo: last }, 10_000, 20),
    );

    await measure('refunds.by_date_range_7_days', () => refunds.list(saOperator, { createdFrom: last - 7 * day, createdTo: last }, page));
    await measure('refunds.default_range', () => refunds.list(admin, {}, page));
    await measure('refunds.by_order_number', () => refunds.list(saOperator, { orderNo: pick(refundSamples).out_trade_no }, page));
    await measure('refunds.by_transaction_id', () => refunds.list(admin, { orderNo: pick(refundSamples).transaction_id }, page));
    await measure('refunds.by_refund_number', () => refunds.list(saOperator, { refundNo: pick(refundSamples).out_refund_no }, page));
    await measure('refunds.by_refund_id', () => refunds.list(admin, { refundNo: pick(refundSamples).refund_id }, page));

    const slowIterations = Math.max(5, Math.floor(iterations / 20));
    const measureSlow = async (metric: string, query: () => Promise<unknown>) => {
      const times: number[] = [];
      if (values.only && !metric.includes(values.only)) return;
      await query();
      for (let i = 0; i < slowIterations; i++) {
        const start = performance.now();
        await query();
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      line(`${metric}.p50`, percentile(times, 50), 'ms');
      line(`${metric}.p95`, percentile(times, 95), 'ms');
      log(`${metric}: p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms (${times.length} runs)`);
    };
    await measureSlow('payment_data.overview.mini_program_30_days', () =>
      paymentData.overview(admin, { timeBegin: last - 30 * day, timeEnd: last, mnpIds: [randomMnp()] }),
    );
    await measureSlow('payment_data.detail.superapp_30_days', () =>
      paymentData.detail(saOperator, { timeBegin: last - 30 * day, timeEnd: last }),
    );
    await measureSlow('payment_data.overview.platform_365_days', () =>
      paymentData.overview(admin, { timeBegin: last - 365 * day, timeEnd: last }),
    );
    await measureSlow('orders.exact_total.superapp_operator', () =>
      orders.count({ parts: [{ column: 'application_id', value: 'app_bench_0' }], filter: {} }),
    );

    if (exportRows > 0 && (!values.only || 'export'.includes(values.only) || values.only.includes('export'))) {
      // The newest `exportRows` orders: a created range ending now, starting at that row's time.
      const boundary = await db
        .selectFrom('orders')
        .select(['created_at'])
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .offset(exportRows - 1)
        .limit(1)
        .executeTakeFirst();
      const createdFrom = boundary ? Number(boundary.created_at) : first;
      const format = values['export-format'] === 'xlsx' ? 'xlsx' : 'csv';
      const runs = freshCompiledFileOf('bench/records-export.ts', ['src', 'bench'])
        ? 'the compiled JavaScript (dist/)'
        : 'the sources through tsx (dist/ is missing or older than them: npm run build:server)';
      log(`export runs ${runs}`);
      // The row-by-row writer (order objects, the path XLSX takes) as the same run's baseline, when asked.
      for (const path of values['export-compare'] ? (['driver', 'row_by_row'] as const) : (['driver'] as const)) {
        const result = await exportInChild(databaseUrl, createdFrom, last, format, path === 'row_by_row');
        const prefix = path === 'driver' ? `export.${format}` : `export.${format}.row_by_row`;
        line(`${prefix}.rows`, result.rows, 'rows');
        line(`${prefix}.throughput`, result.rows / result.seconds, 'rows/s');
        line(`${prefix}.seconds`, result.seconds, 's');
        // The export process's CPU time (SQLite runs inside it); on PostgreSQL its backends' CPU is added
        // for the total: rows per CPU-second is what one idle core gives, whatever else shares the machine.
        line(`${prefix}.cpu_seconds`, result.cpuSeconds, 's');
        line(`${prefix}.rows_per_cpu_second`, result.rows / result.cpuSeconds, 'rows/s');
        if (result.databaseCpuSeconds !== null) {
          line(`${prefix}.database_cpu_seconds`, result.databaseCpuSeconds, 's');
          line(`${prefix}.rows_per_cpu_second_with_database`, result.rows / (result.cpuSeconds + result.databaseCpuSeconds), 'rows/s');
        }
        line(`${prefix}.file_size`, (result.fileSize ?? 0) / 1e6, 'MB');
        line(`${prefix}.peak_rss`, result.peakRss / 1e6, 'MB');
        line(`${prefix}.rss_before`, result.rssBefore / 1e6, 'MB');
        line(`${prefix}.rss_growth`, (result.peakRss - result.rssBefore) / 1e6, 'MB');
        log(
          `export ${format} (${path}): ${result.rows.toLocaleString('en')} rows in ${result.seconds.toFixed(1)} s = ` +
            `${Math.round(result.rows / result.seconds).toLocaleString('en')} rows/s ` +
            `(${Math.round(result.rows / result.cpuSeconds).toLocaleString('en')} rows per CPU-second of the export process` +
            (result.databaseCpuSeconds !== null
              ? `, ${Math.round(result.rows / (result.cpuSeconds + result.databaseCpuSeconds)).toLocaleString('en')} with PostgreSQL's`
              : '') +
            `), peak RSS ${Math.round(result.peakRss / 1e6)} MB (before ${Math.round(result.rssBefore / 1e6)} MB)`,
        );
      }
    }
  } finally {
    await database.close();
  }
}
