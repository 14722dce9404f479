import { z } from 'zod';
import { systemRefundPrefix } from '../../domain/refund-state.ts';
import { maxOrderAmount } from '../../domain/money.ts';

// Request and response schemas of the v3-compatible gateway (reference §3). Requests accept fields we do
// not use (v3 clients send them); responses list exactly what we answer.

const text = (max: number) => z.string().min(1).max(max);
const money = z.number().int().min(1).max(maxOrderAmount);
export const mchidSchema = text(32);
export const outTradeNoSchema = z.string().regex(/^[0-9A-Za-z_\-|*]{6,32}$/, '6 to 32 characters of 0-9 A-Z a-z _ - | *');
export const outRefundNoSchema = z
  .string()
  .regex(/^[0-9A-Za-z_\-|*@]{1,64}$/, '1 to 64 characters of 0-9 A-Z a-z _ - | * @')
  .refine((value) => !value.startsWith(systemRefundPrefix), `numbers beginning ${systemRefundPrefix} are Paythrough's own`);

export const prepayBody = z.looseObject({
  appid: text(32),
  mchid: mchidSchema,
  description: text(127),
  out_trade_no: outTradeNoSchema,
  time_expire: z.string().max(64).optional(),
  attach: z.string().max(128).optional(),
  notify_url: text(255),
  goods_tag: z.string().max(32).optional(),
  support_fapiao: z.boolean().optional(),
  amount: z.looseObject({
    total: money,
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'an ISO 4217 code')
      .optional(),
  }),
  payer: z.looseObject({ openid: text(128) }),
  detail: z.looseObject({}).optional(),
  scene_info: z
    .looseObject({
      payer_client_ip: z.string().max(45).optional(),
      device_id: z.string().max(32).optional(),
      h5_info: z.looseObject({ type: z.string().max(32).optional() }).optional(),
      /** Paythrough extension: 2 Android, 3 iOS. */
      client_platform: z.number().int().optional(),
    })
    .optional(),
  settle_info: z.looseObject({}).optional(),
});

export const prepayResponse = z.object({ prepay_id: z.string() });

export const mchidQuery = z.object({ mchid: mchidSchema });

export const transactionResponse = z.object({
  appid: z.string(),
  mchid: z.string(),
  mch_id: z.string().describe('The same as mchid, as the platform documents it'),
  out_trade_no: z.string(),
  transaction_id: z.string().optional(),
  trade_type: z.literal('JSAPI').optional(),
  trade_state: z.enum(['WAIT_PAY', 'SUCCESS', 'CLOSED', 'AUTO_CLOSED', 'PAY_ERROR', 'REFUND']).describe("WAIT_PAY is WeChat Pay's NOTPAY"),
  trade_state_desc: z.string(),
  bank_type: z.string().optional(),
  attach: z.string(),
  success_time: z.string().optional(),
  payer: z.object({ openid: z.string() }),
  amount: z.object({ total: z.number(), currency: z.string(), payer_total: z.number().optional(), payer_currency: z.string().optional() }),
  promotion_detail: z.array(z.never()),
});

export const closeBody = z.looseObject({ mchid: mchidSchema });

export const refundBody = z
  .looseObject({
    transaction_id: z
      .string()
      .regex(/^\d{1,32}$/, 'digits')
      .optional(),
    out_trade_no: outTradeNoSchema.optional(),
    out_refund_no: outRefundNoSchema,
    reason: z.string().max(80).optional(),
    notify_url: z.string().min(1).max(256).optional(),
    funds_account: z.string().max(32).optional(),
    amount: z.looseObject({
      refund: money,
      total: money,
      currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'),
      from: z.array(z.looseObject({})).optional(),
    }),
    goods_detail: z.array(z.looseObject({})).optional(),
  })
  .refine((body) => (body.transaction_id === undefined) !== (body.out_trade_no === undefined), {
    message: 'exactly one of transaction_id and out_trade_no',
    path: ['transaction_id'],
  })
  .refine((body) => body.amount.refund <= body.amount.total, { message: 'at most amount.total', path: ['amount', 'refund'] });

export const refundResponse = z.object({
  refund_id: z.string(),
  out_refund_no: z.string(),
  transaction_id: z.string(),
  out_trade_no: z.string(),
  channel: z.literal('ORIGINAL'),
  user_received_account: z.string(),
  success_time: z.string().optional(),
  create_time: z.string(),
  status: z.enum(['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL']),
  funds_account: z.literal('AVAILABLE'),
  amount: z.object({
    total: z.number(),
    refund: z.number(),
    from: z.array(z.never()),
    payer_total: z.number(),
    payer_refund: z.number(),
    settlement_refund: z.number(),
    settlement_total: z.number(),
    discount_refund: z.number(),
    currency: z.string(),
  }),
  promotion_detail: z.array(z.never()),
});

export const outTradeNoParams = z.object({ out_trade_no: z.string().min(1).max(32) });
export const transactionIdParams = z.object({ transaction_id: z.string().min(1).max(32) });
export const outRefundNoParams = z.object({ out_refund_no: z.string().min(1).max(64) });

export const certificatesResponse = z.object({
  data: z.array(
    z.object({
      serial_no: z.string(),
      effective_time: z.string(),
      expire_time: z.string(),
      encrypt_certificate: z.object({
        algorithm: z.literal('AEAD_AES_256_GCM'),
        nonce: z.string(),
        associated_data: z.string(),
        ciphertext: z.string(),
      }),
    }),
  ),
});

export const tradeBillQuery = z.looseObject({
  bill_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD'),
  bill_type: z.enum(['ALL', 'SUCCESS', 'REFUND']).default('ALL'),
  tar_type: z.literal('GZIP').optional(),
});

export const tradeBillResponse = z.object({ hash_type: z.literal('SHA1'), hash_value: z.string(), download_url: z.string() });

export const billDownloadQuery = z.object({ token: z.string().min(1).max(2048) });

export const v3ErrorResponse = z.object({
  code: z.string(),
  message: z.string(),
  detail: z.object({ field: z.string(), value: z.unknown().optional(), issue: z.string(), location: z.string() }).optional(),
});

/** Every error status a gateway route may answer. */
export const v3Errors = {
  400: v3ErrorResponse,
  401: v3ErrorResponse,
  403: v3ErrorResponse,
  404: v3ErrorResponse,
  429: v3ErrorResponse,
  500: v3ErrorResponse,
};
