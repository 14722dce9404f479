import { JsonLimitError, parseBoundedJson } from '../../domain/bounded-json.ts';
import type { Clock } from '../../domain/clock.ts';
import type { HostLookup, TargetPolicy } from '../../net/address-policy.ts';
import { sendOutbound } from '../../net/pinned-http.ts';
import type { NonceStore } from '../../services/auth/index.ts';
import type { ChannelEvent, ChannelEventSink, ChannelEventSource } from '../channel.ts';
import { eventFromWire, eventToWire, signChannelMessage, verifyChannelSignature, wireEventSchema } from '../protocol.ts';

/**
 * Channel → Paythrough events over HTTP (docs/channel-protocol.md, "Callbacks"): the sending side a
 * superapp implements (here for the sandbox's own server and as a reference), and the receiving side
 * Paythrough runs: signature, timestamp window, nonce replay check, then the body.
 */

export type ReceivedChannelEvent =
  { ok: true; event: ChannelEvent } | { ok: false; status: 400 | 401; code: 'SIGN_ERROR' | 'PARAM_ERROR'; message: string };

export async function receiveChannelEvent(input: {
  headers: Record<string, unknown>;
  rawBody: string | Buffer;
  channelKeys: readonly string[];
  /** Replay scope, one per sender, e.g. `channel-callback:<applicationId>`. */
  nonceScope: string;
  nonces: NonceStore;
  nowMs: number;
}): Promise<ReceivedChannelEvent> {
  const signature = verifyChannelSignature({
    headers: input.headers,
    body: input.rawBody,
    channelKeys: input.channelKeys,
    nowMs: input.nowMs,
  });
  if (!signature.ok) return { ok: false, status: 401, code: 'SIGN_ERROR', message: signature.message };
  if (!(await input.nonces.rememberNonce(input.nonceScope, signature.nonce, signature.timestamp))) {
    return { ok: false, status: 401, code: 'SIGN_ERROR', message: 'This nonce was used already (replay)' };
  }
  let json: unknown;
  try {
    json = parseBoundedJson(typeof input.rawBody === 'string' ? input.rawBody : input.rawBody.toString('utf8'));
  } catch (error) {
    return {
      ok: false,
      status: 400,
      code: 'PARAM_ERROR',
      message: error instanceof JsonLimitError ? error.message : 'The body is not JSON',
    };
  }
  const parsed = wireEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      status: 400,
      code: 'PARAM_ERROR',
      message: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'is invalid'}`,
    };
  }
  return { ok: true, event: eventFromWire(parsed.data) };
}

/**
 * Posts events to Paythrough's callback URL, signed; any answer but 2xx throws, so the sender keeps
 * the event and tries again later (what the sandbox's standalone server uses as its sink).
 */
export class HttpCallbackSender implements ChannelEventSink {
  constructor(
    private readonly options: {
      callbackUrl: string;
      channelKey: string;
      clock: Clock;
      policy: TargetPolicy;
      lookup?: HostLookup;
      timeoutMs?: number;
    },
  ) {}

  async handle(event: ChannelEvent, _source: ChannelEventSource): Promise<void> {
    const body = JSON.stringify(eventToWire(event));
    const response = await sendOutbound(
      {
        url: this.options.callbackUrl,
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          ...signChannelMessage(this.options.channelKey, body, { nowMs: this.options.clock.nowMs() }),
        },
        body,
        timeoutMs: this.options.timeoutMs ?? 5000,
        maxResponseBytes: 1024,
        onOversizedResponse: 'truncate',
      },
      { policy: this.options.policy, ...(this.options.lookup ? { lookup: this.options.lookup } : {}) },
    );
    if (response.status < 200 || response.status >= 300) {
      throw new Error(
        `Paythrough answered the ${event.type} event with HTTP ${response.status}: ${response.body.toString('utf8').slice(0, 200)}`,
      );
    }
  }
}
