import type { OrderService, RefundService } from '../services/payments/index.ts';

/**
 * Settles what Paythrough does not know (SPEC §4.3): channel calls that timed out or failed mid-way
 * (order create / close / expiry, refunds still PROCESSING) are resolved by querying the channel and
 * moving the record to the channel's state, never by guessing; unpaid HTTP-channel orders are also
 * asked about now and then, in case their payment callback was lost. Each record carries when it is
 * next due (`reconcile_at`), with a back-off that grows with its age.
 */
export class ReconcilerJob {
  readonly name = 'reconciler';

  constructor(
    private readonly orders: Pick<OrderService, 'reconcileDue'>,
    private readonly refunds: Pick<RefundService, 'reconcileDue'>,
    private readonly batchSize = 100,
  ) {}

  /**
   * One pass; returns how many orders and refunds it looked at. Outcomes in doubt (orders, then refunds)
   * go before the routine checks of unpaid orders, each in its own batch, so no number of routine checks
   * delays them.
   */
  async runOnce(): Promise<{ orders: number; refunds: number }> {
    const unknownOrders = await this.orders.reconcileDue(this.batchSize, 'unknown');
    const refunds = await this.refunds.reconcileDue(this.batchSize);
    const routineOrders = await this.orders.reconcileDue(this.batchSize, 'routine');
    return { orders: unknownOrders + routineOrders, refunds };
  }
}
