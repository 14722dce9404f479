import type { Executor } from '../../db/schema.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** The window of the per-mchid gateway request limit. */
export const merchantRequestWindowMs = 60 * 1000;

export const merchantRequestLimitMessage = 'Too many requests for this mchid; slow down and retry in a minute';

/**
 * Limits signed gateway requests per (superapp, mchid) (PAYTHROUGH_MCHID_RATE_LIMIT a minute): one merchant's runaway
 * loop cannot starve the others. Counted in the database after the signature checked, so every instance
 * shares the count and nobody can spend a merchant's allowance without its key.
 */
export class MerchantRequestLimiter {
  constructor(
    private readonly rateLimiter: RateLimiter,
    readonly requestsPerMinute: number,
  ) {}

  /**
   * Counts one request (in `db`, a transaction, when given); false when it is over the limit. Merchant IDs are each
   * superapp's own (SPEC §7): one superapp's busy merchant never slows another's of the same ID.
   */
  count(merchant: { applicationId: string; mchid: string }, db?: Executor): Promise<boolean> {
    return this.rateLimiter.hit(
      `gateway-requests:${merchant.applicationId}:${merchant.mchid}`,
      this.requestsPerMinute,
      merchantRequestWindowMs,
      db,
    );
  }
}
