import { dayMs } from './clock.ts';

/** SPEC §7: the console warns this many days before a merchant certificate's `not_after`. */
export const certificateWarningDays = 30;

export type CertificateExpiryState = 'valid' | 'expiring' | 'expired';

export interface CertificateExpiry {
  expiry: CertificateExpiryState;
  /** Whole days left, rounded up (a certificate expiring later today has 1); 0 once expired. */
  expiresInDays: number;
}

/** Where a certificate stands at `nowMs`: the gateway refuses it from `not_after` on (expired), the console warns within 30 days. */
export function certificateExpiry(notAfter: number, nowMs: number): CertificateExpiry {
  const left = notAfter - nowMs;
  if (left <= 0) return { expiry: 'expired', expiresInDays: 0 };
  const expiresInDays = Math.ceil(left / dayMs);
  return { expiry: expiresInDays <= certificateWarningDays ? 'expiring' : 'valid', expiresInDays };
}
