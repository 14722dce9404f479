import { prepayIdOfPackage, verifyRequestPaymentParams } from '../../crypto/wechatpay-v3.ts';
import { PaymentTypes } from '../../db/order-schema.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { orderRepository } from '../../repositories/order.repository.ts';
import { paymentAccountRepository } from '../../repositories/payment-account.repository.ts';

/** A paySign older than this is refused: a prepay_id lives at most 2 hours (reference §5). */
export const paySignMaxAgeMs = 2 * 60 * 60 * 1000;
/** A timeStamp this far ahead of the server's clock is refused too (clock skew allowance). */
export const paySignMaxSkewMs = 5 * 60 * 1000;

export interface RequestPaymentToVerify {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: string;
  paySign: string;
}

/** Why a requestPayment is refused; the bridge shows `requestPayment:fail <reason>`. */
export type BridgeFailureCode =
  'INVALID_PARAMS' | 'SIGN_ERROR' | 'ORDER_NOT_EXIST' | 'ORDER_PAID' | 'ORDER_CLOSED' | 'EXPIRED' | 'NO_CASHIER';

export type BridgeVerification =
  | {
      ok: true;
      prepayId: string;
      /** The channel's cashier for this order, or null when the host opens its cashier another way. */
      cashierUrl: string | null;
      cashierToken: string | null;
      channel: string;
      sandbox: boolean;
      /** The order summary, and nothing more (SPEC §4.5 keeps the same rule for queryPreOrder). */
      order: { outTradeNo: string; description: string; amount: { total: number; currency: string }; timeExpire: number };
    }
  | { ok: false; code: BridgeFailureCode; reason: string };

const fail = (code: BridgeFailureCode, reason: string): BridgeVerification => ({ ok: false, code, reason });

/**
 * The superapp host bridge's server half (SPEC §4.4): checks a mini program's `wx.requestPayment`
 * parameters against its merchant key and the order, and names the cashier to open. Expired or
 * tampered parameters never reach a cashier.
 */
export class PaymentBridgeService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    /** The cashier URL of a channel order, by channel kind (the sandbox knows its own). */
    private readonly cashierUrlOf: (channelKind: string, cashierToken: string) => string | null,
  ) {}

  async verify(params: RequestPaymentToVerify): Promise<BridgeVerification> {
    if (params.signType !== 'RSA') return fail('INVALID_PARAMS', 'signType must be RSA');
    const prepayId = prepayIdOfPackage(params.package);
    if (!prepayId) return fail('INVALID_PARAMS', 'package must be prepay_id=...');
    if (!/^[0-9]{1,12}$/.test(params.timeStamp)) return fail('INVALID_PARAMS', 'timeStamp must be Unix seconds');

    const order = await orderRepository.findByPrepayId(this.db, prepayId);
    // Another mini program's order does not exist for this appId: say the same as for an unknown one.
    // Virtual orders are paid through verify-virtual-payment (SPEC §8.2), never with a v3 paySign.
    if (!order || order.mnp_id !== params.appId || order.payment_type !== PaymentTypes.Standard)
      return fail('ORDER_NOT_EXIST', 'no such order');

    const keys = (await paymentAccountRepository.listKeys(this.db, params.appId)).filter((key) => key.status === 'active');
    const signed = keys.some((key) => verifyRequestPaymentParams(params, key.public_key_pem));
    if (!signed) return fail('SIGN_ERROR', 'paySign does not verify');

    const nowMs = this.clock.nowMs();
    const signedAtMs = Number(params.timeStamp) * 1000;
    if (signedAtMs > nowMs + paySignMaxSkewMs) return fail('INVALID_PARAMS', 'timeStamp is in the future');
    if (signedAtMs < nowMs - paySignMaxAgeMs) return fail('EXPIRED', 'the payment parameters have expired');

    if (order.trade_state === 'SUCCESS' || order.trade_state === 'REFUND') return fail('ORDER_PAID', 'the order is paid');
    if (order.trade_state !== 'WAIT_PAY') return fail('ORDER_CLOSED', 'the order is closed');
    if (order.time_expire <= nowMs) return fail('EXPIRED', 'the order has expired');
    if (!order.cashier_token) return fail('NO_CASHIER', 'the channel has not opened this order yet; try again');

    return {
      ok: true,
      prepayId,
      cashierUrl: this.cashierUrlOf(order.channel_kind, order.cashier_token),
      cashierToken: order.cashier_token,
      channel: order.channel_kind,
      sandbox: order.sandbox === 1,
      order: {
        outTradeNo: order.out_trade_no,
        description: order.description,
        amount: { total: order.amount_total, currency: order.currency },
        timeExpire: order.time_expire,
      },
    };
  }
}
