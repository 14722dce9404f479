import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { orderRepository, type OrderRow } from '../../repositories/order.repository.ts';
import { outboxRepository } from '../../repositories/outbox.repository.ts';
import { refundRepository, type RefundRow } from '../../repositories/refund.repository.ts';
import type { OutboxService } from '../../services/payments/index.ts';
import type {
  ChannelOrder,
  ChannelOrderKey,
  ChannelOrderState,
  ChannelRefund,
  ChannelRefundKey,
  ChannelResult,
  CreateChannelOrderInput,
  CreateChannelRefundInput,
  PaymentChannel,
} from '../channel.ts';
import { createRefundToWire } from '../protocol.ts';
import type { HostLookup, TargetPolicy } from '../../net/address-policy.ts';
import type { OutboundOptions } from '../../net/pinned-http.ts';
import type { StatementPage, StatementQuery } from '../statement.ts';
import { maxStatementAnswerBytes, queryStatementAt, statementTimeoutMs } from '../http/statement-call.ts';

export interface HostStatementTarget {
  url: string;
  /** Null while no host key was issued. */
  keys: { signing: string; accepted: readonly string[] } | null;
}

export interface HostStatementConnector {
  policy: TargetPolicy;
  lookup?: HostLookup | undefined;
  tls?: OutboundOptions['tls'] | undefined;
  statementTimeoutMs?: number | undefined;
}

/** The outbox topic of refund requests sent to a host-reported superapp's refund webhook. */
export const hostRefundWebhookTopic = 'host_refund_webhook';

/** What a refund webhook job carries: the exact body, signed afresh with the superapp's host key at each attempt. */
export interface HostRefundWebhookPayload {
  applicationId: string;
  body: string;
}

export const hostRefundWebhookEventId = (applicationId: string, merchantId: string, outRefundNo: string) =>
  `host-refund:${applicationId}:${merchantId}:${outRefundNo}`;

const rejected = <T>(
  code: 'ORDER_NOT_EXIST' | 'REFUND_NOT_EXIST' | 'ORDER_PAID' | 'INVALID_REQUEST',
  message: string,
): ChannelResult<T> => ({ outcome: 'rejected', code, message });

function channelStateOf(order: OrderRow): ChannelOrderState {
  switch (order.trade_state) {
    case 'SUCCESS':
    case 'REFUND':
      return 'SUCCESS';
    case 'CLOSED':
    case 'AUTO_CLOSED':
      return 'CLOSED';
    case 'PAY_ERROR':
      return 'PAY_ERROR';
    default:
      return 'WAIT_PAY';
  }
}

/**
 * The "host-reported" channel mode (SPEC §4.5): the superapp's own app is the cashier and reports
 * payments through the host API, so there is no channel to call for orders. Paythrough's order record
 * is the channel's view: creating is local, closing succeeds while nobody reported a payment (a report
 * arriving later is a late payment and refunded), and a query answers the record. Refunds go to the
 * superapp's refund webhook through the outbox (durable, retried, signed at each attempt) and are settled
 * by the superapp's signed refund report.
 */
export class HostReportedChannel implements PaymentChannel {
  readonly kind = 'host_reported' as const;

  constructor(
    private readonly options: {
      db: DatabaseClient;
      clock: Clock;
      outbox: Pick<OutboxService, 'enqueue'>;
      /** The refund webhook URL of the host-reported connection the refund was created under; null when it has none. */
      refundWebhookOf(refund: RefundRow): Promise<string | null>;
      /**
       * Where the superapp serves its daily statement (SPEC §9.1), with its host key (`signing`, and every key its
       * answers may be signed with: the replaced one too while the overlap lasts); null without a statement URL.
       */
      statementTargetOf?(applicationId: string): Promise<HostStatementTarget | null>;
      /** How statement requests reach the host: the outbound policy, and the resolver's name lookup, CA and deadline. */
      connector?(): HostStatementConnector;
    },
    /** The superapp whose reports this view answers for; unset on the shared instance the resolver scopes. */
    private readonly applicationId?: string,
  ) {}

  scopedTo(applicationId: string): HostReportedChannel {
    return new HostReportedChannel(this.options, applicationId);
  }

  private get superapp(): string {
    if (this.applicationId === undefined) throw new Error('The host-reported channel answers for one superapp: use scopedTo');
    return this.applicationId;
  }

  private view(order: OrderRow): ChannelOrder {
    const state = channelStateOf(order);
    return {
      channelOrderId: order.channel_order_id ?? order.prepay_id,
      merchantId: order.mchid,
      appId: order.mnp_id,
      outTradeNo: order.out_trade_no,
      prepayId: order.prepay_id,
      state,
      amount: { total: order.amount_total, currency: order.currency },
      description: order.description,
      expiresAt: order.time_expire,
      channelTransactionId: state === 'SUCCESS' ? order.channel_transaction_id : null,
      payerOpenid: order.payer_openid,
      paidAt: state === 'SUCCESS' ? order.success_time : null,
      closedAt: state === 'CLOSED' ? (order.closed_at ?? this.options.clock.nowMs()) : null,
      failureReason: null,
      cashierToken: order.cashier_token ?? order.prepay_id,
      cashierUrl: null,
    };
  }

  async createOrder(input: CreateChannelOrderInput): Promise<ChannelResult<ChannelOrder>> {
    const order = await orderRepository.findByOutTradeNo(this.options.db, this.superapp, input.merchantId, input.outTradeNo);
    if (!order) return rejected('ORDER_NOT_EXIST', 'Host-reported orders are created by the gateway first');
    // The host's cashier finds the order by its prepay_id: that is the channel order id and the cashier token.
    return { outcome: 'ok', value: this.view(order) };
  }

  async queryOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>> {
    const order = await orderRepository.findByOutTradeNo(this.options.db, this.superapp, key.merchantId, key.outTradeNo);
    if (!order) return rejected('ORDER_NOT_EXIST', 'No such order');
    return { outcome: 'ok', value: this.view(order) };
  }

  async closeOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>> {
    const order = await orderRepository.findByOutTradeNo(this.options.db, this.superapp, key.merchantId, key.outTradeNo);
    if (!order) return rejected('ORDER_NOT_EXIST', 'No such order');
    const view = this.view(order);
    if (view.state === 'SUCCESS') return rejected('ORDER_PAID', 'The host reported a payment for this order');
    // Nothing to tell the host: a payment it reports after this is a late payment, recorded and refunded.
    return { outcome: 'ok', value: { ...view, state: 'CLOSED', closedAt: view.closedAt ?? this.options.clock.nowMs() } };
  }

  async refund(input: CreateChannelRefundInput): Promise<ChannelResult<ChannelRefund>> {
    const { db, clock } = this.options;
    const refund = await refundRepository.findByOutRefundNo(db, this.superapp, input.merchantId, input.outRefundNo);
    if (!refund) return rejected('REFUND_NOT_EXIST', 'Host-reported refunds are created by the gateway first');
    const eventId = hostRefundWebhookEventId(this.superapp, input.merchantId, input.outRefundNo);
    if (!(await outboxRepository.findByEventId(db, eventId))) {
      const webhookUrl = await this.options.refundWebhookOf(refund);
      if (!webhookUrl) return rejected('INVALID_REQUEST', 'The superapp has no refund webhook URL configured');
      const body = JSON.stringify({
        event_type: 'refund.requested',
        application_id: refund.application_id,
        appid: refund.mnp_id,
        refund: createRefundToWire(input),
      });
      const payload: HostRefundWebhookPayload = { applicationId: refund.application_id, body };
      try {
        await db.transaction().execute((trx) =>
          this.options.outbox.enqueue(trx, {
            topic: hostRefundWebhookTopic,
            eventId,
            eventType: 'refund.requested',
            payload,
            targetUrl: webhookUrl,
            sandbox: false,
            subject: { type: 'refund', id: refund.id },
            owners: {
              mnpId: refund.mnp_id,
              applicationId: refund.application_id,
              miniProgramTeamId: refund.mini_program_team_id,
              superappTeamId: refund.superapp_team_id,
            },
          }),
        );
      } catch (error) {
        // Two submits at once: the other one's insert won (event_id is unique); anything else is real.
        if (!(await outboxRepository.findByEventId(db, eventId))) throw error;
      }
    }
    return {
      outcome: 'ok',
      value: { ...this.refundView(refund), state: 'PROCESSING', settledAt: null, createdAt: refund.created_at || clock.nowMs() },
    };
  }

  async queryRefund(key: ChannelRefundKey): Promise<ChannelResult<ChannelRefund>> {
    const refund = await refundRepository.findByOutRefundNo(this.options.db, this.superapp, key.merchantId, key.outRefundNo);
    // Not sent to the webhook yet (the process stopped before): the reconciler then submits it again.
    if (
      !refund ||
      !(await outboxRepository.findByEventId(this.options.db, hostRefundWebhookEventId(this.superapp, key.merchantId, key.outRefundNo)))
    ) {
      return rejected('REFUND_NOT_EXIST', 'No refund request was sent to the superapp for this number');
    }
    return { outcome: 'ok', value: this.refundView(refund) };
  }

  /**
   * A page of the superapp's statement of a day (SPEC §9.1), from the statement URL set beside its refund webhook: the
   * same body and answer as the HTTP channel's `/v1/statements/query`, signed with the host key as refund webhook
   * requests are, the answer verified with the host key (or the replaced one while the overlap lasts).
   */
  async queryStatement(query: StatementQuery): Promise<ChannelResult<StatementPage>> {
    if (query.applicationId !== this.superapp) throw new Error('A statement query names the superapp the channel is scoped to');
    const target = await this.options.statementTargetOf?.(this.superapp);
    if (!target) return { outcome: 'rejected', code: 'NOT_SUPPORTED', message: 'The superapp has no statement URL configured' };
    // Nothing can be asked unsigned: like a refund webhook without a host key, it waits for one.
    if (!target.keys)
      return {
        outcome: 'unknown',
        reason: 'The superapp has no host key, so the statement request cannot be signed',
        mayHaveApplied: false,
      };
    const connector = this.options.connector?.() ?? { policy: { allowPrivateTargets: [], sandboxRelaxed: false } };
    return queryStatementAt(
      {
        url: target.url,
        signingKey: target.keys.signing,
        verifyingKeys: target.keys.accepted,
        clock: this.options.clock,
        policy: connector.policy,
        timeoutMs: connector.statementTimeoutMs ?? statementTimeoutMs,
        maxAnswerBytes: maxStatementAnswerBytes,
        userAgent: 'Paythrough-Statement/1',
        lookup: connector.lookup,
        tls: connector.tls,
      },
      query,
    );
  }

  private refundView(refund: RefundRow): ChannelRefund {
    return {
      channelRefundId: refund.channel_refund_id ?? `HR${refund.refund_id}`,
      merchantId: refund.mchid,
      outRefundNo: refund.out_refund_no,
      outTradeNo: refund.out_trade_no,
      state: refund.status,
      amount: { refund: refund.amount_refund, total: refund.amount_total, currency: refund.currency },
      reason: refund.reason,
      createdAt: refund.created_at,
      settledAt: refund.status === 'SUCCESS' ? refund.success_time : refund.status === 'PROCESSING' ? null : refund.updated_at,
    };
  }
}
