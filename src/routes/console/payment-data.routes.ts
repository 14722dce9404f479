import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { businessDayRange, businessDateOf } from '../../domain/business-time.ts';
import { actorOf } from './console-auth.ts';
import { paymentDataQuery, paymentFiguresSchema, splitList } from './record-schemas.ts';
import { consoleErrors } from './schemas.ts';
import { dayMs } from '../../domain/clock.ts';

/** The Payment data dashboard (SPEC §5): the range's figures and one entry per business day. */
export async function paymentDataRoutes(app: FastifyInstance) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/order-stats',
    {
      config: { capability: 'order.view' },
      schema: {
        summary: 'Payment data by order creation business day: the overview of the range and each day (default: the last 30 days)',
        tags: ['console: payment data'],
        querystring: paymentDataQuery,
        response: { 200: z.object({ overview: paymentFiguresSchema, days: z.array(paymentFiguresSchema) }), ...consoleErrors },
      },
    },
    async (request) => {
      const now = app.clock.nowMs();
      const { timezone } = app.config;
      const timeEnd = request.query.timeEnd ?? now;
      const timeBegin = request.query.timeBegin ?? businessDayRange(businessDateOf(timeEnd - 29 * dayMs, timezone), timezone)!.startMs;
      const input = {
        timeBegin,
        timeEnd,
        mnpIds: splitList(request.query.mnpId),
        dataType: request.query.dataType === undefined ? undefined : (Number(request.query.dataType) as 0 | 1),
        platform: request.query.platform === undefined ? undefined : (Number(request.query.platform) as 0 | 2 | 3),
        currency: request.query.currency,
      };
      const actor = actorOf(request);
      const [overview, days] = await Promise.all([
        app.services.paymentData.overview(actor, input),
        app.services.paymentData.detail(actor, input),
      ]);
      return { overview, days };
    },
  );
}
