import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { exportJobRepository } from '../../repositories/export-job.repository.ts';
import { orderRepository } from '../../repositories/order.repository.ts';
import { outboxRepository } from '../../repositories/outbox.repository.ts';
import { refundRepository } from '../../repositories/refund.repository.ts';

/** What the database says about the background work, at one instant; every age in seconds, 0 when nothing waits. */
export interface OperationsSnapshot {
  /** False when a query failed: every other figure is then NaN (unknown, not zero). */
  databaseUp: boolean;
  outbox: { pending: number; due: number; oldestPendingAgeSeconds: number; deliveryLagSeconds: number };
  refunds: { processing: number; stuck: number; oldestProcessingAgeSeconds: number };
  reconciler: { ordersInDoubt: number; lagSeconds: number };
  exports: { queued: number; running: number; oldestQueuedAgeSeconds: number };
}

export interface OperationsMetricsOptions {
  /** A refund PROCESSING longer than this is stuck. */
  refundStuckMs: number;
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
      };
    } catch {
      return unknownSnapshot;
    }
  }
}

const unknownSnapshot: OperationsSnapshot = {
  databaseUp: false,
  outbox: { pending: NaN, due: NaN, oldestPendingAgeSeconds: NaN, deliveryLagSeconds: NaN },
  refunds: { processing: NaN, stuck: NaN, oldestProcessingAgeSeconds: NaN },
  reconciler: { ordersInDoubt: NaN, lagSeconds: NaN },
  exports: { queued: NaN, running: NaN, oldestQueuedAgeSeconds: NaN },
};
