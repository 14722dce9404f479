import { z } from 'zod';
import {
  miniGamePaymentIndexes,
  standardPaymentIndexes,
  type MiniGamePaymentIndexId,
  type StandardPaymentIndexId,
} from '../../../services/records/index.ts';
import { defineAction } from '../management-action.ts';

const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'an ISO 4217 code')
  .optional();
const epochMs = z.number().int().min(0).max(8_640_000_000_000);
const paymentDataQuery = z.object({
  TimeBegin: epochMs,
  TimeEnd: epochMs,
  MNPIds: z.array(z.string().min(1).max(64)).max(100).optional(),
  DataType: z.union([z.literal(0), z.literal(1)]).optional(),
  Platform: z.union([z.literal(0), z.literal(2), z.literal(3)]).optional(),
  Currency: currency,
});

const toServiceQuery = (input: z.output<typeof paymentDataQuery>) => ({
  timeBegin: input.TimeBegin,
  timeEnd: input.TimeEnd,
  mnpIds: input.MNPIds,
  dataType: input.DataType,
  platform: input.Platform,
  currency: input.Currency,
});

const compactDay = z.number().int().min(19700101).max(99991231);
const isoDay = (day: number) => `${String(day).slice(0, 4)}-${String(day).slice(4, 6)}-${String(day).slice(6, 8)}`;

/** TCSAS's QueryData: base64 of a JSON object (`DataType` a string inside it, as SAS sends it). */
const lineChartQueryData = (paymentType: 1 | 2, otherAction: string) =>
  z
    .string()
    .max(8192)
    .transform((text, context) => {
      try {
        return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'QueryData is base64 of a JSON object' });
        return z.NEVER;
      }
    })
    .pipe(
      z.object({
        Platform: z.union([z.literal(0), z.literal(2), z.literal(3)]).optional(),
        MnpId: z.string().min(1).max(64).optional(),
        MnpIds: z.array(z.string().min(1).max(64)).max(100).optional(),
        BeginDate: compactDay,
        EndDate: compactDay,
        DataType: z.enum(['0', '1']).optional(),
        PaymentType: z.literal(paymentType, `PaymentType ${paymentType} here; the other payment type is ${otherAction}`).optional(),
      }),
    );

/** TCSAS's MNG times: ms since the epoch, or a business day `YYYYMMDD` (SPEC §8.7). */
const miniGameTime = z.union([z.number().int().min(0).max(8_640_000_000_000), z.string().regex(/^\d{8}$/, 'YYYYMMDD')]);
const isDay = (value: number | string) => typeof value === 'string' || (value >= 19700101 && value <= 99991231);
const miniGameQuery = z.object({
  TimeBegin: miniGameTime,
  TimeEnd: miniGameTime,
  MNPId: z.string().min(1).max(64),
  DataType: z.union([z.literal(0), z.literal(1)]).optional(),
  Platform: z.union([z.literal(0), z.literal(2), z.literal(3)]).optional(),
  Currency: currency,
});
const toMiniGameQuery = (input: z.output<typeof miniGameQuery>) => {
  const begin = input.TimeBegin;
  const end = input.TimeEnd;
  const range =
    isDay(begin) && isDay(end)
      ? { beginDay: isoDay(Number(begin)), endDay: isoDay(Number(end)) }
      : { timeBegin: Number(begin), timeEnd: Number(end) };
  return { range, mnpIds: [input.MNPId], dataType: input.DataType, platform: input.Platform, currency: input.Currency };
};
const lineChartQuery = (query: { MnpId?: string | undefined; MnpIds?: string[] | undefined; DataType?: '0' | '1' | undefined }) => {
  const mnpIds = [...(query.MnpId ? [query.MnpId] : []), ...(query.MnpIds ?? [])];
  return {
    mnpIds: mnpIds.length ? mnpIds : undefined,
    dataType: query.DataType === undefined ? undefined : query.DataType === '1' ? (1 as const) : (0 as const),
  };
};

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
  defineAction({
    name: 'DescribePaymentDataLineChart',
    capability: 'order.view',
    input: z.object({
      ReportId: z.literal('payment_data_analysis'),
      IndexId: z.enum(Object.keys(standardPaymentIndexes) as [StandardPaymentIndexId, ...StandardPaymentIndexId[]]),
      QueryData: lineChartQueryData(1, 'DescribeMNGPaymentLineChart'),
      Currency: currency,
    }),
    run: ({ actor, services }, input) =>
      services.paymentData.lineChart(actor, {
        indexId: input.IndexId,
        beginDay: isoDay(input.QueryData.BeginDate),
        endDay: isoDay(input.QueryData.EndDate),
        ...lineChartQuery(input.QueryData),
        platform: input.QueryData.Platform,
        currency: input.Currency,
      }),
  }),
  defineAction({
    name: 'DescribeMNGPaymentOverview',
    capability: 'order.view',
    input: miniGameQuery,
    run: ({ actor, services }, input) => services.miniGamePaymentData.overview(actor, toMiniGameQuery(input)),
  }),
  defineAction({
    name: 'DescribeMNGPaymentReportDetail',
    capability: 'order.view',
    input: miniGameQuery,
    run: ({ actor, services }, input) => services.miniGamePaymentData.reportDetail(actor, toMiniGameQuery(input)),
  }),
  defineAction({
    name: 'DescribeMNGPaymentRetentionAnalysis',
    capability: 'order.view',
    input: miniGameQuery,
    run: ({ actor, services }, input) => services.miniGamePaymentData.retention(actor, toMiniGameQuery(input)),
  }),
  defineAction({
    name: 'DescribeMNGPaymentLineChart',
    capability: 'order.view',
    input: z.object({
      ReportId: z.literal('payment_data_analysis'),
      IndexId: z.enum(Object.keys(miniGamePaymentIndexes) as [MiniGamePaymentIndexId, ...MiniGamePaymentIndexId[]]),
      QueryData: lineChartQueryData(2, 'DescribePaymentDataLineChart'),
      Currency: currency,
    }),
    run: ({ actor, services }, input) =>
      services.miniGamePaymentData.lineChart(actor, {
        indexId: input.IndexId,
        beginDay: isoDay(input.QueryData.BeginDate),
        endDay: isoDay(input.QueryData.EndDate),
        mnpIds: lineChartQuery(input.QueryData).mnpIds ?? [],
        dataType: lineChartQuery(input.QueryData).dataType,
        platform: input.QueryData.Platform,
        currency: input.Currency,
      }),
  }),
];
