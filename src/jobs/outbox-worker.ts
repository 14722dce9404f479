import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { DatabaseKind } from '../config/config.ts';
import type { DatabaseClient } from '../db/schema.ts';
import type { Clock } from '../domain/clock.ts';
import { outboxRepository, type OutboxRow } from '../repositories/outbox.repository.ts';
import type { DeliveryResult, OutboxHandler } from '../services/payments/index.ts';
import { startJobLoop, type JobLoop } from './job-loop.ts';

/** Waits after a failed attempt, in order (SPEC §4.2): 15 retries over 24 h 4 min, then the job fails. */
export const notificationRetryScheduleMs: readonly number[] = [
  15_000, 15_000, 30_000, 180_000, 600_000, 1_200_000, 1_800_000, 1_800_000, 1_800_000, 3_600_000, 10_800_000, 10_800_000, 10_800_000,
  21_600_000, 21_600_000,
];

/** Three times the 5 s delivery timeout; renewed every third of it while the batch is in flight. */
export const defaultOutboxLeaseMs = 15_000;

export interface OutboxWorkerOptions {
  db: DatabaseClient;
  kind: DatabaseKind;
  clock: Clock;
  handlers: Readonly<Record<string, OutboxHandler>>;
  workerId?: string;
  /**
   * A claimed job is hidden from other workers this long; the worker renews the lease while it still works
   * on the batch, so it can be short: a worker killed mid-delivery holds its jobs at most this long.
   */
  leaseMs?: number;
  batchSize?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  retryScheduleMs?: readonly number[];
}

export interface OutboxRunSummary {
  claimed: number;
  delivered: number;
  rescheduled: number;
  failed: number;
}

const excerptLimit = 1024;

/**
 * Claims due outbox jobs safely across instances (PostgreSQL: one UPDATE over `FOR UPDATE SKIP
 * LOCKED`; SQLite: compare-and-set per job, the same lease columns), delivers them, logs every
 * attempt, and reschedules on the retry schedule or marks the job delivered or failed.
 */
export class OutboxWorker {
  readonly workerId: string;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly schedule: readonly number[];

  constructor(private readonly options: OutboxWorkerOptions) {
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseMs = options.leaseMs ?? defaultOutboxLeaseMs;
    this.batchSize = options.batchSize ?? 20;
    this.concurrency = options.concurrency ?? 8;
    this.schedule = options.retryScheduleMs ?? notificationRetryScheduleMs;
  }

  /** One pass: claim what is due now, deliver it, record the outcomes. */
  async runOnce(): Promise<OutboxRunSummary> {
    const { db, clock } = this.options;
    const now = clock.nowMs();
    const claim = { workerId: this.workerId, token: randomBytes(16).toString('hex'), now, leaseUntil: now + this.leaseMs };
    let jobs: OutboxRow[];
    if (this.options.kind === 'postgres') {
      jobs = await outboxRepository.claimBatchSkipLocked(db, claim, this.batchSize);
    } else {
      jobs = [];
      for (const candidate of await outboxRepository.dueCandidates(db, now, this.batchSize)) {
        if (await outboxRepository.claim(db, candidate.id, claim))
          jobs.push({ ...candidate, claimed_by: claim.workerId, claim_token: claim.token, claim_expires_at: claim.leaseUntil });
      }
    }
    const summary: OutboxRunSummary = { claimed: jobs.length, delivered: 0, rescheduled: 0, failed: 0 };
    if (jobs.length === 0) return summary;
    const stopRenewing = this.renewLeaseWhileRunning(claim.token);
    const queue = [...jobs];
    const lanes = Array.from({ length: Math.min(this.concurrency, queue.length) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const status = await this.attempt(job, claim.token);
        if (status === 'delivered') summary.delivered += 1;
        else if (status === 'failed') summary.failed += 1;
        else summary.rescheduled += 1;
      }
    });
    try {
      await Promise.all(lanes);
    } finally {
      stopRenewing();
    }
    return summary;
  }

  /** Keeps the batch's claim alive while its deliveries run (a finished job has no claim left to renew). */
  private renewLeaseWhileRunning(token: string): () => void {
    const { db, clock } = this.options;
    const timer = setInterval(
      () => {
        outboxRepository.renewClaims(db, token, clock.nowMs() + this.leaseMs).catch(() => undefined);
      },
      Math.max(1, Math.floor(this.leaseMs / 3)),
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Runs passes until nothing is due (tests; draining on shutdown). */
  async drain(maxPasses = 100): Promise<OutboxRunSummary> {
    const total: OutboxRunSummary = { claimed: 0, delivered: 0, rescheduled: 0, failed: 0 };
    for (let pass = 0; pass < maxPasses; pass += 1) {
      const summary = await this.runOnce();
      if (summary.claimed === 0) break;
      for (const key of Object.keys(total) as Array<keyof OutboxRunSummary>) total[key] += summary[key];
    }
    return total;
  }

  start(intervalMs = 1000): JobLoop {
    return startJobLoop('outbox', intervalMs, () => this.runOnce());
  }

  private async attempt(job: OutboxRow, token: string): Promise<OutboxRow['status']> {
    const { db, clock } = this.options;
    const startedAt = clock.nowMs();
    const started = performance.now();
    let result: DeliveryResult;
    const handler = this.options.handlers[job.topic];
    try {
      result = handler ? await handler.deliver(job) : { delivered: false, error: `No handler for topic ${job.topic}` };
    } catch (error) {
      result = { delivered: false, error: error instanceof Error ? error.message : String(error) };
    }
    const latencyMs = Math.max(0, Math.round(performance.now() - started));
    const finishedAt = clock.nowMs();
    const roundAttempts = job.round_attempts + 1;
    const retryIn = this.schedule[roundAttempts - 1];
    const status: OutboxRow['status'] = result.delivered ? 'delivered' : retryIn === undefined ? 'failed' : 'pending';
    await db.transaction().execute(async (trx) => {
      await outboxRepository.insertAttempt(trx, {
        outbox_id: job.id,
        attempt_no: job.attempts + 1,
        manual: job.manual,
        target_url: job.target_url,
        started_at: startedAt,
        latency_ms: latencyMs,
        outcome: result.delivered ? 'delivered' : 'failed',
        http_status: result.httpStatus ?? null,
        response_excerpt: truncate(result.responseExcerpt ?? null, excerptLimit),
        error: truncate(result.error ?? null, excerptLimit),
        worker: this.workerId,
      });
      const completed = await outboxRepository.complete(trx, job.id, token, {
        status,
        roundAttempts,
        nextAttemptAt: status === 'pending' ? finishedAt + retryIn! : null,
        now: finishedAt,
        error: result.delivered
          ? null
          : truncate(result.error ?? (result.httpStatus ? `HTTP ${result.httpStatus}` : 'failed'), excerptLimit),
        httpStatus: result.httpStatus ?? null,
      });
      // Our lease ran out and another worker holds the job now: the attempt is logged, its outcome is theirs to record.
      if (!completed) await outboxRepository.countAttempt(trx, job.id);
    });
    return status;
  }
}

function truncate(text: string | null, limit: number): string | null {
  if (text === null) return null;
  const bytes = Buffer.from(text, 'utf8');
  // Cut on a byte boundary, then drop a character the cut split in two.
  return bytes.length <= limit
    ? text
    : bytes
        .subarray(0, limit)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
}
