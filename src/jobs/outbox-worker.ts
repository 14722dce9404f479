import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { DatabaseKind } from '../config/config.ts';
import type { DatabaseClient } from '../db/schema.ts';
import type { Clock } from '../domain/clock.ts';
import { outboxRepository, type Completion, type NewDeliveryAttempt, type OutboxRow } from '../repositories/outbox.repository.ts';
import type { DeliveryResult, OutboxHandler } from '../services/payments/index.ts';
import type { JobLoop } from './job-loop.ts';

/** Waits after a failed attempt, in order (SPEC §4.2): 15 retries over 24 h 4 min, then the job fails. */
export const notificationRetryScheduleMs: readonly number[] = [
  15_000, 15_000, 30_000, 180_000, 600_000, 1_200_000, 1_800_000, 1_800_000, 1_800_000, 3_600_000, 10_800_000, 10_800_000, 10_800_000,
  21_600_000, 21_600_000,
];

/** Three times the 5 s delivery timeout; renewed every third of it while the worker holds the job. */
export const defaultOutboxLeaseMs = 15_000;

export interface OutboxWorkerOptions {
  db: DatabaseClient;
  kind: DatabaseKind;
  clock: Clock;
  handlers: Readonly<Record<string, OutboxHandler>>;
  workerId?: string;
  /**
   * A claimed job is hidden from other workers this long; the worker renews the lease while it still holds
   * the job, so it can be short: a worker killed mid-delivery holds its jobs at most this long.
   */
  leaseMs?: number;
  /** Jobs claimed by one statement. */
  batchSize?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** Deliveries in flight at once to one origin (scheme, host, port): a dead receiver holds at most these lanes. */
  perOriginConcurrency?: number;
  /** Jobs this worker holds claimed at most (waiting for a lane or in flight). */
  maxHeld?: number;
  retryScheduleMs?: readonly number[];
}

export interface OutboxRunSummary {
  claimed: number;
  delivered: number;
  rescheduled: number;
  failed: number;
}

const excerptLimit = 1024;

/** One claimed job on its way: waiting for a lane, in flight, or waiting for its outcome to be recorded. */
interface HeldJob {
  job: OutboxRow;
  token: string;
  origin: string;
  settle: (status: OutboxRow['status']) => void;
  fail: (error: unknown) => void;
}

/** A finished attempt waiting to be written with the others that finished meanwhile. */
interface Outcome {
  held: HeldJob;
  attempt: NewDeliveryAttempt;
  completion: Completion;
  status: OutboxRow['status'];
}

/**
 * Claims due outbox jobs safely across instances (one UPDATE ... RETURNING per batch, a compare-and-set on
 * the lease columns; PostgreSQL also skips rows another instance is claiming right now), delivers them in
 * bounded lanes per origin, logs every attempt, and reschedules on the retry schedule or marks the job
 * delivered or failed. Started, it claims again at once while a batch comes back full (or this instance
 * enqueued something), and otherwise looks every interval.
 */
export class OutboxWorker {
  readonly workerId: string;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly perOriginConcurrency: number;
  private readonly maxHeld: number;
  private readonly schedule: readonly number[];
  /** Jobs waiting for a lane, by origin; an origin is listed while it has some. */
  private readonly waiting = new Map<string, HeldJob[]>();
  private readonly inFlightByOrigin = new Map<string, number>();
  private inFlight = 0;
  private held = 0;
  /** Claim tokens with jobs still held, and how many (their leases are renewed together). */
  private readonly liveTokens = new Map<string, number>();
  private renewTimer: NodeJS.Timeout | undefined;
  private outcomes: Outcome[] = [];
  private recording: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private laneFreed: (() => void) | undefined;
  private stopPump: (() => void) | undefined;

  constructor(private readonly options: OutboxWorkerOptions) {
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseMs = options.leaseMs ?? defaultOutboxLeaseMs;
    this.batchSize = options.batchSize ?? 100;
    this.concurrency = options.concurrency ?? 32;
    this.perOriginConcurrency = Math.min(options.perOriginConcurrency ?? 16, this.concurrency);
    this.maxHeld = options.maxHeld ?? 10_000;
    this.schedule = options.retryScheduleMs ?? notificationRetryScheduleMs;
  }

  /** One pass: claim one batch of what is due now, deliver it, record the outcomes. */
  async runOnce(limit = this.batchSize): Promise<OutboxRunSummary> {
    const jobs = await this.claimAndDispatch(limit);
    const summary: OutboxRunSummary = { claimed: jobs.length, delivered: 0, rescheduled: 0, failed: 0 };
    for (const status of await Promise.all(jobs)) {
      if (status === 'delivered') summary.delivered += 1;
      else if (status === 'failed') summary.failed += 1;
      else summary.rescheduled += 1;
    }
    return summary;
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

  /** This instance committed (or is about to commit) an outbox row: look now rather than at the next interval. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Claims and delivers continuously: again at once while a claim came back full and the lanes have room
   * for more, otherwise after `intervalMs` or a wake-up. Other instances' rows are found by the interval.
   */
  start(intervalMs = 1000): JobLoop {
    let stopped = false;
    let pause: NodeJS.Timeout | undefined;
    const rest = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(pause);
          this.wakeUp = undefined;
          resolve();
        };
        // A wake-up waits a moment: the transaction that enqueued is still committing.
        // Once: more wake-ups meanwhile (a stream of payments) do not push the look back.
        this.wakeUp = () => {
          this.wakeUp = undefined;
          clearTimeout(pause);
          pause = setTimeout(done, 5);
        };
        pause = setTimeout(done, intervalMs);
        if (this.woken || stopped) this.wakeUp();
      });
    this.stopPump = () => {
      stopped = true;
      this.wakeUp?.();
      this.laneFreed?.();
    };
    const loop = (async () => {
      while (!stopped) {
        this.woken = false;
        const room = Math.min(this.batchSize, this.maxHeld - this.held);
        // Enough is waiting to keep every lane busy, or we hold all we may: claim when a lane frees up.
        if (room <= 0 || this.startable() >= 2 * this.concurrency) {
          await new Promise<void>((resolve) => (this.laneFreed = resolve));
          this.laneFreed = undefined;
          continue;
        }
        let claimed = 0;
        try {
          const jobs = await this.claimAndDispatch(room);
          claimed = jobs.length;
          // A failed write of outcomes fails its jobs (they are retried after their lease): say so once per batch.
          void Promise.allSettled(jobs).then((outcomes) => {
            const failure = outcomes.find((outcome) => outcome.status === 'rejected');
            if (failure) reportFailure(failure.reason);
          });
        } catch (error) {
          reportFailure(error);
        }
        if (claimed < room && !stopped) await rest();
      }
    })();
    return {
      stop: async () => {
        this.stopPump?.();
        await loop;
        await this.releaseWaiting();
        await this.settled();
      },
    };
  }

  /** Jobs that could start now: in flight, plus those waiting for an origin that has a free lane. */
  private startable(): number {
    let count = this.inFlight;
    for (const [origin, queue] of this.waiting)
      count += Math.min(queue.length, this.perOriginConcurrency - (this.inFlightByOrigin.get(origin) ?? 0));
    return count;
  }

  /** Claims up to `limit` due jobs in one statement and queues them; each promise settles with the job's new status. */
  private async claimAndDispatch(limit: number): Promise<Array<Promise<OutboxRow['status']>>> {
    const { db, clock } = this.options;
    const now = clock.nowMs();
    const claim = { workerId: this.workerId, token: randomBytes(16).toString('hex'), now, leaseUntil: now + this.leaseMs };
    const jobs =
      this.options.kind === 'postgres'
        ? await outboxRepository.claimBatchSkipLocked(db, claim, limit)
        : await outboxRepository.claimBatch(db, claim, limit);
    if (jobs.length === 0) return [];
    this.liveTokens.set(claim.token, jobs.length);
    this.held += jobs.length;
    this.renewLeasesWhileHeld();
    const settled = jobs
      .sort((a, b) => a.next_attempt_at! - b.next_attempt_at! || a.id - b.id)
      .map(
        (job) =>
          new Promise<OutboxRow['status']>((settle, fail) => {
            const origin = originOf(job.target_url);
            const queue = this.waiting.get(origin);
            const held: HeldJob = { job, token: claim.token, origin, settle, fail };
            if (queue) queue.push(held);
            else this.waiting.set(origin, [held]);
          }),
      );
    this.startLanes();
    return settled;
  }

  /** Starts waiting jobs while lanes are free, taking origins in turn so that a busy one cannot crowd out the rest. */
  private startLanes(): void {
    let progressed = true;
    while (this.inFlight < this.concurrency && progressed) {
      progressed = false;
      for (const [origin, queue] of this.waiting) {
        if (this.inFlight >= this.concurrency) break;
        const active = this.inFlightByOrigin.get(origin) ?? 0;
        if (active >= this.perOriginConcurrency) continue;
        const held = queue.shift()!;
        if (queue.length === 0) this.waiting.delete(origin);
        this.inFlight += 1;
        this.inFlightByOrigin.set(origin, active + 1);
        progressed = true;
        void this.attempt(held);
      }
    }
  }

  private laneDone(origin: string): void {
    this.inFlight -= 1;
    const active = (this.inFlightByOrigin.get(origin) ?? 1) - 1;
    if (active === 0) this.inFlightByOrigin.delete(origin);
    else this.inFlightByOrigin.set(origin, active);
    this.startLanes();
    this.laneFreed?.();
  }

  private jobDone(held: HeldJob): void {
    this.held -= 1;
    const left = (this.liveTokens.get(held.token) ?? 1) - 1;
    if (left === 0) this.liveTokens.delete(held.token);
    else this.liveTokens.set(held.token, left);
    if (this.liveTokens.size === 0) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
    this.laneFreed?.();
  }

  /** Keeps the claims of every held job alive (a finished job has no claim left to renew). */
  private renewLeasesWhileHeld(): void {
    if (this.renewTimer) return;
    const { db, clock } = this.options;
    this.renewTimer = setInterval(
      () => {
        if (this.liveTokens.size === 0) return;
        outboxRepository.renewClaims(db, [...this.liveTokens.keys()], clock.nowMs() + this.leaseMs).catch(() => undefined);
      },
      Math.max(1, Math.floor(this.leaseMs / 3)),
    );
    this.renewTimer.unref();
  }

  /** On stop: the jobs still waiting for a lane go back to the outbox now instead of when their lease ends. */
  private async releaseWaiting(): Promise<void> {
    const released = [...this.waiting.values()].flat();
    this.waiting.clear();
    if (released.length === 0) return;
    await outboxRepository
      .releaseClaims(
        this.options.db,
        released.map((held) => ({ id: held.job.id, token: held.token })),
      )
      .catch(() => undefined);
    for (const held of released) {
      this.jobDone(held);
      held.settle('pending');
    }
  }

  /** Resolves when nothing is in flight or waiting to be recorded. */
  private async settled(): Promise<void> {
    while (this.inFlight > 0 || this.recording) {
      await (this.recording ?? new Promise<void>((resolve) => setTimeout(resolve, 10)));
    }
  }

  private async attempt(held: HeldJob): Promise<void> {
    const { job } = held;
    const { clock } = this.options;
    const startedAt = clock.nowMs();
    const started = performance.now();
    let result: DeliveryResult;
    const handler = this.options.handlers[job.topic];
    try {
      result = handler ? await handler.deliver(job) : { delivered: false, error: `No handler for topic ${job.topic}` };
    } catch (error) {
      result = { delivered: false, error: error instanceof Error ? error.message : String(error) };
    }
    this.laneDone(held.origin);
    const latencyMs = Math.max(0, Math.round(performance.now() - started));
    const finishedAt = clock.nowMs();
    const roundAttempts = job.round_attempts + 1;
    const retryIn = this.schedule[roundAttempts - 1];
    const status: OutboxRow['status'] = result.delivered ? 'delivered' : retryIn === undefined ? 'failed' : 'pending';
    this.record({
      held,
      status,
      attempt: {
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
      },
      completion: {
        status,
        roundAttempts,
        nextAttemptAt: status === 'pending' ? finishedAt + retryIn! : null,
        now: finishedAt,
        error: result.delivered
          ? null
          : truncate(result.error ?? (result.httpStatus ? `HTTP ${result.httpStatus}` : 'failed'), excerptLimit),
        httpStatus: result.httpStatus ?? null,
      },
    });
  }

  /** Queues an outcome; the outcomes that finish together or while a write runs go in one transaction. */
  private record(outcome: Outcome): void {
    this.outcomes.push(outcome);
    // Waits for the rest of this turn of the event loop: the answers read with this one are written with it.
    this.recording ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.writeOutcomes());
  }

  private async writeOutcomes(): Promise<void> {
    while (this.outcomes.length > 0) {
      const batch = this.outcomes;
      this.outcomes = [];
      try {
        await this.options.db.transaction().execute(async (trx) => {
          await outboxRepository.insertAttempts(
            trx,
            batch.map((outcome) => outcome.attempt),
          );
          const delivered = batch.filter((outcome) => outcome.status === 'delivered');
          const recorded = await outboxRepository.completeDelivered(
            trx,
            delivered.map(({ held, completion }) => ({
              id: held.job.id,
              token: held.token,
              now: completion.now,
              httpStatus: completion.httpStatus,
            })),
          );
          for (const { held, completion, status } of batch) {
            const completed =
              status === 'delivered'
                ? recorded.has(held.job.id)
                : await outboxRepository.complete(trx, held.job.id, held.token, completion);
            // Our lease ran out and another worker holds the job now: the attempt is logged, its outcome is theirs to record.
            if (!completed) await outboxRepository.countAttempt(trx, held.job.id);
          }
        });
        for (const outcome of batch) {
          this.jobDone(outcome.held);
          outcome.held.settle(outcome.status);
        }
      } catch (error) {
        // Nothing of the batch was saved: the jobs are retried when their leases end (at least once).
        for (const outcome of batch) {
          this.jobDone(outcome.held);
          outcome.held.fail(error);
        }
      }
    }
    this.recording = undefined;
  }
}

function reportFailure(error: unknown): void {
  process.stderr.write(`[paythrough] job outbox failed: ${String(error)}\n`);
}

/** Lanes are per origin: one receiver's slowness holds its own lanes only. */
function originOf(targetUrl: string | null): string {
  if (!targetUrl) return '';
  try {
    return new URL(targetUrl).origin;
  } catch {
    return '';
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
