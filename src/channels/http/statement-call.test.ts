import { describe, expect, it } from 'vitest';
import type { StatementLine, StatementPage, StatementQuery } from '../statement.ts';
import { isInvalidStatementPage, statementPageProblem } from './statement-call.ts';

const from = Date.UTC(2026, 0, 14, 16);
const to = Date.UTC(2026, 0, 15, 16);
const query: StatementQuery = { applicationId: 'app_1', billDate: '2026-01-15', fromTime: from, toTime: to, cursor: 'c1', limit: 2 };
const line = (time: number): StatementLine => ({
  type: 'PAYMENT',
  merchantId: '1900000001',
  outTradeNo: `T${time}`,
  channelOrderId: null,
  prepayId: null,
  channelTransactionId: `X${time}`,
  amount: { total: 100, currency: 'CNY' },
  state: 'SUCCESS',
  time,
});
const page = (overrides: Partial<StatementPage> = {}): StatementPage => ({
  applicationId: 'app_1',
  billDate: '2026-01-15',
  statementId: 'S1',
  lines: [line(from), line(to - 1)],
  nextCursor: 'c2',
  summary: [],
  ...overrides,
});

describe('a statement page checked against its query (SPEC §9.1)', () => {
  it('accepts a page of the day asked, within the limit, whose lines are in [from_time, to_time)', () => {
    expect(statementPageProblem(query, page())).toBeUndefined();
    expect(statementPageProblem(query, page({ lines: [], nextCursor: null }))).toBeUndefined();
  });

  it('names what is wrong: another superapp or day, more lines than limit, a line outside the day, a cursor that does not move', () => {
    expect(statementPageProblem(query, page({ applicationId: 'app_2' }))).toMatch(/superapp app_2/);
    expect(statementPageProblem(query, page({ billDate: '2026-01-14' }))).toMatch(/2026-01-14, not 2026-01-15/);
    expect(statementPageProblem(query, page({ lines: [line(from), line(from + 1), line(from + 2)] }))).toMatch(/3 lines/);
    expect(statementPageProblem(query, page({ lines: [line(from), line(to)] }))).toMatch(/line 2 is outside/);
    expect(statementPageProblem(query, page({ lines: [line(from - 1)] }))).toMatch(/line 1 is outside/);
    expect(statementPageProblem(query, page({ nextCursor: 'c1' }))).toMatch(/would not move/);
  });

  it('tells a page Paythrough refused from the channel refusing the query', () => {
    expect(isInvalidStatementPage({ outcome: 'rejected', code: 'INVALID_REQUEST', message: 'x' })).toBe(true);
    expect(isInvalidStatementPage({ outcome: 'rejected', code: 'STATEMENT_NOT_READY', message: 'x' })).toBe(false);
    expect(isInvalidStatementPage({ outcome: 'unknown', reason: 'x', mayHaveApplied: true })).toBe(false);
  });
});
