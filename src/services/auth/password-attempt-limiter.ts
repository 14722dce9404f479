import { AppError } from '../../domain/errors.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** What a password is checked for; each has its own counters. */
export type PasswordCheckPurpose = 'sign-in' | 'password-change';

/**
 * SPEC §7 "Roles": password attempts are throttled per (account or user, address) with growing delays, so no
 * number of failures locks an account for everyone; an address also has a cap across accounts.
 */
export const passwordAttemptPolicy = {
  /** Failures of one (subject, address) pair before its attempts must wait. */
  freeFailures: 5,
  /** The wait after the first failure past the free ones; it doubles with each further failure... */
  firstDelayMs: 1000,
  /** ...up to this. */
  maxDelayMs: 5 * 60 * 1000,
  /** Failures one address may make across every subject per window. */
  failuresPerAddress: 30,
  addressWindowMs: 15 * 60 * 1000,
};

/** How long a pair waits after its nth counted failure: nothing, then 1 s, 2 s, 4 s … capped. */
export function passwordBackoffDelayMs(failures: number): number {
  const { freeFailures, firstDelayMs, maxDelayMs } = passwordAttemptPolicy;
  if (failures < freeFailures) return 0;
  return Math.min(maxDelayMs, firstDelayMs * 2 ** Math.min(failures - freeFailures, 30));
}

const refusals: Record<PasswordCheckPurpose, string> = {
  'sign-in': 'Too many failed sign-in attempts',
  'password-change': 'Too many wrong current passwords',
};

function tooManyAttempts(purpose: PasswordCheckPurpose, waitMs: number): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError('RequestLimitExceeded', `${refusals[purpose]}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
}

/** Runs password checks under the limits of their (subject, address) pair and of their address. */
export class PasswordAttemptLimiter {
  constructor(private readonly rateLimiter: RateLimiter) {}

  /**
   * Counts the attempt, then runs `check`, which resolves to what it proved (a user, say) or undefined for a
   * failure. A success clears the pair and does not count against the address; a throttled attempt is refused
   * with RequestLimitExceeded saying how long to wait; an attempt the check could not run (the password hasher
   * busy) is taken back.
   */
  async attempt<T>(purpose: PasswordCheckPurpose, subject: string, clientAddress: string, check: () => Promise<T | undefined>) {
    const { failuresPerAddress, addressWindowMs } = passwordAttemptPolicy;
    const addressKey = this.rateLimiter.addressCounterKey(`${purpose}:address`, clientAddress);
    const pairKey = this.rateLimiter.addressCounterKey(`${purpose}:pair:${subject}`, clientAddress);
    // Both are counted before the check, atomically: parallel guesses cannot all slip through a check made before
    // any of them was counted.
    if (!(await this.rateLimiter.hit(addressKey, failuresPerAddress, addressWindowMs))) {
      throw tooManyAttempts(purpose, this.rateLimiter.windowRemainingMs(addressWindowMs));
    }
    const claim = await this.rateLimiter.claimBackoff(pairKey, passwordBackoffDelayMs);
    if (!claim.allowed) {
      await this.rateLimiter.release(addressKey, addressWindowMs);
      throw tooManyAttempts(purpose, claim.retryAfterMs);
    }
    let proved: T | undefined;
    try {
      proved = await check();
    } catch (error) {
      await this.rateLimiter.forgiveBackoff(pairKey);
      await this.rateLimiter.release(addressKey, addressWindowMs);
      throw error;
    }
    if (proved !== undefined) {
      await this.rateLimiter.resetBackoff(pairKey);
      await this.rateLimiter.release(addressKey, addressWindowMs);
    }
    return proved;
  }
}
