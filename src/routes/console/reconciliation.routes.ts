import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  majorUnits,
  type DayTotals,
  reconciliationExceptionKinds,
  reconciliationExceptionStatuses,
  reconciliationRunStatuses,
} from '../../services/reconciliation/index.ts';
import { actorOf } from './console-auth.ts';
import { recordNumber } from './record-schemas.ts';
import { consoleErrors } from './schemas.ts';

// Records → Reconciliation (SPEC §9.5): days of a superapp with their totals, a day's report, its exceptions with
// filters (offset pages), Resolve, re-run, the CSV export of exceptions, and the open-exceptions badge. Days are
// `YYYY-MM-DD`; amounts major-unit strings; times ms since the epoch. Visibility is the service's.

const applicationId = z.string().min(1).max(64);
/** A malformed day is the service's InvalidParameterValue.InvalidBillDate. */
const billDate = z.string().min(1).max(32);
const paging = {
  offset: z.coerce.number().int().min(0).max(10_000).default(0),
  limit: z.coerce.number().int().min(1).max(100).default(20),
};
const dates = { from: billDate.optional(), to: billDate.optional() };
const superappParams = z.object({ applicationId });

const exceptionFilter = z.object({
  /** Every superapp the caller reaches when absent (mini program roles: their own mini programs' exceptions). */
  applicationId: applicationId.optional(),
  ...dates,
  kind: z.enum(reconciliationExceptionKinds).optional(),
  status: z.enum(reconciliationExceptionStatuses).optional(),
  mnpId: z.string().min(1).max(64).optional(),
  orderNo: recordNumber.optional(),
  refundNo: recordNumber.optional(),
});

const side = z.object({ paymentCount: z.number(), paymentAmount: z.string(), refundCount: z.number(), refundAmount: z.string() });
const totals = z.array(z.object({ currency: z.string(), ours: side, channel: side, difference: side }));
const daySchema = z.object({
  billDate: z.string(),
  status: z.enum(reconciliationRunStatuses),
  totals,
  matchedNum: z.number(),
  exceptionNum: z.number(),
  openExceptionNum: z.number(),
});
const dayDetailSchema = daySchema.extend({
  attempts: z.number(),
  lineNum: z.number(),
  outcomes: z.array(z.object({ kind: z.string(), status: z.string(), n: z.number() })),
  runs: z.array(
    z.object({
      connectionId: z.number(),
      status: z.enum(reconciliationRunStatuses),
      attempts: z.number(),
      lastError: z.string().nullable(),
      finishedAt: z.number().nullable(),
    }),
  ),
  updatedAt: z.number().nullable(),
});
const exceptionSchema = z.object({
  id: z.string(),
  billDate: z.string(),
  kind: z.enum(reconciliationExceptionKinds),
  status: z.enum(reconciliationExceptionStatuses),
  action: z.string().nullable(),
  mnpId: z.string().nullable(),
  mchid: z.string(),
  outTradeNo: z.string(),
  transactionId: z.string().nullable(),
  outRefundNo: z.string().nullable(),
  refundId: z.string().nullable(),
  currency: z.string().nullable(),
  ourAmount: z.string().nullable(),
  channelAmount: z.string().nullable(),
  ourState: z.string().nullable(),
  channelState: z.string().nullable(),
  ourTime: z.number().nullable(),
  channelTime: z.number().nullable(),
  resolvedBy: z.string().nullable(),
  resolvedAt: z.number().nullable(),
  resolutionNote: z.string().nullable(),
});

type Side = z.output<typeof side>;
/** The service's minor-unit sums in the currency's major units. */
const majorSide = (s: Side, currency: string): Side => ({
  ...s,
  paymentAmount: majorUnits(s.paymentAmount, currency) ?? '0',
  refundAmount: majorUnits(s.refundAmount, currency) ?? '0',
});
const majorUnitsOf = (rows: DayTotals[]) =>
  rows.map((t) => ({
    currency: t.currency,
    ours: majorSide(t.ours, t.currency),
    channel: majorSide(t.channel, t.currency),
    difference: majorSide(t.difference, t.currency),
  }));

export async function reconciliationRoutes(app: FastifyInstance) {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const { reconciliationRecords } = app.services;
  const tags = ['console: reconciliation'];
  const filterOf = (query: z.output<typeof exceptionFilter>) => ({
    applicationId: query.applicationId,
    fromDate: query.from,
    toDate: query.to,
    kinds: query.kind ? [query.kind] : undefined,
    statuses: query.status ? [query.status] : undefined,
    mnpIds: query.mnpId ? [query.mnpId] : undefined,
    orderNo: query.orderNo,
    refundNo: query.refundNo,
  });

  routes.get(
    '/superapps/:applicationId/reconciliation/days',
    {
      config: { capability: 'reconciliation.view' },
      schema: {
        summary: "A superapp's reconciled days (at most 31 per range; default the 31 up to yesterday), newest first",
        tags,
        params: superappParams,
        querystring: z.object({ ...dates, status: z.enum(reconciliationRunStatuses).optional(), ...paging }),
        response: { 200: z.object({ total: z.number(), items: z.array(daySchema) }), ...consoleErrors },
      },
    },
    async (request) => {
      const { offset, limit, from, to, status } = request.query;
      const filter = { applicationId: request.params.applicationId, fromDate: from, toDate: to, status };
      const page = await reconciliationRecords.listDays(actorOf(request), filter, offset, limit);
      return { total: page.total, items: page.items.map((day) => ({ ...day, totals: majorUnitsOf(day.totals) })) };
    },
  );

  routes.get(
    '/superapps/:applicationId/reconciliation/days/:billDate',
    {
      config: { capability: 'reconciliation.view' },
      schema: {
        summary: "A day's report (SPEC §9.4) less its exceptions; several channel connections are added up, and listed in runs",
        tags,
        params: z.object({ applicationId, billDate }),
        response: { 200: dayDetailSchema, ...consoleErrors },
      },
    },
    async (request) => {
      const day = await reconciliationRecords.dayDetail(actorOf(request), request.params.applicationId, request.params.billDate);
      return { ...day, totals: majorUnitsOf(day.totals) };
    },
  );

  routes.post(
    '/superapps/:applicationId/reconciliation/days/:billDate/rerun',
    {
      config: { capability: 'reconciliation.rerun' },
      schema: {
        summary: 'Re-runs a finished day (SPEC §9.2): the statement is read again; refused while it runs or before it is due',
        tags,
        params: z.object({ applicationId, billDate }),
        response: { 200: z.object({ status: z.enum(reconciliationRunStatuses) }), ...consoleErrors },
      },
    },
    async (request) => ({
      status: await reconciliationRecords.rerun(actorOf(request), request.params.applicationId, request.params.billDate, request.id),
    }),
  );

  routes.get(
    '/reconciliation/exceptions',
    {
      config: { capability: 'reconciliation.view' },
      schema: {
        summary: "A superapp's exceptions (mini program roles: their own mini programs' only), newest day first, an offset page at a time",
        tags,
        querystring: exceptionFilter.extend(paging),
        response: { 200: z.object({ total: z.number(), items: z.array(exceptionSchema) }), ...consoleErrors },
      },
    },
    async (request) => {
      const { offset, limit, ...query } = request.query;
      return reconciliationRecords.listExceptions(actorOf(request), filterOf(query), offset, limit);
    },
  );

  routes.get(
    '/reconciliation/exceptions.csv',
    {
      config: { capability: 'reconciliation.view' },
      schema: {
        summary: 'Every exception the filter matches as CSV (UTF-8 with BOM, CRLF, major units), streamed',
        tags,
        querystring: exceptionFilter,
        response: { 200: z.any().describe('text/csv'), ...consoleErrors },
      },
    },
    async (request, reply) => {
      const csv = await reconciliationRecords.exceptionsCsv(actorOf(request), filterOf(request.query));
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="reconciliation-exceptions.csv"`)
        .header('cache-control', 'private, no-store')
        .send(Readable.from(csv));
    },
  );

  routes.post(
    '/superapps/:applicationId/reconciliation/exceptions/:exceptionId/resolve',
    {
      config: { capability: 'reconciliation.resolve' },
      schema: {
        summary: 'Resolves an OPEN exception with a note saying why (audited)',
        tags,
        params: z.object({ applicationId, exceptionId: z.string().min(1).max(64) }),
        body: z.object({ note: z.string().max(500).default('') }),
        response: { 200: exceptionSchema, ...consoleErrors },
      },
    },
    async (request) =>
      reconciliationRecords.resolve(
        actorOf(request),
        { applicationId: request.params.applicationId, exceptionId: request.params.exceptionId, note: request.body.note },
        request.id,
      ),
  );

  routes.get(
    '/reconciliation/open-count',
    {
      config: { capability: 'reconciliation.view' },
      schema: {
        summary: "OPEN exceptions the caller reaches, for the navigation's badge",
        tags,
        response: { 200: z.object({ open: z.number() }), ...consoleErrors },
      },
    },
    async (request) => ({ open: await reconciliationRecords.openExceptionCount(actorOf(request)) }),
  );
}
