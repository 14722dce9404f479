import type { ChannelEventSource, ChannelResult, PaymentChannel } from '../../channels/channel.ts';
import { HttpChannel, type HttpChannelOptions } from '../../channels/http/http-channel.ts';
import type { Config } from '../../config/config.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import type { ChannelConnectionService, ChannelRoute } from '../payment-setup/index.ts';

export type { ChannelRoute };

/**
 * Where the reconciliation reads a connection's statement of a day (SPEC §9.1): its channel, which serves statements,
 * or why there is none to read (`NO_STATEMENT`: the HTTP channel's statements are switched off, the host-reported
 * superapp has no statement URL, or the channel serves none).
 */
export type StatementSource =
  | { available: true; channel: PaymentChannel & Required<Pick<PaymentChannel, 'queryStatement'>> }
  | { available: false; reason: 'NO_STATEMENT'; message: string };

/**
 * Finds the channel an order or refund goes through: the connection (kind and URL) it was created under, on its
 * superapp, whatever the superapp's configuration says now (SPEC §7 "Channel change with live money").
 */
export interface ChannelResolver {
  channelFor(route: ChannelRoute): Promise<PaymentChannel | undefined>;
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

type ConnectorOptions = Pick<HttpChannelOptions, 'lookup' | 'tls' | 'timeoutMs' | 'statementTimeoutMs'>;

/**
 * The channels of this deployment: the in-process sandbox (while the sandbox is on) and an HTTP connector to
 * the base URL of the connection each order or refund was created under, signed with its superapp's current
 * channel key. `register` replaces a kind's channel for every connection (an embedding with its own
 * connector, or a test double).
 */
export class GatewayChannelResolver implements ChannelResolver {
  private readonly registered = new Map<string, PaymentChannel>();
  private connector: ConnectorOptions = {};

  constructor(
    private readonly clock: Clock,
    private readonly connections: Pick<ChannelConnectionService, 'connectionOf' | 'httpChannelKeysOf' | 'statementSettingsOf'>,
    private readonly config: Pick<Config, 'sandboxEnabled' | 'allowPrivateTargets'>,
    sandbox: PaymentChannel | null,
  ) {
    if (sandbox && config.sandboxEnabled) this.registered.set('sandbox', sandbox);
  }

  register(kind: string, channel: PaymentChannel): void {
    this.registered.set(kind, channel);
  }

  /** How HTTP connectors reach their channel: an embedding's own name lookup or CA (or a test's), and deadline. */
  configureConnector(options: ConnectorOptions): void {
    this.connector = { ...options };
  }

  /** How channel calls reach the superapp (the host-reported statement request too): the policy, lookup, CA, deadlines. */
  connectorOptions(): ConnectorOptions & { policy: HttpChannelOptions['policy'] } {
    return { ...this.connector, policy: { allowPrivateTargets: this.config.allowPrivateTargets, sandboxRelaxed: false } };
  }

  /** The channel of connection `connectionId` of superapp `applicationId`, if it serves the daily statement (SPEC §9.1). */
  async statementSourceFor(applicationId: string, connectionId: number): Promise<StatementSource> {
    const none = (message: string): StatementSource => ({ available: false, reason: 'NO_STATEMENT', message });
    // The connection names the kind; the route's kind plays no part in finding it.
    const connection = await this.connections.connectionOf({
      channel_kind: '',
      application_id: applicationId,
      channel_connection_id: connectionId,
    });
    if (!connection) return none(`The superapp has no channel connection ${connectionId}`);
    const settings = await this.connections.statementSettingsOf(applicationId);
    if (connection.kind === 'http' && !settings.statementsSupported)
      return none('The HTTP channel does not serve statements (statements_supported is off)');
    if (connection.kind === 'host_reported' && settings.statementUrl === null) return none('The superapp has no statement URL');
    const channel = await this.channelFor({
      channel_kind: connection.kind,
      application_id: applicationId,
      channel_connection_id: connectionId,
    });
    if (!channel) return none(`No ${connection.kind} channel is available for connection ${connectionId}`);
    if (!channel.queryStatement) return none(`The ${connection.kind} channel serves no statements`);
    return { available: true, channel: channel as PaymentChannel & Required<Pick<PaymentChannel, 'queryStatement'>> };
  }

  /**
   * The keys a superapp's HTTP channel may sign its callbacks with (its channel key, and the replaced one while the
   * overlap lasts); null when it has none, i.e. no HTTP connection is current or still in use.
   */
  async channelKeysFor(applicationId: string): Promise<string[] | null> {
    return (await this.connections.httpChannelKeysOf(applicationId))?.accepted ?? null;
  }

  async channelFor(route: ChannelRoute): Promise<PaymentChannel | undefined> {
    const registered = this.registered.get(route.channel_kind);
    if (registered) return registered.scopedTo ? registered.scopedTo(route.application_id) : registered;
    if (route.channel_kind !== 'http') return undefined;
    const connection = await this.connections.connectionOf(route);
    if (connection?.kind !== 'http' || !connection.base_url) return undefined;
    const keys = await this.connections.httpChannelKeysOf(route.application_id);
    if (!keys) return undefined;
    // Signs with the current key only; the channel's answers may still be signed with the replaced one during the overlap.
    return new HttpChannel({
      baseUrl: connection.base_url,
      channelKey: keys.signing,
      previousKeys: keys.accepted.slice(1),
      ...this.connector,
      clock: this.clock,
      policy: { allowPrivateTargets: this.config.allowPrivateTargets, sandboxRelaxed: false },
    });
  }
}
