import type { NonceService, RateLimiter } from '../services/auth/index.ts';

/**
 * The periodic purge of short-lived security state (SPEC §7 retention): replay nonces whose retention
 * (PAYTHROUGH_NONCE_RETENTION_MINUTES, at least their window) has passed, in batches, and rate-limit
 * counters (sign-in, signature failures, per-mchid requests) whose window ended.
 */
export async function purgeExpiredSecurityState(services: {
  nonces: Pick<NonceService, 'purgeExpired'>;
  rateLimiter: Pick<RateLimiter, 'purgeExpired'>;
}): Promise<{ nonces: number; counters: number }> {
  const nonces = await services.nonces.purgeExpired();
  const counters = await services.rateLimiter.purgeExpired();
  return { nonces, counters };
}
