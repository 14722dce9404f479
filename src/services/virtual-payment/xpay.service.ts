import { createHash } from 'node:crypto';
import { hexSignatureMatches, xpayPaySig } from '../../crypto/virtual-payment-signatures.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { JsonLimitError, parseBoundedJson } from '../../domain/bounded-json.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { paidTradeStates } from '../../domain/order-state.ts';
import { systemRefundPrefix } from '../../domain/refund-state.ts';
import type { OrderRow } from '../../repositories/order.repository.ts';
import { refundRepository, type RefundRow } from '../../repositories/refund.repository.ts';
import { virtualOrderRepository } from '../../repositories/virtual-order.repository.ts';
import type { RefundService } from '../payments/index.ts';
import { leftFeeOf, type VirtualOrderService } from './virtual-order.service.ts';
import type { VirtualPaymentDirectory } from './virtual-payment-directory.ts';

/** xpay `errcode`s (SPEC §8.8). */
export const XpayErrcode = {
  Ok: 0,
  System: -1,
  OpenidMismatch: 268490001,
  Invalid: 268490002,
  BadPaySig: 268490003,
  RepeatWithOtherFields: 268490004,
  CoinsNotOffered: 268490008,
} as const;

export type XpayAnswer = { errcode: number; errmsg: string } & Record<string, unknown>;

export const xpayOperations = ['query_order', 'notify_provide_goods', 'refund_order'] as const;
export type XpayOperation = (typeof xpayOperations)[number];
/** Game-coin calls: no game coins are offered (SPEC §8, as SAS). */
export const xpayCoinOperations = ['query_user_balance', 'currency_pay', 'cancel_currency_pay', 'present_currency'] as const;

const answer = (errcode: number, errmsg: string, fields: Record<string, unknown> = {}): XpayAnswer => ({ errcode, errmsg, ...fields });
const invalid = (errmsg: string) => answer(XpayErrcode.Invalid, errmsg);
const seconds = (ms: number | null) => (ms === null ? 0 : Math.floor(ms / 1000));
const refundOrderIdPattern = /^[A-Za-z0-9_-]{8,32}$/;

type Body = Record<string, unknown>;

/**
 * The merchant server API (SPEC §8.5, WeChat `xpay` shapes): `pay_sig` over the exact raw body under the mini
 * program's AppKey, then the call; every answer is `errcode` / `errmsg` (the route sends it with HTTP 200).
 */
export class XpayService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly directory: VirtualPaymentDirectory,
    private readonly parts: {
      refunds: Pick<RefundService, 'createVirtual'>;
      virtualOrders: Pick<VirtualOrderService, 'statusOf'>;
    },
  ) {}

  async call(
    operation: XpayOperation,
    query: { appid?: string | undefined; pay_sig?: string | undefined },
    rawBody: Buffer,
  ): Promise<XpayAnswer> {
    const { appid, pay_sig: paySig } = query;
    if (!appid || !paySig) return answer(XpayErrcode.BadPaySig, 'appid and pay_sig are required in the query');
    const account = await this.directory.accountOf(this.db, appid);
    if (!account || !hexSignatureMatches(xpayPaySig(account.appKey, operation, rawBody), paySig))
      return answer(XpayErrcode.BadPaySig, 'pay_sig does not verify');
    let body: unknown;
    try {
      body = parseBoundedJson(rawBody.toString('utf8'));
    } catch (error) {
      return invalid(error instanceof JsonLimitError ? error.message : 'the body is not JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return invalid('the body must be a JSON object');
    switch (operation) {
      case 'query_order':
        return this.queryOrder(appid, body as Body);
      case 'notify_provide_goods':
        return this.notifyProvideGoods(appid, body as Body);
      case 'refund_order':
        return this.refundOrder(appid, body as Body, rawBody);
    }
  }

  /** Another mini program's order does not exist for this appid. */
  private async findOrder(appid: string, body: Body): Promise<{ order: OrderRow } | { refused: XpayAnswer }> {
    const orderId = body.order_id;
    const wxOrderId = body.wx_order_id;
    const refuse = (errmsg: string) => ({ refused: invalid(errmsg) });
    if (orderId !== undefined && typeof orderId !== 'string') return refuse('order_id must be a string');
    if (wxOrderId !== undefined && typeof wxOrderId !== 'string') return refuse('wx_order_id must be a string');
    if (!orderId && !wxOrderId) return refuse('order_id or wx_order_id is required');
    const env = body.env ?? 0;
    if (env !== 0 && env !== 1 && env !== '0' && env !== '1') return refuse('env must be 0 or 1');
    const order = wxOrderId
      ? await virtualOrderRepository.findByWxOrderId(this.db, wxOrderId)
      : await virtualOrderRepository.findByOrderId(this.db, appid, orderId!);
    if (!order || order.mnp_id !== appid || (orderId && order.out_trade_no !== orderId)) return refuse('no such order');
    // SPEC §8.2's env table: a production superapp's orders do not exist in env 1 (sandbox); a sandbox one takes both.
    if (Number(env) === 1 && order.sandbox !== 1) return refuse('no such order in env 1 (sandbox)');
    return { order };
  }

  private async queryOrder(appid: string, body: Body): Promise<XpayAnswer> {
    const found = await this.findOrder(appid, body);
    if ('refused' in found) return found.refused;
    const { order } = found;
    if (typeof body.openid !== 'string' || body.openid === '') return invalid('openid is required');
    if (body.openid !== order.payer_openid) return answer(XpayErrcode.OpenidMismatch, "openid is not the order's");
    return answer(XpayErrcode.Ok, 'ok', {
      order: {
        order_id: order.out_trade_no,
        wx_order_id: order.wx_order_id,
        status: await this.parts.virtualOrders.statusOf(order),
        order_type: 0,
        order_fee: order.order_fee,
        paid_fee: order.amount_total,
        left_fee: leftFeeOf(order),
        create_time: seconds(order.created_at),
        update_time: seconds(order.updated_at),
        paid_time: seconds(order.success_time),
        provide_time: seconds(order.delivered_at),
        biz_meta: '',
        env_type: order.sandbox === 1 ? 2 : 1,
        channel_order_id: order.channel_order_id ?? '',
      },
    });
  }

  /** The merchant delivered by itself: status 4, and the delivery notification's retries stop. */
  private async notifyProvideGoods(appid: string, body: Body): Promise<XpayAnswer> {
    const found = await this.findOrder(appid, body);
    if ('refused' in found) return found.refused;
    const { order } = found;
    if (!paidTradeStates.includes(order.trade_state) || order.delivery_status === null) return invalid('the order is not paid');
    await virtualOrderRepository.moveDelivery(this.db, order.id, ['queued', 'delivering'], 'delivered', this.clock.nowMs());
    return answer(XpayErrcode.Ok, 'ok');
  }

  /** SPEC §8.5: pay_sig (done), then a known refund_order_id, then the fields, then left_fee inside the inserting transaction. */
  private async refundOrder(appid: string, body: Body, rawBody: Buffer): Promise<XpayAnswer> {
    const refundOrderId = body.refund_order_id;
    if (typeof refundOrderId !== 'string' || !refundOrderIdPattern.test(refundOrderId) || refundOrderId.startsWith(systemRefundPrefix))
      return invalid('refund_order_id must be 8–32 of [A-Za-z0-9_-]');
    const fingerprint = createHash('sha256').update(rawBody).digest('hex');
    const account = (await this.directory.accountOf(this.db, appid))!;
    const applicationId = account.standard?.applicationId;
    const existing = applicationId
      ? await refundRepository.findByOutRefundNo(this.db, applicationId, account.mchid, refundOrderId)
      : undefined;
    if (existing) return this.repeatedRefund(existing, fingerprint, appid);

    const found = await this.findOrder(appid, body);
    if ('refused' in found) return found.refused;
    const { order } = found;
    if (body.openid !== order.payer_openid) return answer(XpayErrcode.OpenidMismatch, "openid is not the order's");
    const leftFee = body.left_fee;
    const refundFee = body.refund_fee;
    if (!Number.isSafeInteger(leftFee) || (leftFee as number) < 0) return invalid('left_fee must be an integer');
    if (!Number.isSafeInteger(refundFee) || (refundFee as number) <= 0 || (refundFee as number) > (leftFee as number))
      return invalid('refund_fee must be an integer in (0, left_fee]');
    const bizMeta = body.biz_meta ?? '';
    if (typeof bizMeta !== 'string' || bizMeta.length > 1024) return invalid('biz_meta must be a string of at most 1024 characters');
    if (typeof body.refund_reason !== 'string' || !/^[0-5]$/.test(body.refund_reason)) return invalid('refund_reason must be "0" to "5"');
    if (typeof body.req_from !== 'string' || !/^[1-3]$/.test(body.req_from)) return invalid('req_from must be "1" to "3"');
    if (!paidTradeStates.includes(order.trade_state)) return invalid('the order is not paid');
    let refund: RefundRow | undefined;
    try {
      refund = await this.parts.refunds.createVirtual(order, {
        outRefundNo: refundOrderId,
        amount: refundFee as number,
        leftFee: leftFee as number,
        reason: `refund_reason ${body.refund_reason}, req_from ${body.req_from}`,
        bizMeta: bizMeta || null,
        fingerprint,
      });
    } catch (error) {
      if (error instanceof AppError && error.code === 'FailedOperation.RefundNotAllowed') return invalid(error.message);
      throw error;
    }
    // A concurrent identical request inserted it first.
    const winner = refund ?? (await refundRepository.findByOutRefundNo(this.db, order.application_id, order.mchid, refundOrderId));
    if (!winner) return answer(XpayErrcode.System, 'the refund could not be recorded; send it again');
    return refund ? this.refundAnswer(winner, order) : this.repeatedRefund(winner, fingerprint, appid);
  }

  private async repeatedRefund(existing: RefundRow, fingerprint: string, appid: string): Promise<XpayAnswer> {
    if (existing.payment_type !== 2 || existing.mnp_id !== appid || existing.request_fingerprint !== fingerprint)
      return answer(XpayErrcode.RepeatWithOtherFields, 'refund_order_id is already used with other fields');
    const order = await virtualOrderRepository.findByOrderId(this.db, appid, existing.out_trade_no);
    if (!order) return answer(XpayErrcode.System, 'the order of this refund is gone');
    return this.refundAnswer(existing, order);
  }

  private refundAnswer(refund: RefundRow, order: OrderRow): XpayAnswer {
    return answer(XpayErrcode.Ok, 'ok', {
      refund_order_id: refund.out_refund_no,
      refund_wx_order_id: refund.refund_id,
      pay_order_id: order.out_trade_no,
      pay_wx_order_id: order.wx_order_id,
    });
  }
}
