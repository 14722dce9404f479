import type { OrderService } from '../services/order.service.ts';
import type { RefundService } from '../services/refund.service.ts';

/**
 * Settles what Paythrough does not know (SPEC §4.3): channel calls that timed out or failed mid-way
 * (order create / close / expiry, refunds still PROCESSING) are resolved by querying the channel and
 * moving the record to the channel's state, never by guessing. Each record carries when it is next
 * due (`reconcile_at`), with a back-off that grows with its age.
 */
export class ReconcilerJob {
  readonly name = 'reconciler';

  constructor(
    private readonly orders: Pick<OrderService, 'reconcileDue'>,
    private readonly refunds: Pick<RefundService, 'reconcileDue'>,
    private readonly batchSize = 100,
  ) {}

  /** One pass; returns how many orders and refunds it looked at. */
  async runOnce(): Promise<{ orders: number; refunds: number }> {
    return {
      orders: await this.orders.reconcileDue(this.batchSize),
      refunds: await this.refunds.reconcileDue(this.batchSize),
    };
  }
}
