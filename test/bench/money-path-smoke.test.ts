import { describe, expect, it } from 'vitest';
import { runBench } from '../helpers/cli-process.ts';
import { z } from 'zod';

/**
 * The money-path bench in a small configuration (SQLite, 100 requests per operation, 100 notifications), run as
 * `npm run bench -- money-path` runs it, so the bench cannot rot: the product and the floor answered every
 * request without an error, every notification arrived, and every figure the docs describe is printed and
 * finite. About 30 s on a quiet machine (two servers and the load generator start under tsx).
 */

const finite = z.number().refine(Number.isFinite, 'finite');
const positive = finite.refine((value) => value > 0, 'positive');
const lineSchema = z
  .object({
    bench: z.literal('money-path'),
    metric: z.string().min(1),
    value: z.union([z.number(), z.string(), z.null()]),
    unit: z.string(),
  })
  .passthrough();
const operationSchema = lineSchema.extend({
  value: positive,
  ok: z.literal(100),
  p50_ms: positive,
  p99_ms: positive,
  server_cpu_ms_per_request: positive,
  errors: z.object({}).strict(),
  error_count: z.literal(0),
});

describe('npm run bench -- money-path (smoke)', () => {
  it(
    'measures every operation on the product and the floor, and a notification burst, without an error',
    { timeout: 180_000 },
    async () => {
      const result = await runBench(
        'money-path',
        [
          '--database',
          'sqlite',
          '--requests',
          '100',
          '--warmup',
          '50',
          '--notifications',
          '100',
          '--half-rate-seconds',
          '2',
          '--rsa-seconds',
          '0.2',
        ],
        170_000,
      );
      expect(result.code, result.stderr).toBe(0);
      const lines = result.stdout
        .trim()
        .split('\n')
        .map((text) => lineSchema.parse(JSON.parse(text)));
      const byMetric = new Map(lines.map((line) => [line.metric, line]));
      const metric = (name: string) => {
        const found = byMetric.get(name);
        expect(found, `${name} is printed`).toBeDefined();
        return found!;
      };

      for (const operation of ['prepay', 'query', 'refund', 'refund_query']) {
        for (const target of ['product', 'floor']) operationSchema.parse(metric(`${operation}.${target}`));
        positive.parse(metric(`${operation}.cpu_ratio`).value);
        positive.parse(metric(`${operation}.throughput_ratio`).value);
      }
      for (const target of ['product', 'floor']) {
        const halfRate = lineSchema
          .extend({ p99_ms: positive, offered_rate: positive, error_count: z.literal(0) })
          .parse(metric(`half_rate.prepay.${target}`));
        expect(halfRate.ok).toBeGreaterThan(0);
      }

      const burst = lineSchema
        .extend({ value: positive, notifications: z.literal(100), delivered: z.literal(100), rejected: z.literal(0) })
        .parse(metric('notify.deliveries_per_s'));
      expect(burst.delivered).toBe(burst.notifications);
      finite.parse(metric('notify.last_payment_to_last_notification').value);
      positive.parse(metric('notify.deliveries_per_rsa_sign').value);
      positive.parse(metric('rsa2048_sign_rate').value);
      expect(metric('server_error_logs').value).toBe(0);
    },
  );
});
