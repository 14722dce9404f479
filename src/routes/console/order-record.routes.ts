import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TradeState } from '../../domain/order-state.ts';
import type { RefundStatus } from '../../domain/refund-state.ts';
import { actorOf } from './console-auth.ts';
import {
  cappedTotalSchema,
  exportSchema,
  notificationSchema,
  orderDetailSchema,
  orderExportBody,
  orderListItemSchema,
  orderListQuery,
  notificationParams,
  orderIdParams,
  recordIdOf,
  refundIdParams,
  refundDetailSchema,
  refundExportBody,
  refundListItemSchema,
  refundListQuery,
  refundSettlementBody,
  refundSettlementSchema,
  splitList,
} from './record-schemas.ts';
import { consoleErrors } from './schemas.ts';

/**
 * Order record and After-sales record (SPEC §5): lists with filters and cursor pages, details, resend of
 * a notification, and exports of everything a filter matches. Visibility is the services' (SPEC §1.1).
 */
export async function orderRecordRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { orderRecords, refundRecords, refunds, exports } = app.services;

  routes.get(
    '/orders',
    {
      config: { capability: 'order.view' },
      schema: {
        summary:
          'Orders the caller reaches, newest first (or oldest first: sort=oldest), a cursor page at a time ' +
          '(an amount range needs a created range of at most 31 days)',
        tags: ['console: order record'],
        querystring: orderListQuery,
        response: {
          200: z.object({ items: z.array(orderListItemSchema), nextCursor: z.string().nullable(), total: cappedTotalSchema.optional() }),
          ...consoleErrors,
        },
      },
    },
    async (request) => {
      const { cursor, limit, withTotal, mnpId, tradeState, ...filter } = request.query;
      return orderRecords.list(
        actorOf(request),
        { ...filter, mnpIds: splitList(mnpId), tradeStates: splitList<TradeState>(tradeState) },
        { cursor, limit, withTotal: withTotal === 'true' },
      );
    },
  );

  routes.get(
    '/orders/:orderId',
    {
      config: { capability: 'order.view' },
      schema: {
        summary: 'One order with every field, its refunds, state history, channel payments and notifications with their delivery attempts',
        tags: ['console: order record'],
        params: orderIdParams,
        response: { 200: orderDetailSchema, ...consoleErrors },
      },
    },
    async (request) => orderRecords.detail(actorOf(request), recordIdOf(request.params.orderId, 'Order')),
  );

  routes.post(
    '/orders/:orderId/notifications/:notificationId/resend',
    {
      config: { capability: 'order.view' },
      schema: {
        summary: "Resend one of the order's (or its refunds') notifications now: a new round of the retry schedule",
        tags: ['console: order record'],
        params: notificationParams,
        response: { 200: notificationSchema, ...consoleErrors },
      },
    },
    async (request) =>
      orderRecords.resendNotification(
        actorOf(request),
        recordIdOf(request.params.orderId, 'Order'),
        recordIdOf(request.params.notificationId, 'Notification'),
        request.id,
      ),
  );

  routes.post(
    '/orders/exports',
    {
      config: { capability: 'order.export' },
      schema: {
        summary: 'Export every order the filter matches (CSV or XLSX); small exports are done at once, larger ones run in the background',
        tags: ['console: exports'],
        body: orderExportBody,
        response: { 201: exportSchema, ...consoleErrors },
      },
    },
    async (request, reply) => {
      const { format, ...query } = request.body;
      return reply.status(201).send(await exports.create(actorOf(request), { kind: 'orders', format, query }, request.id));
    },
  );

  routes.get(
    '/refunds',
    {
      config: { capability: 'refund.view' },
      schema: {
        summary:
          'Refunds by initiation time: the past 7 days by default, ' +
          'the last 12 months with an order or refund number, never older than 12 months',
        tags: ['console: after-sales record'],
        querystring: refundListQuery,
        response: {
          200: z.object({
            items: z.array(refundListItemSchema),
            nextCursor: z.string().nullable(),
            range: z.object({ createdFrom: z.number(), createdTo: z.number() }),
            total: cappedTotalSchema.optional(),
          }),
          ...consoleErrors,
        },
      },
    },
    async (request) => {
      const { cursor, limit, withTotal, mnpId, status, ...filter } = request.query;
      return refundRecords.list(
        actorOf(request),
        { ...filter, mnpIds: splitList(mnpId), statuses: splitList<RefundStatus>(status) },
        { cursor, limit, withTotal: withTotal === 'true' },
      );
    },
  );

  routes.get(
    '/refunds/:refundId',
    {
      config: { capability: 'refund.view' },
      schema: {
        summary: 'One refund with every field, its order, state history and notifications',
        tags: ['console: after-sales record'],
        params: refundIdParams,
        response: { 200: refundDetailSchema, ...consoleErrors },
      },
    },
    async (request) => refundRecords.detail(actorOf(request), recordIdOf(request.params.refundId, 'Refund')),
  );

  routes.post(
    '/refunds/:refundId/settle',
    {
      config: { capability: 'refund.settle' },
      schema: {
        summary:
          'Settle an ABNORMAL refund by hand as SUCCESS or CLOSED, with a note saying why ' +
          '(CLOSED only while the channel answers CLOSED or does not know the refund)',
        tags: ['console: after-sales record'],
        params: refundIdParams,
        body: refundSettlementBody,
        response: { 200: refundSettlementSchema, ...consoleErrors },
      },
    },
    async (request) =>
      refunds.settleAbnormalById(actorOf(request), recordIdOf(request.params.refundId, 'Refund'), request.body, request.id),
  );

  routes.post(
    '/refunds/exports',
    {
      config: { capability: 'refund.view' },
      schema: {
        summary: 'Export every refund the filter matches (CSV or XLSX), under the same 12-month rule as the list',
        tags: ['console: exports'],
        body: refundExportBody,
        response: { 201: exportSchema, ...consoleErrors },
      },
    },
    async (request, reply) => {
      const { format, ...query } = request.body;
      return reply.status(201).send(await exports.create(actorOf(request), { kind: 'refunds', format, query }, request.id));
    },
  );
}
