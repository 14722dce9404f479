import type { z } from 'zod';
import type { Clock } from '../../domain/clock.ts';
import type { HostLookup, TargetPolicy } from '../../net/address-policy.ts';
import { OutboundError, sendOutbound, type OutboundOptions } from '../../net/pinned-http.ts';
import type { ChannelResult } from '../channel.ts';
import { signChannelMessage, verifyChannelSignature, wireErrorSchema } from '../protocol.ts';

/** Where and how one signed protocol call goes: the HTTP channel (channel key) or a host-reported superapp (host key). */
export interface SignedCallTarget {
  url: string;
  /** Signs the request. */
  signingKey: string;
  /** Any of these may sign the answer (the current key, and the replaced one while the overlap lasts). */
  verifyingKeys: readonly string[];
  clock: Clock;
  policy: TargetPolicy;
  timeoutMs: number;
  /** The answer is refused (unknown) past this size. */
  maxAnswerBytes: number;
  userAgent: string;
  lookup?: HostLookup | undefined;
  tls?: OutboundOptions['tls'] | undefined;
}

/**
 * One call of the channel protocol (docs/channel-protocol.md): the JSON body signed with a fresh timestamp and
 * nonce, posted through the pinned, policy-checked client; only a signed answer counts, a refusal as much as a
 * success. No definite, authentic, well-formed answer is `unknown`.
 */
export async function signedChannelCall<W, T>(
  target: SignedCallTarget,
  body: unknown,
  schema: z.ZodType<W>,
  fromWire: (wire: W) => T,
  /** Says what is wrong when the answer is about something else than asked (then `unknown`). */
  check?: (value: T) => string | undefined,
): Promise<ChannelResult<T>> {
  const text = JSON.stringify(body);
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    accept: 'application/json',
    'user-agent': target.userAgent,
    ...signChannelMessage(target.signingKey, text, { nowMs: target.clock.nowMs() }),
  };
  let response;
  try {
    response = await sendOutbound(
      { url: target.url, method: 'POST', headers, body: text, timeoutMs: target.timeoutMs, maxResponseBytes: target.maxAnswerBytes },
      {
        policy: target.policy,
        ...(target.lookup ? { lookup: target.lookup } : {}),
        ...(target.tls ? { tls: target.tls } : {}),
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
    channelKeys: target.verifyingKeys,
    nowMs: target.clock.nowMs(),
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
  const mismatch = check?.(value);
  if (mismatch) return unknown(mismatch);
  return { outcome: 'ok', value };
}
