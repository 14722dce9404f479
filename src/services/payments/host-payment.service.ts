import type { ChannelRefund, ChannelRefundState } from '../../channels/channel.ts';
import { verifyChannelSignature } from '../../channels/protocol.ts';
import type { SandboxChannel } from '../../channels/sandbox/sandbox-channel.ts';
import type { Config } from '../../config/config.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { randomString } from '../../domain/ids.ts';
import { parseHostTime } from '../../domain/channel-time.ts';
import { paidTradeStates } from '../../domain/order-state.ts';
import { channelPaymentRepository } from '../../repositories/channel-payment.repository.ts';
import { orderRepository, type OrderRow } from '../../repositories/order.repository.ts';
import { refundRepository } from '../../repositories/refund.repository.ts';
import { rfc3339In } from '../../domain/business-time.ts';
import { type HostKeyService, resolvePaymentConfig } from '../payment-setup/index.ts';
import type { NonceStore } from '../auth/index.ts';
import type { OrderService } from './order.service.ts';
import type { RefundService } from './refund.service.ts';

/** Fields of a host message: the children of `<xml>`, or a flat JSON object's string and number values. */
export type HostFields = Readonly<Record<string, string>>;

/** Every host API answer (SPEC §4.5): always HTTP 200, `return_code` SUCCESS or FAIL with a reason. */
export interface HostAnswer {
  return_code: 'SUCCESS' | 'FAIL';
  return_msg: string;
  [field: string]: string | number;
}

export type HostMessageKind = 'queryPreOrder' | 'payOrder' | 'refundResult';

/** Who sent a host message: a superapp's backend that signed it with its host key, or anyone (unsigned). */
export type HostSender = { signed: true; applicationId: string } | { signed: false };

export type HostAuthentication = { ok: true; sender: HostSender } | { ok: false; message: string };

const fail = (message: string): HostAnswer => ({ return_code: 'FAIL', return_msg: message });
const success = (message = 'OK', fields: Record<string, string | number> = {}): HostAnswer => ({
  return_code: 'SUCCESS',
  return_msg: message,
  ...fields,
});

const signatureHeaders = ['paythrough-timestamp', 'paythrough-nonce', 'paythrough-signature'];
const minorUnits = /^(0|[1-9][0-9]{0,15})$/;
const lateMessage = 'The order was closed or had expired: the payment is recorded and a full refund (late payment) was started';
const duplicateMessage =
  'The order was paid already under another transaction_id: this payment is recorded and a full refund (duplicate payment) was started';
const refundStates: Record<string, Exclude<ChannelRefundState, 'PROCESSING'>> = {
  SUCCESS: 'SUCCESS',
  CLOSED: 'CLOSED',
  ABNORMAL: 'ABNORMAL',
};

/**
 * The host API (SPEC §4.5): a superapp host looks a pre-order up (`queryPreOrder`), reports the payment it
 * took (`payOrder`), and, in host-reported mode, reports how a refund Paythrough sent to its webhook ended
 * (`refundResult`). Answers never throw for a business outcome: a FAIL answer changes nothing.
 */
export class HostPaymentService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: Pick<Config, 'sandboxEnabled' | 'timezone'>,
    private readonly parts: {
      orders: Pick<OrderService, 'applyPayment' | 'handle' | 'closeIfExpired' | 'recordRefusedReport'>;
      refunds: Pick<RefundService, 'recordChannelView' | 'flagMismatch'>;
      sandbox: SandboxChannel | null;
      hostKeys: Pick<HostKeyService, 'hostKeysOf'>;
      nonces: NonceStore;
    },
  ) {}

  /**
   * The host API's one authentication step: a message carrying the signature headers must verify under
   * the host key of the superapp it speaks about, inside the 5-minute window, with a fresh nonce. A message
   * without them is unsigned; each operation decides whether it accepts that.
   */
  async authenticate(
    kind: HostMessageKind,
    fields: HostFields,
    headers: Record<string, unknown>,
    rawBody: Buffer,
  ): Promise<HostAuthentication> {
    const present = Object.keys(headers).some((name) => signatureHeaders.includes(name.toLowerCase()));
    if (!present) return { ok: true, sender: { signed: false } };
    const applicationId = await this.subjectSuperapp(kind, fields);
    if (!applicationId) {
      const unknown =
        kind === 'refundResult' ? 'Unknown refund (send application_id, as the refund webhook names it)' : 'Unknown prepay_id';
      return { ok: false, message: unknown };
    }
    return this.verifyHostSignature(applicationId, headers, rawBody);
  }

  /**
   * A message signed by a superapp's backend with its host key (SPEC §4.5): the signature under one of its accepted
   * keys, inside the 5-minute window, with a nonce never seen. Also what verify-virtual-payment requires (SPEC §8.2).
   */
  async verifyHostSignature(applicationId: string, headers: Record<string, unknown>, rawBody: Buffer): Promise<HostAuthentication> {
    const keys = await this.parts.hostKeys.hostKeysOf(applicationId);
    if (keys.length === 0)
      return { ok: false, message: 'The superapp has no host key: signed host reports need the host-reported channel and a host key' };
    const nowMs = this.clock.nowMs();
    const check = verifyChannelSignature({ headers, body: rawBody, channelKeys: keys, nowMs });
    if (!check.ok) return { ok: false, message: `Signature refused: ${check.message}` };
    if (!(await this.parts.nonces.rememberNonce(`host-report:${applicationId}`, check.nonce, check.timestamp))) {
      return { ok: false, message: 'Signature refused: this Paythrough-Nonce was used already (replay)' };
    }
    return { ok: true, sender: { signed: true, applicationId } };
  }

  /** `queryPreOrder`: the order summary a host needs to charge, only while the order may be paid. */
  async queryPreOrder(fields: HostFields, sender: HostSender): Promise<HostAnswer> {
    const prepayId = fields.prepay_id;
    if (!prepayId) return fail('prepay_id is required');
    const order = await orderRepository.findByPrepayId(this.db, prepayId);
    // Another mini program's or superapp's order does not exist for this caller.
    if (!order || (fields.appid && fields.appid !== order.mnp_id) || (sender.signed && sender.applicationId !== order.application_id)) {
      return fail('Unknown prepay_id');
    }
    if (paidTradeStates.includes(order.trade_state)) return fail('The order is paid already: do not charge for it again');
    if (order.trade_state !== 'WAIT_PAY') return fail('The order is closed: do not charge for it');
    if (order.time_expire <= this.clock.nowMs()) return fail('The order has expired: do not charge for it');
    return success('OK', {
      appid: order.mnp_id,
      nonce_str: randomString(32),
      prepay_id: order.prepay_id,
      out_trade_no: order.out_trade_no,
      total_fee: order.amount_total,
      fee_type: order.currency,
      body: order.description,
      time_expire: rfc3339In(order.time_expire, this.config.timezone),
    });
  }

  /** `payOrder`: the host took the payment. Idempotent; late and duplicate payments are recorded and refunded. */
  async payOrder(fields: HostFields, sender: HostSender): Promise<HostAnswer> {
    const prepayId = fields.prepay_id;
    if (!prepayId) return fail('prepay_id is required');
    const found = await orderRepository.findByPrepayId(this.db, prepayId);
    if (!found || (sender.signed && sender.applicationId !== found.application_id)) return fail('Unknown prepay_id');
    let order: OrderRow = found;
    if (fields.out_trade_no !== undefined && fields.out_trade_no !== order.out_trade_no)
      return fail('out_trade_no is not the order of this prepay_id');
    if (fields.total_fee === undefined || !minorUnits.test(fields.total_fee))
      return fail('total_fee is required: an integer amount in minor units');
    const reportedCurrency = fields.fee_type || order.currency;
    const mismatch =
      Number(fields.total_fee) !== order.amount_total
        ? `total_fee ${fields.total_fee} does not match the order's amount`
        : reportedCurrency !== order.currency
          ? `fee_type ${reportedCurrency} is not the order's currency`
          : undefined;
    const transactionId = fields.transaction_id ?? '';
    if (transactionId.length > 64) return fail('transaction_id is longer than 64 characters');
    const paidAt = fields.time_end ? parseHostTime(fields.time_end) : null;
    if (paidAt === undefined) return fail('time_end must be yyyyMMddHHmmss (Asia/Shanghai) or RFC 3339 with an offset');

    const config = await resolvePaymentConfig(this.db, order.application_id);
    const sandboxOrder = order.channel_kind === 'sandbox';
    if (!sender.signed && !(sandboxOrder && this.config.sandboxEnabled && config.channelKind === 'sandbox')) {
      return fail(
        'Unsigned payment reports are accepted only for superapps on the sandbox channel: ' +
          'sign the report with your host key (docs/channel-protocol.md)',
      );
    }
    if (order.channel_kind !== 'host_reported' && !sandboxOrder)
      return fail("This superapp's payments arrive through its channel, not through host reports");
    if (fields.result_code !== undefined && fields.result_code !== 'SUCCESS') {
      return success('The failed payment is noted; the order stays payable until it expires');
    }
    // Refused, never applied; but an authenticated report of money is kept and flagged, not forgotten.
    if (mismatch) {
      const reported = `${fields.total_fee} ${reportedCurrency}`;
      if (transactionId && !sandboxOrder) {
        await this.parts.orders.applyPayment(order.id, {
          channelTransactionId: transactionId,
          amount: Number(fields.total_fee),
          currency: reportedCurrency,
          payerOpenid: order.payer_openid,
          paidAt,
        });
      } else {
        await this.parts.orders.recordRefusedReport(order.id, `the host reported ${reported}`);
      }
      return fail(`${mismatch}: the report is refused, recorded and the order flagged`);
    }
    if (
      paidTradeStates.includes(order.trade_state) &&
      (transactionId === '' || transactionId === order.channel_transaction_id || sandboxOrder)
    ) {
      return success('The order is paid already; nothing changed');
    }
    // An order past its expiry is closed first (as the auto-close job would), so the report is a late payment.
    order = await this.parts.orders.closeIfExpired(order);
    const wasOpen = order.trade_state === 'WAIT_PAY';
    if (sandboxOrder) return this.payInSandbox(order, wasOpen);

    // A report without a transaction_id is recorded without one (SPEC §7, §9.3): never an invented id.
    const channelTransactionId = transactionId || null;
    // A payment first reported without an id, now named: the same payment, its id recorded on it.
    const naming = channelTransactionId !== null && paidTradeStates.includes(order.trade_state) && order.channel_transaction_id === null;
    const known = channelTransactionId === null ? undefined : await channelPaymentRepository.find(this.db, order.id, channelTransactionId);
    if (!known) {
      await this.parts.orders.applyPayment(order.id, {
        channelTransactionId,
        amount: order.amount_total,
        currency: order.currency,
        payerOpenid: order.payer_openid,
        paidAt,
      });
    }
    const payment = known ?? (await channelPaymentRepository.find(this.db, order.id, channelTransactionId));
    switch (payment?.disposition) {
      case 'applied':
        return success(
          known
            ? 'The order is paid already; nothing changed'
            : naming
              ? 'The order is paid already; its transaction_id is recorded'
              : 'OK',
        );
      case 'late_payment_refunded':
        return success(lateMessage);
      case 'duplicate_refunded':
        return success(duplicateMessage);
      default: {
        // A report without an id that met the order just paid under another report: the same payment.
        const now = channelTransactionId === null ? await orderRepository.findById(this.db, order.id) : undefined;
        if (now && paidTradeStates.includes(now.trade_state)) return success('The order is paid already; nothing changed');
        return fail('The payment could not be recorded; report it again');
      }
    }
  }

  /** `refundResult`: a host-reported superapp settles a refund Paythrough sent to its refund webhook. Signed only. */
  async refundResult(fields: HostFields, sender: HostSender): Promise<HostAnswer> {
    if (!sender.signed) return fail('Refund reports must be signed with the host key (docs/channel-protocol.md)');
    const mchid = fields.mchid ?? fields.mch_id;
    const outRefundNo = fields.out_refund_no;
    if (!mchid || !outRefundNo) return fail('mchid and out_refund_no are required');
    const state = refundStates[fields.refund_status ?? ''];
    if (!state) return fail('refund_status must be SUCCESS, CLOSED or ABNORMAL');
    // The signature named the superapp: merchant IDs are its own (SPEC §7 "Credential scope").
    const refund = await refundRepository.findByOutRefundNo(this.db, sender.applicationId, mchid, outRefundNo);
    if (!refund || refund.channel_kind !== 'host_reported') return fail('Unknown refund');
    if (fields.refund_fee !== undefined && !minorUnits.test(fields.refund_fee))
      return fail('refund_fee must be an integer amount in minor units');
    const settledAt = fields.settle_time ? parseHostTime(fields.settle_time) : null;
    if (settledAt === undefined) return fail('settle_time must be yyyyMMddHHmmss (Asia/Shanghai) or RFC 3339 with an offset');
    const feeType = fields.fee_type ? fields.fee_type : refund.currency;
    if ((fields.refund_fee !== undefined && Number(fields.refund_fee) !== refund.amount_refund) || feeType !== refund.currency) {
      // SPEC §7, as for payments: refused, flagged on the order, never applied.
      await this.parts.refunds.flagMismatch(
        refund,
        `the host reports ${state} for ${fields.refund_fee ?? refund.amount_refund} ${feeType}`,
      );
      return fail(
        `refund_fee and fee_type (${fields.refund_fee ?? '-'} ${feeType}) do not match the refund ` +
          `(${refund.amount_refund} ${refund.currency}): nothing was applied, the order is flagged`,
      );
    }
    const settles = refund.status === 'PROCESSING' || (refund.status === 'ABNORMAL' && state !== 'ABNORMAL');
    // A result contradicting an administrator's settlement by hand is recorded and flagged, not applied (SPEC §7).
    const contradicts = refund.settled_by !== null && state !== 'ABNORMAL' && state !== refund.status;
    if (!settles && !contradicts) {
      return refund.status === state
        ? success('The refund is settled already; nothing changed')
        : fail(`The refund is ${refund.status} already`);
    }
    const view: ChannelRefund = {
      channelRefundId: fields.refund_id || refund.channel_refund_id || `HR${refund.refund_id}`,
      merchantId: refund.mchid,
      outRefundNo: refund.out_refund_no,
      outTradeNo: refund.out_trade_no,
      state,
      amount: { refund: refund.amount_refund, total: refund.amount_total, currency: refund.currency },
      reason: refund.reason,
      createdAt: refund.created_at,
      settledAt,
    };
    await this.parts.refunds.recordChannelView(refund, view);
    return contradicts ? fail(`The refund was settled by hand as ${refund.status}: not applied, the order is flagged`) : success();
  }

  /** A sandbox order: the sandbox stands in for the superapp's payment system, so the payment is taken there. */
  private async payInSandbox(order: OrderRow, wasOpen: boolean): Promise<HostAnswer> {
    const sandbox = this.config.sandboxEnabled ? this.parts.sandbox : null;
    if (!sandbox) return fail('The sandbox channel is switched off on this deployment');
    const paid = await sandbox.succeedPayment(order.prepay_id, { late: !wasOpen });
    if (paid.outcome !== 'ok')
      return fail(paid.outcome === 'rejected' ? `The sandbox refused: ${paid.message}` : 'The sandbox did not answer; report it again');
    // Apply it now rather than when the sandbox's event is delivered (that delivery then repeats it harmlessly).
    await this.parts.orders.handle(
      { eventId: `host-report:${order.prepay_id}`, type: 'payment.succeeded', occurredAt: this.clock.nowMs(), order: paid.value },
      { channelKind: 'sandbox', applicationId: order.application_id },
    );
    return success(wasOpen ? 'OK' : lateMessage);
  }

  private async subjectSuperapp(kind: HostMessageKind, fields: HostFields): Promise<string | undefined> {
    if (kind === 'refundResult') {
      const mchid = fields.mchid ?? fields.mch_id;
      if (!mchid || !fields.out_refund_no) return undefined;
      // Merchant IDs are each superapp's own: the webhook's application_id names it; without it the number must be one superapp's.
      if (fields.application_id) return fields.application_id;
      return (await refundRepository.findOnlyByOutRefundNo(this.db, mchid, fields.out_refund_no))?.application_id;
    }
    if (!fields.prepay_id) return undefined;
    return (await orderRepository.findByPrepayId(this.db, fields.prepay_id))?.application_id;
  }
}
