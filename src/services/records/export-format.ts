import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { stringify } from 'csv-stringify/sync';
import type ExcelJS from 'exceljs';
import type { ExportFormat, ExportKind } from '../../db/records-schema.ts';
import { currencyExponent, formatMinorUnits } from '../../domain/money.ts';
import type { OrderExportRow } from '../../repositories/order-record.repository.ts';
import { businessDateTimeOf } from '../../domain/business-time.ts';
import type { OrderListItem, RefundListItem } from './record-views.ts';

/**
 * The export file formats (SPEC §5 "Exports", §7): CSV in UTF-8 with a BOM and CRLF line ends; XLSX with
 * at most 1,000,000 rows per sheet, continuing on further sheets. Amounts are major units in the
 * currency's own exponent. IDs stay text: XLSX writes them as string cells; in CSV an ID made only of
 * digits ends with a tab, which spreadsheet programs read as text (no 4.2E+27, no lost leading zeros).
 * Text starting with = + - @ (or a tab or carriage return) gets a leading ' so it is never a formula.
 */
export const xlsxRowsPerSheet = 1_000_000;

type CellKind = 'id' | 'text' | 'amount' | 'time';

interface Column<Row> {
  header: string;
  kind: CellKind;
  width: number;
  value(row: Row): string | null;
  /** For amounts: the row's currency. */
  currency?(row: Row): string;
}

const platformNames: Record<number, string> = { 2: 'Android', 3: 'iOS' };

function orderColumns(timeZone: string): Column<OrderListItem>[] {
  const format = zonedDateTimeFormatter(timeZone);
  const time = (ms: number | null) => (ms === null ? null : format(ms));
  return [
    { header: 'Mini program ID', kind: 'id', width: 32, value: (o) => o.mnpId },
    { header: 'Merchant ID', kind: 'id', width: 14, value: (o) => o.mchid },
    { header: 'Merchant order no.', kind: 'id', width: 32, value: (o) => o.outTradeNo },
    { header: 'Transaction ID', kind: 'id', width: 32, value: (o) => o.transactionId },
    { header: 'Trade state', kind: 'text', width: 12, value: (o) => o.tradeState },
    { header: 'Description', kind: 'text', width: 30, value: (o) => o.description },
    { header: 'Amount', kind: 'amount', width: 12, value: (o) => o.amount, currency: (o) => o.currency },
    { header: 'Currency', kind: 'text', width: 9, value: (o) => o.currency },
    { header: 'Refunded (processing and succeeded)', kind: 'amount', width: 14, value: (o) => o.refundTotal, currency: (o) => o.currency },
    { header: 'Payer openid', kind: 'id', width: 30, value: (o) => o.payerOpenid },
    { header: 'Platform', kind: 'text', width: 9, value: (o) => platformNames[o.clientPlatform] ?? '' },
    { header: 'Sandbox', kind: 'text', width: 8, value: (o) => (o.sandbox ? 'yes' : 'no') },
    { header: `Created (${timeZone})`, kind: 'time', width: 20, value: (o) => time(o.createdAt) },
    { header: `Paid (${timeZone})`, kind: 'time', width: 20, value: (o) => time(o.successTime) },
  ];
}

function refundColumns(timeZone: string): Column<RefundListItem>[] {
  const format = zonedDateTimeFormatter(timeZone);
  const time = (ms: number | null) => (ms === null ? null : format(ms));
  return [
    { header: 'Mini program ID', kind: 'id', width: 32, value: (r) => r.mnpId },
    { header: 'Merchant ID', kind: 'id', width: 14, value: (r) => r.mchid },
    { header: 'Merchant order no.', kind: 'id', width: 32, value: (r) => r.outTradeNo },
    { header: 'Transaction ID', kind: 'id', width: 32, value: (r) => r.transactionId },
    { header: 'Merchant refund no.', kind: 'id', width: 32, value: (r) => r.outRefundNo },
    { header: 'Refund ID', kind: 'id', width: 32, value: (r) => r.refundId },
    { header: 'Kind', kind: 'text', width: 16, value: (r) => r.kind },
    { header: 'Status', kind: 'text', width: 12, value: (r) => r.status },
    { header: 'Refund amount', kind: 'amount', width: 12, value: (r) => r.refund, currency: (r) => r.currency },
    { header: 'Order amount', kind: 'amount', width: 12, value: (r) => r.total, currency: (r) => r.currency },
    { header: 'Currency', kind: 'text', width: 9, value: (r) => r.currency },
    { header: 'Reason', kind: 'text', width: 30, value: (r) => r.reason },
    { header: `Initiated (${timeZone})`, kind: 'time', width: 20, value: (r) => time(r.createdAt) },
    { header: `Succeeded (${timeZone})`, kind: 'time', width: 20, value: (r) => time(r.successTime) },
  ];
}

const pad = (value: number) => (value < 10 ? `0${value}` : String(value));
const offsetBucketMs = 15 * 60 * 1000;

/**
 * `YYYY-MM-DD HH:mm:ss` in the zone, as businessDateTimeOf gives it, at a fraction of its cost: the
 * zone's offset is looked up once per quarter hour (offsets change on quarter-hour boundaries).
 */
export function zonedDateTimeFormatter(timeZone: string): (ms: number) => string {
  const offsets = new Map<number, number>();
  // Rows come in time order: the date, hour and minute are reused while the minute stays the same.
  let minuteStart = Number.NaN;
  let minutePrefix = '';
  return (ms) => {
    const bucket = Math.floor(ms / offsetBucketMs);
    let offset = offsets.get(bucket);
    if (offset === undefined) {
      const start = bucket * offsetBucketMs;
      offset = Date.parse(`${businessDateTimeOf(start, timeZone).replace(' ', 'T')}Z`) - start;
      if (offsets.size > 100_000) offsets.clear();
      offsets.set(bucket, offset);
    }
    const local = ms + offset;
    const minute = local - (((local % 60_000) + 60_000) % 60_000);
    if (minute !== minuteStart) {
      const wall = new Date(minute);
      minuteStart = minute;
      const date = `${String(wall.getUTCFullYear()).padStart(4, '0')}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}`;
      minutePrefix = `${date} ${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:`;
    }
    return minutePrefix + pad(Math.floor((local - minute) / 1000));
  };
}

const needsQuoting = /[",\r\n]/;
const quote = (field: string) => (needsQuoting.test(field) ? `"${field.replaceAll('"', '""')}"` : field);

/**
 * CSV records joined with CRLF: a field with a comma, a quote, CR or LF is quoted, its quotes doubled. The
 * output is byte for byte csv-stringify's with `quoted_match: /[\r\n]/` (a property test checks it against
 * the library; without that option csv-stringify leaves a bare LF unquoted under CRLF record ends), at a
 * fraction of its per-record cost. The header comes from csv-stringify itself.
 */
export function csvRecords(records: readonly string[][]): string {
  let out = '';
  for (const record of records) {
    let line = '';
    for (let index = 0; index < record.length; index++) line += index === 0 ? quote(record[index]!) : `,${quote(record[index]!)}`;
    out += `${line}\r\n`;
  }
  return out;
}

const formulaStart = /^[=+\-@\t\r]/;
const digitsOnly = /^\d+$/;

/** Text that a spreadsheet would read as a formula gets a leading apostrophe. */
export function neutraliseFormula(text: string): string {
  return formulaStart.test(text) ? `'${text}` : text;
}

function csvCell(kind: CellKind, value: string | null): string {
  if (value === null) return '';
  if (kind === 'amount' || kind === 'time') return value;
  if (kind === 'id' && digitsOnly.test(value)) return `${value}\t`;
  return neutraliseFormula(value);
}

const idCell = (value: string | null) => (value === null ? '' : quote(csvCell('id', value)));
const textCell = (value: string | null) => (value === null ? '' : quote(csvCell('text', value)));

/** The CSV file's start: BOM and header (the same for every writer of the kind). */
export function csvHead(kind: ExportKind, timeZone: string): string {
  const columns: Column<never>[] = kind === 'orders' ? orderColumns(timeZone) : refundColumns(timeZone);
  return stringify([], { bom: true, header: true, columns: columns.map((column) => column.header), record_delimiter: 'windows' });
}

/**
 * CSV records of raw export rows (SQLite's fast path), cell for cell what CsvWriter writes for the same
 * orders as OrderListItems (exports.test.ts compares the two files byte for byte).
 */
export function orderCsvLines(timeZone: string): (rows: readonly OrderExportRow[]) => string {
  const time = zonedDateTimeFormatter(timeZone);
  return (rows) => {
    let text = '';
    for (const row of rows) {
      const [
        mnpId,
        mchid,
        outTradeNo,
        transactionId,
        tradeState,
        description,
        amount,
        currency,
        payerOpenid,
        platform,
        sandbox,
        createdAt,
        successTime,
        refundTotal,
      ] = row;
      text +=
        `${idCell(mnpId)},${idCell(mchid)},${idCell(outTradeNo)},${idCell(transactionId)},` +
        `${textCell(tradeState)},${textCell(description)},` +
        `${formatMinorUnits(amount, currency)},${textCell(currency)},${formatMinorUnits(refundTotal, currency)},${idCell(payerOpenid)},` +
        `${platformNames[platform] ?? ''},${sandbox === 1 ? 'yes' : 'no'},` +
        `${time(createdAt)},${successTime === null ? '' : time(successTime)}\r\n`;
    }
    return text;
  };
}

const quoteByte = 0x22;
const lineFeed = 0x0a;
const carriageReturn = 0x0d;

/**
 * Turns the LF record ends of PostgreSQL's CSV COPY output into CRLF, leaving line feeds inside quoted
 * fields alone, and counts records; `onRecords` runs (and is awaited, holding the stream back) after
 * every `reportEvery` records.
 */
export class CrlfRecordEnds extends Transform {
  records = 0;
  private inQuotes = false;
  private nextReport: number;

  constructor(
    private readonly reportEvery: number,
    private readonly onRecords: (records: number) => Promise<void>,
  ) {
    super();
    this.nextReport = reportEvery;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const ends: number[] = [];
    let nextQuote = chunk.indexOf(quoteByte);
    let position = 0;
    for (;;) {
      const end = chunk.indexOf(lineFeed, position);
      if (end === -1) break;
      // A doubled quote toggles twice: only the field's opening and closing quotes change the state.
      while (nextQuote !== -1 && nextQuote < end) {
        this.inQuotes = !this.inQuotes;
        nextQuote = chunk.indexOf(quoteByte, nextQuote + 1);
      }
      if (!this.inQuotes) ends.push(end);
      position = end + 1;
    }
    while (nextQuote !== -1) {
      this.inQuotes = !this.inQuotes;
      nextQuote = chunk.indexOf(quoteByte, nextQuote + 1);
    }
    const out = Buffer.allocUnsafe(chunk.length + ends.length);
    let from = 0;
    let to = 0;
    for (const end of ends) {
      to += chunk.copy(out, to, from, end);
      out[to++] = carriageReturn;
      from = end;
    }
    chunk.copy(out, to, from);
    this.records += ends.length;
    if (this.records < this.nextReport) return callback(null, out);
    this.nextReport = this.records + this.reportEvery - (this.records % this.reportEvery);
    this.onRecords(this.records).then(() => callback(null, out), callback);
  }
}

export interface ExportWriter<Row> {
  write(rows: readonly Row[]): Promise<void>;
  /** Flushes and closes the file. */
  finish(): Promise<void>;
  abort(): Promise<void>;
}

async function closeStream(stream: WriteStream): Promise<void> {
  if (stream.closed) return;
  stream.end();
  await once(stream, 'close');
}

class CsvWriter<Row> implements ExportWriter<Row> {
  private readonly file: WriteStream;
  private first = true;

  constructor(
    path: string,
    private readonly columns: Column<Row>[],
  ) {
    this.file = createWriteStream(path, { flags: 'wx' });
  }

  async write(rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    // Straight to text, no per-row arrays (a million rows make garbage collection the main cost otherwise).
    let text = this.first ? this.head() : '';
    const { columns } = this;
    for (const row of rows) {
      let line = '';
      for (let index = 0; index < columns.length; index++) {
        const column = columns[index]!;
        const cell = quote(csvCell(column.kind, column.value(row)));
        line = index === 0 ? cell : `${line},${cell}`;
      }
      text += `${line}\r\n`;
    }
    await this.flush(text);
  }

  async finish(): Promise<void> {
    // An empty result is still a file with its BOM and header.
    if (this.first) await this.flush(this.head());
    await closeStream(this.file);
  }

  private head(): string {
    return stringify([], { bom: true, header: true, columns: this.columns.map((column) => column.header), record_delimiter: 'windows' });
  }

  private async flush(text: string): Promise<void> {
    this.first = false;
    if (!this.file.write(text)) await once(this.file, 'drain');
  }

  async abort(): Promise<void> {
    this.file.destroy();
    await once(this.file, 'close').catch(() => undefined);
  }
}

class XlsxWriter<Row> implements ExportWriter<Row> {
  private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter;
  private sheet: ExcelJS.Worksheet | undefined;
  private rowsInSheet = 0;
  private sheets = 0;
  private readonly numberFormats = new Map<string, string>();

  constructor(
    excel: typeof ExcelJS,
    path: string,
    private readonly columns: Column<Row>[],
    private readonly sheetTitle: string,
    private readonly rowsPerSheet: number,
  ) {
    // Inline strings (no shared-string table) keep memory flat however many rows there are.
    this.workbook = new excel.stream.xlsx.WorkbookWriter({ filename: path, useStyles: true, useSharedStrings: false });
  }

  async write(rows: readonly Row[]): Promise<void> {
    for (const row of rows) {
      if (!this.sheet || this.rowsInSheet >= this.rowsPerSheet) this.startSheet();
      const added = this.sheet!.addRow(this.columns.map((column) => this.cellValue(column, row)));
      this.columns.forEach((column, index) => {
        if (column.kind === 'amount' && column.currency) added.getCell(index + 1).numFmt = this.numberFormat(column.currency(row));
      });
      added.commit();
      this.rowsInSheet += 1;
    }
    // Lets the zip stream drain to the file before the next batch.
    await yieldToEventLoop();
  }

  async finish(): Promise<void> {
    if (!this.sheet) this.startSheet();
    this.sheet!.commit();
    await this.workbook.commit();
  }

  async abort(): Promise<void> {
    await this.workbook.commit().catch(() => undefined);
  }

  private startSheet() {
    this.sheet?.commit();
    this.sheets += 1;
    this.sheet = this.workbook.addWorksheet(this.sheets === 1 ? this.sheetTitle : `${this.sheetTitle} (${this.sheets})`, {
      views: [{ state: 'frozen', ySplit: 1 }],
    });
    this.sheet.columns = this.columns.map((column) => ({ header: column.header, width: column.width }));
    this.sheet.getRow(1).font = { bold: true };
    this.sheet.getRow(1).commit();
    this.rowsInSheet = 0;
  }

  private cellValue(column: Column<Row>, row: Row): string | number | null {
    const value = column.value(row);
    if (value === null) return null;
    if (column.kind === 'amount') return Number(value);
    // String cells are never formulas here; the apostrophe still guards a copy pasted elsewhere.
    return column.kind === 'time' ? value : neutraliseFormula(value);
  }

  private numberFormat(currency: string): string {
    let format = this.numberFormats.get(currency);
    if (!format) {
      const exponent = currencyExponent(currency);
      format = exponent === 0 ? '0' : `0.${'0'.repeat(exponent)}`;
      this.numberFormats.set(currency, format);
    }
    return format;
  }
}

export function exportWriter(
  kind: 'orders',
  format: ExportFormat,
  path: string,
  timeZone: string,
  rowsPerSheet?: number,
): Promise<ExportWriter<OrderListItem>>;
export function exportWriter(
  kind: 'refunds',
  format: ExportFormat,
  path: string,
  timeZone: string,
  rowsPerSheet?: number,
): Promise<ExportWriter<RefundListItem>>;
export async function exportWriter(
  kind: ExportKind,
  format: ExportFormat,
  path: string,
  timeZone: string,
  rowsPerSheet = xlsxRowsPerSheet,
): Promise<ExportWriter<OrderListItem> | ExportWriter<RefundListItem>> {
  // exceljs is large: it is loaded only when a workbook is asked for.
  const excel = format === 'xlsx' ? (await import('exceljs')).default : undefined;
  if (kind === 'orders') {
    const columns = orderColumns(timeZone);
    return excel ? new XlsxWriter(excel, path, columns, 'Orders', rowsPerSheet) : new CsvWriter(path, columns);
  }
  const columns = refundColumns(timeZone);
  return excel ? new XlsxWriter(excel, path, columns, 'Refunds', rowsPerSheet) : new CsvWriter(path, columns);
}

export const exportContentTypes: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};
