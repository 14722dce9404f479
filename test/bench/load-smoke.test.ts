import { describe, expect, it } from 'vitest';
import { runBench } from '../helpers/cli-process.ts';
import { z } from 'zod';
import { mixShares } from '../../bench/load-mix.ts';

/**
 * The load bench in its smallest configuration (SQLite, 15 req/s for 2 s), run as `npm run bench -- load`
 * runs it, so the bench cannot rot: every operation of the mix answered, none failed, every payment and
 * refund was notified, and each line is the JSON the docs describe. About 20 s on a quiet machine (two
 * CLI processes start under tsx, and refunds settle in the sandbox after 5 s); much longer on a busy one.
 */

const lineSchema = z
  .object({
    bench: z.literal('load.sqlite.x1'),
    metric: z.string().min(1),
    value: z.union([z.number(), z.string(), z.null()]),
    unit: z.string(),
  })
  .passthrough();
const operationSchema = lineSchema.extend({
  value: z.number().positive(),
  offered_rate: z.number().positive(),
  achieved_rate: z.number().positive(),
  ok: z.number().int().positive(),
  p50_ms: z.number().positive(),
  p99_ms: z.number().positive(),
  errors: z.record(z.string(), z.number()),
  error_count: z.number().int(),
  skipped: z.number().int().min(0),
});

describe('npm run bench -- load (smoke)', () => {
  it('runs the whole mix on SQLite without an error and reports every operation', { timeout: 240_000 }, async () => {
    const result = await runBench(
      'load',
      ['--database', 'sqlite', '--rate', '15', '--duration', '2', '--warmup', '1', '--drain', '30', '--rsa-seconds', '0.2'],
      230_000,
    );
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((text) => lineSchema.parse(JSON.parse(text)));
    const byMetric = new Map(lines.map((line) => [line.metric, line]));

    for (const name of Object.keys(mixShares)) {
      const operation = operationSchema.parse(byMetric.get(`op.${name}`));
      expect({ name, errors: operation.errors, errorCount: operation.error_count }).toEqual({ name, errors: {}, errorCount: 0 });
      expect(operation.p99_ms).toBeGreaterThanOrEqual(operation.p50_ms);
    }
    const notifications = z
      .object({
        value: z.number(),
        expected: z.number().positive(),
        rejected: z.number(),
        transaction_expected: z.number().positive(),
        refund_expected: z.number().positive(),
      })
      .passthrough()
      .parse(byMetric.get('notifications'));
    expect(notifications.value).toBe(notifications.expected);
    expect(notifications.rejected).toBe(0);
    expect(byMetric.get('server_error_logs')?.value).toBe(0);
    expect(z.number().positive().parse(byMetric.get('rsa2048_sign_rate')?.value)).toBeGreaterThan(0);
    expect(z.number().positive().parse(byMetric.get('server_cpu_per_request')?.value)).toBeGreaterThan(0);
  });
});
