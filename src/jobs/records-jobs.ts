import type { ExportService, PaymentStatsService } from '../services/records/index.ts';
import { startJobLoop, type JobLoop } from './job-loop.ts';

/**
 * The record pages' jobs, on every instance: the export worker (jobs claimed by
 * compare-and-set with a lease, so any instance may run any export and a dead worker's job is taken
 * over), the purge of exports past PAYTHROUGH_EXPORT_RETENTION_HOURS (24 by default), and the refresh of the daily payment figures.
 */
export function startRecordJobs(
  services: { exports: Pick<ExportService, 'runNext' | 'purgeExpired'>; paymentStats: Pick<PaymentStatsService, 'refresh'> },
  intervalMs: number,
): JobLoop[] {
  return [
    startJobLoop('exports', intervalMs, async () => {
      while (await services.exports.runNext()) {
        // One job after another while there is work.
      }
    }),
    startJobLoop('export-purge', 10 * 60_000, () => services.exports.purgeExpired()),
    startJobLoop('payment-stats', 5_000, () => services.paymentStats.refresh()),
  ];
}
