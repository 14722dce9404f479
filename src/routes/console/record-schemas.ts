import { z } from 'zod';
import { tradeStates } from '../../domain/order-state.ts';
import { refundStatuses } from '../../domain/refund-state.ts';
import { notFound } from '../../domain/errors.ts';
import { recordSorts } from '../../domain/record-scope.ts';

// Schemas of the record pages' routes (Order record, After-sales record, exports, payment data).

export const epochMs = z.coerce.number().int().min(0).max(8_640_000_000_000);
const minorUnits = z.coerce.number().int().min(0).max(9_007_199_254_740_991);
const id = '[A-Za-z0-9_-]{1,64}';
/** Comma-separated lists in query strings, e.g. `mnpId=mnp_a,mnp_b`. */
export const listOf = (item: string, max: number) =>
  z
    .string()
    .max(max * 65)
    .regex(new RegExp(`^${item}(,${item}){0,${max - 1}}$`), 'a comma-separated list');
export const splitList = <T extends string = string>(value: string | undefined): T[] | undefined =>
  value ? (value.split(',') as T[]) : undefined;

/** An exact order or refund number to search by; control characters (which PostgreSQL text refuses) are refused here. */
export const recordNumber = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine((value) => !/\p{Cc}/u.test(value), 'no control characters');
/** By created time, newest first unless `oldest`; a cursor continues the order it came from. */
export const recordSort = z.enum(recordSorts).optional();

export const orderListQuery = z.object({
  createdFrom: epochMs.optional(),
  createdTo: epochMs.optional(),
  mnpId: listOf(id, 50).optional(),
  tradeState: listOf(`(${tradeStates.join('|')})`, tradeStates.length).optional(),
  outTradeNo: recordNumber.optional(),
  transactionId: recordNumber.optional(),
  amountMin: minorUnits.optional(),
  amountMax: minorUnits.optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code')
    .optional(),
  sort: recordSort,
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  withTotal: z.enum(['true', 'false']).optional(),
});

export const refundListQuery = z.object({
  createdFrom: epochMs.optional(),
  createdTo: epochMs.optional(),
  mnpId: listOf(id, 50).optional(),
  status: listOf(`(${refundStatuses.join('|')})`, refundStatuses.length).optional(),
  orderNo: recordNumber.optional(),
  refundNo: recordNumber.optional(),
  sort: recordSort,
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  withTotal: z.enum(['true', 'false']).optional(),
});

const bodyEpochMs = z.number().int().min(0).max(8_640_000_000_000);
const exportFormat = z.enum(['csv', 'xlsx']);

export const orderExportBody = z.object({
  format: exportFormat,
  createdFrom: bodyEpochMs.optional(),
  createdTo: bodyEpochMs.optional(),
  mnpIds: z.array(z.string().min(1).max(64)).max(50).optional(),
  tradeStates: z.array(z.enum(tradeStates)).max(tradeStates.length).optional(),
  outTradeNo: recordNumber.optional(),
  transactionId: recordNumber.optional(),
  amountMin: z.number().int().min(0).max(9_007_199_254_740_991).optional(),
  amountMax: z.number().int().min(0).max(9_007_199_254_740_991).optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code')
    .optional(),
  sort: recordSort,
});

export const refundExportBody = z.object({
  format: exportFormat,
  createdFrom: bodyEpochMs.optional(),
  createdTo: bodyEpochMs.optional(),
  mnpIds: z.array(z.string().min(1).max(64)).max(50).optional(),
  statuses: z.array(z.enum(refundStatuses)).max(refundStatuses.length).optional(),
  orderNo: recordNumber.optional(),
  refundNo: recordNumber.optional(),
  sort: recordSort,
});

/** Record ids in paths are plain strings (as every console id is); one that is not a number finds nothing. */
const recordIdString = z.string().min(1).max(64);
export const orderIdParams = z.object({ orderId: recordIdString });
export const refundIdParams = z.object({ refundId: recordIdString });
export const notificationParams = z.object({ orderId: recordIdString, notificationId: recordIdString });

export function recordIdOf(value: string, what: string): number {
  if (!/^\d{1,15}$/.test(value)) throw notFound(what);
  return Number(value);
}

export const cappedTotalSchema = z.object({ value: z.number(), exact: z.boolean() });

export const orderListItemSchema = z.object({
  id: z.number(),
  mnpId: z.string(),
  mchid: z.string(),
  outTradeNo: z.string(),
  transactionId: z.string().nullable(),
  tradeState: z.enum(tradeStates),
  description: z.string(),
  amountTotal: z.number(),
  amount: z.string(),
  currency: z.string(),
  payerOpenid: z.string(),
  clientPlatform: z.number(),
  sandbox: z.boolean(),
  anomalies: z.array(z.string()),
  refundTotal: z.string(),
  refundedAmount: z.string(),
  createdAt: z.number(),
  successTime: z.number().nullable(),
});

export const refundListItemSchema = z.object({
  id: z.number(),
  orderId: z.number(),
  mnpId: z.string(),
  mchid: z.string(),
  outTradeNo: z.string(),
  transactionId: z.string(),
  outRefundNo: z.string(),
  refundId: z.string(),
  kind: z.enum(['merchant', 'late_payment', 'duplicate_payment']),
  status: z.enum(refundStatuses),
  amountRefund: z.number(),
  refund: z.string(),
  amountTotal: z.number(),
  total: z.string(),
  currency: z.string(),
  reason: z.string().nullable(),
  sandbox: z.boolean(),
  createdAt: z.number(),
  successTime: z.number().nullable(),
});

export const orderFieldsSchema = z.object({
  id: z.number(),
  prepayId: z.string(),
  transactionId: z.string().nullable(),
  mchid: z.string(),
  outTradeNo: z.string(),
  mnpId: z.string(),
  applicationId: z.string(),
  miniProgramTeamId: z.string(),
  description: z.string(),
  attach: z.string().nullable(),
  notifyUrl: z.string(),
  amountTotal: z.number(),
  amount: z.string(),
  currency: z.string(),
  payerOpenid: z.string(),
  timeExpire: z.number(),
  clientPlatform: z.number(),
  sandbox: z.boolean(),
  tradeState: z.enum(tradeStates),
  channelKind: z.string(),
  channelOrderId: z.string().nullable(),
  channelTransactionId: z.string().nullable(),
  refundReserved: z.string(),
  refundCount: z.number(),
  refundedAmount: z.string(),
  anomalies: z.array(z.string()),
  pendingOperation: z.string().nullable(),
  reconcileAt: z.number().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  successTime: z.number().nullable(),
  closedAt: z.number().nullable(),
});

export const refundFieldsSchema = refundListItemSchema.extend({
  superappTeamId: z.string(),
  /** The account that settled the ABNORMAL refund by hand; null when the channel's result settled it. */
  settledBy: z.string().nullable(),
  channelKind: z.string(),
  channelRefundId: z.string().nullable(),
  channelPaymentId: z.number().nullable(),
  userReceivedAccount: z.string().nullable(),
  notifyUrl: z.string().nullable(),
  reconcileAt: z.number().nullable(),
  updatedAt: z.number(),
});

export const historyEntrySchema = z.object({
  id: z.number(),
  subject: z.enum(['order', 'refund']),
  subjectId: z.number(),
  fromState: z.string().nullable(),
  toState: z.string(),
  at: z.number(),
  reason: z.string(),
});

export const channelPaymentSchema = z.object({
  id: z.number(),
  channelKind: z.string(),
  channelTransactionId: z.string().nullable(),
  amount: z.string(),
  currency: z.string(),
  payerOpenid: z.string().nullable(),
  paidAt: z.number(),
  reportedAt: z.number(),
  disposition: z.string(),
  refundId: z.number().nullable(),
});

/** One delivery attempt of a notification (the order's details and the Notifications page show them). */
export const deliveryAttemptSchema = z.object({
  attemptNo: z.number(),
  manual: z.boolean(),
  startedAt: z.number(),
  latencyMs: z.number(),
  outcome: z.enum(['delivered', 'failed']),
  httpStatus: z.number().nullable(),
  responseExcerpt: z.string().nullable(),
  error: z.string().nullable(),
});

export const notificationSchema = z.object({
  id: z.number(),
  eventId: z.string(),
  eventType: z.string().nullable(),
  subjectType: z.string().nullable(),
  subjectId: z.string().nullable(),
  targetUrl: z.string().nullable(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  nextAttemptAt: z.number().nullable(),
  lastError: z.string().nullable(),
  lastHttpStatus: z.number().nullable(),
  createdAt: z.number(),
  deliveredAt: z.number().nullable(),
  failedAt: z.number().nullable(),
  deliveryAttempts: z.array(deliveryAttemptSchema),
});

export const orderDetailSchema = z.object({
  order: orderFieldsSchema,
  refunds: z.array(refundFieldsSchema),
  history: z.array(historyEntrySchema),
  channelPayments: z.array(channelPaymentSchema),
  notifications: z.array(notificationSchema),
});

/** SPEC §7 "ABNORMAL refunds": an administrator settles an ABNORMAL refund by hand, with a note saying why. */
export const refundSettlementBody = z.object({
  status: z.enum(['SUCCESS', 'CLOSED']),
  note: z.string().trim().min(1).max(500),
});

export const refundSettlementSchema = z.object({
  id: z.number(),
  refundId: z.string(),
  outRefundNo: z.string(),
  status: z.enum(refundStatuses),
});

export const refundDetailSchema = z.object({
  refund: refundFieldsSchema,
  order: orderFieldsSchema.nullable(),
  history: z.array(historyEntrySchema),
  channelPayment: channelPaymentSchema.nullable(),
  notifications: z.array(notificationSchema),
});

export const exportSchema = z.object({
  id: z.string(),
  kind: z.enum(['orders', 'refunds']),
  format: exportFormat,
  status: z.enum(['queued', 'running', 'done', 'failed', 'expired']),
  totalRows: z.number().nullable(),
  rowsWritten: z.number(),
  progress: z.number(),
  fileName: z.string(),
  fileSize: z.number().nullable(),
  error: z.string().nullable(),
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  expiresAt: z.number(),
});

export const paymentDataQuery = z.object({
  timeBegin: epochMs.optional(),
  timeEnd: epochMs.optional(),
  mnpId: listOf(id, 50).optional(),
  dataType: z.enum(['0', '1']).optional(),
  platform: z.enum(['0', '2', '3']).optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code')
    .optional(),
});

export const paymentFiguresSchema = z.object({
  OrderMNPNum: z.number(),
  OrderNum: z.number(),
  OrderPaidNum: z.number(),
  OrderRefundNum: z.number(),
  OrderUnpaidNum: z.number(),
  OrderUserNum: z.number(),
  PaidUserNum: z.number(),
  PaidAmount: z.string(),
  RefundAmount: z.string(),
  TotalAmount: z.string(),
  UnpaidAmount: z.string(),
  Currency: z.string(),
  UpdateTime: z.number(),
  DataTime: z.string(),
});
