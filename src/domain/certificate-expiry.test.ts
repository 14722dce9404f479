import { describe, expect, it } from 'vitest';
import { certificateExpiry } from './certificate-expiry.ts';
import { dayMs } from './clock.ts';

describe('certificateExpiry (SPEC §7: refused from not_after, the console warns 30 days before)', () => {
  const now = Date.UTC(2026, 0, 15, 4, 0, 0);

  it('is valid further than 30 days out', () => {
    expect(certificateExpiry(now + 5 * 365 * dayMs, now)).toEqual({ expiry: 'valid', expiresInDays: 1825 });
    expect(certificateExpiry(now + 30 * dayMs + 1, now)).toEqual({ expiry: 'valid', expiresInDays: 31 });
  });

  it('is expiring within 30 days, counting whole days rounded up', () => {
    expect(certificateExpiry(now + 30 * dayMs, now)).toEqual({ expiry: 'expiring', expiresInDays: 30 });
    expect(certificateExpiry(now + 20 * dayMs - 60_000, now)).toEqual({ expiry: 'expiring', expiresInDays: 20 });
    expect(certificateExpiry(now + 1, now)).toEqual({ expiry: 'expiring', expiresInDays: 1 });
  });

  it('is expired from not_after on, as the gateway refuses it then', () => {
    expect(certificateExpiry(now, now)).toEqual({ expiry: 'expired', expiresInDays: 0 });
    expect(certificateExpiry(now - 3 * dayMs, now)).toEqual({ expiry: 'expired', expiresInDays: 0 });
  });
});
