import { PaymentTypes, type PaymentType } from '../../db/order-schema.ts';
import { virtualOrderStatus } from '../../domain/virtual-order-status.ts';
import { virtualOrderRepository } from '../../repositories/virtual-order.repository.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { TradeState } from '../../db/order-schema.ts';
import type { Actor } from '../../domain/access.ts';
import { type Clock, dayMs } from '../../domain/clock.ts';
import type { Capability } from '../../domain/permissions.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import { orderRecordRepository, type OrderListFilter, type OrderListRow } from '../../repositories/order-record.repository.ts';
import type { RecordPart, RecordSort } from '../../repositories/record-keyset.ts';
import { recordAudit } from '../tenancy/index.ts';
import type { OutboxService } from '../payments/index.ts';
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
  orderListItem,
  refundFields,
  type OrderListItem,
} from './record-views.ts';

/** An amount range needs a created-time window of at most this (SPEC §7 "Records at scale"). */
export const amountRangeWindowMs = 31 * dayMs;

export interface OrderRecordQuery {
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
  mnpIds?: readonly string[] | undefined;
  tradeStates?: readonly TradeState[] | undefined;
  outTradeNo?: string | undefined;
  transactionId?: string | undefined;
  amountMin?: number | undefined;
  amountMax?: number | undefined;
  currency?: string | undefined;
  /** 1 standard, 2 virtual (SPEC §8.6); both when omitted. */
  paymentType?: PaymentType | undefined;
  /** Newest first (the default) or oldest first; exports follow it. */
  sort?: RecordSort | undefined;
}

/** A query resolved for one caller: the parts it reaches and the filter on them. */
export interface ResolvedOrderQuery {
  parts: RecordPart[];
  filter: OrderListFilter;
}

export interface OrderPage {
  items: OrderListItem[];
  nextCursor: string | null;
  total?: CappedCount;
}

/**
 * The Order record (SPEC §5): orders the caller's roles reach (SPEC §1.1), newest or oldest first, a keyset
 * page at a time; details with refunds, state history and notification attempts; resend of a notification.
 */
export class OrderRecordService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly outbox: OutboxService,
  ) {}

  /** The parts the caller reaches through `capability` (viewing, or exporting) and the validated filter. */
  async resolve(actor: Actor, query: OrderRecordQuery, capability: Capability = 'order.view'): Promise<ResolvedOrderQuery> {
    const filter = validatedFilter(query);
    const scope = await listScopeOf(this.db, actor, capability, query.mnpIds);
    const { tradeStates, ...rest } = filter;
    return { parts: partsByState(await recordPartsFor(this.db, scope, query.mnpIds), tradeStates), filter: rest };
  }

  async list(
    actor: Actor,
    query: OrderRecordQuery,
    page: { cursor?: string | undefined; limit: number; withTotal?: boolean },
  ): Promise<OrderPage> {
    const sort = query.sort ?? 'newest';
    const after = decodeCursor(page.cursor, sort);
    const { parts, filter } = await this.resolve(actor, query);
    const { rows, nextCursor } = await keysetPage(
      parts,
      (part, position, limit) => orderRecordRepository.page(this.db, part, filter, position, limit),
      after,
      page.limit,
      sort,
    );
    const items = await this.withRefundTotals(rows);
    if (!page.withTotal) return { items, nextCursor };
    return {
      items,
      nextCursor,
      total: await cappedCount(parts, (part, cap) => orderRecordRepository.countUpTo(this.db, part, filter, cap)),
    };
  }

  /** The management API's page: `Offset` (≤ 10,000) and `Limit`, with the exact total. */
  async listByOffset(
    actor: Actor,
    query: OrderRecordQuery,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: OrderListItem[] }> {
    const { parts, filter } = await this.resolve(actor, query);
    const rows = await offsetPage(
      parts,
      (part, count, skip) => orderRecordRepository.pageAt(this.db, part, filter, count, skip),
      offset,
      limit,
    );
    return { total: await this.count({ parts, filter }), items: await this.withRefundTotals(rows) };
  }

  /** How many match, counting no further than `cap`. */
  countUpTo({ parts, filter }: ResolvedOrderQuery, cap: number): Promise<number> {
    return cappedCount(parts, (part, left) => orderRecordRepository.countUpTo(this.db, part, filter, left), cap).then((count) =>
      count.exact ? count.value : cap + 1,
    );
  }

  async count({ parts, filter }: ResolvedOrderQuery): Promise<number> {
    let total = 0;
    for (const part of parts) total += await orderRecordRepository.count(this.db, part, filter);
    return total;
  }

  /** Every matching order in list order, by keyset batches (exports). */
  async *batches({ parts, filter }: ResolvedOrderQuery, batchSize: number): AsyncGenerator<OrderListItem[]> {
    for await (const rows of keysetBatches(
      parts,
      (part, after, limit) => orderRecordRepository.page(this.db, part, filter, after, limit),
      batchSize,
      filter.sort,
    )) {
      yield await this.withRefundTotals(rows);
    }
  }

  async detail(actor: Actor, orderId: number) {
    const order = await this.visibleOrder(actor, orderId);
    const refunds = await orderRecordRepository.refundsOf(this.db, order.id);
    const refundIds = refunds.map((refund) => refund.id);
    const [orderHistory, refundHistory, channelPayments, notifications] = await Promise.all([
      orderRecordRepository.historyOf(this.db, 'order', [order.id]),
      orderRecordRepository.historyOf(this.db, 'refund', refundIds),
      orderRecordRepository.channelPaymentsOf(this.db, order.id),
      orderRecordRepository.notificationsOf(this.db, [
        { type: 'order', id: order.id },
        ...refundIds.map((id) => ({ type: 'refund' as const, id })),
      ]),
    ]);
    const attempts = await orderRecordRepository.deliveryAttemptsOf(
      this.db,
      notifications.map((row) => row.id),
    );
    return {
      order: orderFields(order),
      refunds: refunds.map(refundFields),
      history: [...orderHistory, ...refundHistory].sort((a, b) => a.at - b.at || a.id - b.id).map(historyEntry),
      channelPayments: channelPayments.map(channelPaymentEntry),
      notifications: notifications.map((row) =>
        notificationEntry(
          row,
          attempts.filter((attempt) => attempt.outbox_id === row.id),
        ),
      ),
    };
  }

  /** A console user's resend of one of the order's (or its refunds') notifications (SPEC §4.2). */
  async resendNotification(actor: Actor, orderId: number, notificationId: number, requestId?: string) {
    const order = await this.visibleOrder(actor, orderId);
    const refundIds = (await orderRecordRepository.refundsOf(this.db, order.id)).map((refund) => refund.id);
    const subjects = [{ type: 'order' as const, id: order.id }, ...refundIds.map((id) => ({ type: 'refund' as const, id }))];
    const notification = (await orderRecordRepository.notificationsOf(this.db, subjects)).find((row) => row.id === notificationId);
    if (!notification) throw notFound('Notification');
    const resent = await this.outbox.resend(notification.id);
    await recordAudit(
      this.db,
      this.clock,
      actor,
      {
        action: 'order.notification.resend',
        targetType: 'notification',
        targetId: String(notification.id),
        teamId: order.mini_program_team_id,
        before: { status: notification.status, attempts: notification.attempts },
        after: { status: resent.status, orderId: order.id, outTradeNo: order.out_trade_no },
      },
      requestId,
    );
    return notificationEntry(resent, await orderRecordRepository.deliveryAttemptsOf(this.db, [resent.id]));
  }

  private async visibleOrder(actor: Actor, orderId: number) {
    const scope = await detailScopeOf(this.db, actor, 'order.view', 'Order');
    const order = await orderRecordRepository.findById(this.db, orderId);
    if (!order || !scopeIncludes(scope, { miniProgramTeamId: order.mini_program_team_id, applicationId: order.application_id }))
      throw notFound('Order');
    return order;
  }

  private async withRefundTotals(rows: OrderListRow[]): Promise<OrderListItem[]> {
    // Only refunded orders (REFUND) and anomalous ones (a duplicate payment's refund leaves SUCCESS as it is) have refunds.
    const refunded = rows.filter((row) => row.trade_state === 'REFUND' || row.anomaly_flags !== 0);
    const totals = await orderRecordRepository.activeRefundTotals(
      this.db,
      refunded.map((row) => row.id),
    );
    // A virtual order's query_order status (SPEC §8.3) needs its refunds: only refunded virtual orders have any.
    const virtualRefunds = await virtualOrderRepository.refundStatusesOfOrders(
      this.db,
      refunded.filter((row) => row.payment_type === PaymentTypes.Virtual).map((row) => row.id),
    );
    return rows.map((row) =>
      orderListItem(
        row,
        totals.get(row.id) ?? 0,
        row.payment_type === PaymentTypes.Virtual
          ? virtualOrderStatus({
              tradeState: row.trade_state,
              deliveryStatus: row.delivery_status,
              leftFee: row.amount_total - row.refund_reserved,
              refunds: virtualRefunds.get(row.id) ?? [],
            })
          : null,
      ),
    );
  }
}

function validatedFilter(query: OrderRecordQuery): OrderListFilter {
  const { createdFrom, createdTo, amountMin, amountMax } = query;
  if (createdFrom !== undefined && createdTo !== undefined && createdTo < createdFrom) {
    throw new AppError('InvalidParameterValue', 'createdTo: the range ends before it begins', { field: 'createdTo' });
  }
  if (amountMin !== undefined || amountMax !== undefined) {
    if (createdFrom === undefined || createdTo === undefined || createdTo - createdFrom > amountRangeWindowMs) {
      throw new AppError('InvalidParameterValue.TimeRangeExceeded', 'An amount range needs a created-time range of at most 31 days', {
        field: 'createdFrom',
      });
    }
    if (amountMin !== undefined && amountMax !== undefined && amountMax < amountMin) {
      throw new AppError('InvalidParameterValue', 'amountMax: below amountMin', { field: 'amountMax' });
    }
  }
  return {
    createdFrom,
    createdTo,
    tradeStates: query.tradeStates?.length ? [...new Set(query.tradeStates)] : undefined,
    outTradeNo: query.outTradeNo,
    transactionId: query.transactionId,
    amountMin,
    amountMax,
    currency: query.currency,
    paymentType: query.paymentType,
    sort: query.sort,
  };
}
