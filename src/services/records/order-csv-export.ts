import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { DriverHandle } from '../../db/database.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { orderRecordRepository } from '../../repositories/order-record.repository.ts';
import { CrlfRecordEnds, csvHead, orderCsvLines } from './export-format.ts';
import type { ResolvedOrderQuery } from './order-record.service.ts';

/**
 * The CSV export of orders on its fast paths (a million rows is the usual size): PostgreSQL writes the
 * records itself through COPY; SQLite's rows come as raw arrays in keyset batches and are written as
 * text. Both write with backpressure to the file and report progress every `batchSize` rows; the bytes
 * are those of CsvWriter over OrderListItems (exports.test.ts compares them). Returns the rows written.
 */
export async function writeOrdersCsv(
  db: DatabaseClient,
  driver: DriverHandle,
  { parts, filter }: ResolvedOrderQuery,
  file: string,
  timeZone: string,
  batchSize: number,
  onProgress: (rowsWritten: number) => Promise<void>,
): Promise<number> {
  const out = createWriteStream(file, { flags: 'wx' });
  try {
    out.write(csvHead('orders', timeZone));
    let written = 0;
    if (parts.length > 0 && driver.kind === 'postgres')
      written = await copyFromPostgres(db, driver.pool, { parts, filter }, out, timeZone, batchSize, onProgress);
    if (parts.length > 0 && driver.kind === 'sqlite')
      written = await batchesFromSqlite(db, driver.connection, { parts, filter }, out, timeZone, batchSize, onProgress);
    if (!out.writableEnded) out.end();
    if (!out.closed) await once(out, 'close');
    return written;
  } catch (error) {
    out.destroy();
    if (!out.closed) await once(out, 'close').catch(() => undefined);
    throw error;
  }
}

async function copyFromPostgres(
  db: DatabaseClient,
  pool: Extract<DriverHandle, { kind: 'postgres' }>['pool'],
  { parts, filter }: ResolvedOrderQuery,
  out: WriteStream,
  timeZone: string,
  batchSize: number,
  onProgress: (rowsWritten: number) => Promise<void>,
): Promise<number> {
  const copySql = orderRecordRepository.exportCsvCopySql(db, parts, filter, timeZone);
  const records = new CrlfRecordEnds(batchSize, onProgress);
  await orderRecordRepository.copyCsvOut(pool, copySql, [records, out]);
  return records.records;
}

async function batchesFromSqlite(
  db: DatabaseClient,
  connection: Extract<DriverHandle, { kind: 'sqlite' }>['connection'],
  { parts, filter }: ResolvedOrderQuery,
  out: WriteStream,
  timeZone: string,
  batchSize: number,
  onProgress: (rowsWritten: number) => Promise<void>,
): Promise<number> {
  const lines = orderCsvLines(timeZone);
  let written = 0;
  let after: { createdAt: number; id: number } | undefined;
  for (;;) {
    // Synchronous and bounded: one batch is read, written, then the event loop runs again.
    const rows = orderRecordRepository.exportBatch(db, connection, parts, filter, after, batchSize);
    if (rows.length > 0 && !out.write(lines(rows))) await once(out, 'drain');
    written += rows.length;
    await onProgress(written);
    const last = rows[rows.length - 1];
    if (!last || rows.length < batchSize) return written;
    after = { createdAt: last[11], id: last[14] };
  }
}
