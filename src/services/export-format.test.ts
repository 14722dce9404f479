import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { businessDateTimeOf } from './bill-time.ts';
import { csvRecords, neutraliseFormula, zonedDateTimeFormatter } from './export-format.ts';

describe('export format helpers', () => {
  // csv-stringify with CRLF record ends leaves a field with a bare LF unquoted unless quoted_match asks for it;
  // a spreadsheet would split that record, so fields with CR or LF are always quoted.
  it('writes CSV records byte for byte as csv-stringify does when it quotes CR and LF', () => {
    const field = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', ' ', ',', '"', '\r\n', '\n', 'a,b', 'say "hi"', '=1+1', '中文', ' padded '));
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { maxLength: 8 }), (records) => {
        expect(csvRecords(records)).toBe(stringify(records, { record_delimiter: 'windows', quoted_match: /[\r\n]/ }));
      }),
      { numRuns: 500 },
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
    expect(['=SUM(A1)', '+1', '-1', '@cmd', '\tx', '\rx'].map(neutraliseFormula)).toEqual(["'=SUM(A1)", "'+1", "'-1", "'@cmd", "'\tx", "'\rx"]);
    expect(['plain', '1=1', '', '中文'].map(neutraliseFormula)).toEqual(['plain', '1=1', '', '中文']);
  });
});
