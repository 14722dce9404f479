import type { Config } from '../../config/config.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { paymentStatsRepository, type DayWindow } from '../../repositories/payment-stats.repository.ts';
import { settingRepository } from '../../repositories/setting.repository.ts';
import { businessDateOf, businessDayRange } from '../../domain/business-time.ts';

const timeZoneSetting = 'payment_stats.timezone';

/** The business day an instant falls on, as a [start, end) window. */
export function dayWindowOf(ms: number, timeZone: string): DayWindow {
  const day = businessDateOf(ms, timeZone);
  const range = businessDayRange(day, timeZone)!;
  return { day, startMs: range.startMs, endMs: range.endMs };
}

/**
 * Keeps `payment_daily_stats` current: triggers on `orders` queue every changed order's
 * (mini program, creation time); a refresh recomputes each touched (mini program, business day) from
 * the orders and removes what it handled. Run by a job on every instance and before every payment data
 * answer, so answers always include committed orders. A changed time zone (or the first run on orders
 * that predate the table) rebuilds everything.
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
   * Counts what changed since the last refresh; returns how many (mini program, day) pairs were recomputed.
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
    let recomputed = 0;
    for (;;) {
      const dirty = await paymentStatsRepository.dirtyBatch(this.db, this.batchSize);
      if (dirty.length === 0) return recomputed;
      const pairs = new Map<string, { mnpId: string; window: DayWindow }>();
      for (const row of dirty) {
        const window = dayWindowOf(Number(row.created_at), this.config.timezone);
        pairs.set(`${row.mnp_id}\u0000${window.day}`, { mnpId: row.mnp_id, window });
      }
      await this.db.transaction().execute(async (trx) => {
        await paymentStatsRepository.lockForWrite(trx, this.config.databaseKind);
        const now = this.clock.nowMs();
        for (const { mnpId, window } of pairs.values()) await paymentStatsRepository.recomputeDay(trx, mnpId, window, now);
        // Exactly the rows read: a change queued meanwhile (even with a lower id) waits for the next round.
        await paymentStatsRepository.deleteDirty(
          trx,
          dirty.map((row) => Number(row.id)),
        );
      });
      recomputed += pairs.size;
      if (dirty.length < this.batchSize) return recomputed;
    }
  }

  /** Recounts every business day that has orders (changes queued meanwhile are counted again later). */
  async rebuild(): Promise<number> {
    let days = 0;
    await this.db.transaction().execute(async (trx) => {
      await paymentStatsRepository.lockForWrite(trx, this.config.databaseKind);
      await paymentStatsRepository.clearAll(trx);
    });
    let next = await paymentStatsRepository.firstCreatedFrom(this.db, 0);
    while (next !== undefined) {
      const window = dayWindowOf(next, this.config.timezone);
      await this.db.transaction().execute(async (trx) => {
        await paymentStatsRepository.lockForWrite(trx, this.config.databaseKind);
        await paymentStatsRepository.recomputeDay(trx, null, window, this.clock.nowMs());
      });
      days += 1;
      next = await paymentStatsRepository.firstCreatedFrom(this.db, window.endMs);
    }
    await settingRepository.put(this.db, timeZoneSetting, this.config.timezone);
    return days;
  }
}
