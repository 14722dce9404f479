import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { systemClock } from '../src/domain/clock.ts';
import { ExportService } from '../src/services/records/export.service.ts';
import { OrderRecordService } from '../src/services/records/order-record.service.ts';
import { OutboxService } from '../src/services/payments/outbox.service.ts';
import { RefundRecordService } from '../src/services/records/refund-record.service.ts';
import { benchActors, benchConfig, openBenchDatabase } from './records-world.ts';

/**
 * One export of the records benchmark in a process of its own, started by records.ts the way the server
 * runs (node with tsx): its peak RSS is the kernel's high-water mark (VmHWM) of a process that does only
 * what a server's export worker does. Prints one JSON object on stdout.
 *
 *   node --import tsx bench/records-export.ts --database URL --from MS --to MS [--format csv|xlsx] [--row-by-row]
 */

/** CPU seconds so far of this database's PostgreSQL backends (this benchmark's own database: only its connections). */
async function backendCpuSeconds(db: typeof database.db, name: string): Promise<Map<number, number>> {
  const rows = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = ${name}`.execute(db);
  const ticksPerSecond = 100;
  const out = new Map<number, number>();
  for (const { pid } of rows.rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /, '')
        .split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / ticksPerSecond);
    } catch {
      // Not on this machine, or gone: not counted.
    }
  }
  return out;
}

const kilobytesOf = (field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN);

const { values } = parseArgs({
  options: {
    database: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    format: { type: 'string', default: 'csv' },
    'row-by-row': { type: 'boolean', default: false },
  },
});
const databaseUrl = values.database!;
const format = values.format === 'xlsx' ? 'xlsx' : 'csv';
const database = await openBenchDatabase(databaseUrl);
const { db } = database;
try {
  const config = benchConfig(databaseUrl);
  const records = {
    orders: new OrderRecordService(db, systemClock, new OutboxService(db, systemClock)),
    refunds: new RefundRecordService(db, systemClock, config),
  };
  const exports = new ExportService(db, systemClock, config, records, {
    folder: path.resolve('data', 'bench', 'exports'),
    fastCsv: !values['row-by-row'],
  });
  const databaseName = database.kind === 'postgres' ? new URL(databaseUrl).pathname.slice(1) : undefined;
  const backendsBefore = databaseName ? await backendCpuSeconds(db, databaseName) : new Map<number, number>();
  const rssBefore = process.memoryUsage().rss;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const job = await exports.create(benchActors.admin, {
    kind: 'orders',
    format,
    query: { createdFrom: Number(values.from), createdTo: Number(values.to) },
  });
  while (await exports.runNext()) {
    // The worker's loop.
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const done = await exports.get(benchActors.admin, job.id);
  let databaseCpuSeconds: number | null = null;
  if (databaseName) {
    databaseCpuSeconds = 0;
    for (const [pid, cpuSeconds] of await backendCpuSeconds(db, databaseName))
      databaseCpuSeconds += cpuSeconds - (backendsBefore.get(pid) ?? 0);
  }
  if (done.status !== 'done') throw new Error(`export ended ${done.status}: ${done.error}`);
  const result = {
    rows: done.rowsWritten,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    databaseCpuSeconds,
    fileSize: done.fileSize,
    rssBefore,
    peakRss: kilobytesOf('VmHWM') * 1024,
    heapUsed: process.memoryUsage().heapUsed,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  rmSync(path.join(exports.folder, `${job.id}.${format}`), { force: true });
  await sql`delete from export_jobs where id = ${job.id}`.execute(db);
} finally {
  await database.close();
}
