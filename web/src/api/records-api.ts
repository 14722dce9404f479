import type { z } from 'zod';
import type { TradeState } from '../../../src/domain/order-state.ts';
import type { RefundStatus } from '../../../src/domain/refund-state.ts';
import type {
  cappedTotalSchema,
  exportSchema,
  notificationSchema,
  orderDetailSchema,
  orderListItemSchema,
  paymentFiguresSchema,
  refundDetailSchema,
  refundListItemSchema,
} from '../../../src/routes/console/record-schemas.ts';
import { apiRequest, consoleApiBase } from './client.ts';

// The state values are the server's own (src/domain), so a filter never offers one the server does not know.
export { tradeStates, type TradeState } from '../../../src/domain/order-state.ts';
export { refundStatuses, type RefundStatus } from '../../../src/domain/refund-state.ts';

// Type-only imports: the record pages' types come from the server's Zod schemas.
export type OrderListItem = z.infer<typeof orderListItemSchema>;
export type RefundListItem = z.infer<typeof refundListItemSchema>;
export type OrderDetail = z.infer<typeof orderDetailSchema>;
export type RefundDetail = z.infer<typeof refundDetailSchema>;
export type Notification = z.infer<typeof notificationSchema>;
export type ExportJob = z.infer<typeof exportSchema>;
export type CappedTotal = z.infer<typeof cappedTotalSchema>;
export type PaymentFigures = z.infer<typeof paymentFiguresSchema>;

/** Record lists by created time: newest first (the server's default) or oldest first. */
export type RecordSort = 'newest' | 'oldest';

/** The Order record's filter, as the list (query string) and the export (body) both take it. */
export interface OrderFilter {
  createdFrom?: number;
  createdTo?: number;
  mnpIds?: string[];
  tradeStates?: TradeState[];
  outTradeNo?: string;
  transactionId?: string;
  /** Minor units. */
  amountMin?: number;
  amountMax?: number;
  currency?: string;
  sort?: RecordSort;
}

export interface RefundFilter {
  createdFrom?: number;
  createdTo?: number;
  mnpIds?: string[];
  statuses?: RefundStatus[];
  orderNo?: string;
  refundNo?: string;
  sort?: RecordSort;
}

export interface OrderPage {
  items: OrderListItem[];
  nextCursor: string | null;
  total?: CappedTotal;
}

export interface RefundPage {
  items: RefundListItem[];
  nextCursor: string | null;
  range: { createdFrom: number; createdTo: number };
  total?: CappedTotal;
}

const list = (values: readonly string[] | undefined) => (values?.length ? values.join(',') : undefined);
const segment = encodeURIComponent;

/** The record pages' console API routes (src/routes/console/order-record.routes.ts, export.routes.ts, payment-data.routes.ts). */
export const recordsApi = {
  listOrders: (filter: OrderFilter, page: { cursor?: string; limit: number; withTotal: boolean }) =>
    apiRequest<OrderPage>('GET', '/orders', {
      query: {
        createdFrom: filter.createdFrom,
        createdTo: filter.createdTo,
        mnpId: list(filter.mnpIds),
        tradeState: list(filter.tradeStates),
        outTradeNo: filter.outTradeNo,
        transactionId: filter.transactionId,
        amountMin: filter.amountMin,
        amountMax: filter.amountMax,
        currency: filter.currency,
        sort: filter.sort,
        cursor: page.cursor,
        limit: page.limit,
        withTotal: page.withTotal ? 'true' : undefined,
      },
    }),
  getOrder: (orderId: number) => apiRequest<OrderDetail>('GET', `/orders/${orderId}`),
  resendNotification: (orderId: number, notificationId: number) =>
    apiRequest<Notification>('POST', `/orders/${orderId}/notifications/${notificationId}/resend`),
  exportOrders: (format: 'csv' | 'xlsx', filter: OrderFilter) =>
    apiRequest<ExportJob>('POST', '/orders/exports', { body: { format, ...filter } }),

  listRefunds: (filter: RefundFilter, page: { cursor?: string; limit: number; withTotal: boolean }) =>
    apiRequest<RefundPage>('GET', '/refunds', {
      query: {
        createdFrom: filter.createdFrom,
        createdTo: filter.createdTo,
        mnpId: list(filter.mnpIds),
        status: list(filter.statuses),
        orderNo: filter.orderNo,
        refundNo: filter.refundNo,
        sort: filter.sort,
        cursor: page.cursor,
        limit: page.limit,
        withTotal: page.withTotal ? 'true' : undefined,
      },
    }),
  getRefund: (refundId: number) => apiRequest<RefundDetail>('GET', `/refunds/${refundId}`),
  /** SPEC §7: a superapp administrator settles an ABNORMAL refund by hand, with a note saying why. */
  settleRefund: (refundId: number, body: { status: 'SUCCESS' | 'CLOSED'; note: string }) =>
    apiRequest<{ id: number; refundId: string; outRefundNo: string; status: RefundStatus }>('POST', `/refunds/${refundId}/settle`, {
      body,
    }),
  exportRefunds: (format: 'csv' | 'xlsx', filter: RefundFilter) =>
    apiRequest<ExportJob>('POST', '/refunds/exports', { body: { format, ...filter } }),

  listExports: () => apiRequest<{ items: ExportJob[] }>('GET', '/exports'),
  /** A plain link: the browser downloads the file with the session cookie. */
  exportFileUrl: (exportId: string) => `${consoleApiBase}/exports/${segment(exportId)}/file`,

  getPaymentData: (query: {
    timeBegin?: number;
    timeEnd?: number;
    mnpIds?: string[];
    dataType?: 0 | 1;
    platform?: 0 | 2 | 3;
    currency?: string;
  }) =>
    apiRequest<{ overview: PaymentFigures; days: PaymentFigures[] }>('GET', '/order-stats', {
      query: {
        timeBegin: query.timeBegin,
        timeEnd: query.timeEnd,
        mnpId: list(query.mnpIds),
        dataType: query.dataType,
        platform: query.platform,
        currency: query.currency,
      },
    }),
};

export const recordQueryKeys = {
  orders: (filter: OrderFilter, cursor: string | undefined) => ['records', 'orders', filter, cursor ?? ''] as const,
  order: (orderId: number) => ['records', 'order', orderId] as const,
  refunds: (filter: RefundFilter, cursor: string | undefined) => ['records', 'refunds', filter, cursor ?? ''] as const,
  refund: (refundId: number) => ['records', 'refund', refundId] as const,
  exports: ['records', 'exports'] as const,
  paymentData: (query: object) => ['records', 'payment-data', query] as const,
};
