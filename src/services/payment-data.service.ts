import type { Kysely } from 'kysely';
import type { Config } from '../config/config.ts';
import type { Database } from '../db/schema.ts';
import type { Actor } from '../domain/access.ts';
import type { Clock } from '../domain/clock.ts';
import { AppError, notFound } from '../domain/errors.ts';
import { formatMinorUnits, isCurrencyCode } from '../domain/money.ts';
import { paymentDataRepository } from '../repositories/payment-data.repository.ts';
import { businessDateOf } from './bill-time.ts';
import { recordScopeOf, scopeIncludes, type RecordScope } from './record-scope.ts';

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

type CountedOrder = { mnp_id: string; created_at: number; amount_total: number; refund_succeeded: number; payer_openid: string; success_time: number | null };

const maxRangeMs = 366 * 24 * 60 * 60 * 1000;

/**
 * Payment data (SPEC §3, §7): every figure counts orders by their creation business day, in one
 * currency; distinct users are distinct over the whole range asked, never sums of days.
 */
export class PaymentDataService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly config: Config,
  ) {}

  async overview(actor: Actor, input: PaymentDataQueryInput): Promise<PaymentFigures> {
    const { orders, currency } = await this.load(actor, input);
    return this.figures(orders, currency, businessDateOf(input.timeEnd, this.config.timezone).replaceAll('-', ''));
  }

  async detail(actor: Actor, input: PaymentDataQueryInput): Promise<PaymentFigures[]> {
    const { orders, currency } = await this.load(actor, input);
    const byDay = new Map<string, CountedOrder[]>();
    for (const order of orders) {
      const day = businessDateOf(order.created_at, this.config.timezone);
      byDay.set(day, [...(byDay.get(day) ?? []), order]);
    }
    return businessDaysBetween(input.timeBegin, input.timeEnd, this.config.timezone).map((day) =>
      this.figures(byDay.get(day) ?? [], currency, day.replaceAll('-', '')),
    );
  }

  private async load(actor: Actor, input: PaymentDataQueryInput) {
    if (input.timeEnd < input.timeBegin) throw new AppError('InvalidParameterValue', 'TimeEnd must not be before TimeBegin', { field: 'TimeEnd' });
    if (input.timeEnd - input.timeBegin > maxRangeMs) {
      throw new AppError('InvalidParameterValue.TimeRangeExceeded', 'Payment data covers at most 366 days per request', { field: 'TimeBegin' });
    }
    const scope = await recordScopeOf(this.db, actor, 'order.view');
    const mnpIds = input.mnpIds?.length ? [...new Set(input.mnpIds)] : undefined;
    const applicationIdForCurrency = mnpIds ? await this.requireVisibleMiniPrograms(scope, mnpIds) : await this.anySuperappOf(scope);
    const currency = input.currency ?? (await this.defaultCurrency(applicationIdForCurrency));
    if (!isCurrencyCode(currency)) throw new AppError('InvalidParameterValue', `Currency: ${currency} is not an ISO 4217 code Paythrough knows`, { field: 'Currency' });
    const orders = await paymentDataRepository.ordersCreatedIn(this.db, {
      scope,
      createdFrom: input.timeBegin,
      createdTo: input.timeEnd,
      currency,
      mnpIds,
      sandbox: input.dataType === undefined ? undefined : input.dataType === 1 ? 0 : 1,
      clientPlatform: input.platform === 2 || input.platform === 3 ? input.platform : undefined,
    });
    return { orders, currency };
  }

  private figures(orders: CountedOrder[], currency: string, dataTime: string): PaymentFigures {
    let paidNum = 0;
    let refundNum = 0;
    let total = 0;
    let paid = 0;
    let refunded = 0;
    const miniPrograms = new Set<string>();
    const users = new Set<string>();
    const paidUsers = new Set<string>();
    for (const order of orders) {
      miniPrograms.add(order.mnp_id);
      if (order.payer_openid) users.add(order.payer_openid);
      total += order.amount_total;
      if (order.success_time !== null) {
        paidNum += 1;
        paid += order.amount_total;
        if (order.payer_openid) paidUsers.add(order.payer_openid);
      }
      if (order.refund_succeeded > 0) {
        refundNum += 1;
        refunded += order.refund_succeeded;
      }
    }
    return {
      OrderMNPNum: miniPrograms.size,
      OrderNum: orders.length,
      OrderPaidNum: paidNum,
      OrderRefundNum: refundNum,
      OrderUnpaidNum: orders.length - paidNum,
      OrderUserNum: users.size,
      PaidUserNum: paidUsers.size,
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
