import type { OrderService } from '../services/payments/index.ts';

/**
 * Closes unpaid orders past their `time_expire` (SPEC §4.1: AUTO_CLOSED), the channel first. What is due
 * is decided by the injectable clock, so tests move the clock and call `runOnce()`.
 */
export class AutoCloseJob {
  readonly name = 'auto-close';

  constructor(
    private readonly orders: Pick<OrderService, 'closeExpired'>,
    private readonly batchSize = 100,
    private readonly maxBatchesPerRun = 20,
  ) {}

  /** One pass over the due orders; returns how many it looked at. */
  async runOnce(): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < this.maxBatchesPerRun; batch += 1) {
      const looked = await this.orders.closeExpired(this.batchSize);
      total += looked;
      if (looked < this.batchSize) break;
    }
    return total;
  }
}
