import { describe, expect, it } from 'vitest';
import { runBench } from '../helpers/cli-process.ts';
import { z } from 'zod';
import { expectedOf } from '../../bench/reconciliation-day.ts';

/**
 * The reconciliation bench at 20,000 items on SQLite, run as `npm run bench -- reconciliation` runs it, so the bench
 * cannot rot: it exits 0, prints its JSON lines, the run read every line served (four full pages of 5,000 and a
 * short one) and found exactly the exceptions injected, per kind. About 20 s on a quiet machine.
 */

const items = 20_000;

const lineSchema = z
  .object({
    bench: z.literal('reconciliation.sqlite'),
    metric: z.string().min(1),
    value: z.union([z.number(), z.string()]),
    unit: z.string(),
  })
  .passthrough();

describe('npm run bench -- reconciliation (smoke)', () => {
  it('reconciles a 20,000-item day on SQLite and finds exactly the injected exceptions', { timeout: 180_000 }, async () => {
    const result = await runBench('reconciliation', ['--database', 'sqlite', '--lines', String(items)], 170_000);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((text) => lineSchema.parse(JSON.parse(text)));
    const byMetric = new Map(lines.map((line) => [line.metric, line]));
    const expected = expectedOf(items);

    expect(byMetric.get('status')?.value).toBe('DONE');
    expect(byMetric.get('statement_lines')?.value).toBe(expected.lines);
    const exceptions = byMetric.get('exceptions')!;
    expect(exceptions.value).toBe(items / 100);
    expect(exceptions.by_kind).toEqual(expected.exceptions);
    expect(expected.exceptions).toEqual({
      MISSING_AT_PAYTHROUGH: 45,
      MISSING_AT_CHANNEL: 45,
      AMOUNT_MISMATCH: 44,
      TIME_DRIFT: 22,
      DUPLICATE_LINE: 22,
      STATE_MISMATCH: 22,
    });
    for (const metric of ['seconds', 'peak_rss_mb', 'lines_per_second'])
      expect(z.number().positive().parse(byMetric.get(metric)?.value), metric).toBeGreaterThan(0);
  });
});
