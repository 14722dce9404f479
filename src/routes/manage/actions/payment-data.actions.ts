import { z } from 'zod';
import { defineAction } from '../management-action.ts';

const epochMs = z.number().int().min(0).max(8_640_000_000_000);
const paymentDataQuery = z.object({
  TimeBegin: epochMs,
  TimeEnd: epochMs,
  MNPIds: z.array(z.string().min(1).max(64)).max(100).optional(),
  DataType: z.union([z.literal(0), z.literal(1)]).optional(),
  Platform: z.union([z.literal(0), z.literal(2), z.literal(3)]).optional(),
  Currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code')
    .optional(),
});

const toServiceQuery = (input: z.output<typeof paymentDataQuery>) => ({
  timeBegin: input.TimeBegin,
  timeEnd: input.TimeEnd,
  mnpIds: input.MNPIds,
  dataType: input.DataType,
  platform: input.Platform,
  currency: input.Currency,
});

export const paymentDataActions = [
  defineAction({
    name: 'DescribePaymentDataOverview',
    capability: 'order.view',
    input: paymentDataQuery,
    run: ({ actor, services }, input) => services.paymentData.overview(actor, toServiceQuery(input)),
  }),
  defineAction({
    name: 'DescribePaymentDataDetail',
    capability: 'order.view',
    input: paymentDataQuery,
    run: ({ actor, services }, input) => services.paymentData.detail(actor, toServiceQuery(input)),
  }),
];
