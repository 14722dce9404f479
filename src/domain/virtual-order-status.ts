import type { TradeState } from './order-state.ts';
import type { RefundStatus } from './refund-state.ts';

/** A virtual order's delivery notification (SPEC §8.4), kept apart from its trade state. */
export type VirtualDeliveryStatus = 'queued' | 'delivering' | 'delivered';

/** WeChat `query_order` status numbers (SPEC §8.3). */
export type VirtualOrderStatus = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export interface VirtualOrderFacts {
  tradeState: TradeState;
  deliveryStatus: VirtualDeliveryStatus | null;
  /** paid_fee − Σ(PROCESSING, SUCCESS, ABNORMAL refunds), duplicate-payment refunds excluded. */
  leftFee: number;
  /** The order's refunds oldest first, duplicate-payment refunds excluded (they change neither status nor left_fee). */
  refunds: readonly RefundStatus[];
}

/**
 * The `query_order` status, derived rather than stored (SPEC §8.3): the order's trade state says whether it was
 * paid, its refunds and `left_fee` override the delivery facts, and the delivery status says 2, 3 or 4.
 * A late payment (closed → paid with a full refund) therefore reads 5 and then 8, never a delivery number.
 */
export function virtualOrderStatus(facts: VirtualOrderFacts): VirtualOrderStatus {
  if (facts.tradeState === 'WAIT_PAY') return 1;
  if (facts.tradeState !== 'SUCCESS' && facts.tradeState !== 'REFUND') return 6;
  const pending = facts.refunds.includes('PROCESSING');
  const last = facts.refunds.at(-1);
  if (facts.leftFee === 0 && facts.refunds.length > 0) {
    if (pending) return 5;
    // Nothing pending and nothing left: all SUCCESS (closed ones released their share), unless one is ABNORMAL.
    return facts.refunds.includes('ABNORMAL') ? 7 : 8;
  }
  if (!pending && (last === 'CLOSED' || last === 'ABNORMAL')) return 7;
  if (facts.deliveryStatus === 'delivered') return 4;
  if (facts.deliveryStatus === 'delivering') return 3;
  return 2;
}

/** How record lists show it as a `TradeState` (SPEC §8.3). */
export function tradeStateOfVirtualStatus(status: VirtualOrderStatus): 'WAIT_PAY' | 'SUCCESS' | 'REFUND' | 'CLOSED' {
  if (status === 1) return 'WAIT_PAY';
  if (status <= 4) return 'SUCCESS';
  if (status === 6) return 'CLOSED';
  return 'REFUND';
}
