import type { z } from 'zod';
import type { Clock } from '../../domain/clock.ts';
import type { HostLookup, TargetPolicy } from '../../net/address-policy.ts';
import { OutboundError, sendOutbound, type OutboundOptions } from '../../net/pinned-http.ts';
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
  signChannelMessage,
  verifyChannelSignature,
  wireErrorSchema,
  wireOrderSchema,
  wireRefundSchema,
} from '../protocol.ts';

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

  private async call<W, T>(
    path: string,
    body: unknown,
    schema: z.ZodType<W>,
    fromWire: (wire: W) => T,
    check: Check<T>,
  ): Promise<ChannelResult<T>> {
    const text = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
      'user-agent': 'Paythrough-Channel-Connector/1',
      ...signChannelMessage(this.options.channelKey, text, { nowMs: this.options.clock.nowMs() }),
    };
    let response;
    try {
      response = await sendOutbound(
        {
          url: `${this.baseUrl}${path}`,
          method: 'POST',
          headers,
          body: text,
          timeoutMs: this.options.timeoutMs ?? httpChannelTimeoutMs,
          maxResponseBytes: maxAnswerBytes,
        },
        {
          policy: this.options.policy,
          ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
          ...(this.options.tls ? { tls: this.options.tls } : {}),
        },
      );
    } catch (error) {
      if (error instanceof OutboundError)
        return { outcome: 'unknown', reason: `${error.failure}: ${error.message}`, mayHaveApplied: error.mayHaveArrived };
      throw error;
    }
    const unknown = (reason: string): ChannelResult<T> => ({
      outcome: 'unknown',
      reason: `HTTP ${response.status}: ${reason}`,
      mayHaveApplied: true,
    });
    if (response.status >= 500) return unknown('the channel failed');
    if (response.status < 200 || (response.status >= 300 && response.status < 400)) return unknown('unexpected status');
    // Answers decide money: only a signed one counts, a refusal as much as a success.
    const signature = verifyChannelSignature({
      headers: response.headers,
      body: response.body,
      channelKeys: this.verifyingKeys,
      nowMs: this.options.clock.nowMs(),
    });
    if (!signature.ok) return unknown(`the answer is not authentic (${signature.message})`);
    let json: unknown;
    try {
      json = JSON.parse(response.body.toString('utf8'));
    } catch {
      return unknown('the answer is not JSON');
    }
    if (response.status >= 400) {
      const error = wireErrorSchema.safeParse(json);
      if (!error.success) return unknown('the error answer is not a channel error');
      return { outcome: 'rejected', code: error.data.code, message: error.data.message };
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      return unknown(
        `the answer does not follow the protocol (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`,
      );
    const value = fromWire(parsed.data);
    const mismatch = check(value);
    if (mismatch) return unknown(mismatch);
    return { outcome: 'ok', value };
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
