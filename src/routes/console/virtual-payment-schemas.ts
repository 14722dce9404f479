import { z } from 'zod';

// Request and response schemas of virtual payment setup (SPEC §8.1). Item fields are typed here and checked by the
// service against §8.1's limits, so a bad ProductId or Price answers with its own code (§8.8).

export const productIdParams = z.object({ mnpId: z.string().min(1).max(64), productId: z.string().min(1).max(64) });

const itemFieldsSchema = z.object({
  name: z.string(),
  price: z.number(),
  currency: z.string(),
  remark: z.string(),
  itemUrl: z.string().nullable(),
});

const itemRevisionSchema = itemFieldsSchema.extend({
  approvalNo: z.string(),
  /** 0 pending, 10 approved, 20 rejected, 30 withdrawn. */
  status: z.number(),
  exempt: z.boolean(),
  requestedAt: z.number(),
  decidedAt: z.number().nullable(),
  approvalNote: z.string(),
});

export const itemSchema = z.object({
  productId: z.string(),
  /** 0 pending, 10 approved, 20 rejected, 30 offline. */
  status: z.number(),
  approved: itemFieldsSchema.nullable(),
  pending: itemRevisionSchema.nullable(),
  latest: itemRevisionSchema,
  createdAt: z.number(),
  updatedAt: z.number(),
});

const itemInput = {
  name: z.string().max(4096),
  price: z.number(),
  currency: z.string().max(16),
  remark: z.string().max(4096),
  itemUrl: z.string().max(4096).nullable(),
};

export const newItemBody = z.object({
  productId: z.string().max(200),
  name: itemInput.name,
  price: itemInput.price,
  currency: itemInput.currency.optional(),
  remark: itemInput.remark.optional(),
  itemUrl: itemInput.itemUrl.optional(),
});

export const itemChangesBody = z.object({
  name: itemInput.name.optional(),
  price: itemInput.price.optional(),
  currency: itemInput.currency.optional(),
  remark: itemInput.remark.optional(),
  itemUrl: itemInput.itemUrl.optional(),
});

export const deliveryViewSchema = z.object({
  mnpId: z.string(),
  kind: z.enum(['miniprogram', 'minigame']),
  account: z.object({ offerId: z.string(), mchid: z.string(), appKeyGeneration: z.number(), appKeySetAt: z.number() }).nullable(),
  deliveryUrl: z.string().nullable(),
  deliveryUrlUpdatedAt: z.number().nullable(),
});

export const appKeySchema = z.object({
  mnpId: z.string(),
  offerId: z.string(),
  mchid: z.string(),
  appKey: z.string(),
  appKeyGeneration: z.number(),
  appKeySetAt: z.number(),
});

export const exemptionSchema = z.object({
  mnpId: z.string(),
  /** -1 never requested, 0 pending, 10 approved, 20 rejected, 30 revoked. */
  status: z.number(),
  approvalNo: z.string().nullable(),
  applyNote: z.string(),
  applyTime: z.number(),
  approvalTime: z.number(),
  approvalNote: z.string(),
  applyShow: z.number(),
});
