import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import { to as copyTo } from 'pg-copy-streams';
import type { DriverHandle } from '../../db/database.ts';
import type { Database } from '../../db/schema.ts';
import { csvSessionSql } from '../../repositories/csv-sql.ts';
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
  db: Kysely<Database>,
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
    if (parts.length > 0 && driver.kind === 'postgres') written = await copyFromPostgres(db, driver.pool, { parts, filter }, out, timeZone, batchSize, onProgress);
    if (parts.length > 0 && driver.kind === 'sqlite') written = await batchesFromSqlite(db, driver.connection, { parts, filter }, out, timeZone, batchSize, onProgress);
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
  db: Kysely<Database>,
  pool: Extract<DriverHandle, { kind: 'postgres' }>['pool'],
  { parts, filter }: ResolvedOrderQuery,
  out: WriteStream,
  timeZone: string,
  batchSize: number,
  onProgress: (rowsWritten: number) => Promise<void>,
): Promise<number> {
  const copySql = orderRecordRepository.exportCsvCopySql(db, parts, filter, timeZone);
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(csvSessionSql);
    const records = new CrlfRecordEnds(batchSize, onProgress);
    await pipeline(client.query(copyTo(copySql)), records, out);
    // The connection goes back to the pool as it came.
    await client.query('reset datestyle');
    return records.records;
  } catch (error) {
    // A COPY stopped half way leaves the connection mid-protocol: it is closed, not reused.
    broken = true;
    throw error;
  } finally {
    client.release(broken);
  }
}

async function batchesFromSqlite(
  db: Kysely<Database>,
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
