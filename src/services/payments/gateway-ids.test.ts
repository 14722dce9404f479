import { describe, expect, it } from 'vitest';
import { mintPrepayId, mintRefundId, mintTransactionId, prepayFingerprint, type PrepayFingerprintFields } from './gateway-ids.ts';

describe('gateway ids', () => {
  const now = Date.UTC(2026, 0, 15, 4, 5, 6);

  it('mints ids shaped like the processor ones', () => {
    expect(mintPrepayId(now)).toMatch(/^wx20260115040506[0-9a-f]{20}$/);
    const transactionId = mintTransactionId(now);
    expect(transactionId).toMatch(/^4220260115\d{20}$/);
    expect(transactionId.length).toBeGreaterThanOrEqual(28);
    expect(transactionId.length).toBeLessThanOrEqual(32);
    expect(mintRefundId(now)).toMatch(/^5020260115\d{20}$/);
    expect(new Set(Array.from({ length: 1000 }, () => mintTransactionId(now))).size).toBe(1000);
  });

  it('fingerprints exactly the idempotency fields', () => {
    const fields: PrepayFingerprintFields = {
      appid: 'mnp_1',
      description: 'd',
      amountTotal: 100,
      currency: 'CNY',
      payerOpenid: 'o',
      notifyUrl: 'https://x/n',
      attach: null,
      timeExpire: null,
    };
    expect(prepayFingerprint(fields)).toBe(prepayFingerprint({ ...fields }));
    for (const change of [
      { appid: 'mnp_2' },
      { description: 'e' },
      { amountTotal: 101 },
      { currency: 'USD' },
      { payerOpenid: 'p' },
      { notifyUrl: 'https://x/m' },
      { attach: '' },
      { timeExpire: 1 },
    ]) {
      expect(prepayFingerprint({ ...fields, ...change })).not.toBe(prepayFingerprint(fields));
    }
  });
});
