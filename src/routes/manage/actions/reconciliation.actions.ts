import { z } from 'zod';
import { AppError } from '../../../domain/errors.ts';
import {
  majorUnits,
  reconciliationExceptionKinds,
  reconciliationExceptionStatuses,
  reconciliationRunStatuses,
  type DayTotals,
  type ReconciliationExceptionView,
} from '../../../services/reconciliation/index.ts';
import { defineAction } from '../management-action.ts';

// Daily reconciliation (SPEC §9.5), ours like §3's list actions: Offset from 0, Limit 1–100, BillDate `YYYYMMDD`,
// amounts as major-unit strings, times in ms since the epoch.

const runStatuses = reconciliationRunStatuses;
const exceptionKinds = reconciliationExceptionKinds;
const exceptionStatuses = reconciliationExceptionStatuses;

const applicationId = z.string().min(1).max(64);
/** Any short text: a malformed day is `InvalidParameterValue.InvalidBillDate`, said by the service. */
const billDate = z.string().max(32);
const number = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine((value) => !/\p{Cc}/u.test(value), 'no control characters');
const paging = {
  Offset: z.number().int().min(0).max(10_000).default(0),
  Limit: z.number().int().min(1).max(100).default(20),
};

/** `YYYYMMDD` → `YYYY-MM-DD`; anything else is an invalid bill date. */
export function isoBillDate(value: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (!match) throw new AppError('InvalidParameterValue.InvalidBillDate', 'BillDate is YYYYMMDD');
  return `${match[1]}-${match[2]}-${match[3]}`;
}
const optionalIsoBillDate = (value: string | undefined) => (value === undefined ? undefined : isoBillDate(value));
export const compactBillDate = (value: string) => value.replaceAll('-', '');

function totalsOf(totals: DayTotals[]) {
  return totals.map((t) => ({
    Currency: t.currency,
    OurPaymentNum: t.ours.paymentCount,
    OurPaymentAmount: majorUnits(t.ours.paymentAmount, t.currency),
    ChannelPaymentNum: t.channel.paymentCount,
    ChannelPaymentAmount: majorUnits(t.channel.paymentAmount, t.currency),
    OurRefundNum: t.ours.refundCount,
    OurRefundAmount: majorUnits(t.ours.refundAmount, t.currency),
    ChannelRefundNum: t.channel.refundCount,
    ChannelRefundAmount: majorUnits(t.channel.refundAmount, t.currency),
    DiffPaymentNum: t.difference.paymentCount,
    DiffPaymentAmount: majorUnits(t.difference.paymentAmount, t.currency),
    DiffRefundNum: t.difference.refundCount,
    DiffRefundAmount: majorUnits(t.difference.refundAmount, t.currency),
  }));
}

function exceptionItem(e: ReconciliationExceptionView) {
  return {
    ExceptionId: e.id,
    BillDate: compactBillDate(e.billDate),
    Kind: e.kind,
    Status: e.status,
    Action: e.action,
    MNPId: e.mnpId,
    MchId: e.mchid,
    OutTradeNo: e.outTradeNo,
    TransactionId: e.transactionId,
    OutRefundNo: e.outRefundNo,
    RefundId: e.refundId,
    Currency: e.currency,
    OurAmount: e.ourAmount,
    ChannelAmount: e.channelAmount,
    OurState: e.ourState,
    ChannelState: e.channelState,
    OurTime: e.ourTime,
    ChannelTime: e.channelTime,
    ResolvedBy: e.resolvedBy,
    ResolvedAt: e.resolvedAt,
    ResolutionNote: e.resolutionNote,
  };
}

export const reconciliationActions = [
  defineAction({
    name: 'DescribeReconciliationList',
    capability: 'reconciliation.view',
    input: z.object({
      ApplicationId: applicationId,
      BillDateBegin: billDate.optional(),
      BillDateEnd: billDate.optional(),
      Status: z.enum(runStatuses).optional(),
      ...paging,
    }),
    async run({ actor, services }, input) {
      const page = await services.reconciliationRecords.listDays(
        actor,
        {
          applicationId: input.ApplicationId,
          fromDate: optionalIsoBillDate(input.BillDateBegin),
          toDate: optionalIsoBillDate(input.BillDateEnd),
          status: input.Status,
        },
        input.Offset,
        input.Limit,
      );
      return {
        Total: page.total,
        List: page.items.map((day) => ({
          BillDate: compactBillDate(day.billDate),
          Status: day.status,
          Totals: totalsOf(day.totals),
          MatchedNum: day.matchedNum,
          ExceptionNum: day.exceptionNum,
          OpenExceptionNum: day.openExceptionNum,
        })),
      };
    },
  }),
  defineAction({
    name: 'DescribeReconciliationDetail',
    capability: 'reconciliation.view',
    input: z.object({ ApplicationId: applicationId, BillDate: billDate }),
    async run({ actor, services }, input) {
      const day = await services.reconciliationRecords.dayDetail(actor, input.ApplicationId, isoBillDate(input.BillDate));
      return {
        BillDate: compactBillDate(day.billDate),
        Status: day.status,
        Attempts: day.attempts,
        Totals: totalsOf(day.totals),
        LineNum: day.lineNum,
        MatchedNum: day.matchedNum,
        ExceptionNum: day.exceptionNum,
        OpenExceptionNum: day.openExceptionNum,
        Outcomes: day.outcomes.map((o) => ({ Kind: o.kind, Status: o.status, Num: o.n })),
        Runs: day.runs.map((run) => ({
          ConnectionId: run.connectionId,
          Status: run.status,
          Attempts: run.attempts,
          LastError: run.lastError,
          FinishedAt: run.finishedAt,
        })),
        UpdateTime: day.updatedAt,
      };
    },
  }),
  defineAction({
    name: 'DescribeReconciliationExceptionList',
    capability: 'reconciliation.view',
    input: z.object({
      ApplicationId: applicationId,
      BillDateBegin: billDate.optional(),
      BillDateEnd: billDate.optional(),
      Kind: z.enum(exceptionKinds).optional(),
      Status: z.enum(exceptionStatuses).optional(),
      MNPIds: z.array(z.string().min(1).max(64)).max(100).optional(),
      OrderNo: number.optional(),
      RefundNo: number.optional(),
      ...paging,
    }),
    async run({ actor, services }, input) {
      const page = await services.reconciliationRecords.listExceptions(
        actor,
        {
          applicationId: input.ApplicationId,
          fromDate: optionalIsoBillDate(input.BillDateBegin),
          toDate: optionalIsoBillDate(input.BillDateEnd),
          kinds: input.Kind ? [input.Kind] : undefined,
          statuses: input.Status ? [input.Status] : undefined,
          mnpIds: input.MNPIds,
          orderNo: input.OrderNo,
          refundNo: input.RefundNo,
        },
        input.Offset,
        input.Limit,
      );
      return { Total: page.total, List: page.items.map(exceptionItem) };
    },
  }),
  defineAction({
    name: 'ResolveReconciliationException',
    capability: 'reconciliation.resolve',
    input: z.object({
      ApplicationId: applicationId,
      ExceptionId: z.string().min(1).max(32),
      /** Required; an empty or blank one is `InvalidParameterValue.ResolutionNoteRequired`. */
      ResolutionNote: z.string().max(500).default(''),
    }),
    async run({ actor, services }, input) {
      await services.reconciliationRecords.resolve(actor, {
        applicationId: input.ApplicationId,
        exceptionId: input.ExceptionId,
        note: input.ResolutionNote,
      });
      return { Result: true };
    },
  }),
  defineAction({
    name: 'RerunReconciliation',
    capability: 'reconciliation.rerun',
    input: z.object({ ApplicationId: applicationId, BillDate: billDate }),
    async run({ actor, services }, input) {
      const status = await services.reconciliationRecords.rerun(actor, input.ApplicationId, isoBillDate(input.BillDate));
      return { Result: true, Status: status };
    },
  }),
];
