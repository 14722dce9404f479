import { z } from 'zod';
import { defineAction } from '../management-action.ts';

export const refundSettlementActions = [
  // SPEC §7 "ABNORMAL refunds": a superapp administrator settles an ABNORMAL refund by hand, saying why.
  defineAction({
    name: 'SettleAbnormalRefund',
    capability: 'refund.settle',
    input: z.object({
      ApplicationId: z.string().min(1).max(64),
      /** The refund's refund_id, as DescribePaymentRefundList shows it. */
      RefundId: z.string().min(1).max(64),
      Status: z.enum(['SUCCESS', 'CLOSED']),
      Note: z.string().trim().min(1, 'Note is required: say why the refund is settled by hand').max(500),
    }),
    async run({ actor, services }, input) {
      const settled = await services.refunds.settleAbnormal(actor, {
        applicationId: input.ApplicationId,
        refundId: input.RefundId,
        status: input.Status,
        note: input.Note,
      });
      return { Result: true, RefundId: settled.refundId, OutRefundNo: settled.outRefundNo, Status: settled.status };
    },
  }),
];
