import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ChannelErrorCode, ChannelResult } from '../../channels/channel.ts';
import { orderToWire, refundToWire, wireOrderSchema, wireRefundSchema } from '../../channels/protocol.ts';
import type { SandboxChannel } from '../../channels/sandbox/sandbox-channel.ts';
import { sandboxStatementFaultKinds } from '../../channels/sandbox/sandbox-statement.ts';
import { clientErrorStatus } from '../../domain/error-mapping.ts';
import { guardRoutesWith } from '../../plugins/app/route-guards.ts';
import { repositoryRoot } from '../../config/repository-root.ts';
import type { ZodRoutes } from '../zod-routes.ts';

/**
 * The sandbox channel's public surface (SPEC §4.3), present only while the sandbox is on:
 * - the control API for tests and scripts (`/sandbox/v1/payments/{prepay_id}/succeed|fail`,
 *   `/sandbox/v1/refunds/{out_refund_no}/succeed|close|abnormal`);
 * - the faults that bend the statement it serves (`/sandbox/v1/statement-faults`, SPEC §9.1);
 * - the cashier page a superapp host opens (`/sandbox/cashier/{token}`) and the JSON it calls.
 * No authentication: it is a sandbox, and it holds no real money.
 */
export interface SandboxRoutesOptions {
  sandbox: SandboxChannel;
  /** The sandbox runs on its own as one superapp's channel: statement faults need no application_id. */
  standalone?: boolean;
}

const errorSchema = z.object({ code: z.string(), message: z.string() });
const errors = { 400: errorSchema, 404: errorSchema, 409: errorSchema, 413: errorSchema, 415: errorSchema };

const statusOf = (code: ChannelErrorCode): 400 | 404 | 409 => (code.endsWith('_NOT_EXIST') ? 404 : code === 'PARAM_ERROR' ? 400 : 409);

function answer<T, W>(reply: FastifyReply, result: ChannelResult<T>, toWire: (value: T) => W) {
  if (result.outcome === 'ok') return reply.status(200).send(toWire(result.value));
  if (result.outcome === 'rejected') return reply.status(statusOf(result.code)).send({ code: result.code, message: result.message });
  return reply.status(409).send({ code: 'INVALID_REQUEST', message: result.reason });
}

/** Minor units as a major-unit string with the currency's own digits (JPY 0, CNY 2, KWD 3). */
export function formatAmount(total: number, currency: string): string {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // An unknown code keeps two digits.
  }
  const sign = total < 0 ? '-' : '';
  const text = String(Math.abs(total)).padStart(digits + 1, '0');
  const major = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return `${sign}${major} ${currency}`;
}

// Static files stay beside the sources (the compiled server reads them there too).
const cashierFolder = path.join(repositoryRoot, 'src/routes/sandbox/cashier');
const readAsset = (name: string) => readFileSync(path.join(cashierFolder, name), 'utf8');

const tags = ['sandbox'];
const tokenParams = z.object({ token: z.string().min(1).max(128) });

export async function sandboxRoutes(app: FastifyInstance, options: SandboxRoutesOptions) {
  const { sandbox } = options;
  guardRoutesWith(app, 'sandbox-only');
  const routes = app.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler((error: { validation?: unknown; statusCode?: number; message: string }, request, reply) => {
    if (error.validation || (error.statusCode && error.statusCode < 500))
      return reply.status(clientErrorStatus(error.statusCode)).send({ code: 'PARAM_ERROR', message: error.message });
    request.log.error({ err: error }, 'sandbox request failed');
    return reply.status(500).send({ code: 'SYSTEM_ERROR', message: 'The sandbox failed' });
  });
  registerPaymentControlRoutes(routes, sandbox);
  registerRefundControlRoutes(routes, sandbox);
  registerStatementFaultRoutes(routes, sandbox, options.standalone ?? false);
  // The cashier: a static page and script (CSP script-src 'self'), and the JSON they use.
  registerCashierPageRoutes(routes);
  registerCashierApiRoutes(routes, sandbox);
}

function registerPaymentControlRoutes(routes: ZodRoutes, sandbox: SandboxChannel) {
  const prepayParams = z.object({ prepay_id: z.string().min(1).max(64) });

  routes.post(
    '/sandbox/v1/payments/:prepay_id/succeed',
    {
      config: { capability: 'public' },
      schema: {
        summary: 'Sandbox: the user pays (the order becomes SUCCESS and Paythrough is told)',
        tags,
        params: prepayParams,
        body: z
          .object({
            payer_openid: z.string().min(1).max(128).optional(),
            late: z.boolean().optional().describe('Capture even a closed or failed order, to simulate a late payment'),
          })
          .nullish(),
        response: { 200: wireOrderSchema, ...errors },
      },
    },
    async (request, reply) => {
      const result = await sandbox.succeedPayment(request.params.prepay_id, {
        ...(request.body?.payer_openid ? { payerOpenid: request.body.payer_openid } : {}),
        ...(request.body?.late ? { late: true } : {}),
      });
      return answer(reply, result, orderToWire);
    },
  );

  routes.post(
    '/sandbox/v1/payments/:prepay_id/fail',
    {
      config: { capability: 'public' },
      schema: {
        summary: 'Sandbox: the payment fails (the order becomes PAY_ERROR and Paythrough is told)',
        tags,
        params: prepayParams,
        body: z.object({ reason: z.string().min(1).max(256).optional() }).nullish(),
        response: { 200: wireOrderSchema, ...errors },
      },
    },
    async (request, reply) => answer(reply, await sandbox.failPayment(request.params.prepay_id, request.body?.reason), orderToWire),
  );

  routes.get(
    '/sandbox/v1/payments/:prepay_id',
    {
      config: { capability: 'public' },
      schema: {
        summary: "Sandbox: the channel's view of an order",
        tags,
        params: prepayParams,
        response: { 200: wireOrderSchema, ...errors },
      },
    },
    async (request, reply) => {
      const row = await sandbox.findOrderByPrepayId(request.params.prepay_id);
      if (!row)
        return reply.status(404).send({ code: 'ORDER_NOT_EXIST', message: `No sandbox order for prepay_id ${request.params.prepay_id}` });
      return orderToWire(sandbox.toChannelOrder(row));
    },
  );
}

const refundScope = z.object({ mchid: z.string().min(1).max(32).optional(), application_id: z.string().min(1).max(64).optional() });

function registerRefundControlRoutes(routes: ZodRoutes, sandbox: SandboxChannel) {
  const outcomes = { succeed: 'SUCCESS', close: 'CLOSED', abnormal: 'ABNORMAL' } as const;
  routes.post(
    '/sandbox/v1/refunds/:out_refund_no/:outcome',
    {
      config: { capability: 'public' },
      schema: {
        summary: 'Sandbox: settle a refund at once (SUCCESS, CLOSED or ABNORMAL; Paythrough is told)',
        tags,
        params: z.object({ out_refund_no: z.string().min(1).max(64), outcome: z.enum(['succeed', 'close', 'abnormal']) }),
        querystring: refundScope,
        body: refundScope.nullish(),
        response: { 200: wireRefundSchema, ...errors },
      },
    },
    async (request, reply) => {
      // Merchant IDs are each superapp's own: the two together name one refund whatever other superapps hold.
      const result = await sandbox.settleRefund(request.params.out_refund_no, outcomes[request.params.outcome], {
        merchantId: request.body?.mchid ?? request.query.mchid,
        applicationId: request.body?.application_id ?? request.query.application_id,
      });
      return answer(reply, result, refundToWire);
    },
  );
}

function registerStatementFaultRoutes(routes: ZodRoutes, sandbox: SandboxChannel, standalone: boolean) {
  const billDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
  const number = z.string().min(1).max(64);
  const applicationId = z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('The superapp whose statement is bent (not needed when the sandbox runs on its own)');
  const faultSchema = z.object({
    bill_date: z.string(),
    kind: z.enum(sandboxStatementFaultKinds),
    out_trade_no: z.string().nullable(),
    out_refund_no: z.string().nullable(),
    mchid: z.string().nullable(),
  });
  // The standalone sandbox serves one superapp, whose records carry '' (SandboxChannelOptions.superappId).
  const scopeOf = (asked: string | undefined): string | undefined => (standalone ? '' : asked);
  const applicationIdRequired = { code: 'PARAM_ERROR', message: 'application_id is required' };

  routes.post(
    '/sandbox/v1/statement-faults',
    {
      config: { capability: 'public' },
      schema: {
        summary: "Sandbox: bend one line of a day's statement (drop, amount, currency, state, time, extra, duplicate)",
        tags,
        body: z.strictObject({
          application_id: applicationId,
          bill_date: billDate,
          kind: z.enum(sandboxStatementFaultKinds),
          out_trade_no: number.optional(),
          out_refund_no: number.optional(),
          mchid: z.string().min(1).max(32).optional().describe('The merchant of an extra line for an order the sandbox does not have'),
        }),
        response: { 200: z.object({ faults: z.array(faultSchema) }), ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const scope = scopeOf(body.application_id);
      if (scope === undefined) return reply.status(400).send(applicationIdRequired);
      const result = await sandbox.addStatementFault(scope, {
        billDate: body.bill_date,
        kind: body.kind,
        outTradeNo: body.out_trade_no,
        outRefundNo: body.out_refund_no,
        merchantId: body.mchid,
      });
      return answer(reply, result, (faults) => ({
        faults: faults.map((fault) => ({
          bill_date: fault.bill_date,
          kind: fault.kind,
          out_trade_no: fault.out_trade_no || null,
          out_refund_no: fault.out_refund_no || null,
          mchid: fault.merchant_id,
        })),
      }));
    },
  );

  routes.post(
    '/sandbox/v1/statement-faults/clear',
    {
      config: { capability: 'public' },
      schema: {
        summary: "Sandbox: remove a day's statement faults (all, or those of one kind, order or refund)",
        tags,
        body: z.strictObject({
          application_id: applicationId,
          bill_date: billDate,
          kind: z.enum(sandboxStatementFaultKinds).optional(),
          out_trade_no: number.optional(),
          out_refund_no: number.optional(),
        }),
        response: { 200: z.object({ removed: z.number().int() }), ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const scope = scopeOf(body.application_id);
      if (scope === undefined) return reply.status(400).send(applicationIdRequired);
      const removed = await sandbox.clearStatementFaults(scope, body.bill_date, {
        kind: body.kind,
        outTradeNo: body.out_trade_no,
        outRefundNo: body.out_refund_no,
      });
      return { removed };
    },
  );
}

function registerCashierPageRoutes(routes: ZodRoutes) {
  const page = readAsset('cashier.html');
  const script = readAsset('cashier.js');
  const style = readAsset('cashier.css');

  routes.get('/sandbox/cashier/assets/cashier.js', { config: { capability: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(script),
  );
  routes.get('/sandbox/cashier/assets/cashier.css', { config: { capability: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(style),
  );
  routes.get(
    '/sandbox/cashier/:token',
    { config: { capability: 'public' }, schema: { hide: true, params: tokenParams } },
    async (_request, reply) =>
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').send(page),
  );
}

function registerCashierApiRoutes(routes: ZodRoutes, sandbox: SandboxChannel) {
  const cashierViewSchema = z.object({
    prepay_id: z.string(),
    merchant_id: z.string(),
    appid: z.string(),
    out_trade_no: z.string(),
    description: z.string(),
    amount: z.object({ total: z.number().int(), currency: z.string() }),
    amount_display: z.string(),
    state: z.enum(['WAIT_PAY', 'SUCCESS', 'CLOSED', 'PAY_ERROR']),
    expired: z.boolean(),
    expire_time: z.string(),
    result: z.enum(['ok', 'fail', 'cancel']).nullable(),
  });
  type CashierView = z.infer<typeof cashierViewSchema>;

  const cashierView = (token: string, result: CashierView['result']) =>
    sandbox.findOrderByCashierToken(token).then((row): CashierView | undefined =>
      row
        ? {
            prepay_id: row.prepay_id,
            merchant_id: row.merchant_id,
            appid: row.appid,
            out_trade_no: row.out_trade_no,
            description: row.description,
            amount: { total: row.amount_total, currency: row.currency },
            amount_display: formatAmount(row.amount_total, row.currency),
            state: row.state,
            expired: row.state === 'WAIT_PAY' && row.expires_at <= sandbox.clock.nowMs(),
            expire_time: new Date(row.expires_at).toISOString(),
            result,
          }
        : undefined,
    );
  const notFound = (reply: FastifyReply) => reply.status(404).send({ code: 'ORDER_NOT_EXIST', message: 'This cashier link is not valid' });

  routes.get(
    '/sandbox/v1/cashier/:token',
    {
      config: { capability: 'public' },
      schema: { summary: 'Sandbox cashier: the order summary', tags, params: tokenParams, response: { 200: cashierViewSchema, ...errors } },
    },
    async (request, reply) => (await cashierView(request.params.token, null)) ?? notFound(reply),
  );

  routes.post(
    '/sandbox/v1/cashier/:token/:action',
    {
      config: { capability: 'public' },
      schema: {
        summary: 'Sandbox cashier: the user pays, fails or cancels',
        tags,
        params: tokenParams.extend({ action: z.enum(['pay', 'fail', 'cancel']) }),
        response: { 200: cashierViewSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { token, action } = request.params;
      const view = await cashierView(token, null);
      if (!view) return notFound(reply);
      if (action === 'cancel') return { ...view, result: 'cancel' as const };
      if (view.state !== 'WAIT_PAY')
        return reply
          .status(409)
          .send({ code: view.state === 'SUCCESS' ? 'ORDER_PAID' : 'ORDER_CLOSED', message: `The order is ${view.state}` });
      if (view.expired) return reply.status(409).send({ code: 'ORDER_CLOSED', message: 'The order has expired' });
      const result = action === 'pay' ? await sandbox.succeedPayment(view.prepay_id) : await sandbox.failPayment(view.prepay_id);
      if (result.outcome !== 'ok') return answer(reply, result, (value) => value);
      return { ...(await cashierView(token, null))!, result: action === 'pay' ? ('ok' as const) : ('fail' as const) };
    },
  );
}
