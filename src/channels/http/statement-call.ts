import type { ChannelResult } from '../channel.ts';
import {
  maxStatementPageLines,
  statementPageFromWire,
  statementQueryToWire,
  wireStatementPageSchema,
  type StatementPage,
  type StatementQuery,
} from '../statement.ts';
import { signedChannelCall, type SignedCallTarget } from './signed-call.ts';

/** SPEC §9.1: a channel answers a statement page within 30 s. */
export const statementTimeoutMs = 30_000;
/**
 * A full page of 5,000 lines (about 400 bytes each on the wire, at most about 600 with every id at its longest) fits
 * with room for escaped characters; anything larger is refused, so an answer can never grow without bound.
 */
export const maxStatementAnswerBytes = maxStatementPageLines * 1024 + 64 * 1024;

/**
 * Paythrough refuses a page that breaks the protocol (more lines than `limit`, another superapp or day, a line outside
 * the day, a cursor that does not move) as `rejected` `INVALID_REQUEST`; the reconciliation reports it as
 * STATEMENT_INVALID. The statement query defines no INVALID_REQUEST refusal of its own, so on this call the code
 * means only that.
 */
export const invalidStatementPageCode = 'INVALID_REQUEST' as const;

/** True when Paythrough refused the page it was given (SPEC §9.1 STATEMENT_INVALID), not the channel the query. */
export function isInvalidStatementPage(result: ChannelResult<StatementPage>): boolean {
  return result.outcome === 'rejected' && result.code === invalidStatementPageCode;
}

/** What is wrong with a page as an answer to `query`, by the protocol alone; undefined when nothing is. */
export function statementPageProblem(query: StatementQuery, page: StatementPage): string | undefined {
  if (page.applicationId !== query.applicationId) return `the page is for superapp ${page.applicationId}, not ${query.applicationId}`;
  if (page.billDate !== query.billDate) return `the page is for ${page.billDate}, not ${query.billDate}`;
  if (page.lines.length > query.limit) return `the page has ${page.lines.length} lines, more than the limit ${query.limit}`;
  const outside = page.lines.findIndex((line) => !(line.time >= query.fromTime && line.time < query.toTime));
  if (outside >= 0) return `line ${outside + 1} is outside the day [from_time, to_time)`;
  if (page.nextCursor !== null && page.nextCursor === query.cursor) return 'next_cursor is the cursor asked: the read would not move';
  return undefined;
}

/**
 * One page of a day's statement from `target` (the HTTP channel's `/v1/statements/query`, or a host-reported
 * superapp's statement URL): `ok` with a page fit for the query; `rejected` STATEMENT_NOT_READY, NOT_SUPPORTED (or the
 * channel's PARAM_ERROR / SIGN_ERROR …), or INVALID_REQUEST for a page Paythrough refuses; `unknown` otherwise.
 */
export async function queryStatementAt(target: SignedCallTarget, query: StatementQuery): Promise<ChannelResult<StatementPage>> {
  const result = await signedChannelCall(target, statementQueryToWire(query), wireStatementPageSchema, statementPageFromWire);
  if (result.outcome === 'rejected' && result.code === invalidStatementPageCode) {
    // Kept apart from Paythrough's own refusal of a page: a channel answering this code is off the protocol.
    return {
      outcome: 'unknown',
      reason: `the channel answered ${result.code}, which a statement query does not define`,
      mayHaveApplied: true,
    };
  }
  if (result.outcome !== 'ok') return result;
  const problem = statementPageProblem(query, result.value);
  return problem ? { outcome: 'rejected', code: invalidStatementPageCode, message: problem } : result;
}
