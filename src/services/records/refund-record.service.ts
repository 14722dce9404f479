import type { PaymentType } from '../../db/order-schema.ts';
import type { Config } from '../../config/config.ts';
import type { RefundStatus } from '../../db/order-schema.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import { type Clock, dayMs, hourMs } from '../../domain/clock.ts';
import type { Capability } from '../../domain/permissions.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { orderRecordRepository } from '../../repositories/order-record.repository.ts';
import type { RecordPart, RecordSort } from '../../repositories/record-keyset.ts';
import { refundRecordRepository, type RefundListFilter } from '../../repositories/refund-record.repository.ts';
import { businessDateOf, businessDayRange } from '../../domain/business-time.ts';
import { detailScopeOf, listScopeOf } from './record-access.ts';
import {
  cappedCount,
  decodeCursor,
  keysetBatches,
  keysetPage,
  offsetPage,
  partsByState,
  recordPartsFor,
  type CappedCount,
} from './record-query.ts';
import { scopeIncludes } from '../../domain/record-scope.ts';
import {
  channelPaymentEntry,
  historyEntry,
  notificationEntry,
  orderFields,
  refundFields,
  refundListItem,
  type RefundListItem,
} from './record-views.ts';

export interface RefundRecordQuery {
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
  /** out_trade_no, transaction_id, or a virtual order's wx_order_id. */
  orderNo?: string | undefined;
  /** out_refund_no or refund_id. */
  refundNo?: string | undefined;
  statuses?: readonly RefundStatus[] | undefined;
  mnpIds?: readonly string[] | undefined;
  /** 1 standard, 2 virtual (SPEC §8.6); both when omitted. */
  paymentType?: PaymentType | undefined;
  /** Newest first (the default) or oldest first; exports follow it. */
  sort?: RecordSort | undefined;
}

export interface ResolvedRefundQuery {
  parts: RecordPart[];
  filter: RefundListFilter;
}

export interface RefundPage {
  items: RefundListItem[];
  nextCursor: string | null;
  /** The initiation-time range searched (defaults filled in). */
  range: { createdFrom: number; createdTo: number };
  total?: CappedCount;
}

/** The window a refund search may reach: from the same calendar date 12 months back, in the business zone. */
export function refundSearchWindow(nowMs: number, timeZone: string) {
  const [year, month, day] = businessDateOf(nowMs, timeZone).split('-').map(Number) as [number, number, number];
  // 29 February a year on is 28 February: clamp to the month's length.
  const lastDay = new Date(Date.UTC(year - 1, month, 0)).getUTCDate();
  const earliestYear = String(year - 1).padStart(4, '0');
  const earliestDate = `${earliestYear}-${String(month).padStart(2, '0')}-${String(Math.min(day, lastDay)).padStart(2, '0')}`;
  const today = businessDayRange(businessDateOf(nowMs, timeZone), timeZone)!;
  const sixDaysBack = businessDateOf(today.startMs - 6 * dayMs + 12 * hourMs, timeZone);
  return {
    earliestDate,
    earliestMs: businessDayRange(earliestDate, timeZone)!.startMs,
    /** The default range's start: today and the six business days before it. */
    pastSevenDaysMs: businessDayRange(sixDaysBack, timeZone)!.startMs,
  };
}

/**
 * The After-sales record (SPEC §5, §7): refunds by initiation time — the past 7 days by default, the last
 * 12 months with an order or refund number, never further back than 12 calendar months.
 */
export class RefundRecordService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'timezone'>,
  ) {}

  /** The parts the caller reaches through `capability` (viewing, or exporting) and the validated filter. */
  async resolve(actor: Actor, query: RefundRecordQuery, capability: Capability = 'refund.view'): Promise<ResolvedRefundQuery> {
    const filter = this.validatedFilter(query);
    const scope = await listScopeOf(this.db, actor, capability, query.mnpIds);
    const { statuses, ...rest } = filter;
    return { parts: partsByState(await recordPartsFor(this.db, scope, query.mnpIds), statuses), filter: rest };
  }

  async list(
    actor: Actor,
    query: RefundRecordQuery,
    page: { cursor?: string | undefined; limit: number; withTotal?: boolean },
  ): Promise<RefundPage> {
    const sort = query.sort ?? 'newest';
    const after = decodeCursor(page.cursor, sort);
    const { parts, filter } = await this.resolve(actor, query);
    const { rows, nextCursor } = await keysetPage(
      parts,
      (part, position, limit) => refundRecordRepository.page(this.db, part, filter, position, limit),
      after,
      page.limit,
      sort,
    );
    const result: RefundPage = {
      items: rows.map(refundListItem),
      nextCursor,
      range: { createdFrom: filter.createdFrom, createdTo: filter.createdTo },
    };
    if (page.withTotal)
      result.total = await cappedCount(parts, (part, cap) => refundRecordRepository.countUpTo(this.db, part, filter, cap));
    return result;
  }

  async listByOffset(
    actor: Actor,
    query: RefundRecordQuery,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: RefundListItem[] }> {
    const resolved = await this.resolve(actor, query);
    const rows = await offsetPage(
      resolved.parts,
      (part, count, skip) => refundRecordRepository.pageAt(this.db, part, resolved.filter, count, skip),
      offset,
      limit,
    );
    return { total: await this.count(resolved), items: rows.map(refundListItem) };
  }

  /** How many match, counting no further than `cap`. */
  countUpTo({ parts, filter }: ResolvedRefundQuery, cap: number): Promise<number> {
    return cappedCount(parts, (part, left) => refundRecordRepository.countUpTo(this.db, part, filter, left), cap).then((count) =>
      count.exact ? count.value : cap + 1,
    );
  }

  async count({ parts, filter }: ResolvedRefundQuery): Promise<number> {
    let total = 0;
    for (const part of parts) total += await refundRecordRepository.count(this.db, part, filter);
    return total;
  }

  async *batches({ parts, filter }: ResolvedRefundQuery, batchSize: number): AsyncGenerator<RefundListItem[]> {
    for await (const rows of keysetBatches(
      parts,
      (part, after, limit) => refundRecordRepository.page(this.db, part, filter, after, limit),
      batchSize,
      filter.sort,
    )) {
      yield rows.map(refundListItem);
    }
  }

  async detail(actor: Actor, refundId: number) {
    const scope = await detailScopeOf(this.db, actor, 'refund.view', 'Refund');
    const refund = await refundRecordRepository.findById(this.db, refundId);
    if (!refund || !scopeIncludes(scope, { miniProgramTeamId: refund.mini_program_team_id, applicationId: refund.application_id }))
      throw notFound('Refund');
    const [order, history, notifications, channelPayments] = await Promise.all([
      orderRecordRepository.findById(this.db, refund.order_id),
      orderRecordRepository.historyOf(this.db, 'refund', [refund.id]),
      orderRecordRepository.notificationsOf(this.db, [{ type: 'refund', id: refund.id }]),
      orderRecordRepository.channelPaymentsOf(this.db, refund.order_id),
    ]);
    const attempts = await orderRecordRepository.deliveryAttemptsOf(
      this.db,
      notifications.map((row) => row.id),
    );
    return {
      refund: refundFields(refund),
      order: order ? orderFields(order) : null,
      history: history.map(historyEntry),
      /** The late or duplicate payment this refund returns, if it is one. */
      channelPayment: channelPayments.filter((payment) => payment.id === refund.channel_payment_id).map(channelPaymentEntry)[0] ?? null,
      notifications: notifications.map((row) =>
        notificationEntry(
          row,
          attempts.filter((attempt) => attempt.outbox_id === row.id),
        ),
      ),
    };
  }

  private validatedFilter(query: RefundRecordQuery): RefundListFilter {
    const now = this.clock.nowMs();
    const window = refundSearchWindow(now, this.config.timezone);
    const byNumber = query.orderNo !== undefined || query.refundNo !== undefined;
    const createdTo = query.createdTo ?? Math.max(now, query.createdFrom ?? now);
    let createdFrom = query.createdFrom ?? (byNumber ? window.earliestMs : window.pastSevenDaysMs);
    // An end before the default start: the default becomes the seven days before that end.
    if (query.createdFrom === undefined && createdFrom > createdTo) createdFrom = Math.max(window.earliestMs, createdTo - 7 * dayMs);
    if (createdFrom < window.earliestMs || createdTo < window.earliestMs) {
      throw new AppError(
        'InvalidParameterValue.TimeRangeExceeded',
        'Refunds can be searched for the last 12 months only: ' +
          `the range may start on ${window.earliestDate} (${this.config.timezone}) at the earliest`,
        { field: 'createdFrom', earliest: window.earliestMs },
      );
    }
    if (createdTo < createdFrom)
      throw new AppError('InvalidParameterValue', 'createdTo: the range ends before it begins', { field: 'createdTo' });
    return {
      createdFrom,
      createdTo,
      orderNo: query.orderNo,
      refundNo: query.refundNo,
      statuses: query.statuses?.length ? [...new Set(query.statuses)] : undefined,
      paymentType: query.paymentType,
      sort: query.sort,
    };
  }
}
