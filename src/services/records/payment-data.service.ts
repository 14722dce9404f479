import type { Config } from '../../config/config.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import { type Clock, dayMs } from '../../domain/clock.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { formatMinorUnits, isCurrencyCode } from '../../domain/money.ts';
import { miniProgramRepository } from '../../repositories/mini-program.repository.ts';
import { paymentConfigRepository } from '../../repositories/payment-config.repository.ts';
import { superappRepository } from '../../repositories/superapp.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';
import {
  paymentStatsRepository,
  type DayWindow,
  type Figures,
  type MiniProgramFigures,
  type PaymentFilter,
} from '../../repositories/payment-stats.repository.ts';
import { businessDateOf, businessDayRange } from '../../domain/business-time.ts';
import type { PaymentStatsService } from './payment-stats.service.ts';
import { listScopeOf } from './record-access.ts';
import { scopeIncludes, type RecordScope } from '../../domain/record-scope.ts';

export interface PaymentDataQueryInput {
  timeBegin: number;
  timeEnd: number;
  mnpIds?: string[] | undefined;
  /** 1 production, 0 sandbox; omitted both. */
  dataType?: 0 | 1 | undefined;
  /** 0 all, 2 Android, 3 iOS. */
  platform?: 0 | 2 | 3 | undefined;
  currency?: string | undefined;
  /** 1 standard payment (the default), 2 virtual payment. */
  paymentType?: 1 | 2 | undefined;
}

/** The figures of SPEC §3 for one set of orders; amounts are major-unit strings in the currency's exponent. */
export interface PaymentFigures {
  OrderMNPNum: number;
  OrderNum: number;
  OrderPaidNum: number;
  OrderRefundNum: number;
  OrderUnpaidNum: number;
  OrderUserNum: number;
  PaidUserNum: number;
  PaidAmount: string;
  RefundAmount: string;
  TotalAmount: string;
  UnpaidAmount: string;
  Currency: string;
  UpdateTime: number;
  DataTime: string;
}

/** The standard IndexIds of `DescribePaymentDataLineChart` (SPEC §8.7) and the figure each one draws. */
export const standardPaymentIndexes = {
  order_user_num: 'OrderUserNum',
  order_num: 'OrderNum',
  total_amount: 'TotalAmount',
  order_unpaid_num: 'OrderUnpaidNum',
  unpaid_amount: 'UnpaidAmount',
  order_paid_num: 'OrderPaidNum',
  paid_amount: 'PaidAmount',
  order_refund_num: 'OrderRefundNum',
  refund_amount: 'RefundAmount',
} as const satisfies Record<string, keyof PaymentFigures>;

export type StandardPaymentIndexId = keyof typeof standardPaymentIndexes;

/** A line chart's query: whole business days `YYYY-MM-DD` (QueryData's `BeginDate` / `EndDate`). */
export interface PaymentLineChartInput extends Omit<PaymentDataQueryInput, 'timeBegin' | 'timeEnd'> {
  indexId: StandardPaymentIndexId;
  beginDay: string;
  endDay: string;
}

/** One line of a chart (TCSAS `ReportDataResult`): `DataResult` is base64 of `[{"DataTime":"YYYYMMDD","Value":"…"}]`. */
export interface ReportDataResult {
  DataResult: string;
  ExecSql: null;
  /** Milliseconds the figures took. */
  ExecTime: number;
  IndexId: string;
}

const maxRangeMs = 366 * dayMs;
const noUsers = { users: 0, paidUsers: 0 };

function sumFigures(rows: readonly Figures[]): Figures {
  const total: Figures = { order_count: 0, paid_count: 0, refund_order_count: 0, total_amount: 0n, paid_amount: 0n, refund_amount: 0n };
  for (const row of rows) {
    total.order_count += row.order_count;
    total.paid_count += row.paid_count;
    total.refund_order_count += row.refund_order_count;
    total.total_amount += row.total_amount;
    total.paid_amount += row.paid_amount;
    total.refund_amount += row.refund_amount;
  }
  return total;
}

const shiftDay = (day: string, by: number) => {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, date + by)).toISOString().slice(0, 10);
};
const nextDay = (day: string) => shiftDay(day, 1);
const previousDay = (day: string) => shiftDay(day, -1);

/**
 * Payment data (SPEC §3, §7): every figure counts orders by their creation business day, in one
 * currency; distinct users are distinct over the whole range asked, never sums of days. Whole days come
 * from the daily figures (payment-stats.service.ts, brought up to date first); a range that starts or
 * ends inside a day counts that part of the day straight from the orders; distinct users are always
 * counted from the orders, one index range per day.
 */
export class PaymentDataService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Config,
    private readonly stats: PaymentStatsService,
  ) {}

  async overview(actor: Actor, input: PaymentDataQueryInput): Promise<PaymentFigures> {
    const { filter, currency } = await this.filterFor(actor, input);
    await this.stats.refresh();
    const { whole, partial } = this.split(input);
    const kept = whole ? await paymentStatsRepository.statsTotals(this.db, filter, whole.from, whole.to) : undefined;
    const parts = await Promise.all(
      partial.map((window) => paymentStatsRepository.ordersFigures(this.db, filter, window.startMs, window.endMs)),
    );
    const miniPrograms = new Set([...(kept?.miniPrograms ?? []), ...parts.flat().map((row) => row.mnp_id)]);
    const users =
      (await paymentStatsRepository.distinctUsers(this.db, this.config.databaseKind, filter, input.timeBegin, input.timeEnd + 1)).get(0) ??
      noUsers;
    const dataTime = businessDateOf(input.timeEnd, this.config.timezone).replaceAll('-', '');
    return this.figures(sumFigures([...(kept ? [kept.figures] : []), ...parts.flat()]), miniPrograms.size, users, currency, dataTime);
  }

  async detail(actor: Actor, input: PaymentDataQueryInput): Promise<PaymentFigures[]> {
    const { filter, currency } = await this.filterFor(actor, input);
    await this.stats.refresh();
    const { whole, partial } = this.split(input);
    const kept = new Map(
      (whole ? await paymentStatsRepository.statsByDay(this.db, filter, whole.from, whole.to) : []).map((row) => [row.day, row]),
    );
    const clipped = new Map<string, MiniProgramFigures[]>();
    for (const window of partial)
      clipped.set(window.day, await paymentStatsRepository.ordersFigures(this.db, filter, window.startMs, window.endMs));
    const windows = businessDaysBetween(input.timeBegin, input.timeEnd, this.config.timezone).map((day) => ({
      day,
      ...businessDayRange(day, this.config.timezone)!,
    }));
    const users = await this.usersByDay(filter, windows, input);
    return windows.map(({ day }) => {
      const dataTime = day.replaceAll('-', '');
      const part = clipped.get(day);
      if (part)
        return this.figures(sumFigures(part), new Set(part.map((row) => row.mnp_id)).size, users.get(day) ?? noUsers, currency, dataTime);
      const row = kept.get(day);
      return this.figures(row ?? sumFigures([]), row?.mini_programs ?? 0, users.get(day) ?? noUsers, currency, dataTime);
    });
  }

  /** One figure per business day of the range, as a line chart draws it (SPEC §8.7, standard payment). */
  async lineChart(actor: Actor, input: PaymentLineChartInput): Promise<ReportDataResult[]> {
    const started = performance.now();
    const first = businessDayRange(input.beginDay, this.config.timezone);
    const last = businessDayRange(input.endDay, this.config.timezone);
    if (!first) throw new AppError('InvalidParameterValue', 'QueryData.BeginDate is not a day (YYYYMMDD)', { field: 'QueryData' });
    if (!last) throw new AppError('InvalidParameterValue', 'QueryData.EndDate is not a day (YYYYMMDD)', { field: 'QueryData' });
    const days = await this.detail(actor, { ...input, timeBegin: first.startMs, timeEnd: last.endMs - 1 });
    const figure = standardPaymentIndexes[input.indexId];
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

  /** Distinct users per business day: one query when every day is 24 hours long, else one per day. */
  private async usersByDay(
    filter: PaymentFilter,
    windows: DayWindow[],
    input: PaymentDataQueryInput,
  ): Promise<Map<string, { users: number; paidUsers: number }>> {
    const { databaseKind } = this.config;
    const first = windows[0]!;
    const uniform = windows.every(
      (window, index) => window.startMs === first.startMs + index * dayMs && window.endMs - window.startMs === dayMs,
    );
    const out = new Map<string, { users: number; paidUsers: number }>();
    if (uniform) {
      const byIndex = await paymentStatsRepository.distinctUsers(
        this.db,
        databaseKind,
        filter,
        input.timeBegin,
        input.timeEnd + 1,
        first.startMs,
      );
      windows.forEach((window, index) => out.set(window.day, byIndex.get(index) ?? noUsers));
      return out;
    }
    for (const window of windows) {
      const users = await paymentStatsRepository.distinctUsers(
        this.db,
        databaseKind,
        filter,
        Math.max(window.startMs, input.timeBegin),
        Math.min(window.endMs, input.timeEnd + 1),
      );
      out.set(window.day, users.get(0) ?? noUsers);
    }
    return out;
  }

  /**
   * The range as whole business days (answered from the kept figures) and at most two clipped days at
   * its ends (counted from the orders).
   */
  private split(input: PaymentDataQueryInput): { whole?: { from: string; to: string }; partial: DayWindow[] } {
    const timeZone = this.config.timezone;
    const firstDay = businessDateOf(input.timeBegin, timeZone);
    const lastDay = businessDateOf(input.timeEnd, timeZone);
    const first = businessDayRange(firstDay, timeZone)!;
    const last = businessDayRange(lastDay, timeZone)!;
    const end = input.timeEnd + 1;
    const partial: DayWindow[] = [];
    let from = firstDay;
    let to = lastDay;
    if (firstDay === lastDay) {
      if (input.timeBegin > first.startMs || end < first.endMs)
        return { partial: [{ day: firstDay, startMs: input.timeBegin, endMs: end }] };
      return { whole: { from, to }, partial };
    }
    if (input.timeBegin > first.startMs) {
      partial.push({ day: firstDay, startMs: input.timeBegin, endMs: first.endMs });
      from = nextDay(firstDay);
    }
    if (end < last.endMs) {
      partial.push({ day: lastDay, startMs: last.startMs, endMs: end });
      to = previousDay(lastDay);
    }
    return from <= to ? { whole: { from, to }, partial } : { partial };
  }

  /** The filter a payment data query reads with: its range checked, its scope and currency settled (SPEC §7). */
  async filterFor(actor: Actor, input: PaymentDataQueryInput) {
    if (input.timeEnd < input.timeBegin)
      throw new AppError('InvalidParameterValue', 'TimeEnd must not be before TimeBegin', { field: 'TimeEnd' });
    if (input.timeEnd - input.timeBegin > maxRangeMs) {
      throw new AppError('InvalidParameterValue.TimeRangeExceeded', 'Payment data covers at most 366 days per request', {
        field: 'TimeBegin',
      });
    }
    const scope = await listScopeOf(this.db, actor, 'order.view', input.mnpIds);
    const mnpIds = input.mnpIds?.length ? [...new Set(input.mnpIds)] : undefined;
    const applicationIdForCurrency = mnpIds ? await this.requireVisibleMiniPrograms(scope, mnpIds) : await this.anySuperappOf(scope);
    const currency = input.currency ?? (await this.defaultCurrency(applicationIdForCurrency));
    if (!isCurrencyCode(currency))
      throw new AppError('InvalidParameterValue', `Currency: ${currency} is not an ISO 4217 code Paythrough knows`, { field: 'Currency' });
    const filter: PaymentFilter = {
      scope,
      currency,
      mnpIds,
      sandbox: input.dataType === undefined ? undefined : input.dataType === 1 ? 0 : 1,
      clientPlatform: input.platform === 2 || input.platform === 3 ? input.platform : undefined,
      paymentType: input.paymentType ?? 1,
    };
    return { filter, currency };
  }

  private figures(
    figures: Figures,
    miniPrograms: number,
    users: { users: number; paidUsers: number },
    currency: string,
    dataTime: string,
  ): PaymentFigures {
    const {
      order_count: orderNum,
      paid_count: paidNum,
      refund_order_count: refundNum,
      total_amount: total,
      paid_amount: paid,
      refund_amount: refunded,
    } = figures;
    return {
      OrderMNPNum: miniPrograms,
      OrderNum: orderNum,
      OrderPaidNum: paidNum,
      OrderRefundNum: refundNum,
      OrderUnpaidNum: orderNum - paidNum,
      OrderUserNum: users.users,
      PaidUserNum: users.paidUsers,
      PaidAmount: formatMinorUnits(paid, currency),
      RefundAmount: formatMinorUnits(refunded, currency),
      TotalAmount: formatMinorUnits(total, currency),
      UnpaidAmount: formatMinorUnits(total - paid, currency),
      Currency: currency,
      UpdateTime: this.clock.nowMs(),
      DataTime: dataTime,
    };
  }

  /** Every asked mini program must be inside the scope; returns the first one's superapp. */
  private async requireVisibleMiniPrograms(scope: RecordScope, mnpIds: string[]): Promise<string | undefined> {
    const rows = await miniProgramRepository.listWithSuperapp(this.db, mnpIds);
    for (const mnpId of mnpIds) {
      const row = rows.find((candidate) => candidate.id === mnpId);
      if (!row || !scopeIncludes(scope, { miniProgramTeamId: row.team_id, applicationId: row.superapp_id ?? '' }))
        throw notFound(`Mini program ${mnpId}`);
    }
    return rows.find((row) => row.id === mnpIds[0])?.superapp_id ?? undefined;
  }

  private async anySuperappOf(scope: RecordScope): Promise<string | undefined> {
    if (!scope.all && scope.applicationIds[0]) return scope.applicationIds[0];
    if (!scope.all && scope.miniProgramTeamIds[0]) {
      return (await teamRepository.findById(this.db, scope.miniProgramTeamIds[0]))?.superapp_id ?? undefined;
    }
    return (await superappRepository.findOldest(this.db))?.id;
  }

  private async defaultCurrency(applicationId: string | undefined): Promise<string> {
    if (!applicationId) return 'CNY';
    const config = await paymentConfigRepository.find(this.db, applicationId);
    const currencies = config ? (JSON.parse(config.currencies_json) as string[]) : [];
    return currencies[0] ?? 'CNY';
  }
}

/** The business days (YYYY-MM-DD) from the day of `fromMs` to the day of `toMs`, inclusive. */
export function businessDaysBetween(fromMs: number, toMs: number, timeZone: string): string[] {
  const last = businessDateOf(toMs, timeZone);
  const days: string[] = [];
  let day = businessDateOf(fromMs, timeZone);
  while (day <= last) {
    days.push(day);
    const [year, month, date] = day.split('-').map(Number) as [number, number, number];
    day = new Date(Date.UTC(year, month - 1, date + 1)).toISOString().slice(0, 10);
  }
  return days;
}
