import { z } from 'zod';
import { notificationEventTypes, notificationStatuses } from '../../services/records/index.ts';
import { deliveryAttemptSchema, epochMs, listOf, recordNumber, recordSort } from './record-schemas.ts';

// Schemas of the notification delivery log's routes (SPEC §5).

const escaped = (value: string) => value.replace(/\./g, '\\.');

export const notificationListQuery = z.object({
  createdFrom: epochMs.optional(),
  createdTo: epochMs.optional(),
  mnpId: listOf('[A-Za-z0-9_-]{1,64}', 50).optional(),
  status: listOf(`(${notificationStatuses.join('|')})`, notificationStatuses.length).optional(),
  eventType: listOf(`(${notificationEventTypes.map(escaped).join('|')})`, notificationEventTypes.length).optional(),
  outTradeNo: recordNumber.optional(),
  outRefundNo: recordNumber.optional(),
  sort: recordSort,
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** Ids in paths are plain strings (as every console id is); one that is not a number finds nothing. */
export const notificationIdParams = z.object({ notificationId: z.string().min(1).max(64) });

export const notificationLogItemSchema = z.object({
  id: z.number(),
  eventId: z.string(),
  eventType: z.string().nullable(),
  subject: z.object({
    type: z.enum(['order', 'refund']),
    id: z.number(),
    orderId: z.number().nullable(),
    outTradeNo: z.string().nullable(),
    outRefundNo: z.string().nullable(),
  }),
  mnpId: z.string().nullable(),
  mnpName: z.string().nullable(),
  status: z.enum(notificationStatuses),
  delivering: z.boolean(),
  attempts: z.number(),
  lastAttemptAt: z.number().nullable(),
  lastHttpStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: z.number().nullable(),
  targetHost: z.string().nullable(),
  sandbox: z.boolean(),
  createdAt: z.number(),
  deliveredAt: z.number().nullable(),
  failedAt: z.number().nullable(),
});

export const notificationLogPageSchema = z.object({
  items: z.array(notificationLogItemSchema),
  nextCursor: z.string().nullable(),
  range: z.object({ createdFrom: z.number(), createdTo: z.number() }),
});

export const notificationLogDetailSchema = notificationLogItemSchema.extend({
  targetUrl: z.string().nullable(),
  /** The current round was started by a console user's resend. */
  manual: z.boolean(),
  deliveryAttempts: z.array(deliveryAttemptSchema),
});
