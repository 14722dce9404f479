import type { Kysely } from 'kysely';
import type { Config } from '../config/config.ts';
import type { Database } from '../db/schema.ts';
import type { Actor } from '../domain/access.ts';
import type { Clock } from '../domain/clock.ts';
import { AppError, notFound } from '../domain/errors.ts';
import { formatMinorUnits, isCurrencyCode } from '../domain/money.ts';
import { paymentStatsRepository, type DayWindow, type MiniProgramFigures, type PaymentFilter } from '../repositories/payment-stats.repository.ts';
import { businessDateOf, businessDayRange } from './bill-time.ts';
import type { PaymentStatsService } from './payment-stats.service.ts';
import { listScopeOf } from './record-access.ts';
import { scopeIncludes, type RecordScope } from './record-scope.ts';

export interface PaymentDataQueryInput {
  timeBegin: number;
  timeEnd: number;
  mnpIds?: string[] | undefined;
  /** 1 production, 0 sandbox; omitted both. */
  dataType?: 0 | 1 | undefined;
  /** 0 all, 2 Android, 3 iOS. */
  platform?: 0 | 2 | 3 | undefined;
  currency?: string | undefined;
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


const maxRangeMs = 366 * 24 * 60 * 60 * 1000;

/**
 * Payment data (SPEC §3, §7): every figure counts orders by their creation business day, in one
 * currency; distinct users are distinct over the whole range asked, never sums of days. Whole days come
 * from the daily figures (payment-stats.service.ts, brought up to date first); a range that starts or
 * ends inside a day counts that part of the day straight from the orders; distinct users are always
 * counted from the orders, one index range per day.
 */
export class PaymentDataService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly config: Config,
    private readonly stats: PaymentStatsService,
  ) {}

  async overview(actor: Actor, input: PaymentDataQueryInput): Promise<PaymentFigures> {
    const { filter, currency } = await this.load(actor, input);
    const windows = this.windowsOf(input);
    const days = await this.dayFigures(filter, windows);
    const range: DayWindow = { day: 'range', startMs: input.timeBegin, endMs: input.timeEnd + 1 };
    const users = (await paymentStatsRepository.distinctUsers(this.db, filter, [range])).get('range') ?? { users: 0, paidUsers: 0 };
    return this.figures(
      days.flatMap((day) => day.miniPrograms),
      users,
      currency,
      businessDateOf(input.timeEnd, this.config.timezone).replaceAll('-', ''),
    );
  }

  async detail(actor: Actor, input: PaymentDataQueryInput): Promise<PaymentFigures[]> {
    const { filter, currency } = await this.load(actor, input);
    const windows = this.windowsOf(input);
    const days = await this.dayFigures(filter, windows);
    const users = await paymentStatsRepository.distinctUsers(this.db, filter, windows);
    return days.map((day) => this.figures(day.miniPrograms, users.get(day.day) ?? { users: 0, paidUsers: 0 }, currency, day.day.replaceAll('-', '')));
  }

  /** Each business day of the range, clipped to it: [start, end) windows, `whole` when nothing was clipped. */
  private windowsOf(input: PaymentDataQueryInput): (DayWindow & { whole: boolean })[] {
    return businessDaysBetween(input.timeBegin, input.timeEnd, this.config.timezone).map((day) => {
      const range = businessDayRange(day, this.config.timezone)!;
      const startMs = Math.max(range.startMs, input.timeBegin);
      const endMs = Math.min(range.endMs, input.timeEnd + 1);
      return { day, startMs, endMs, whole: startMs === range.startMs && endMs === range.endMs };
    });
  }

  /** Whole days from the kept figures; a clipped first or last day from the orders themselves. */
  private async dayFigures(filter: PaymentFilter, windows: (DayWindow & { whole: boolean })[]): Promise<{ day: string; miniPrograms: MiniProgramFigures[] }[]> {
    await this.stats.refresh();
    const whole = windows.filter((window) => window.whole);
    const kept = whole.length ? await paymentStatsRepository.statsByDay(this.db, filter, whole[0]!.day, whole[whole.length - 1]!.day) : [];
    const out = [];
    for (const window of windows) {
      const miniPrograms = window.whole
        ? kept.filter((row) => row.day === window.day)
        : await paymentStatsRepository.ordersFigures(this.db, filter, window.startMs, window.endMs);
      out.push({ day: window.day, miniPrograms });
    }
    return out;
  }

  private async load(actor: Actor, input: PaymentDataQueryInput) {
    if (input.timeEnd < input.timeBegin) throw new AppError('InvalidParameterValue', 'TimeEnd must not be before TimeBegin', { field: 'TimeEnd' });
    if (input.timeEnd - input.timeBegin > maxRangeMs) {
      throw new AppError('InvalidParameterValue.TimeRangeExceeded', 'Payment data covers at most 366 days per request', { field: 'TimeBegin' });
    }
    const scope = await listScopeOf(this.db, actor, 'order.view', input.mnpIds);
    const mnpIds = input.mnpIds?.length ? [...new Set(input.mnpIds)] : undefined;
    const applicationIdForCurrency = mnpIds ? await this.requireVisibleMiniPrograms(scope, mnpIds) : await this.anySuperappOf(scope);
    const currency = input.currency ?? (await this.defaultCurrency(applicationIdForCurrency));
    if (!isCurrencyCode(currency)) throw new AppError('InvalidParameterValue', `Currency: ${currency} is not an ISO 4217 code Paythrough knows`, { field: 'Currency' });
    const filter: PaymentFilter = {
      scope,
      currency,
      mnpIds,
      sandbox: input.dataType === undefined ? undefined : input.dataType === 1 ? 0 : 1,
      clientPlatform: input.platform === 2 || input.platform === 3 ? input.platform : undefined,
    };
    return { filter, currency };
  }

  private figures(miniPrograms: MiniProgramFigures[], users: { users: number; paidUsers: number }, currency: string, dataTime: string): PaymentFigures {
    let orderNum = 0;
    let paidNum = 0;
    let refundNum = 0;
    let total = 0;
    let paid = 0;
    let refunded = 0;
    const withOrders = new Set<string>();
    for (const figures of miniPrograms) {
      if (figures.order_count > 0) withOrders.add(figures.mnp_id);
      orderNum += figures.order_count;
      paidNum += figures.paid_count;
      refundNum += figures.refund_order_count;
      total += figures.total_amount;
      paid += figures.paid_amount;
      refunded += figures.refund_amount;
    }
    return {
      OrderMNPNum: withOrders.size,
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
    const rows = await this.db
      .selectFrom('mini_programs')
      .innerJoin('teams', 'teams.id', 'mini_programs.team_id')
      .select(['mini_programs.id', 'mini_programs.team_id', 'teams.superapp_id'])
      .where('mini_programs.id', 'in', mnpIds)
      .execute();
    for (const mnpId of mnpIds) {
      const row = rows.find((candidate) => candidate.id === mnpId);
      if (!row || !scopeIncludes(scope, { miniProgramTeamId: row.team_id, applicationId: row.superapp_id ?? '' })) throw notFound(`Mini program ${mnpId}`);
    }
    return rows.find((row) => row.id === mnpIds[0])?.superapp_id ?? undefined;
  }

  private async anySuperappOf(scope: RecordScope): Promise<string | undefined> {
    if (!scope.all && scope.applicationIds[0]) return scope.applicationIds[0];
    if (!scope.all && scope.miniProgramTeamIds[0]) {
      return (await this.db.selectFrom('teams').select('superapp_id').where('id', '=', scope.miniProgramTeamIds[0]).executeTakeFirst())?.superapp_id ?? undefined;
    }
    return (await this.db.selectFrom('superapps').select('id').orderBy('created_at', 'asc').executeTakeFirst())?.id;
  }

  private async defaultCurrency(applicationId: string | undefined): Promise<string> {
    if (!applicationId) return 'CNY';
    const config = await this.db.selectFrom('superapp_payment_configs').select('currencies_json').where('superapp_id', '=', applicationId).executeTakeFirst();
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
