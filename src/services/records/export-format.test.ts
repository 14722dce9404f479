import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { businessDateTimeOf } from '../../domain/business-time.ts';
import { Readable } from 'node:stream';
import { CrlfRecordEnds, csvRecords, neutraliseFormula, zonedDateTimeFormatter } from './export-format.ts';

describe('export format helpers', () => {
  // csv-stringify with CRLF record ends leaves a field with a bare LF unquoted unless quoted_match asks for it;
  // a spreadsheet would split that record, so fields with CR or LF are always quoted.
  it('writes CSV records byte for byte as csv-stringify does when it quotes CR and LF', () => {
    const field = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.constantFrom('', ' ', ',', '"', '\r\n', '\n', 'a,b', 'say "hi"', '=1+1', '中文', ' padded '),
    );
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { maxLength: 8 }), (records) => {
        expect(csvRecords(records)).toBe(stringify(records, { record_delimiter: 'windows', quoted_match: /[\r\n]/ }));
      }),
      { numRuns: 500 },
    );
  });

  // PostgreSQL's COPY ends records with LF; the export's CSV ends them with CRLF.
  it('turns LF record ends into CRLF, leaving line feeds inside quoted fields, however the bytes are chunked', async () => {
    const field = fc.oneof(fc.string(), fc.constantFrom('', '"', '""', '\n', '\r\n', 'a\nb', '"\n"', '中文\n😀', ',', 'say "hi"\n'));
    const records = fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(records, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 4 }), async (rows, cuts, every) => {
        const lf = Buffer.from(rows.map((row) => `${csvRecords([row]).slice(0, -2)}\n`).join(''));
        const points = [...new Set(cuts.map((cut) => (lf.length ? cut % lf.length : 0)))].sort((a, b) => a - b);
        const chunks = [...points, lf.length].map((end, index) => lf.subarray(index === 0 ? 0 : points[index - 1], end));
        const reported: number[] = [];
        const ends = new CrlfRecordEnds(every, async (count) => void reported.push(count));
        const out: Buffer[] = [];
        for await (const chunk of Readable.from(chunks).pipe(ends)) out.push(chunk as Buffer);
        expect(Buffer.concat(out).toString('utf8')).toBe(csvRecords(rows));
        expect(ends.records).toBe(rows.length);
        // Reported at least once per `every` records, in order, never beyond the count.
        expect(reported).toEqual([...reported].sort((a, b) => a - b));
        if (rows.length >= every) expect(reported.length).toBeGreaterThanOrEqual(1);
        expect(reported.every((count) => count <= rows.length)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('quotes a field with only a line feed (a record must not split)', () => {
    expect(csvRecords([['line one\nline two', 'x']])).toBe('"line one\nline two",x\r\n');
  });

  it('formats times in the business zone like businessDateTimeOf, across DST changes', () => {
    for (const timeZone of ['Asia/Shanghai', 'America/New_York', 'Europe/London', 'Asia/Kathmandu', 'Australia/Lord_Howe']) {
      const format = zonedDateTimeFormatter(timeZone);
      fc.assert(
        fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }), (ms) => {
          expect(format(ms)).toBe(businessDateTimeOf(ms, timeZone));
        }),
        { numRuns: 300 },
      );
      // Around New York's spring-forward and fall-back hours, minute by minute.
      for (const start of [Date.UTC(2026, 2, 8, 6), Date.UTC(2026, 10, 1, 5)]) {
        for (let ms = start; ms < start + 3 * 60 * 60 * 1000; ms += 60_000) expect(format(ms)).toBe(businessDateTimeOf(ms, timeZone));
      }
    }
  });

  it('neutralises cells a spreadsheet would take for a formula', () => {
    expect(['=SUM(A1)', '+1', '-1', '@cmd', '\tx', '\rx'].map(neutraliseFormula)).toEqual([
      "'=SUM(A1)",
      "'+1",
      "'-1",
      "'@cmd",
      "'\tx",
      "'\rx",
    ]);
    expect(['plain', '1=1', '', '中文'].map(neutraliseFormula)).toEqual(['plain', '1=1', '', '中文']);
  });
});
