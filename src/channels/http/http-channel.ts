import type { z } from 'zod';
import type { Clock } from '../../domain/clock.ts';
import type { HostLookup, TargetPolicy } from '../../net/address-policy.ts';
import type { OutboundOptions } from '../../net/pinned-http.ts';
import type {
  ChannelOrder,
  ChannelOrderKey,
  ChannelRefund,
  ChannelRefundKey,
  ChannelResult,
  CreateChannelOrderInput,
  CreateChannelRefundInput,
  PaymentChannel,
} from '../channel.ts';
import {
  channelProtocolPaths,
  createOrderToWire,
  createRefundToWire,
  orderFromWire,
  refundFromWire,
  wireOrderSchema,
  wireRefundSchema,
} from '../protocol.ts';
import type { StatementPage, StatementQuery } from '../statement.ts';
import { signedChannelCall, type SignedCallTarget } from './signed-call.ts';
import { maxStatementAnswerBytes, queryStatementAt, statementTimeoutMs } from './statement-call.ts';

/**
 * The connector for a superapp that implements the channel protocol (docs/channel-protocol.md):
 * signed HTTP+JSON calls to its base URL, signed answers required, every failure to get a definite,
 * authentic answer reported as `unknown` for the reconciler to resolve by querying.
 */
export interface HttpChannelOptions {
  /** The superapp's channel base URL, e.g. `https://pay.superapp.example/paythrough`. */
  baseUrl: string;
  /** Signs requests; verifies answers (with `previousKeys`, while a key is being rotated). */
  channelKey: string;
  previousKeys?: readonly string[];
  clock: Clock;
  policy: TargetPolicy;
  /** Per call, connect to last byte (default 10 s). */
  timeoutMs?: number;
  /** Per statement page, connect to last byte (default 30 s, SPEC §9.1). */
  statementTimeoutMs?: number;
  lookup?: HostLookup;
  tls?: OutboundOptions['tls'];
}

export const httpChannelTimeoutMs = 10_000;
const maxAnswerBytes = 256 * 1024;

type Check<T> = (value: T) => string | undefined;

export class HttpChannel implements PaymentChannel {
  readonly kind = 'http' as const;
  private readonly baseUrl: string;
  private readonly verifyingKeys: readonly string[];

  constructor(private readonly options: HttpChannelOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.verifyingKeys = [options.channelKey, ...(options.previousKeys ?? [])];
  }

  createOrder(input: CreateChannelOrderInput): Promise<ChannelResult<ChannelOrder>> {
    return this.call(channelProtocolPaths.createOrder, createOrderToWire(input), wireOrderSchema, orderFromWire, (order) =>
      order.merchantId === input.merchantId && order.outTradeNo === input.outTradeNo ? undefined : 'the answer is about another order',
    );
  }

  queryOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>> {
    return this.call(
      channelProtocolPaths.queryOrder,
      { merchant_id: key.merchantId, out_trade_no: key.outTradeNo },
      wireOrderSchema,
      orderFromWire,
      sameOrder(key),
    );
  }

  closeOrder(key: ChannelOrderKey): Promise<ChannelResult<ChannelOrder>> {
    return this.call(
      channelProtocolPaths.closeOrder,
      { merchant_id: key.merchantId, out_trade_no: key.outTradeNo },
      wireOrderSchema,
      orderFromWire,
      sameOrder(key),
    );
  }

  refund(input: CreateChannelRefundInput): Promise<ChannelResult<ChannelRefund>> {
    return this.call(channelProtocolPaths.createRefund, createRefundToWire(input), wireRefundSchema, refundFromWire, sameRefund(input));
  }

  queryRefund(key: ChannelRefundKey): Promise<ChannelResult<ChannelRefund>> {
    return this.call(
      channelProtocolPaths.queryRefund,
      { merchant_id: key.merchantId, out_refund_no: key.outRefundNo },
      wireRefundSchema,
      refundFromWire,
      sameRefund(key),
    );
  }

  /** A page of the channel's statement of a day (SPEC §9.1), with a page that breaks the protocol refused. */
  queryStatement(query: StatementQuery): Promise<ChannelResult<StatementPage>> {
    return queryStatementAt(
      this.target(channelProtocolPaths.queryStatement, this.options.statementTimeoutMs ?? statementTimeoutMs, maxStatementAnswerBytes),
      query,
    );
  }

  private target(path: string, timeoutMs: number, maxAnswerBytes: number): SignedCallTarget {
    return {
      url: `${this.baseUrl}${path}`,
      signingKey: this.options.channelKey,
      verifyingKeys: this.verifyingKeys,
      clock: this.options.clock,
      policy: this.options.policy,
      timeoutMs,
      maxAnswerBytes,
      userAgent: 'Paythrough-Channel-Connector/1',
      lookup: this.options.lookup,
      tls: this.options.tls,
    };
  }

  private call<W, T>(
    path: string,
    body: unknown,
    schema: z.ZodType<W>,
    fromWire: (wire: W) => T,
    check: Check<T>,
  ): Promise<ChannelResult<T>> {
    return signedChannelCall(
      this.target(path, this.options.timeoutMs ?? httpChannelTimeoutMs, maxAnswerBytes),
      body,
      schema,
      fromWire,
      check,
    );
  }
}

function sameOrder(key: ChannelOrderKey): Check<ChannelOrder> {
  return (order) =>
    order.merchantId === key.merchantId && order.outTradeNo === key.outTradeNo ? undefined : 'the answer is about another order';
}

function sameRefund(key: ChannelRefundKey): Check<ChannelRefund> {
  return (refund) =>
    refund.merchantId === key.merchantId && refund.outRefundNo === key.outRefundNo ? undefined : 'the answer is about another refund';
}
