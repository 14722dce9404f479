import { afterAll, beforeAll, expect, it } from 'vitest';
import { maxStatementPageLines } from '../../src/channels/statement.ts';
import { reconciliationRepository, type NewReconciliationLine } from '../../src/repositories/reconciliation.repository.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * A full statement page (5,000 lines, SPEC §9.1) is stored in one step on both databases: 13 values a line were
 * more variables than SQLite takes in one statement, so every full page failed there. Each line comes back as it
 * went in, in page order, nulls and amounts past 2^31 included.
 */
describeOnEachDatabase('storing a full statement page', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
  });
  afterAll(async () => {
    await context?.close();
  });

  it('stores 5,000 lines with the cursor in one step, each as it was read', async () => {
    const db = context.database.db;
    const now = 1_765_000_000_000;
    await reconciliationRepository.insertRunIfAbsent(db, {
      application_id: 'app_lines',
      bill_date: '2026-01-15',
      channel_connection_id: 1,
      status: 'PENDING',
      fetched: 0,
      pages: 0,
      attempts: 0,
      match_passes: 0,
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    });
    const [seen] = await reconciliationRepository.listRunsOfDay(db, 'app_lines', '2026-01-15');
    expect(await reconciliationRepository.claim(db, seen!, 'instance-a', now, now + 60_000)).toBe(true);
    const runId = Number(seen!.id);
    const lines: NewReconciliationLine[] = Array.from({ length: maxStatementPageLines }, (_, index) => {
      const refund = index % 10 === 9;
      return {
        run_id: runId,
        seq: index,
        line_type: refund ? 'REFUND' : 'PAYMENT',
        merchant_id: '1900000109',
        out_trade_no: `OT${index}`,
        channel_transaction_id: index % 7 === 0 ? null : `CT${index}`,
        out_refund_no: refund ? `OR${index}` : null,
        channel_refund_id: refund ? `CR${index}` : null,
        amount: index === 1 ? 9_007_199_254_740_991 : 100 + index,
        total: index === 1 ? 9_007_199_254_740_991 : 200 + index,
        currency: index % 20 === 0 ? 'USD' : 'CNY',
        state: index % 30 === 29 ? 'ABNORMAL' : 'SUCCESS',
        time: now - 3_600_000 + index,
      };
    });
    const stored = await db
      .transaction()
      .execute((trx) =>
        reconciliationRepository.storePage(
          trx,
          runId,
          'instance-a',
          { pages: 0 },
          { statementId: 'S-1', nextCursor: 'next', summaryJson: '[]', lines },
          now,
          now + 60_000,
        ),
      );
    expect(stored).toBe(true);
    const rows = await db.selectFrom('reconciliation_lines').selectAll().where('run_id', '=', runId).orderBy('id').execute();
    expect(
      rows.map(({ id: _id, ...row }) => ({
        ...row,
        run_id: Number(row.run_id),
        amount: Number(row.amount),
        total: Number(row.total),
        time: Number(row.time),
      })),
    ).toEqual(lines);
    expect(await reconciliationRepository.findRun(db, runId)).toMatchObject({
      pages: 1,
      next_cursor: 'next',
      statement_id: 'S-1',
      fetched: 0,
    });
  });
});
