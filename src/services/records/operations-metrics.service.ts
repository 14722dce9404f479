import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../domain/business-time.ts';
import { dayMs } from '../../domain/clock.ts';
import { exportJobRepository } from '../../repositories/export-job.repository.ts';
import { orderRepository } from '../../repositories/order.repository.ts';
import { outboxRepository } from '../../repositories/outbox.repository.ts';
import { reconciliationRepository } from '../../repositories/reconciliation.repository.ts';
import { refundRepository } from '../../repositories/refund.repository.ts';

/** What the database says about the background work, at one instant; every age in seconds, 0 when nothing waits. */
export interface OperationsSnapshot {
  /** False when a query failed: every other figure is then NaN (unknown, not zero). */
  databaseUp: boolean;
  outbox: { pending: number; due: number; oldestPendingAgeSeconds: number; deliveryLagSeconds: number };
  refunds: { processing: number; stuck: number; oldestProcessingAgeSeconds: number };
  reconciler: { ordersInDoubt: number; lagSeconds: number };
  exports: { queued: number; running: number; oldestQueuedAgeSeconds: number };
  /** Daily reconciliation (SPEC §9.5): OPEN exceptions per kind, runs per status, how far behind, the last run's length. */
  reconciliation: {
    openExceptions: Record<string, number>;
    runs: Record<string, number>;
    daysBehind: number;
    lastRunDurationSeconds: number;
  };
}

/** The kinds and statuses always exposed (0 when none), so an alert sees a series before its first exception or run. */
export const reconciliationExceptionKinds = [
  'MISSING_AT_PAYTHROUGH',
  'MISSING_AT_CHANNEL',
  'AMOUNT_MISMATCH',
  'STATE_MISMATCH',
  'TIME_DRIFT',
  'DUPLICATE_LINE',
] as const;
export const reconciliationRunStatuses = ['PENDING', 'RUNNING', 'DONE', 'RETRYING', 'FAILED', 'NO_STATEMENT'] as const;

export interface OperationsMetricsOptions {
  /** A refund PROCESSING longer than this is stuck. */
  refundStuckMs: number;
  /** Where business days are cut and when a day is due (PAYTHROUGH_TIMEZONE, PAYTHROUGH_RECONCILIATION_CUTOFF). */
  timezone: string;
  reconciliationCutoff: string;
  /** How long one snapshot answers every scrape (several Prometheus servers, several instances). */
  cacheMs?: number;
}

const ageSeconds = (now: number, since: number | null) => (since === null ? 0 : Math.max(0, now - since) / 1000);

/**
 * The database half of `/metrics` (SPEC §7): outbox backlog, refunds stuck in PROCESSING, the
 * reconciler's lag and the export queue, each a count or minimum over a partial or leading-column index
 * (never a scan of orders). One snapshot serves every scrape for `cacheMs`; scrapes that arrive while it
 * is being taken share it.
 */
export class OperationsMetricsService {
  private cached: { takenAt: number; snapshot: Promise<OperationsSnapshot> } | undefined;

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly options: OperationsMetricsOptions,
  ) {}

  snapshot(): Promise<OperationsSnapshot> {
    const now = this.clock.nowMs();
    const cacheMs = this.options.cacheMs ?? 5_000;
    if (this.cached && now >= this.cached.takenAt && now - this.cached.takenAt < cacheMs) return this.cached.snapshot;
    const snapshot = this.take(now);
    this.cached = { takenAt: now, snapshot };
    return snapshot;
  }

  private async take(now: number): Promise<OperationsSnapshot> {
    try {
      const backlog = await outboxRepository.backlog(this.db);
      const due = await outboxRepository.dueBacklog(this.db, now);
      const refunds = await refundRepository.processingSummary(this.db, now - this.options.refundStuckMs);
      const orders = await orderRepository.inDoubtSummary(this.db);
      const refundCheckAt = await refundRepository.earliestReconcileAt(this.db);
      const exports = await exportJobRepository.workload(this.db);
      const reconciliation = await this.reconciliation(now);
      const checks = [orders.earliestCheckAt, refundCheckAt].filter((at): at is number => at !== null);
      const earliestCheck = checks.length > 0 ? Math.min(...checks) : null;
      return {
        databaseUp: true,
        outbox: {
          pending: backlog.pending,
          due: due.due,
          oldestPendingAgeSeconds: ageSeconds(now, backlog.oldestCreatedAt),
          deliveryLagSeconds: ageSeconds(now, due.oldestDueAt),
        },
        refunds: {
          processing: refunds.processing,
          stuck: refunds.stuck,
          oldestProcessingAgeSeconds: ageSeconds(now, refunds.oldestCreatedAt),
        },
        // A check not yet due is not late: the lag is how far past its due time the earliest check is.
        reconciler: {
          ordersInDoubt: orders.inDoubt,
          lagSeconds: ageSeconds(now, earliestCheck !== null && earliestCheck <= now ? earliestCheck : null),
        },
        exports: { queued: exports.queued, running: exports.running, oldestQueuedAgeSeconds: ageSeconds(now, exports.oldestQueuedAt) },
        reconciliation,
      };
    } catch {
      return unknownSnapshot;
    }
  }

  /**
   * The reconciliation gauges. Days behind: over superapps with runs, the most days between the last day due (yesterday
   * from the cut-off on, else the day before) and the superapp's last day read to the end (DONE or NO_STATEMENT); a
   * superapp with none counts every day since its first run. 0 when every superapp is up to date or none has runs.
   */
  private async reconciliation(now: number): Promise<OperationsSnapshot['reconciliation']> {
    const openExceptions: Record<string, number> = Object.fromEntries(reconciliationExceptionKinds.map((kind) => [kind, 0]));
    for (const row of await reconciliationRepository.countOpenExceptionsByKind(this.db)) openExceptions[row.kind] = row.n;
    const runs: Record<string, number> = Object.fromEntries(reconciliationRunStatuses.map((status) => [status, 0]));
    for (const row of await reconciliationRepository.countRunsByStatus(this.db)) runs[row.status] = row.n;
    const { timezone, reconciliationCutoff } = this.options;
    const today = businessDateOf(now, timezone);
    const lastDue = addCalendarDays(today, now >= businessTimeOn(today, reconciliationCutoff, timezone) ? -1 : -2);
    let daysBehind = 0;
    for (const superapp of await reconciliationRepository.lastReconciledDays(this.db)) {
      const behind = superapp.last_done === null ? daysBetween(superapp.first_day, lastDue) + 1 : daysBetween(superapp.last_done, lastDue);
      daysBehind = Math.max(daysBehind, behind);
    }
    const last = await reconciliationRepository.lastFinishedRun(this.db);
    const started = last ? (last.first_attempt_at ?? last.created_at) : null;
    const lastRunDurationSeconds =
      last && last.finished_at !== null && started !== null ? Math.max(0, last.finished_at - started) / 1000 : 0;
    return { openExceptions, runs, daysBehind, lastRunDurationSeconds };
  }
}

const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / dayMs);

const unknownSnapshot: OperationsSnapshot = {
  databaseUp: false,
  outbox: { pending: NaN, due: NaN, oldestPendingAgeSeconds: NaN, deliveryLagSeconds: NaN },
  refunds: { processing: NaN, stuck: NaN, oldestProcessingAgeSeconds: NaN },
  reconciler: { ordersInDoubt: NaN, lagSeconds: NaN },
  exports: { queued: NaN, running: NaN, oldestQueuedAgeSeconds: NaN },
  reconciliation: {
    openExceptions: Object.fromEntries(reconciliationExceptionKinds.map((kind) => [kind, NaN])),
    runs: Object.fromEntries(reconciliationRunStatuses.map((status) => [status, NaN])),
    daysBehind: NaN,
    lastRunDurationSeconds: NaN,
  },
};
