import type { DatabaseClient, Executor } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { backoffCounterRepository } from '../../repositories/backoff-counter.repository.ts';
import { rateLimitRepository } from '../../repositories/rate-limit.repository.ts';
import { addressLimitKey } from './client-address.ts';

/**
 * How long a counter is kept after its window started: longer than any window (sign-in's 15 minutes is the
 * longest). A backoff key without an attempt for this long is forgotten.
 */
export const rateLimitRetentionMs = 60 * 60 * 1000;

// Parallel attempts on one backoff key retry their compare-and-set this often before being told to wait.
const backoffClaimTries = 8;

export type BackoffClaim = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Counters kept in the database, so every instance shares them: fixed-window counters, and backoff keys whose
 * attempts must wait longer after each failure.
 */
export class RateLimiter {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
  ) {}

  private windowStart(windowMs: number): number {
    // The purge deletes counters older than the retention: a longer window would lose its count early.
    if (windowMs > rateLimitRetentionMs) throw new Error(`A rate-limit window of ${windowMs} ms is longer than the counters are kept`);
    const now = this.clock.nowMs();
    return now - (now % windowMs);
  }

  /** The counter key of a per-address limit: every such key is formed here, so IPv6 addresses count by their /64. */
  addressCounterKey(scope: string, clientAddress: string): string {
    return `${scope}:${addressLimitKey(clientAddress)}`;
  }

  /** Counts one hit (in `db`, a transaction, when given); returns true while the count stays within the limit. */
  async hit(counterKey: string, limit: number, windowMs: number, db: Executor = this.db): Promise<boolean> {
    return (await rateLimitRepository.hit(db, counterKey, this.windowStart(windowMs))) <= limit;
  }

  async isExceeded(counterKey: string, limit: number, windowMs: number): Promise<boolean> {
    return (await rateLimitRepository.count(this.db, counterKey, this.windowStart(windowMs))) >= limit;
  }

  /** Takes back one hit of the current window (an attempt that turned out not to count). */
  release(counterKey: string, windowMs: number) {
    return rateLimitRepository.release(this.db, counterKey, this.windowStart(windowMs));
  }

  reset(counterKey: string) {
    return rateLimitRepository.reset(this.db, counterKey);
  }

  /** Milliseconds until the current window of this length ends. */
  windowRemainingMs(windowMs: number): number {
    return this.windowStart(windowMs) + windowMs - this.clock.nowMs();
  }

  /**
   * Counts one attempt on a backoff key before it is checked (so parallel attempts cannot all slip through),
   * unless the key must still wait. `delayAfter(failures)` is the wait after that many counted failures.
   */
  async claimBackoff(counterKey: string, delayAfter: (failures: number) => number): Promise<BackoffClaim> {
    for (let tries = 0; tries < backoffClaimTries; tries++) {
      const now = this.clock.nowMs();
      const row = await backoffCounterRepository.find(this.db, counterKey);
      const remembered = row !== undefined && row.updated_at > now - rateLimitRetentionMs;
      if (remembered && row.next_attempt_at > now) return { allowed: false, retryAfterMs: row.next_attempt_at - now };
      const failures = (remembered ? row.failures : 0) + 1;
      const next = { failures, next_attempt_at: now + delayAfter(failures), updated_at: now };
      const won = row
        ? await backoffCounterRepository.compareAndSet(this.db, counterKey, row, next)
        : await backoffCounterRepository.insertIfAbsent(this.db, counterKey, next);
      if (won) return { allowed: true };
    }
    return { allowed: false, retryAfterMs: 1000 };
  }

  /** Takes back an attempt that was not checked after all (the server was busy). */
  forgiveBackoff(counterKey: string) {
    return backoffCounterRepository.forgiveOne(this.db, counterKey, this.clock.nowMs());
  }

  /** A success: the key starts afresh. */
  resetBackoff(counterKey: string) {
    return backoffCounterRepository.delete(this.db, counterKey);
  }

  /** Deletes counters whose window ended and backoff keys long quiet (the periodic purge); returns how many went. */
  async purgeExpired(): Promise<number> {
    const before = this.clock.nowMs() - rateLimitRetentionMs;
    const windows = await rateLimitRepository.deleteOlderThan(this.db, before);
    const backoffs = await backoffCounterRepository.deleteUpdatedBefore(this.db, before);
    return Number(windows[0]?.numDeletedRows ?? 0n) + Number(backoffs[0]?.numDeletedRows ?? 0n);
  }
}
