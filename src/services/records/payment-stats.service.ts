import type { Config } from '../../config/config.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import {
  paymentStatsRepository,
  type DayChange,
  type DayWindow,
  type PaymentStatsChangeRow,
} from '../../repositories/payment-stats.repository.ts';
import { settingRepository } from '../../repositories/setting.repository.ts';
import { businessDateOf, businessDayRange } from '../../domain/business-time.ts';

const timeZoneSetting = 'payment_stats.timezone';

const summedFigures = ['order_count', 'paid_count', 'refund_order_count', 'total_amount', 'paid_amount', 'refund_amount'] as const;

/** The business day an instant falls on, as a [start, end) window. */
export function dayWindowOf(ms: number, timeZone: string): DayWindow {
  const day = businessDateOf(ms, timeZone);
  const range = businessDayRange(day, timeZone)!;
  return { day, startMs: range.startMs, endMs: range.endMs };
}

/**
 * Keeps `payment_daily_stats` current: triggers on `orders` write every order's change to its day's figures as a
 * signed change row; a refresh sums the changes per (mini program, business day, …) and adds them, so its work
 * follows what changed, not how many orders the day holds. Run by a job on every instance and before every payment
 * data answer, so answers always include committed orders. A changed time zone (or the first run on orders that
 * predate the changes) rebuilds everything.
 */
export class PaymentStatsService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone' | 'databaseKind'>,
    private readonly batchSize = 2_000,
  ) {}

  private running: Promise<number> | undefined;
  private following: Promise<number> | undefined;

  /**
   * Adds what changed since the last refresh; returns how many changes were added.
   * One refresh at a time per instance: callers that arrive while one runs share the next one (it may have
   * read its batch before their orders committed), so concurrent payment data requests do not each hold a
   * pooled connection while they wait for the stats lock (pool exhaustion under load).
   */
  refresh(): Promise<number> {
    if (!this.running) {
      this.running = this.refreshNow().finally(() => (this.running = undefined));
      return this.running;
    }
    this.following ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.following = undefined;
        return this.refresh();
      });
    return this.following;
  }

  private async refreshNow(): Promise<number> {
    if ((await settingRepository.get(this.db, timeZoneSetting)) !== this.config.timezone) await this.rebuild();
    let added = 0;
    for (;;) {
      const taken = await this.db.transaction().execute(async (trx) => {
        await paymentStatsRepository.lockForWrite(trx, this.config.databaseKind);
        const changes = await paymentStatsRepository.takeChanges(trx, this.batchSize);
        await paymentStatsRepository.addToDays(trx, this.sumByDay(changes), this.clock.nowMs());
        return changes.length;
      });
      added += taken;
      if (taken < this.batchSize) return added;
    }
  }

  /** The changes summed per row of the daily figures, exactly (bigint), in the configured business time zone. */
  private sumByDay(changes: readonly PaymentStatsChangeRow[]): DayChange[] {
    const days = new Map<string, DayChange>();
    for (const change of changes) {
      const day = businessDateOf(Number(change.created_at), this.config.timezone);
      const key = [change.mnp_id, day, change.currency, change.sandbox, change.client_platform, change.payment_type].join('\u0000');
      let sum = days.get(key);
      if (!sum) {
        sum = {
          mnp_id: change.mnp_id,
          business_day: day,
          currency: change.currency,
          sandbox: Number(change.sandbox),
          client_platform: Number(change.client_platform),
          payment_type: Number(change.payment_type),
          application_id: change.application_id,
          mini_program_team_id: change.mini_program_team_id,
          order_count: 0n,
          paid_count: 0n,
          refund_order_count: 0n,
          total_amount: 0n,
          paid_amount: 0n,
          refund_amount: 0n,
        };
        days.set(key, sum);
      }
      for (const figure of summedFigures) sum[figure] += BigInt(String(change[figure]));
    }
    return [...days.values()];
  }

  /**
   * Recounts every business day that has orders from the orders themselves, and drops the changes that recount
   * includes: both in one snapshot (repeatable read on PostgreSQL, taken after the stats lock), so a change
   * committed meanwhile is added by the next refresh, once.
   */
  async rebuild(): Promise<number> {
    let days = 0;
    const transaction = this.db.transaction();
    const isolated = this.config.databaseKind === 'postgres' ? transaction.setIsolationLevel('repeatable read') : transaction;
    await isolated.execute(async (trx) => {
      await paymentStatsRepository.lockForWrite(trx, this.config.databaseKind);
      await paymentStatsRepository.clearChanges(trx);
      await paymentStatsRepository.clearAll(trx);
      let next = await paymentStatsRepository.firstCreatedFrom(trx, 0);
      while (next !== undefined) {
        const window = dayWindowOf(next, this.config.timezone);
        await paymentStatsRepository.recomputeDay(trx, null, window, this.clock.nowMs());
        days += 1;
        next = await paymentStatsRepository.firstCreatedFrom(trx, window.endMs);
      }
      await settingRepository.put(trx, timeZoneSetting, this.config.timezone);
    });
    return days;
  }
}
