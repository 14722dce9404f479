import { randomUUID } from 'node:crypto';
import { deliverySignature, payEventSig } from '../../crypto/virtual-payment-signatures.ts';
import type { DatabaseClient, Executor } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { randomString } from '../../domain/ids.ts';
import type { HostLookup } from '../../net/address-policy.ts';
import {
  OutboundError,
  outboundTimeoutMs,
  PinnedAgentPool,
  responseExcerptOf,
  sendOutbound,
  type OutboundOptions,
} from '../../net/pinned-http.ts';
import { orderRepository, type OrderRow } from '../../repositories/order.repository.ts';
import type { OutboxRow } from '../../repositories/outbox.repository.ts';
import type { RefundRow } from '../../repositories/refund.repository.ts';
import { virtualOrderRepository } from '../../repositories/virtual-order.repository.ts';
import type { DeliveryResult, OutboxHandler, OutboxService } from '../payments/index.ts';
import type { VirtualPaymentDirectory } from './virtual-payment-directory.ts';

/** The outbox topic of virtual payment's notifications to the delivery URL (SPEC §8.4). */
export const virtualDeliveryTopic = 'virtual_payment_notification';

export const deliveryEvents = {
  minigame: 'minigame_game_pay_goods_deliver_notify',
  miniprogram: 'xpay_goods_deliver_notify',
  refund: 'xpay_refund_notify',
} as const;

/** What the outbox keeps: the Payload as the exact string every attempt sends; PayEventSig is added per attempt. */
interface DeliveryJobPayload {
  kind: 'deliver' | 'refund';
  event: string;
  payload: string;
  orderId: number;
}

/** Enqueues delivery and refund notifications in the caller's transaction (SPEC §8.4), to the delivery URL as it is then. */
export class VirtualDeliveryNotifier {
  constructor(
    private readonly outbox: Pick<OutboxService, 'enqueue'>,
    private readonly directory: VirtualPaymentDirectory,
    private readonly clock: Clock,
  ) {}

  async orderPaid(trx: Executor, order: OrderRow): Promise<void> {
    const account = await this.directory.accountOf(trx, order.mnp_id);
    const event = account?.kind === 'minigame' ? deliveryEvents.minigame : deliveryEvents.miniprogram;
    const payload = JSON.stringify({
      OpenId: order.payer_openid,
      Env: order.sandbox === 1 ? '1' : '0',
      OutTradeNo: order.out_trade_no,
      GoodsInfo: {
        ProductId: order.product_id,
        Quantity: order.quantity,
        ZoneId: order.zone_id ?? '',
        OrigPrice: order.order_fee,
        ActualPrice: order.amount_total,
        Attach: order.attach ?? '',
        OrderSource: 1,
      },
      WxOrderId: order.wx_order_id,
      Currency: order.currency,
    });
    await virtualOrderRepository.queueDelivery(trx, order.id, this.clock.nowMs());
    await this.enqueue(trx, order, { kind: 'deliver', event, payload, orderId: order.id }, account?.deliveryUrl ?? order.notify_url, {
      type: 'order',
      id: order.id,
    });
  }

  async refundSettled(trx: Executor, refund: RefundRow, order: OrderRow): Promise<void> {
    const account = await this.directory.accountOf(trx, order.mnp_id);
    const succeeded = refund.status === 'SUCCESS';
    const payload = JSON.stringify({
      OpenId: order.payer_openid,
      Env: order.sandbox === 1 ? '1' : '0',
      WxRefundId: refund.refund_id,
      MchRefundId: refund.out_refund_no,
      WxOrderId: order.wx_order_id,
      MchOrderId: order.out_trade_no,
      RefundFee: refund.amount_refund,
      Currency: refund.currency,
      RetCode: succeeded ? 0 : 1,
      RetMsg: succeeded ? 'SUCCESS' : refund.status,
      RefundStatus: refund.status,
      RefundReason: refund.reason ?? '',
      RefundKind: refund.kind,
    });
    await this.enqueue(
      trx,
      order,
      { kind: 'refund', event: deliveryEvents.refund, payload, orderId: order.id },
      account?.deliveryUrl ?? order.notify_url,
      { type: 'refund', id: refund.id },
    );
  }

  private async enqueue(trx: Executor, order: OrderRow, job: DeliveryJobPayload, targetUrl: string, subject: { type: string; id: number }) {
    await this.outbox.enqueue(trx, {
      topic: virtualDeliveryTopic,
      eventId: randomUUID(),
      eventType: job.event,
      payload: job,
      targetUrl,
      sandbox: order.sandbox === 1,
      subject,
      owners: {
        mnpId: order.mnp_id,
        applicationId: order.application_id,
        miniProgramTeamId: order.mini_program_team_id,
        superappTeamId: order.superapp_team_id,
      },
    });
  }
}

export interface VirtualDeliveryDelivererOptions {
  db: DatabaseClient;
  directory: VirtualPaymentDirectory;
  clock: Clock;
  allowPrivateTargets: readonly string[];
  sandboxEnabled: boolean;
  timeoutMs?: number;
  lookup?: HostLookup;
  tls?: OutboundOptions['tls'];
}

/** `{"returnCode":"0",...}` (SAS) or `{"ErrCode":0}` (WeChat) acknowledges a notification (SPEC §8.4). */
export function isDeliveryAcknowledgement(body: string): boolean {
  try {
    const answer = JSON.parse(body) as { returnCode?: unknown; ErrCode?: unknown } | null;
    if (typeof answer !== 'object' || answer === null) return false;
    return answer.returnCode === '0' || answer.returnCode === 0 || answer.ErrCode === 0 || answer.ErrCode === '0';
  } catch {
    return false;
  }
}

/**
 * Delivers one virtual payment notification (SPEC §8.4): the same body every attempt, signed with the AppKey current
 * at that attempt (`PayEventSig` and the three `Paythrough-*` headers), under §4.2's target policy. Only an
 * acknowledgement body counts as delivered; a delivery notification moves its order to delivering (3) on an
 * unacknowledged attempt and to delivered (4) on the acknowledgement.
 */
export class VirtualDeliveryDeliverer implements OutboxHandler {
  private readonly agents = new PinnedAgentPool({ maxSocketsPerAgent: 4 });

  constructor(private readonly options: VirtualDeliveryDelivererOptions) {}

  close(): void {
    this.agents.destroy();
  }

  /** The exact body and headers one attempt sends. */
  async build(job: OutboxRow): Promise<{ body: string; headers: Record<string, string> } | { error: string }> {
    const payload = JSON.parse(job.payload_json) as DeliveryJobPayload;
    const account = job.mnp_id ? await this.options.directory.accountOf(this.options.db, job.mnp_id) : undefined;
    if (!account) return { error: 'The mini program has no virtual payment account (no AppKey to sign with)' };
    const body = JSON.stringify({
      EventType: 'event',
      Event: payload.event,
      PayModel: 'goods',
      Payload: payload.payload,
      PayEventSig: payEventSig(account.appKey, payload.event, payload.payload),
    });
    const timestamp = String(Math.floor(this.options.clock.nowMs() / 1000));
    const nonce = randomString(32);
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Paythrough-Delivery/1',
        'Paythrough-Timestamp': timestamp,
        'Paythrough-Nonce': nonce,
        'Paythrough-Signature': deliverySignature(account.appKey, timestamp, nonce, body),
      },
    };
  }

  async deliver(job: OutboxRow): Promise<DeliveryResult> {
    const payload = JSON.parse(job.payload_json) as DeliveryJobPayload;
    const { db } = this.options;
    if (payload.kind === 'deliver') {
      const order = await orderRepository.findById(db, payload.orderId);
      // notify_provide_goods said it is delivered: the retries stop.
      if (order?.delivery_status === 'delivered')
        return { delivered: true, httpStatus: null, error: null, responseExcerpt: 'delivered already (notify_provide_goods)' };
    }
    if (!job.target_url) return { delivered: false, error: 'The mini program has no delivery URL' };
    const built = await this.build(job);
    if ('error' in built) return this.outcome(payload, { delivered: false, error: built.error });
    try {
      const response = await sendOutbound(
        {
          url: job.target_url,
          method: 'POST',
          headers: built.headers,
          body: built.body,
          timeoutMs: this.options.timeoutMs ?? outboundTimeoutMs,
          maxResponseBytes: 1024,
          onOversizedResponse: 'truncate',
        },
        {
          policy: {
            allowPrivateTargets: this.options.allowPrivateTargets,
            sandboxRelaxed: this.options.sandboxEnabled && job.sandbox === 1,
          },
          agents: this.agents,
          ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
          ...(this.options.tls ? { tls: this.options.tls } : {}),
        },
      );
      const success = response.status >= 200 && response.status < 300;
      const acknowledged = success && isDeliveryAcknowledgement(response.body.toString('utf8'));
      return this.outcome(payload, {
        delivered: acknowledged,
        httpStatus: response.status,
        responseExcerpt: responseExcerptOf(response),
        error: acknowledged ? null : success ? 'The answer is not {"returnCode":"0"} or {"ErrCode":0}' : `HTTP ${response.status}`,
      });
    } catch (error) {
      if (error instanceof OutboundError)
        return this.outcome(payload, { delivered: false, httpStatus: null, error: `${error.failure}: ${error.message}` });
      throw error;
    }
  }

  private async outcome(payload: DeliveryJobPayload, result: DeliveryResult): Promise<DeliveryResult> {
    if (payload.kind !== 'deliver') return result;
    const now = this.options.clock.nowMs();
    if (result.delivered)
      await virtualOrderRepository.moveDelivery(this.options.db, payload.orderId, ['queued', 'delivering'], 'delivered', now);
    else await virtualOrderRepository.moveDelivery(this.options.db, payload.orderId, ['queued'], 'delivering', now);
    return result;
  }
}
