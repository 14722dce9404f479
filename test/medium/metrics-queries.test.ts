import { CompiledQuery, sql, type KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OperationsMetricsService } from '../../src/services/records/operations-metrics.service.ts';
import { insertOrder, insertRefund } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * The queries behind /metrics' database gauges run on every scrape (every 5 s at most per instance), so
 * each must read an index range or a small partial index, never a whole table or a whole index of
 * `orders`, `refunds`, `outbox` or `export_jobs`. The plans are read on both databases; on PostgreSQL
 * with sequential scans disabled, so a query no index serves still shows one (tiny test tables would
 * otherwise be scanned whatever the indexes).
 */

// Partial indexes hold only the rows a gauge counts: reading one whole is reading the backlog, not the table.
const partialIndexes = new Set(['outbox_due', 'orders_reconcile_in_doubt', 'refunds_reconcile', 'orders_reconcile']);
const watchedTables = ['orders', 'refunds', 'outbox', 'export_jobs'];
// Read whole through an index by design: one row per superapp, business day and channel connection (the reconciliation
// gauges count runs per status and each superapp's last day reconciled). A cost that grows by a row a day per superapp.
const readWholeByDesign = new Set(['reconciliation_runs']);

describeOnEachDatabase('the /metrics queries read indexes, never whole tables', (kind) => {
  let context: TestContext;
  const captured: CompiledQuery[] = [];

  beforeAll(async () => {
    context = await createTestContext(kind);
    const db = context.database.db;
    const owner = { mnpId: 'mnp-plan', applicationId: 'app-plan', miniProgramTeamId: 'team-plan', superappTeamId: 'team-sa-plan' };
    const now = context.clock.nowMs();
    for (let index = 0; index < 20; index += 1) {
      const order = await insertOrder(db, owner, { createdAt: now - index * 60_000, tradeState: 'REFUND', amount: 1_000 });
      await insertRefund(db, order, { createdAt: now - index * 30_000, amount: 10, status: index % 3 === 0 ? 'PROCESSING' : 'SUCCESS' });
      await context.services.outbox.enqueue(db, { topic: 'plan_test', payload: {}, targetUrl: null, sandbox: false });
    }
    const capture: KyselyPlugin = {
      transformQuery: (args) => {
        captured.push(db.getExecutor().compileQuery(args.node, args.queryId));
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    await new OperationsMetricsService(db.withPlugin(capture), context.clock, {
      refundStuckMs: 3_600_000,
      timezone: context.config.timezone,
      reconciliationCutoff: context.config.reconciliationCutoff,
    }).snapshot();
  });
  afterAll(() => context?.close());

  it('captured every scrape query', () => {
    // Six over the watched tables, four over the reconciliation runs and exceptions (small: a row per day and connection,
    // exceptions a fraction of the lines; not watched here).
    expect(captured.length).toBe(10);
    for (const table of watchedTables)
      expect(
        captured.some((query) => new RegExp(`from "${table}"`).test(query.sql)),
        table,
      ).toBe(true);
  });

  it('each plan searches an index (or reads a partial one)', async () => {
    const db = context.database.db;
    const problems: string[] = [];
    if (kind === 'sqlite') {
      for (const query of captured) {
        const plan = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]));
        for (const { detail } of plan.rows) {
          const table = watchedTables.find((name) => new RegExp(`^(SCAN|SEARCH) ${name}\\b`).test(detail));
          if (!table) continue;
          const index = /USING (?:COVERING )?INDEX (\w+)/.exec(detail)?.[1];
          const searched = detail.startsWith('SEARCH') && index !== undefined;
          if (!searched && !(index && partialIndexes.has(index))) problems.push(`${query.sql}\n  → ${detail}`);
        }
      }
    } else {
      await db.connection().execute(async (connection) => {
        await sql`set enable_seqscan = off`.execute(connection);
        try {
          for (const query of captured) {
            const plan = await connection.executeQuery<{ 'QUERY PLAN': unknown }>(
              CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]),
            );
            const root = plan.rows[0]!['QUERY PLAN'];
            const nodes: Record<string, unknown>[] = [];
            const walk = (node: Record<string, unknown>) => {
              nodes.push(node);
              for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
            };
            walk((Array.isArray(root) ? root[0] : JSON.parse(String(root))[0]).Plan);
            for (const node of nodes) {
              const type = String(node['Node Type']);
              if (type === 'Seq Scan') problems.push(`${query.sql}\n  → Seq Scan on ${String(node['Relation Name'])}`);
              if (
                /Index/.test(type) &&
                !('Index Cond' in node) &&
                !partialIndexes.has(String(node['Index Name'])) &&
                !readWholeByDesign.has(String(node['Relation Name']))
              )
                problems.push(`${query.sql}\n  → ${type} over all of ${String(node['Index Name'])}`);
            }
          }
        } finally {
          await sql`reset enable_seqscan`.execute(connection);
        }
      });
    }
    expect(problems).toEqual([]);
  });
});
