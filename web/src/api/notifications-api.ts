import type { z } from 'zod';
import type {
  notificationLogDetailSchema,
  notificationLogItemSchema,
  notificationLogPageSchema,
} from '../../../src/routes/console/notification-schemas.ts';
import { apiRequest } from './client.ts';
import type { RecordSort } from './records-api.ts';

// Type-only imports: the page's types come from the server's Zod schemas.
export type NotificationLogItem = z.infer<typeof notificationLogItemSchema>;
export type NotificationLogPage = z.infer<typeof notificationLogPageSchema>;
export type NotificationLogDetail = z.infer<typeof notificationLogDetailSchema>;
export type NotificationStatus = NotificationLogItem['status'];

export const notificationStatuses = ['pending', 'delivered', 'failed'] as const satisfies readonly NotificationStatus[];
export const notificationEventTypes = [
  'TRANSACTION.SUCCESS',
  'REFUND.SUCCESS',
  'REFUND.ABNORMAL',
  'REFUND.CLOSED',
  'refund.requested',
] as const;

/** The log's filter, as the list's query string takes it. */
export interface NotificationFilter {
  createdFrom?: number;
  createdTo?: number;
  mnpIds?: string[];
  statuses?: NotificationStatus[];
  eventTypes?: string[];
  outTradeNo?: string;
  outRefundNo?: string;
  sort?: RecordSort;
}

const list = (values: readonly string[] | undefined) => (values?.length ? values.join(',') : undefined);

/** The notification log's console API routes (src/routes/console/notification-log.routes.ts). */
export const notificationsApi = {
  list: (filter: NotificationFilter, page: { cursor?: string; limit: number }) =>
    apiRequest<NotificationLogPage>('GET', '/notifications', {
      query: {
        createdFrom: filter.createdFrom,
        createdTo: filter.createdTo,
        mnpId: list(filter.mnpIds),
        status: list(filter.statuses),
        eventType: list(filter.eventTypes),
        outTradeNo: filter.outTradeNo,
        outRefundNo: filter.outRefundNo,
        sort: filter.sort,
        cursor: page.cursor,
        limit: page.limit,
      },
    }),
  get: (notificationId: number) => apiRequest<NotificationLogDetail>('GET', `/notifications/${notificationId}`),
  resend: (notificationId: number) => apiRequest<NotificationLogDetail>('POST', `/notifications/${notificationId}/resend`),
};

export const notificationQueryKeys = {
  all: ['notifications'] as const,
  list: (filter: NotificationFilter, cursor: string | undefined) => ['notifications', 'list', filter, cursor ?? ''] as const,
  detail: (notificationId: number) => ['notifications', 'detail', notificationId] as const,
};
