import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { JsonLimitError, parseBoundedJson } from '../../domain/bounded-json.ts';
import type { Clock } from '../../domain/clock.ts';
import type { NonceStore } from '../../services/auth/index.ts';
import type { ChannelErrorCode, ChannelResult } from '../../channels/channel.ts';
import {
  channelProtocolPaths,
  createOrderFromWire,
  createRefundFromWire,
  orderToWire,
  refundToWire,
  signChannelMessage,
  verifyChannelSignature,
  wireCreateOrderSchema,
  wireCreateRefundSchema,
  wireOrderKeySchema,
  wireRefundKeySchema,
} from '../../channels/protocol.ts';
import type { SandboxChannel } from '../../channels/sandbox/sandbox-channel.ts';
import { statementPageToWire, statementQueryFromWire, wireStatementQuerySchema } from '../../channels/statement.ts';

/**
 * The superapp side of the channel protocol, served by the sandbox when it runs as its own server:
 * the reference implementation of what a superapp's payment backend answers (docs/channel-protocol.md).
 */
export interface SandboxProtocolOptions {
  sandbox: SandboxChannel;
  channelKey: string;
  nonces: NonceStore;
  clock: Clock;
}

// The statement's codes as SPEC §9.1 gives them: not ready 409 (as every other refusal), NOT_SUPPORTED 404.
const statusOf = (code: ChannelErrorCode): number =>
  code === 'SIGN_ERROR' ? 401 : code.endsWith('_NOT_EXIST') || code === 'NOT_SUPPORTED' ? 404 : code === 'PARAM_ERROR' ? 400 : 409;

export async function sandboxProtocolRoutes(app: FastifyInstance, options: SandboxProtocolOptions) {
  const { sandbox } = options;
  const { accept, answer, send } = signedChannelReplies(options);
  // The signature covers the raw bytes, so the body is kept as sent.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const route = (path: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    app.post(path, { config: { capability: 'public' }, schema: { hide: true } }, handler);

  route(channelProtocolPaths.createOrder, async (request, reply) => {
    const body = await accept(request, reply, wireCreateOrderSchema);
    if (body) return answer(reply, await sandbox.createOrder(createOrderFromWire(body)), orderToWire);
    return reply;
  });
  route(channelProtocolPaths.queryOrder, async (request, reply) => {
    const body = await accept(request, reply, wireOrderKeySchema);
    if (body) return answer(reply, await sandbox.queryOrder({ merchantId: body.merchant_id, outTradeNo: body.out_trade_no }), orderToWire);
    return reply;
  });
  route(channelProtocolPaths.closeOrder, async (request, reply) => {
    const body = await accept(request, reply, wireOrderKeySchema);
    if (body) return answer(reply, await sandbox.closeOrder({ merchantId: body.merchant_id, outTradeNo: body.out_trade_no }), orderToWire);
    return reply;
  });
  route(channelProtocolPaths.createRefund, async (request, reply) => {
    const body = await accept(request, reply, wireCreateRefundSchema);
    if (body) return answer(reply, await sandbox.refund(createRefundFromWire(body)), refundToWire);
    return reply;
  });
  route(channelProtocolPaths.queryRefund, async (request, reply) => {
    const body = await accept(request, reply, wireRefundKeySchema);
    if (body)
      return answer(reply, await sandbox.queryRefund({ merchantId: body.merchant_id, outRefundNo: body.out_refund_no }), refundToWire);
    return reply;
  });

  route(channelProtocolPaths.queryStatement, async (request, reply) => {
    const body = await accept(request, reply, wireStatementQuerySchema);
    if (body) return answer(reply, await sandbox.queryStatement(statementQueryFromWire(body)), statementPageToWire);
    return reply;
  });

  app.setErrorHandler((error, request, reply) => {
    request.log.error({ err: error }, 'sandbox channel request failed');
    return send(reply, 500, { code: 'SYSTEM_ERROR', message: 'The sandbox channel failed' });
  });
}

/** Requests checked and answers signed the way a superapp's payment backend does it (docs/channel-protocol.md). */
function signedChannelReplies({ channelKey, nonces, clock }: Pick<SandboxProtocolOptions, 'channelKey' | 'nonces' | 'clock'>) {
  function send(reply: FastifyReply, status: number, body: unknown) {
    const text = JSON.stringify(body);
    return reply
      .status(status)
      .headers({ 'content-type': 'application/json; charset=utf-8', ...signChannelMessage(channelKey, text, { nowMs: clock.nowMs() }) })
      .send(text);
  }

  function refuse(reply: FastifyReply, code: ChannelErrorCode, message: string) {
    return send(reply, statusOf(code), { code, message });
  }

  /** Verify, check the nonce, parse; undefined when an answer was already sent. */
  async function accept<S extends z.ZodType>(request: FastifyRequest, reply: FastifyReply, schema: S): Promise<z.infer<S> | undefined> {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const signature = verifyChannelSignature({ headers: request.headers, body: raw, channelKeys: [channelKey], nowMs: clock.nowMs() });
    if (!signature.ok) {
      await refuse(reply, 'SIGN_ERROR', signature.message);
      return undefined;
    }
    if (!(await nonces.rememberNonce('sandbox-channel-server', signature.nonce, signature.timestamp))) {
      await refuse(reply, 'SIGN_ERROR', 'This nonce was used already (replay)');
      return undefined;
    }
    let json: unknown;
    try {
      json = parseBoundedJson(raw.toString('utf8'));
    } catch (error) {
      await refuse(reply, 'PARAM_ERROR', error instanceof JsonLimitError ? error.message : 'The body is not JSON');
      return undefined;
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      await refuse(reply, 'PARAM_ERROR', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'is invalid'}`);
      return undefined;
    }
    return parsed.data;
  }

  function answer<T>(reply: FastifyReply, result: ChannelResult<T>, toWire: (value: T) => unknown) {
    if (result.outcome === 'ok') return send(reply, 200, toWire(result.value));
    if (result.outcome === 'rejected') return refuse(reply, result.code, result.message);
    return send(reply, 500, { code: 'SYSTEM_ERROR', message: result.reason });
  }

  return { accept, answer, send };
}
