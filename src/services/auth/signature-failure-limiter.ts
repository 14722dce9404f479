import { AppError } from '../../domain/errors.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** The signed surfaces whose failed signatures are counted, each on its own counters (`metrics`: wrong /metrics tokens). */
export type SignedSurface = 'v3' | 'tc3' | 'host' | 'channel' | 'metrics';

/**
 * Failed authentications one client address may make on one surface per window (SPEC §7: counters in the database);
 * the default of PAYTHROUGH_SIGNATURE_FAILURE_LIMIT.
 */
export const signatureFailureLimit = { failures: 100, windowMs: 5 * 60 * 1000 } as const;

export interface SignatureFailureLimit {
  failures: number;
  windowMs: number;
}

export const signatureFailureMessage = 'Too many failed signatures from this address; try again in a few minutes';

/**
 * Rate limits repeated authentication failures per client address on the signed surfaces (gateway,
 * management API, host API, channel callbacks). Counted per address, not per credential, so that a
 * stranger cannot lock a merchant out by failing in its name. Once over the limit every request from
 * the address is refused before its signature is checked, the right one included, until the window ends.
 */
export class SignatureFailureLimiter {
  constructor(
    private readonly rateLimiter: RateLimiter,
    readonly limit: SignatureFailureLimit = signatureFailureLimit,
  ) {}

  private counterKey(surface: SignedSurface, clientAddress: string) {
    return this.rateLimiter.addressCounterKey(`signature-failures:${surface}`, clientAddress);
  }

  isBlocked(surface: SignedSurface, clientAddress: string): Promise<boolean> {
    return this.rateLimiter.isExceeded(this.counterKey(surface, clientAddress), this.limit.failures, this.limit.windowMs);
  }

  async recordFailure(surface: SignedSurface, clientAddress: string): Promise<void> {
    await this.rateLimiter.hit(this.counterKey(surface, clientAddress), this.limit.failures, this.limit.windowMs);
  }

  /** Runs an authentication: refused with RequestLimitExceeded while blocked; an AuthFailure it throws is counted. */
  async guard<T>(surface: SignedSurface, clientAddress: string, authenticate: () => Promise<T>): Promise<T> {
    if (await this.isBlocked(surface, clientAddress)) throw new AppError('RequestLimitExceeded', signatureFailureMessage);
    try {
      return await authenticate();
    } catch (error) {
      if (error instanceof AppError && error.code.startsWith('AuthFailure')) await this.recordFailure(surface, clientAddress);
      throw error;
    }
  }
}
