import { describe, expect, it } from 'vitest';
import { tradeStateOfVirtualStatus, virtualOrderStatus, type VirtualOrderFacts } from './virtual-order-status.ts';

const paid = (facts: Partial<VirtualOrderFacts>): VirtualOrderFacts => ({
  tradeState: 'SUCCESS',
  deliveryStatus: 'queued',
  leftFee: 600,
  refunds: [],
  ...facts,
});

describe('virtualOrderStatus (SPEC §8.3)', () => {
  it('1 while unpaid, 6 once closed, expired or failed', () => {
    expect(virtualOrderStatus({ tradeState: 'WAIT_PAY', deliveryStatus: null, leftFee: 600, refunds: [] })).toBe(1);
    for (const tradeState of ['CLOSED', 'AUTO_CLOSED', 'PAY_ERROR'] as const)
      expect(virtualOrderStatus({ tradeState, deliveryStatus: null, leftFee: 600, refunds: [] })).toBe(6);
  });

  it('2, 3, 4 follow the delivery while nothing is refunded', () => {
    expect(virtualOrderStatus(paid({ deliveryStatus: 'queued' }))).toBe(2);
    expect(virtualOrderStatus(paid({ deliveryStatus: null }))).toBe(2);
    expect(virtualOrderStatus(paid({ deliveryStatus: 'delivering' }))).toBe(3);
    expect(virtualOrderStatus(paid({ deliveryStatus: 'delivered' }))).toBe(4);
  });

  it('a refund that leaves left_fee > 0 keeps 2/3/4', () => {
    expect(virtualOrderStatus(paid({ tradeState: 'REFUND', deliveryStatus: 'delivered', leftFee: 100, refunds: ['SUCCESS'] }))).toBe(4);
    expect(virtualOrderStatus(paid({ tradeState: 'REFUND', deliveryStatus: 'delivering', leftFee: 100, refunds: ['PROCESSING'] }))).toBe(3);
  });

  it('left_fee 0: 5 while a refund is PROCESSING, 8 when all succeeded, 7 with an ABNORMAL one', () => {
    const base = { tradeState: 'REFUND' as const, deliveryStatus: 'delivered' as const, leftFee: 0 };
    expect(virtualOrderStatus({ ...base, refunds: ['PROCESSING'] })).toBe(5);
    expect(virtualOrderStatus({ ...base, refunds: ['SUCCESS', 'PROCESSING'] })).toBe(5);
    expect(virtualOrderStatus({ ...base, refunds: ['SUCCESS'] })).toBe(8);
    expect(virtualOrderStatus({ ...base, refunds: ['CLOSED', 'SUCCESS'] })).toBe(8);
    expect(virtualOrderStatus({ ...base, refunds: ['SUCCESS', 'ABNORMAL'] })).toBe(7);
  });

  it('7 when the last refund closed or went abnormal and none is pending (refund facts override delivery facts)', () => {
    expect(virtualOrderStatus(paid({ tradeState: 'REFUND', deliveryStatus: 'delivered', leftFee: 600, refunds: ['CLOSED'] }))).toBe(7);
    expect(virtualOrderStatus(paid({ tradeState: 'REFUND', deliveryStatus: 'delivered', leftFee: 100, refunds: ['ABNORMAL'] }))).toBe(7);
    expect(virtualOrderStatus(paid({ tradeState: 'REFUND', leftFee: 100, refunds: ['CLOSED', 'PROCESSING'] }))).toBe(2);
  });

  it('a late payment (closed → paid, full refund, nothing delivered) reads 5 then 8', () => {
    expect(virtualOrderStatus({ tradeState: 'REFUND', deliveryStatus: null, leftFee: 0, refunds: ['PROCESSING'] })).toBe(5);
    expect(virtualOrderStatus({ tradeState: 'REFUND', deliveryStatus: null, leftFee: 0, refunds: ['SUCCESS'] })).toBe(8);
  });

  it('maps to the record lists’ TradeState', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((s) => tradeStateOfVirtualStatus(s as 1))).toEqual([
      'WAIT_PAY',
      'SUCCESS',
      'SUCCESS',
      'SUCCESS',
      'REFUND',
      'CLOSED',
      'REFUND',
      'REFUND',
    ]);
  });
});
