import type { Clock } from '../../domain/clock.ts';
import { encryptV3Resource, signV3Response, v3AuthorizationScheme, type KeyInput } from '../../crypto/wechatpay-v3.ts';
import type { HostLookup } from '../../net/address-policy.ts';
import {
  OutboundError,
  outboundTimeoutMs,
  PinnedAgentPool,
  responseExcerptOf,
  sendOutbound,
  type OutboundOptions,
} from '../../net/pinned-http.ts';
import type { DeliveryResult, OutboxHandler } from './outbox.service.ts';
import type { OutboxRow } from '../../repositories/outbox.repository.ts';
import { rfc3339In } from '../../domain/business-time.ts';
import type { MerchantNotificationPayload } from './notification.service.ts';

/** Where the deliverer gets its keys at each attempt (the gateway wires these to the credential services). */
export interface NotificationKeys {
  /** The mini program's APIv3 key, or null while none is set (the attempt fails and is retried). */
  apiV3KeyFor(appId: string): Promise<string | null>;
  /** The platform key that signs now; `serial` is what Wechatpay-Serial names. */
  platformSigner(): Promise<{ serial: string; privateKey: KeyInput }>;
}

export interface NotificationDelivererOptions {
  keys: NotificationKeys;
  clock: Clock;
  /** PAYTHROUGH_ALLOW_PRIVATE_TARGETS. */
  allowPrivateTargets: readonly string[];
  /** PAYTHROUGH_SANDBOX: sandbox superapps' http / loopback targets are allowed only while it is on. */
  sandboxEnabled: boolean;
  /** PAYTHROUGH_TIMEZONE, for `create_time` when the payload does not carry one. */
  timeZone: string;
  timeoutMs?: number;
  lookup?: HostLookup;
  tls?: OutboundOptions['tls'];
  /** Keep-alive connections per receiver; as many as the worker's lanes per origin (default 16). */
  socketsPerReceiver?: number;
}

/**
 * Delivers one merchant notification (SPEC §4.2): the v3 body `{id, create_time, resource_type,
 * event_type, summary, resource}` with the resource encrypted AEAD_AES_256_GCM, signed like a gateway
 * response with a fresh timestamp and nonce, POSTed under the SSRF policy (https only except sandbox
 * superapps while the sandbox is on; no private targets unless allowed; the checked address pinned; no
 * redirects; 5 s). An HTTP 2xx acknowledges it; anything else is a failed attempt.
 */
export class NotificationDeliverer implements OutboxHandler {
  // Connections stay open between deliveries: a burst to one receiver costs no TCP handshake per notification.
  private readonly agents: PinnedAgentPool;

  constructor(private readonly options: NotificationDelivererOptions) {
    this.agents = new PinnedAgentPool({ maxSocketsPerAgent: options.socketsPerReceiver ?? 16 });
  }

  /** Closes the kept-alive connections (the instance stops). */
  close(): void {
    this.agents.destroy();
  }

  /** The exact body and headers one attempt sends (exported for tests and the console's preview). */
  async build(job: OutboxRow): Promise<{ body: string; headers: Record<string, string> } | { error: string }> {
    const payload = JSON.parse(job.payload_json) as Partial<MerchantNotificationPayload> &
      Pick<MerchantNotificationPayload, 'event_type' | 'resource'> & { mnp_id?: string };
    // A payload may leave id, create_time and appid to the job (the outbox row has them).
    const appId = payload.appid ?? payload.mnp_id ?? job.mnp_id;
    if (!appId) return { error: 'The notification names no mini program' };
    const originalType = payload.original_type ?? (payload.event_type.startsWith('TRANSACTION.') ? 'transaction' : 'refund');
    const apiV3Key = await this.options.keys.apiV3KeyFor(appId);
    if (!apiV3Key) return { error: 'The mini program has no APIv3 key set, so the notification cannot be encrypted' };
    const signer = await this.options.keys.platformSigner();
    const body = JSON.stringify({
      id: payload.id ?? job.event_id,
      create_time: payload.create_time ?? rfc3339In(job.created_at, this.options.timeZone),
      resource_type: 'encrypt-resource',
      event_type: payload.event_type,
      summary: payload.summary ?? '',
      resource: encryptV3Resource({ plaintext: JSON.stringify(payload.resource), apiV3Key, associatedData: originalType, originalType }),
    });
    const headers = {
      'content-type': 'application/json',
      accept: '*/*',
      'user-agent': 'Paythrough-Notifier/1',
      ...signV3Response(signer, body, { nowMs: this.options.clock.nowMs() }),
      'Wechatpay-Signature-Type': v3AuthorizationScheme,
    };
    return { body, headers };
  }

  async deliver(job: OutboxRow): Promise<DeliveryResult> {
    if (!job.target_url) return { delivered: false, error: 'The notification has no notify_url' };
    const built = await this.build(job);
    if ('error' in built) return { delivered: false, error: built.error };
    const policy = {
      allowPrivateTargets: this.options.allowPrivateTargets,
      sandboxRelaxed: this.options.sandboxEnabled && job.sandbox === 1,
    };
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
          policy,
          agents: this.agents,
          ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
          ...(this.options.tls ? { tls: this.options.tls } : {}),
        },
      );
      const delivered = response.status >= 200 && response.status < 300;
      return {
        delivered,
        httpStatus: response.status,
        responseExcerpt: responseExcerptOf(response),
        error: delivered
          ? null
          : `HTTP ${response.status}${response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : ''}`,
      };
    } catch (error) {
      if (error instanceof OutboundError) return { delivered: false, httpStatus: null, error: `${error.failure}: ${error.message}` };
      throw error;
    }
  }
}

/** The production keys: the mini program's APIv3 key from its payment account, the platform's signing key. */
export function notificationKeysFrom(sources: {
  apiV3KeyOf(mnpId: string): Promise<string | null>;
  platformSigningKey(): Promise<{ publicKeyId: string; privateKey: KeyInput }>;
}): NotificationKeys {
  return {
    apiV3KeyFor: (appId) => sources.apiV3KeyOf(appId),
    async platformSigner() {
      const key = await sources.platformSigningKey();
      // Public-key mode: clients list the platform key under its PUB_KEY_ID_ (the demo manifest's platformSerial).
      return { serial: key.publicKeyId, privateKey: key.privateKey };
    },
  };
}
