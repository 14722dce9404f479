import { z } from 'zod';
import { currencyCodes } from '../../domain/money.ts';
import { approvalKinds } from '../../domain/approval-state.ts';
import { channelKinds } from '../../services/payment-setup/index.ts';

// Request and response schemas of the payment console routes (merchant binding, enablement, credentials).

export const applicationIdParams = z.object({ applicationId: z.string().min(1).max(64) });
export const teamIdParams = z.object({ teamId: z.string().min(1).max(64) });
export const mnpIdParams = z.object({ mnpId: z.string().min(1).max(64) });

/** A binding or payment record id (an integer on the wire, SPEC §7 "Ids on the wire"). */
export const recordId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const recordIdBody = z.object({ id: recordId });

export const merchantIdSchema = z.string().trim().min(1).max(32);
export const merchantNameSchema = z.string().trim().min(1).max(100);
export const merchantBody = z.object({ merchantId: merchantIdSchema, merchantName: merchantNameSchema });

export const pageQuery = {
  offset: z.coerce.number().int().min(0).max(10_000).default(0),
  limit: z.coerce.number().int().min(1).max(100).default(20),
};

export const currencySchema = z.object({ code: z.string(), exponent: z.number(), name: z.string() });

export const channelInputSchema = z.object({
  kind: z.enum(channelKinds),
  baseUrl: z.string().url().max(500).optional(),
  webhookUrl: z.string().url().max(500).optional(),
  secret: z.string().min(16).max(200).optional(),
});

export const previousConnectionSchema = z.object({
  id: z.number(),
  kind: z.enum(channelKinds),
  url: z.string().nullable().describe('The HTTP channel base URL or the host-reported refund webhook; null for the sandbox'),
  createdAt: z.number(),
  openOrders: z
    .number()
    .int()
    .describe('Orders still open on it: unpaid, or paid and still refundable (within 365 days, not all refunded)'),
  openRefunds: z.number().int().describe('Refunds not settled yet (PROCESSING or ABNORMAL)'),
});

export const paymentConfigSchema = z.object({
  applicationId: z.string(),
  paymentEnabled: z.boolean(),
  currencies: z.array(z.string()),
  channelKind: z.enum(channelKinds).nullable(),
  channelSettings: z.object({ baseUrl: z.string().optional(), webhookUrl: z.string().optional() }),
  channelSecretSet: z.boolean(),
  channelConnectionId: z.number().nullable().describe('The channel connection new orders are created under'),
  statementsSupported: z
    .boolean()
    .describe('The HTTP channel serves the daily statement (SPEC §9.1); off for HTTP channels configured before it existed'),
  statementUrl: z
    .string()
    .nullable()
    .describe('Where a host-reported superapp serves its daily statement, beside its refund webhook; null: none'),
  updatedAt: z.number().nullable(),
  sandboxAvailable: z.boolean(),
  selectableChannelKinds: z.array(z.enum(channelKinds)),
  previousConnections: z
    .array(previousConnectionSchema)
    .describe('Replaced channel connections still carrying open orders or refunds: they stay until nothing open uses them'),
});

export const paymentConfigChangesSchema = z.object({
  paymentEnabled: z.boolean().optional(),
  currencies: z.array(z.enum(currencyCodes)).min(1).max(currencyCodes.length).optional(),
  channel: channelInputSchema.optional(),
  statementsSupported: z.boolean().optional().describe('Whether the HTTP channel serves the daily statement'),
  statementUrl: z
    .string()
    .url()
    .max(500)
    .nullable()
    .optional()
    .describe("A host-reported superapp's statement URL (https, like its refund webhook); null removes it"),
});

export const merchantSchema = z.object({
  id: z.number(),
  applicationId: z.string(),
  merchantId: z.string(),
  merchantName: z.string(),
  boundTeamId: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});

export const bindingSchema = z.object({
  id: z.number(),
  approvalNo: z.string(),
  applicationId: z.string(),
  teamId: z.string(),
  merchantId: z.string(),
  merchantName: z.string(),
  requestKind: z.enum(['bind', 'change']),
  replacesBindingId: z.number().nullable(),
  approvalStatus: z.number(),
  requestedAt: z.number(),
  decidedAt: z.number().nullable(),
  approvalNote: z.string(),
  endedAt: z.number().nullable(),
  endReason: z.enum(['unbound_by_team', 'unbound_by_superapp', 'replaced']).nullable(),
});

export const bindingRecordSchema = bindingSchema.extend({
  history: z.array(
    z.object({
      event: z.string(),
      fromStatus: z.number().nullable(),
      toStatus: z.number(),
      actorAccount: z.string(),
      note: z.string(),
      at: z.number(),
    }),
  ),
});

export const bindingOverviewSchema = z.object({
  teamId: z.string(),
  applicationId: z.string(),
  effective: bindingSchema.nullable(),
  pending: bindingSchema.nullable(),
  latest: bindingSchema.nullable(),
  superappPaymentEnabled: z.boolean(),
  currencies: z.array(z.string()),
});

export const approvalNoResponse = z.object({ approvalNo: z.string() });

export const enablementDescriptionSchema = z.object({
  approvalStatus: z.number(),
  applyTime: z.number(),
  approvalTime: z.number(),
  approvalNote: z.string(),
  approvalShow: z.number(),
  applyShow: z.number(),
});

export const certificateExpirySchema = z.enum(['valid', 'expiring', 'expired']);

export const miniProgramPaymentSchema = enablementDescriptionSchema.extend({
  mnpId: z.string(),
  name: z.string(),
  iconUrl: z.string(),
  category: z.string(),
  approvalNo: z.string().nullable(),
  applyNote: z.string(),
  paymentRecordId: z.number().nullable(),
  mchid: z.string().nullable(),
  /** The payment account's active certificate, for the page's expiry warning (SPEC §7); null without one. */
  certificate: z
    .object({ serialNo: z.string(), notAfter: z.number(), expiry: certificateExpirySchema, expiresInDays: z.number().int() })
    .nullable(),
});

export const approvalItemSchema = z.object({
  approvalNo: z.string(),
  kind: z.enum(approvalKinds),
  teamId: z.string(),
  mnpId: z.string().nullable(),
  merchantId: z.string(),
  merchantName: z.string(),
  applyNote: z.string(),
  approvalStatus: z.number(),
  applyTime: z.number(),
  approvalTime: z.number().nullable(),
  approvalNote: z.string(),
  id: z.number().nullable(),
  /** SPEC §8.1: 1 standard, 2 virtual; null for merchant binding requests. */
  paymentType: z.number().nullable(),
  /** The item of a `virtual_item` request. */
  productId: z.string().nullable(),
});

export const merchantKeySchema = z.object({
  serialNo: z.string(),
  source: z.enum(['generated', 'public_key', 'csr']),
  status: z.enum(['active', 'revoked']),
  certificatePem: z.string(),
  publicKeyPem: z.string(),
  createdAt: z.number(),
  notAfter: z.number(),
  /** SPEC §7: `expired` from notAfter on (the gateway refuses it), `expiring` within 30 days. */
  expiry: certificateExpirySchema,
  /** Whole days left, rounded up; 0 once expired. */
  expiresInDays: z.number().int(),
  privateKeyDownloadable: z.boolean(),
  downloadedAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
});

export const credentialSchema = z.object({
  mnpId: z.string(),
  mchid: z.string(),
  apiV3KeySet: z.boolean(),
  apiV3KeySetAt: z.number().nullable(),
  activeKey: merchantKeySchema.nullable(),
  keys: z.array(merchantKeySchema),
});

export const issuedKeySchema = z.object({ serialNo: z.string(), certificatePem: z.string(), privateKeyPem: z.string().optional() });

export const platformKeySchema = z.object({
  serialNo: z.string(),
  publicKeyId: z.string(),
  publicKeyPem: z.string(),
  certificatePem: z.string(),
  publishedAt: z.number(),
  signingFrom: z.number(),
  publishedUntil: z.number().nullable(),
  notAfter: z.number(),
  signing: z.boolean(),
});
