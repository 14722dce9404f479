import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { NotificationStatus } from '../../services/records/index.ts';
import { actorOf } from './console-auth.ts';
import {
  notificationIdParams,
  notificationListQuery,
  notificationLogDetailSchema,
  notificationLogPageSchema,
} from './notification-schemas.ts';
import { recordIdOf, splitList } from './record-schemas.ts';
import { consoleErrors } from './schemas.ts';

/**
 * The notification delivery log (SPEC §5): notifications of the orders and refunds the caller's Order
 * record reaches, across orders; details with every attempt; resend. Visibility is the service's (SPEC §1.1).
 */
export async function notificationLogRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { notificationLog } = app.services;

  routes.get(
    '/notifications',
    {
      config: { capability: 'order.view' },
      schema: {
        summary:
          'Notifications newest first, a cursor page at a time: ' +
          'the past 7 days by default (31 with an order or refund number), at most 31 days at once',
        tags: ['console: notification log'],
        querystring: notificationListQuery,
        response: { 200: notificationLogPageSchema, ...consoleErrors },
      },
    },
    async (request) => {
      const { cursor, limit, mnpId, status, eventType, ...filter } = request.query;
      return notificationLog.list(
        actorOf(request),
        { ...filter, mnpIds: splitList(mnpId), statuses: splitList<NotificationStatus>(status), eventTypes: splitList(eventType) },
        { cursor, limit },
      );
    },
  );

  routes.get(
    '/notifications/:notificationId',
    {
      config: { capability: 'order.view' },
      schema: {
        summary: 'One notification with every delivery attempt',
        tags: ['console: notification log'],
        params: notificationIdParams,
        response: { 200: notificationLogDetailSchema, ...consoleErrors },
      },
    },
    async (request) => notificationLog.detail(actorOf(request), recordIdOf(request.params.notificationId, 'Notification')),
  );

  routes.post(
    '/notifications/:notificationId/resend',
    {
      config: { capability: 'order.view' },
      schema: {
        summary: 'Resend the notification now: a new round of the retry schedule (as the Order record’s resend, audited the same way)',
        tags: ['console: notification log'],
        params: notificationIdParams,
        response: { 200: notificationLogDetailSchema, ...consoleErrors },
      },
    },
    async (request) => notificationLog.resend(actorOf(request), recordIdOf(request.params.notificationId, 'Notification'), request.id),
  );
}
