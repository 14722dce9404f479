import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Clock } from '../domain/clock.ts';
import { rateLimitRepository } from '../repositories/rate-limit.repository.ts';

/** Fixed-window counters kept in the database, so every instance shares them. */
export class RateLimiter {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  private windowStart(windowMs: number): number {
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
}
