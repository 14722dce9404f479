import { whenDatabaseLockFree } from '../db/advisory-lock.ts';
import type { AppContext } from '../plugins/app/context.plugin.ts';
import { NotificationDeliverer } from '../services/notification-delivery.ts';
import { merchantNotificationTopic } from '../services/notification.service.ts';
import { hostRefundWebhookTopic } from '../channels/host-reported/host-reported-channel.ts';
import { RefundWebhookDeliverer } from '../channels/host-reported/refund-webhook.ts';
import { startJobLoop, type JobLoop } from './job-loop.ts';
import { OutboxWorker } from './outbox-worker.ts';
import { startRecordJobs } from './records-jobs.ts';
import { purgeExpiredSecurityState } from './security-purge.ts';

export interface BackgroundJobs {
  outboxWorker: OutboxWorker;
  stop(): Promise<void>;
}

/**
 * The jobs every instance runs: the outbox worker, auto-close, the reconciler, the in-process sandbox's
 * clock-driven work, and the purges of expired nonces, rate-limit counters and old delivery attempts. Safe on any number of instances (claims and compare-and-set in the database).
 */
export function startBackgroundJobs(context: AppContext, options: { intervalMs?: number } = {}): BackgroundJobs {
  const { config, database, clock, services } = context;
  const intervalMs = options.intervalMs ?? 1000;
  const outboxWorker = new OutboxWorker({
    db: database.db,
    kind: database.kind,
    clock,
    handlers: {
      [merchantNotificationTopic]: new NotificationDeliverer({
        keys: services.notificationKeys,
        clock,
        allowPrivateTargets: config.allowPrivateTargets,
        sandboxEnabled: config.sandboxEnabled,
        timeZone: config.timezone,
      }),
      [hostRefundWebhookTopic]: new RefundWebhookDeliverer({
        hostKeyOf: async (applicationId) => (await services.hostKeys.hostKeysOf(applicationId))[0] ?? null,
        clock,
        allowPrivateTargets: config.allowPrivateTargets,
      }),
    },
  });
  const loops: JobLoop[] = [
    outboxWorker.start(intervalMs),
    startJobLoop('security-purge', 60_000, () => purgeExpiredSecurityState(services)),
    // Delivery attempts past PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS (finished notifications only), in batches.
    startJobLoop('delivery-attempt-purge', 60_000, () => services.outbox.purgeOldAttempts()),
  ];
  loops.push(...startRecordJobs(services, intervalMs));
  // Orders past time_expire close (channel first); unknown channel outcomes are settled by querying.
  // One instance at a time runs each pass, so a due order is closed or queried on its channel once.
  const { db, kind } = database;
  loops.push(startJobLoop('auto-close', 5_000, () => whenDatabaseLockFree(db, kind, 'auto-close', () => services.autoCloseJob.runOnce())));
  loops.push(startJobLoop('reconciler', 5_000, () => whenDatabaseLockFree(db, kind, 'reconciler', () => services.reconcilerJob.runOnce())));
  const sandbox = services.sandbox;
  if (sandbox) loops.push(startJobLoop('sandbox', intervalMs, () => sandbox.tick()));
  return {
    outboxWorker,
    async stop() {
      await Promise.all(loops.map((loop) => loop.stop()));
    },
  };
}
