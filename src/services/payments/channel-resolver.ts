import type { ChannelEventSource, ChannelResult, PaymentChannel } from '../../channels/channel.ts';
import { HttpChannel } from '../../channels/http/http-channel.ts';
import type { Config } from '../../config/config.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { paymentConfigRepository } from '../../repositories/payment-config.repository.ts';
import type { ChannelSettings } from '../payment-setup/index.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';

/** Finds the channel an order or refund goes through: the kind it was created with, on its superapp. */
export interface ChannelResolver {
  channelFor(kind: string, applicationId: string): Promise<PaymentChannel | undefined>;
}

/** True when an event from `source` may speak about a record of this channel and superapp. */
export function eventSourceMatches(source: ChannelEventSource, record: { channel_kind: string; application_id: string }): boolean {
  if (record.channel_kind !== source.channelKind) return false;
  return source.applicationId === null || source.applicationId === record.application_id;
}

/** How long to wait before asking the channel again about something still unknown: grows with its age. */
export function nextCheckAt(nowMs: number, sinceMs: number): number {
  const age = Math.max(0, nowMs - sinceMs);
  return nowMs + Math.min(Math.max(Math.floor(age / 4), 30_000), 30 * 60_000);
}

/** A refusal from the channel, as the gateway tells the merchant. */
export function channelRefusal(result: Extract<ChannelResult<unknown>, { outcome: 'rejected' }>): AppError {
  const message = `The payment channel refused: ${result.message}`;
  switch (result.code) {
    case 'OUT_TRADE_NO_USED':
      return new AppError('FailedOperation.OutTradeNoUsed', message);
    case 'ORDER_PAID':
      return new AppError('FailedOperation.OrderPaid', message);
    case 'ORDER_CLOSED':
      return new AppError('FailedOperation.OrderClosed', message);
    case 'PARAM_ERROR':
      return new AppError('InvalidParameterValue', message);
    case 'MERCHANT_NOT_EXIST':
      return new AppError('FailedOperation.AppIdMchIdNotMatch', message);
    default:
      return new AppError('FailedOperation', message);
  }
}

/**
 * The merchant hears only that the channel did not answer: the reason (the channel's host, its address, the
 * network error) is the operator's, kept as the error's cause for the log.
 */
export const channelUnavailable = (reason: string) =>
  Object.assign(new AppError('FailedOperation.ChannelUnavailable', 'The payment channel did not answer; retry with the same parameters'), {
    cause: reason,
  });

/**
 * The channels of this deployment: the in-process sandbox (while the sandbox is on) and the HTTP connector
 * of each superapp whose payment configuration names one. `register` replaces a kind's channel (an
 * embedding with its own connector, or a test double).
 */
export class GatewayChannelResolver implements ChannelResolver {
  private readonly registered = new Map<string, PaymentChannel>();

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
    private readonly config: Pick<Config, 'sandboxEnabled' | 'allowPrivateTargets'>,
    sandbox: PaymentChannel | null,
  ) {
    if (sandbox && config.sandboxEnabled) this.registered.set('sandbox', sandbox);
  }

  register(kind: string, channel: PaymentChannel): void {
    this.registered.set(kind, channel);
  }

  /** The key a superapp's HTTP channel signs its callbacks with; null when its channel is not the HTTP protocol. */
  async channelKeysFor(applicationId: string): Promise<string[] | null> {
    const row = await paymentConfigRepository.find(this.db, applicationId);
    if (!row || row.channel_kind !== 'http' || !row.channel_secret_sealed) return null;
    return [this.secretBox.open(row.channel_secret_sealed, sealingContexts.channelSecret(applicationId))];
  }

  async channelFor(kind: string, applicationId: string): Promise<PaymentChannel | undefined> {
    const registered = this.registered.get(kind);
    if (registered) return registered.scopedTo ? registered.scopedTo(applicationId) : registered;
    if (kind !== 'http') return undefined;
    const row = await paymentConfigRepository.find(this.db, applicationId);
    const settings = row ? (JSON.parse(row.channel_settings_json) as ChannelSettings) : {};
    if (!row || row.channel_kind !== 'http' || !settings.baseUrl || !row.channel_secret_sealed) return undefined;
    return new HttpChannel({
      baseUrl: settings.baseUrl,
      channelKey: this.secretBox.open(row.channel_secret_sealed, sealingContexts.channelSecret(applicationId)),
      clock: this.clock,
      policy: { allowPrivateTargets: this.config.allowPrivateTargets, sandboxRelaxed: false },
    });
  }
}
