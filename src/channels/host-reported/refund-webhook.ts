import type { DeliveryResult, OutboxHandler } from '../../services/payments/index.ts';
import type { Clock } from '../../domain/clock.ts';
import type { HostLookup } from '../../net/address-policy.ts';
import { OutboundError, outboundTimeoutMs, responseExcerptOf, sendOutbound, type OutboundOptions } from '../../net/pinned-http.ts';
import type { OutboxRow } from '../../repositories/outbox.repository.ts';
import { signChannelMessage } from '../protocol.ts';
import type { HostRefundWebhookPayload } from './host-reported-channel.ts';

export interface RefundWebhookDelivererOptions {
  /** The superapp's current host key (the attempt fails and is retried while none is set). */
  hostKeyOf(applicationId: string): Promise<string | null>;
  clock: Clock;
  /** PAYTHROUGH_ALLOW_PRIVATE_TARGETS. */
  allowPrivateTargets: readonly string[];
  timeoutMs?: number;
  lookup?: HostLookup;
  tls?: OutboundOptions['tls'];
}

/**
 * Delivers one refund request to a host-reported superapp's refund webhook (docs/channel-protocol.md,
 * "Host-reported mode"): the JSON body as written when the refund started, signed with the host key and
 * a fresh timestamp and nonce at every attempt, under the SSRF policy (https, public addresses unless
 * allowed, the checked address pinned, no redirects, 5 s). A 2xx acknowledges receipt; the result
 * arrives later as a signed refund report.
 */
export class RefundWebhookDeliverer implements OutboxHandler {
  constructor(private readonly options: RefundWebhookDelivererOptions) {}

  async deliver(job: OutboxRow): Promise<DeliveryResult> {
    if (!job.target_url) return { delivered: false, error: 'The refund request has no webhook URL' };
    const payload = JSON.parse(job.payload_json) as HostRefundWebhookPayload;
    const hostKey = await this.options.hostKeyOf(payload.applicationId);
    if (!hostKey) return { delivered: false, error: 'The superapp has no host key, so the refund request cannot be signed' };
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'Paythrough-RefundWebhook/1',
      ...signChannelMessage(hostKey, payload.body, { nowMs: this.options.clock.nowMs() }),
    };
    try {
      const response = await sendOutbound(
        {
          url: job.target_url,
          method: 'POST',
          headers,
          body: payload.body,
          timeoutMs: this.options.timeoutMs ?? outboundTimeoutMs,
          maxResponseBytes: 1024,
          onOversizedResponse: 'truncate',
        },
        {
          policy: { allowPrivateTargets: this.options.allowPrivateTargets, sandboxRelaxed: false },
          ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
          ...(this.options.tls ? { tls: this.options.tls } : {}),
        },
      );
      const delivered = response.status >= 200 && response.status < 300;
      return {
        delivered,
        httpStatus: response.status,
        responseExcerpt: responseExcerptOf(response),
        error: delivered ? null : `The webhook answered HTTP ${response.status}`,
      };
    } catch (error) {
      if (error instanceof OutboundError) return { delivered: false, httpStatus: null, error: `${error.failure}: ${error.message}` };
      throw error;
    }
  }
}
