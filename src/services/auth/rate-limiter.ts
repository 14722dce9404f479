import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { rateLimitRepository } from '../../repositories/rate-limit.repository.ts';

/** How long a counter is kept after its window started: longer than any window (sign-in's 15 minutes is the longest). */
export const rateLimitRetentionMs = 60 * 60 * 1000;

/** Fixed-window counters kept in the database, so every instance shares them. */
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

  /** Counts one hit; returns true while the count stays within the limit. */
  async hit(counterKey: string, limit: number, windowMs: number): Promise<boolean> {
    return (await rateLimitRepository.hit(this.db, counterKey, this.windowStart(windowMs))) <= limit;
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

  /** Deletes counters whose window ended (the periodic purge); returns how many went. */
  async purgeExpired(): Promise<number> {
    const result = await rateLimitRepository.deleteOlderThan(this.db, this.clock.nowMs() - rateLimitRetentionMs);
    return Number(result[0]?.numDeletedRows ?? 0n);
  }
}
