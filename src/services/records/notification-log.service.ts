import type { OutboxStatus } from '../../db/gateway-schema.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import { type Clock, dayMs } from '../../domain/clock.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import {
  notificationLogRepository,
  type NotificationListFilter,
  type NotificationListRow,
} from '../../repositories/notification-log.repository.ts';
import type { RecordSort } from '../../repositories/record-keyset.ts';
import type { OrderRecordService } from './order-record.service.ts';
import { detailScopeOf, listScopeOf } from './record-access.ts';
import { decodeCursor, keysetPage, recordPartsFor } from './record-query.ts';
import { scopeIncludes } from '../../domain/record-scope.ts';
import { notificationEntry } from './record-views.ts';

/** The log searches at most this much created time at once (like an amount range on the Order record). */
export const notificationLogWindowMs = 31 * dayMs;
/** Without a range: the past 7 days, or the past 31 with an order or refund number. */
const defaultSpanMs = 7 * dayMs;

export const notificationStatuses = ['pending', 'delivered', 'failed'] as const satisfies readonly OutboxStatus[];
export type NotificationStatus = (typeof notificationStatuses)[number];
/** Merchant notifications (SPEC §4.2) and a host-reported superapp's refund webhook. */
export const notificationEventTypes = [
  'TRANSACTION.SUCCESS',
  'REFUND.SUCCESS',
  'REFUND.ABNORMAL',
  'REFUND.CLOSED',
  'refund.requested',
] as const;

export interface NotificationLogQuery {
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
  mnpIds?: readonly string[] | undefined;
  statuses?: readonly OutboxStatus[] | undefined;
  eventTypes?: readonly string[] | undefined;
  outTradeNo?: string | undefined;
  outRefundNo?: string | undefined;
  /** Newest first (the default) or oldest first. */
  sort?: RecordSort | undefined;
}

export type NotificationLogItem = ReturnType<typeof logItem>;

export interface NotificationLogPage {
  items: NotificationLogItem[];
  nextCursor: string | null;
  /** The created-time range searched (defaults filled in). */
  range: { createdFrom: number; createdTo: number };
}

interface Subject {
  type: 'order' | 'refund';
  id: number;
  orderId: number | null;
  outTradeNo: string | null;
  outRefundNo: string | null;
}

/** A notification's host without the rest of its URL (the list's column); null when it has none. */
function hostOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

function logItem(
  row: NotificationListRow,
  subject: Subject,
  context: { mnpName: string | null; lastAttemptAt: number | null; now: number },
) {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    subject,
    mnpId: row.mnp_id,
    mnpName: context.mnpName,
    status: row.status,
    /** Pending and claimed by a worker right now. */
    delivering: row.status === 'pending' && row.claim_expires_at !== null && row.claim_expires_at > context.now,
    attempts: row.attempts,
    lastAttemptAt: context.lastAttemptAt,
    lastHttpStatus: row.last_http_status,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at,
    targetHost: hostOf(row.target_url),
    sandbox: row.sandbox === 1,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
    failedAt: row.failed_at,
  };
}

/**
 * The notification delivery log (SPEC §5): the notifications of the orders and refunds the caller's
 * Order record reaches (capability `order.view`, the same scope and parts), across orders, newest or oldest first,
 * a keyset page at a time; details with every attempt; resend through the Order record's resend.
 */
export class NotificationLogService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly orderRecords: OrderRecordService,
  ) {}

  async list(
    actor: Actor,
    query: NotificationLogQuery,
    page: { cursor?: string | undefined; limit: number },
  ): Promise<NotificationLogPage> {
    const sort = query.sort ?? 'newest';
    const after = decodeCursor(page.cursor, sort);
    const filter = this.validatedFilter(query);
    const scope = await listScopeOf(this.db, actor, 'order.view', query.mnpIds);
    const parts = await recordPartsFor(this.db, scope, query.mnpIds);
    const range = { createdFrom: filter.createdFrom, createdTo: filter.createdTo };
    if (query.outTradeNo !== undefined || query.outRefundNo !== undefined) {
      filter.subjects = await this.subjectsNumbered(query.outTradeNo, query.outRefundNo);
      if (filter.subjects.orderIds.length === 0 && filter.subjects.refundIds.length === 0) return { items: [], nextCursor: null, range };
    }
    const { rows, nextCursor } = await keysetPage(
      parts,
      (part, position, limit) => notificationLogRepository.page(this.db, part, filter, position, limit),
      after,
      page.limit,
      sort,
    );
    return { items: await this.itemsOf(rows), nextCursor, range };
  }

  /** One notification with every delivery attempt. */
  async detail(actor: Actor, id: number) {
    const row = await this.visibleNotification(actor, id);
    const [item] = await this.itemsOf([row]);
    const attempts = await notificationLogRepository.attemptsOf(this.db, row.id);
    return {
      ...item!,
      targetUrl: row.target_url,
      manual: row.manual === 1,
      deliveryAttempts: notificationEntry(row, attempts).deliveryAttempts,
    };
  }

  /**
   * A resend from the log: the Order record's resend of the order's (or its refund's) notification, so
   * the same checks, the same new round and the same audit entry.
   */
  async resend(actor: Actor, id: number, requestId?: string) {
    const row = await this.visibleNotification(actor, id);
    const orderId = await this.orderIdOf(row.subject_type, Number(row.subject_id));
    if (orderId === null) throw notFound('Notification');
    await this.orderRecords.resendNotification(actor, orderId, row.id, requestId);
    return this.detail(actor, id);
  }

  private async visibleNotification(actor: Actor, id: number) {
    const scope = await detailScopeOf(this.db, actor, 'order.view', 'Notification');
    const row = await notificationLogRepository.findById(this.db, id);
    const about =
      row &&
      (row.subject_type === 'order' || row.subject_type === 'refund') &&
      row.mini_program_team_id !== null &&
      row.application_id !== null;
    if (!row || !about || !scopeIncludes(scope, { miniProgramTeamId: row.mini_program_team_id!, applicationId: row.application_id! }))
      throw notFound('Notification');
    return row;
  }

  private async orderIdOf(subjectType: string | null, subjectId: number): Promise<number | null> {
    if (subjectType === 'order') return subjectId;
    const [refund] = await notificationLogRepository.refundsByIds(this.db, [subjectId]);
    return refund ? refund.order_id : null;
  }

  /** The orders and refunds a search by number names: an order's number brings its refunds too. */
  private async subjectsNumbered(outTradeNo: string | undefined, outRefundNo: string | undefined) {
    if (outRefundNo !== undefined) {
      const refunds = await notificationLogRepository.refundsByNumbers(this.db, { outRefundNo, outTradeNo });
      return { orderIds: [], refundIds: refunds.map((refund) => refund.id) };
    }
    const orders = await notificationLogRepository.ordersByOutTradeNo(this.db, outTradeNo!);
    const refunds = orders.length ? await notificationLogRepository.refundsByNumbers(this.db, { outTradeNo }) : [];
    return { orderIds: orders.map((order) => order.id), refundIds: refunds.map((refund) => refund.id) };
  }

  private async itemsOf(rows: NotificationListRow[]): Promise<NotificationLogItem[]> {
    const idsOf = (type: string) => [...new Set(rows.filter((row) => row.subject_type === type).map((row) => Number(row.subject_id)))];
    const [orders, refunds, names, attempts] = await Promise.all([
      notificationLogRepository.ordersByIds(this.db, idsOf('order')),
      notificationLogRepository.refundsByIds(this.db, idsOf('refund')),
      notificationLogRepository.miniProgramNames(this.db, [...new Set(rows.flatMap((row) => (row.mnp_id ? [row.mnp_id] : [])))]),
      notificationLogRepository.lastAttempts(
        this.db,
        rows.map((row) => row.id),
      ),
    ]);
    const now = this.clock.nowMs();
    return rows.map((row) => {
      const id = Number(row.subject_id);
      const order = row.subject_type === 'order' ? orders.find((candidate) => candidate.id === id) : undefined;
      const refund = row.subject_type === 'refund' ? refunds.find((candidate) => candidate.id === id) : undefined;
      const subject: Subject = {
        type: row.subject_type === 'refund' ? 'refund' : 'order',
        id,
        orderId: order ? order.id : (refund?.order_id ?? null),
        outTradeNo: order?.out_trade_no ?? refund?.out_trade_no ?? null,
        outRefundNo: refund?.out_refund_no ?? null,
      };
      const lastAttempt = attempts.find((attempt) => attempt.outbox_id === row.id);
      return logItem(row, subject, {
        mnpName: names.find((name) => name.id === row.mnp_id)?.name ?? null,
        lastAttemptAt: lastAttempt ? lastAttempt.started_at : null,
        now,
      });
    });
  }

  private validatedFilter(query: NotificationLogQuery): NotificationListFilter {
    const now = this.clock.nowMs();
    const byNumber = query.outTradeNo !== undefined || query.outRefundNo !== undefined;
    const createdTo = query.createdTo ?? Math.max(now, query.createdFrom ?? now);
    const createdFrom = query.createdFrom ?? Math.max(0, createdTo - (byNumber ? notificationLogWindowMs : defaultSpanMs));
    if (createdTo < createdFrom)
      throw new AppError('InvalidParameterValue', 'createdTo: the range ends before it begins', { field: 'createdTo' });
    if (createdTo - createdFrom > notificationLogWindowMs) {
      throw new AppError(
        'InvalidParameterValue.TimeRangeExceeded',
        'The notification log searches at most 31 days of created time at once: narrow createdFrom – createdTo',
        {
          field: 'createdFrom',
        },
      );
    }
    return {
      createdFrom,
      createdTo,
      statuses: query.statuses?.length ? [...new Set(query.statuses)] : undefined,
      eventTypes: query.eventTypes?.length ? [...new Set(query.eventTypes)] : undefined,
      sort: query.sort,
    };
  }
}
