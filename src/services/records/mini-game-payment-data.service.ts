import type { Config } from '../../config/config.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import { businessDateOf, businessDayRange } from '../../domain/business-time.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { currencyExponent, formatMinorUnits } from '../../domain/money.ts';
import { miniGamePaymentRepository } from '../../repositories/mini-game-payment.repository.ts';
import type { PaymentFilter } from '../../repositories/payment-stats.repository.ts';
import { businessDaysBetween, type PaymentDataService, type ReportDataResult } from './payment-data.service.ts';

/** TCSAS `MNGPaymentOverview` (SPEC §8.7): amounts in major units, ratios and ARPPU with two places, UpdateTime in seconds. */
export interface MNGPaymentOverview {
  ARPPu: string;
  DataTime: string;
  NewPaidUseRatio: string;
  NewPaidUserNum: number;
  NewUserPaidAmount: string;
  PaidAmount: string;
  PaidUserNum: number;
  RefundAmount: string;
  RefundNum: number;
  UpdateTime: number;
}

/** The retention days TCSAS reports, by field. */
const retentionDays = {
  OneDayRetentionUsers: 1,
  TwoDayRetentionUsers: 2,
  ThreeDayRetentionUsers: 3,
  FourDayRetentionUsers: 4,
  FiveDayRetentionUsers: 5,
  SixDayRetentionUsers: 6,
  SevenDayRetentionUsers: 7,
  FourteenDayRetentionUsers: 14,
  FifteenDayRetentionUsers: 15,
  ThirtyDayRetentionUsers: 30,
} as const;

/** TCSAS `PaymentActiveRetention`: a day's payers, and how many of them ordered again N days later (null before that day). */
export type PaymentActiveRetention = { DataTime: string; PaymentUserNum: number } & Record<keyof typeof retentionDays, number | null>;

/** The mini game IndexIds of `DescribeMNGPaymentLineChart` and the figure each one draws. */
export const miniGamePaymentIndexes = {
  mng_paid_amount: 'PaidAmount',
  paid_user_num: 'PaidUserNum',
  new_paid_user_num: 'NewPaidUserNum',
  new_paid_user_amount: 'NewUserPaidAmount',
  new_paid_user_ratio: 'NewPaidUseRatio',
  arppu: 'ARPPu',
  mng_refund_num: 'RefundNum',
  mng_refund_amount: 'RefundAmount',
} as const satisfies Record<string, keyof MNGPaymentOverview>;

export type MiniGamePaymentIndexId = keyof typeof miniGamePaymentIndexes;

export interface MiniGamePaymentQuery {
  /** Whole business days `YYYY-MM-DD`, or an instant range in ms (inclusive end). */
  range: { beginDay: string; endDay: string } | { timeBegin: number; timeEnd: number };
  mnpIds: string[];
  /** 1 production, 0 sandbox; omitted both. */
  dataType?: 0 | 1 | undefined;
  platform?: 0 | 2 | 3 | undefined;
  currency?: string | undefined;
}

interface DayWindow {
  day: string;
  startMs: number;
  endMs: number;
}

/** `a / b` with two decimal places, rounded half up; "0.00" when b is 0 (SPEC §8.7). */
function twoPlaces(numerator: bigint, denominator: bigint): string {
  if (denominator === 0n) return '0.00';
  const hundredths = (numerator * 200n + denominator) / (2n * denominator);
  return `${hundredths / 100n}.${String(hundredths % 100n).padStart(2, '0')}`;
}

/**
 * Payment data for mini games (SPEC §8.7, TCSAS 2025-01-06): virtual orders counted by the business day they were
 * paid. A new payer pays the mini game for the first time that day; `NewPaidUseRatio` is new payers over users who
 * created a virtual order that day × 100; day-N retention counts a day's payers who created a virtual order again N
 * days later (no app activity is seen). Refunds count on the day they succeeded. Distinct users are distinct over the
 * period asked, never sums of days.
 */
export class MiniGamePaymentDataService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone'>,
    private readonly paymentData: Pick<PaymentDataService, 'filterFor'>,
  ) {}

  async overview(actor: Actor, query: MiniGamePaymentQuery): Promise<MNGPaymentOverview> {
    const { filter, windows, fromMs, toMs } = await this.prepare(actor, query);
    const [figures] = await this.figures(filter, [{ day: windows.at(-1)!.day, startMs: fromMs, endMs: toMs }]);
    return figures!;
  }

  async reportDetail(actor: Actor, query: MiniGamePaymentQuery): Promise<MNGPaymentOverview[]> {
    const { filter, windows } = await this.prepare(actor, query);
    return this.figures(filter, windows);
  }

  async retention(actor: Actor, query: MiniGamePaymentQuery): Promise<PaymentActiveRetention[]> {
    const { filter, windows, fromMs, toMs } = await this.prepare(actor, query);
    const today = businessDateOf(this.clock.nowMs(), this.config.timezone);
    const paid = await miniGamePaymentRepository.paidIn(this.db, filter, fromMs, toMs);
    const horizon = businessDayRange(shiftDay(windows.at(-1)!.day, 30), this.config.timezone)!.endMs;
    const ordered = await miniGamePaymentRepository.orderedIn(this.db, filter, windows[0]!.startMs, horizon);
    const payersByDay = this.usersByDay(paid.map((row) => ({ openid: row.payer_openid, at: Number(row.success_time) })));
    const orderersByDay = this.usersByDay(ordered.map((row) => ({ openid: row.payer_openid, at: Number(row.created_at) })));
    return windows.map(({ day }) => {
      const payers = payersByDay.get(day) ?? new Set<string>();
      const retention = Object.fromEntries(
        Object.entries(retentionDays).map(([field, after]) => {
          const later = shiftDay(day, after);
          if (later > today) return [field, null];
          const orderers = orderersByDay.get(later);
          return [field, orderers ? [...payers].filter((openid) => orderers.has(openid)).length : 0];
        }),
      ) as Record<keyof typeof retentionDays, number | null>;
      return { DataTime: day.replaceAll('-', ''), PaymentUserNum: payers.size, ...retention };
    });
  }

  async lineChart(
    actor: Actor,
    input: Omit<MiniGamePaymentQuery, 'range'> & { indexId: MiniGamePaymentIndexId; beginDay: string; endDay: string },
  ): Promise<ReportDataResult[]> {
    const started = performance.now();
    const days = await this.reportDetail(actor, { ...input, range: { beginDay: input.beginDay, endDay: input.endDay } });
    const figure = miniGamePaymentIndexes[input.indexId];
    const points = days.map((day) => ({ DataTime: day.DataTime, Value: String(day[figure]) }));
    return [
      {
        DataResult: Buffer.from(JSON.stringify(points)).toString('base64'),
        ExecSql: null,
        ExecTime: Math.round(performance.now() - started),
        IndexId: input.indexId,
      },
    ];
  }

  /** The range as business-day windows (clipped at an instant range's ends), and the filter with its checks. */
  private async prepare(actor: Actor, query: MiniGamePaymentQuery) {
    const { timezone } = this.config;
    let fromMs: number;
    let toMs: number;
    if ('beginDay' in query.range) {
      const first = businessDayRange(query.range.beginDay, timezone);
      const last = businessDayRange(query.range.endDay, timezone);
      if (!first || !last) throw new AppError('InvalidParameterValue', 'Days are YYYYMMDD', { field: 'TimeBegin' });
      fromMs = first.startMs;
      toMs = last.endMs;
    } else {
      fromMs = query.range.timeBegin;
      toMs = query.range.timeEnd + 1;
    }
    const { filter, currency } = await this.paymentData.filterFor(actor, {
      timeBegin: fromMs,
      timeEnd: toMs - 1,
      mnpIds: query.mnpIds,
      dataType: query.dataType,
      platform: query.platform,
      currency: query.currency,
      paymentType: 2,
    });
    const windows: DayWindow[] = businessDaysBetween(fromMs, toMs - 1, timezone).map((day) => {
      const range = businessDayRange(day, timezone)!;
      return { day, startMs: Math.max(range.startMs, fromMs), endMs: Math.min(range.endMs, toMs) };
    });
    return { filter: { ...filter, currency } as PaymentFilter, windows, fromMs, toMs };
  }

  private async figures(filter: PaymentFilter, windows: DayWindow[]): Promise<MNGPaymentOverview[]> {
    const fromMs = windows[0]!.startMs;
    const toMs = windows.at(-1)!.endMs;
    const paid = await miniGamePaymentRepository.paidIn(this.db, filter, fromMs, toMs);
    const ordered = await miniGamePaymentRepository.orderedIn(this.db, filter, fromMs, toMs);
    const refunded = await miniGamePaymentRepository.refundedIn(this.db, filter, fromMs, toMs);
    const firstPaid = await miniGamePaymentRepository.firstPaidOf(this.db, filter, [...new Set(paid.map((row) => row.payer_openid))]);
    const inWindow = (window: DayWindow, at: number) => at >= window.startMs && at < window.endMs;
    const exponent = 10n ** BigInt(currencyExponent(filter.currency));
    const updateTime = Math.floor(this.clock.nowMs() / 1000);
    return windows.map((window) => {
      const payments = paid.filter((row) => inWindow(window, Number(row.success_time)));
      const payers = new Set(payments.map((row) => row.payer_openid));
      const newPayers = new Set([...payers].filter((openid) => inWindow(window, firstPaid.get(openid) ?? -1)));
      const paidAmount = payments.reduce((sum, row) => sum + BigInt(row.amount_total), 0n);
      const newPayerAmount = payments
        .filter((row) => newPayers.has(row.payer_openid))
        .reduce((sum, row) => sum + BigInt(row.amount_total), 0n);
      const orderUsers = new Set(ordered.filter((row) => inWindow(window, Number(row.created_at))).map((row) => row.payer_openid));
      const refunds = refunded.filter((row) => inWindow(window, Number(row.success_time)));
      return {
        ARPPu: twoPlaces(paidAmount, BigInt(payers.size) * exponent),
        DataTime: window.day.replaceAll('-', ''),
        NewPaidUseRatio: twoPlaces(BigInt(newPayers.size) * 100n, BigInt(orderUsers.size)),
        NewPaidUserNum: newPayers.size,
        NewUserPaidAmount: formatMinorUnits(newPayerAmount, filter.currency),
        PaidAmount: formatMinorUnits(paidAmount, filter.currency),
        PaidUserNum: payers.size,
        RefundAmount: formatMinorUnits(
          refunds.reduce((sum, row) => sum + BigInt(row.amount_refund), 0n),
          filter.currency,
        ),
        RefundNum: refunds.length,
        UpdateTime: updateTime,
      };
    });
  }

  /** Distinct users per business day of their instants. */
  private usersByDay(rows: { openid: string; at: number }[]): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const row of rows) {
      const day = businessDateOf(row.at, this.config.timezone);
      let users = out.get(day);
      if (!users) out.set(day, (users = new Set()));
      users.add(row.openid);
    }
    return out;
  }
}

const shiftDay = (day: string, by: number) => {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, date + by)).toISOString().slice(0, 10);
};
