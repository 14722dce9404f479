import { type CompiledQuery, type RawBuilder, sql } from 'kysely';
import pg from 'pg';
import { currencies } from '../domain/money.ts';

/**
 * PostgreSQL expressions that give an export cell exactly as export-format.ts writes it (SPEC §5 "Exports"),
 * for COPY … (FORMAT csv). COPY quotes a field that holds a comma, a quote, CR or LF and doubles its quotes,
 * as export-format.ts does, but quotes an empty string (to tell it from NULL): empty cells are NULL here.
 */

// The first character's code (0 for ''), not a regular expression: a million rows make the difference.
const formulaStartCodes = sql.raw(['=', '+', '-', '@', '\t', '\r'].map((character) => character.charCodeAt(0)).join(', '));

/** Text a spreadsheet would take for a formula gets a leading apostrophe (neutraliseFormula). */
export function csvTextSql(value: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`case when ascii(${value}) in (${formulaStartCodes}) then '''' || ${value} else nullif(${value}, '') end`;
}

/** An ID made only of digits ends with a tab (read as text by spreadsheets); others are text. */
export function csvIdSql(value: RawBuilder<unknown>): RawBuilder<unknown> {
  const digitsOnly = sql`${value} <> '' and ltrim(${value}, '0123456789') = ''`;
  return sql`case when ${digitsOnly} then ${value} || ${sql.lit('\t')} else ${csvTextSql(value)} end`;
}

/** Minor units as major units in the currency's exponent (formatMinorUnits): 1230 CNY → 12.30, 5 JPY → 5. */
export function csvAmountSql(amount: RawBuilder<unknown>, currency: RawBuilder<unknown>): RawBuilder<unknown> {
  const byExponent = new Map<number, string[]>();
  for (const { code, exponent } of currencies) byExponent.set(exponent, [...(byExponent.get(exponent) ?? []), code]);
  const branches = [...byExponent].map(([exponent, codes]) => {
    const inCodes = sql.join(codes.map((code) => sql.lit(code)));
    if (exponent === 0) return sql`when ${currency} in (${inCodes}) then ${amount}::text`;
    const scale = sql.lit(10 ** exponent);
    const sign = sql`case when ${amount} < 0 then '-' else '' end`;
    const fraction = sql`lpad((abs(${amount}) % ${scale})::text, ${sql.lit(exponent)}, '0')`;
    return sql`when ${currency} in (${inCodes}) then ${sign} || (abs(${amount}) / ${scale})::text || '.' || ${fraction}`;
  });
  return sql`case ${sql.join(branches, sql` `)} end`;
}

/**
 * `YYYY-MM-DD HH:mm:ss` of epoch milliseconds in the business time zone (businessDateTimeOf): whole seconds
 * (floored), shown as a timestamp's text, which is that form under DateStyle ISO (the COPY session sets it)
 * and several times cheaper than to_char.
 */
export function csvTimeSql(ms: RawBuilder<unknown>, timeZone: string): RawBuilder<unknown> {
  return sql`(to_timestamp(${ms} / 1000 - case when ${ms} % 1000 < 0 then 1 else 0 end) at time zone ${sql.lit(timeZone)})::text`;
}

/** What the COPY session needs for csvTimeSql's text. */
export const csvSessionSql = `set datestyle = 'ISO, YMD'`;

/** The query with its parameters as escaped literals, for statements that take none (COPY). */
export function inlineParameters(query: CompiledQuery): string {
  return query.sql.replace(/\$(\d+)/g, (_match, index: string) => {
    const value = query.parameters[Number(index) - 1];
    if (typeof value === 'string') return pg.escapeLiteral(value);
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    throw new Error(`Cannot inline parameter ${index} (${typeof value})`);
  });
}
