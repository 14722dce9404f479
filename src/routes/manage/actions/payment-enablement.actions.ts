import { z } from 'zod';
import { approvalKinds, PaymentType } from '../../../domain/approval-state.ts';
import { defineAction } from '../management-action.ts';

const text = (max: number) => z.string().max(max);
const idString = z.string().min(1).max(64);
/** Binding and payment record ids are integers; the API accepts a number or its decimal string. */
const recordId = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d{1,15}$/, 'must be a positive integer')
    .transform(Number),
]);
const approvalType = z.union([z.number(), z.string()]).transform((value, context) => {
  const type = Number(value);
  if (type !== 10 && type !== 20) {
    context.addIssue({
      code: 'custom',
      message: 'ApprovalType must be 10 (approve) or 20 (reject)',
      params: { tc3Code: 'InvalidParameterValue.InvalidApprovalType' },
    });
    return z.NEVER;
  }
  return type as 10 | 20;
});

/** SPEC §8.1: 1 standard (the default), 2 virtual. */
const paymentType = z.union([z.literal(1), z.literal(2)]).optional();

const merchantRequest = z.object({ TeamId: idString, MerchantID: text(64), MerchantName: text(128) });
const decision = z.object({
  ApplicationId: idString,
  ApprovalNo: text(64),
  ApprovalType: approvalType,
  ApprovalNote: text(500).optional().default(''),
});

export const paymentEnablementActions = [
  defineAction({
    name: 'RequestPaymentMerchantBinding',
    capability: 'merchant_binding.manage',
    input: merchantRequest,
    async run({ actor, services }, input) {
      const { approvalNo } = await services.bindings.request(actor, {
        teamId: input.TeamId,
        merchantId: input.MerchantID,
        merchantName: input.MerchantName,
      });
      return { ApprovalResult: true, ResourceId: approvalNo };
    },
  }),
  defineAction({
    name: 'ChangePaymentBoundMerchant',
    capability: 'merchant_binding.manage',
    input: merchantRequest,
    async run({ actor, services }, input) {
      const { approvalNo } = await services.bindings.requestChange(actor, {
        teamId: input.TeamId,
        merchantId: input.MerchantID,
        merchantName: input.MerchantName,
      });
      return { Result: true, ApprovalNo: approvalNo };
    },
  }),
  defineAction({
    name: 'QueryMNPMerchantInfo',
    capability: 'merchant_binding.view',
    input: z.object({ QueryTeamID: idString }),
    async run({ actor, services }, input) {
      const info = await services.bindings.queryTeamMerchant(actor, input.QueryTeamID);
      return { MerchantID: info.merchantId, MerchantName: info.merchantName, ApprovalStatus: info.approvalStatus, ID: String(info.id) };
    },
  }),
  defineAction({
    name: 'UnbindMNPPaymentMerchant',
    capability: 'merchant_binding.manage',
    input: z.object({ TeamId: idString, ID: recordId }),
    async run({ actor, services }, input) {
      await services.bindings.unbindByTeam(actor, { teamId: input.TeamId, id: input.ID });
      return { Result: true };
    },
  }),
  defineAction({
    name: 'ApprovePaymentMerchantBinding',
    capability: 'approval.decide',
    input: decision,
    async run({ actor, services }, input) {
      const { id } = await services.bindings.decide(actor, {
        applicationId: input.ApplicationId,
        approvalNo: input.ApprovalNo,
        approvalType: input.ApprovalType,
        approvalNote: input.ApprovalNote,
      });
      return { Result: true, ID: id };
    },
  }),
  defineAction({
    name: 'UnbindPaymentMerchant',
    capability: 'approval.decide',
    input: z.object({ ApplicationId: idString, ID: recordId }),
    async run({ actor, services }, input) {
      await services.bindings.unbindBySuperapp(actor, { applicationId: input.ApplicationId, id: input.ID });
      return { Result: true };
    },
  }),
  defineAction({
    name: 'RequestPaymentEnable',
    capability: 'payment_enable.request',
    input: z.object({ MNPId: idString, ApplyNote: text(500).optional().default(''), PaymentType: paymentType }),
    async run({ actor, services }, input) {
      const { approvalNo } = await services.enablements.request(actor, {
        mnpId: input.MNPId,
        applyNote: input.ApplyNote,
        paymentType: input.PaymentType,
      });
      return { Result: true, ApprovalNo: approvalNo };
    },
  }),
  defineAction({
    name: 'DescribeMNPPaymentApprovalInfo',
    capability: 'mini_program.view',
    input: z.object({ MNPId: idString, PaymentType: paymentType }),
    async run({ actor, services }, input) {
      const info = await services.enablements.describe(actor, input.MNPId, input.PaymentType);
      return {
        ApprovalStatus: info.approvalStatus,
        ApplyTime: info.applyTime,
        ApprovalTime: info.approvalTime,
        ApprovalNote: info.approvalNote,
        ApprovalShow: info.approvalShow,
        ApplyShow: info.applyShow,
      };
    },
  }),
  defineAction({
    name: 'ApproveMNPPaymentEnable',
    capability: 'approval.decide',
    input: decision,
    async run({ actor, services }, input) {
      const decision = {
        applicationId: input.ApplicationId,
        approvalNo: input.ApprovalNo,
        approvalType: input.ApprovalType,
        approvalNote: input.ApprovalNote,
      };
      const { id } = await services.enablements.decide(actor, decision, PaymentType.Standard);
      return { Result: true, ID: id };
    },
  }),
  defineAction({
    // SPEC §8.1: virtual payment enablement, item and exemption requests, decided as ApproveMNPPaymentEnable does.
    name: 'ApproveVirtualPaymentRequest',
    capability: 'approval.decide',
    input: decision,
    async run({ actor, services }, input) {
      const { id } = await services.virtualApprovals.decide(actor, {
        applicationId: input.ApplicationId,
        approvalNo: input.ApprovalNo,
        approvalType: input.ApprovalType,
        approvalNote: input.ApprovalNote,
      });
      return { Result: true, ID: id };
    },
  }),
  defineAction({
    name: 'DisableMNPPayment',
    capability: 'approval.decide',
    input: z.object({ ApplicationId: idString, ID: recordId }),
    async run({ actor, services }, input) {
      await services.enablements.disable(actor, { applicationId: input.ApplicationId, id: input.ID });
      return { Result: true };
    },
  }),
  defineAction({
    name: 'DescribePaymentApprovalList',
    capability: 'superapp.view',
    input: z.object({
      ApplicationId: idString,
      Kind: z.enum(approvalKinds).optional(),
      ApprovalStatusList: z
        .array(z.union([z.literal(0), z.literal(10), z.literal(20), z.literal(30)]))
        .max(4)
        .optional(),
      MNPId: idString.optional(),
      TeamId: idString.optional(),
      Offset: z.number().int().min(0).max(10_000).default(0),
      Limit: z.number().int().min(1).max(100).default(20),
    }),
    async run({ actor, services }, input) {
      const page = await services.approvals.list(actor, {
        applicationId: input.ApplicationId,
        kind: input.Kind,
        approvalStatusList: input.ApprovalStatusList,
        mnpId: input.MNPId,
        teamId: input.TeamId,
        offset: input.Offset,
        limit: input.Limit,
      });
      return {
        Total: page.total,
        List: page.list.map((item) => ({
          ApprovalNo: item.approvalNo,
          Kind: item.kind,
          TeamId: item.teamId,
          MNPId: item.mnpId,
          MerchantID: item.merchantId,
          MerchantName: item.merchantName,
          ApplyNote: item.applyNote,
          ApprovalStatus: item.approvalStatus,
          ApplyTime: item.applyTime,
          ApprovalTime: item.approvalTime,
          ApprovalNote: item.approvalNote,
          ID: item.id,
          PaymentType: item.paymentType,
          ProductId: item.productId,
        })),
      };
    },
  }),
];
