import { tradeStateOfVirtualStatus } from '../../../domain/virtual-order-status.ts';
import { z } from 'zod';
import { tradeStates } from '../../../domain/order-state.ts';
import { refundStatuses } from '../../../domain/refund-state.ts';
import { defineAction } from '../management-action.ts';

// The record list actions of SPEC §3 ("List actions"): Offset from 0 (at most 10,000, SPEC §7 "Records at
// scale"), Limit 1–100 (default 20), times in ms since the epoch, amounts as major-unit strings.

const epochMs = z.number().int().min(0).max(8_640_000_000_000);
// Control characters (which PostgreSQL text refuses) are refused as parameter errors, never sent to the database.
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

export const recordActions = [
  defineAction({
    name: 'DescribePaymentOrderList',
    capability: 'order.view',
    input: z.object({
      TimeBegin: epochMs.optional(),
      TimeEnd: epochMs.optional(),
      MNPIds: z.array(z.string().min(1).max(64)).max(100).optional(),
      TradeState: z.enum(tradeStates).optional(),
      OutTradeNo: number.optional(),
      TransactionId: number.optional(),
      PaymentType: z.union([z.literal(1), z.literal(2)]).optional(),
      ...paging,
    }),
    async run({ actor, services }, input) {
      const page = await services.orderRecords.listByOffset(
        actor,
        {
          createdFrom: input.TimeBegin,
          createdTo: input.TimeEnd,
          mnpIds: input.MNPIds,
          tradeStates: input.TradeState ? [input.TradeState] : undefined,
          outTradeNo: input.OutTradeNo,
          transactionId: input.TransactionId,
          paymentType: input.PaymentType,
        },
        input.Offset,
        input.Limit,
      );
      return {
        Total: page.total,
        List: page.items.map((order) => ({
          MNPId: order.mnpId,
          MchId: order.mchid,
          OutTradeNo: order.outTradeNo,
          TransactionId: order.transactionId,
          // SPEC §8.3: a virtual order shows its status as a TradeState, and the number in Status.
          TradeState: order.status === null ? order.tradeState : tradeStateOfVirtualStatus(order.status),
          Description: order.description,
          Total: order.amount,
          Currency: order.currency,
          PayerOpenId: order.payerOpenid,
          CreateTime: order.createdAt,
          SuccessTime: order.successTime,
          RefundTotal: order.refundTotal,
          PaymentType: order.paymentType,
          ProductId: order.productId,
          Quantity: order.quantity,
          DeliveryStatus: order.deliveryStatus,
          Status: order.status,
        })),
      };
    },
  }),
  defineAction({
    name: 'DescribePaymentRefundList',
    capability: 'refund.view',
    input: z.object({
      TimeBegin: epochMs.optional(),
      TimeEnd: epochMs.optional(),
      OrderNo: number.optional(),
      RefundNo: number.optional(),
      Status: z.enum(refundStatuses).optional(),
      PaymentType: z.union([z.literal(1), z.literal(2)]).optional(),
      ...paging,
    }),
    async run({ actor, services }, input) {
      const page = await services.refundRecords.listByOffset(
        actor,
        {
          createdFrom: input.TimeBegin,
          createdTo: input.TimeEnd,
          orderNo: input.OrderNo,
          refundNo: input.RefundNo,
          statuses: input.Status ? [input.Status] : undefined,
          paymentType: input.PaymentType,
        },
        input.Offset,
        input.Limit,
      );
      return {
        Total: page.total,
        List: page.items.map((refund) => ({
          MNPId: refund.mnpId,
          OutTradeNo: refund.outTradeNo,
          TransactionId: refund.transactionId,
          OutRefundNo: refund.outRefundNo,
          RefundId: refund.refundId,
          Status: refund.status,
          Refund: refund.refund,
          Total: refund.total,
          Currency: refund.currency,
          Reason: refund.reason,
          CreateTime: refund.createdAt,
          SuccessTime: refund.successTime,
          PaymentType: refund.paymentType,
        })),
      };
    },
  }),
];
