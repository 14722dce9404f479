import type { SecretBox } from '../../crypto/secret-box.ts';
import type { ChannelKind } from '../../db/payment-schema.ts';
import type { Executor, DatabaseClient } from '../../db/schema.ts';
import { accessLevel, type Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, forbidden } from '../../domain/errors.ts';
import { currencies, defaultCurrencies, isCurrencyCode, type CurrencyCode } from '../../domain/money.ts';
import { minimumChannelKeyLength } from '../../channels/protocol.ts';
import { paymentConfigRepository, type PaymentConfigRow } from '../../repositories/payment-config.repository.ts';
import { accessSuperapp, recordAudit } from '../tenancy/index.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';
import {
  type ChannelConnectionService,
  connectionForConfiguration,
  connectionUrlOf,
  type PreviousConnectionView,
  replaceKeyColumns,
} from './channel-connection.service.ts';

export const channelKinds = ['sandbox', 'http', 'host_reported'] as const satisfies readonly ChannelKind[];

/** A channel base URL, refund webhook or statement URL: absolute https, no credentials (the SSRF guard checks addresses at each call). */
function checkChannelUrl(value: string, field: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.hash !== '') {
    throw new AppError('InvalidParameterValue', `${field}: must be an absolute https URL without credentials`, { field });
  }
}

/**
 * Settings of a channel connection (SPEC §4.3, §4.5): the sandbox, the HTTP channel protocol (base URL and
 * channel key), or host-reported (refund webhook URL; the host key is issued by HostKeyService, shown once).
 */
export type ChannelConnectionInput =
  | { kind: 'sandbox' }
  | { kind: 'http'; baseUrl: string; secret?: string | undefined }
  | { kind: 'host_reported'; webhookUrl: string; secret?: string | undefined };

export interface ChannelSettings {
  baseUrl?: string;
  webhookUrl?: string;
}

/** A superapp's payment configuration with its defaults applied. */
export interface ResolvedPaymentConfig {
  superappId: string;
  paymentEnabled: boolean;
  currencies: CurrencyCode[];
  channelKind: ChannelKind | null;
  channelSettings: ChannelSettings;
  channelSecretSet: boolean;
  /** The connection new orders are created under; null until a channel is chosen. */
  channelConnectionId: number | null;
  /** Whether the HTTP channel serves the daily statement (SPEC §9.1); off for HTTP channels configured before it existed. */
  statementsSupported: boolean;
  /** Where a host-reported superapp serves its daily statement, beside its refund webhook; null: none (SPEC §9.1). */
  statementUrl: string | null;
  updatedAt: number | null;
}

export interface PaymentConfigView extends Omit<ResolvedPaymentConfig, 'superappId'> {
  applicationId: string;
  /** Whether this deployment offers the sandbox channel (PAYTHROUGH_SANDBOX). */
  sandboxAvailable: boolean;
  /** The kinds that can be chosen on this deployment now. */
  selectableChannelKinds: ChannelKind[];
  /** Replaced connections still carrying open orders or refunds (SPEC §7 "Channel change with live money"). */
  previousConnections: PreviousConnectionView[];
}

export interface PaymentConfigChanges {
  paymentEnabled?: boolean | undefined;
  currencies?: string[] | undefined;
  channel?: ChannelConnectionInput | undefined;
  statementsSupported?: boolean | undefined;
  /** Null removes it. */
  statementUrl?: string | null | undefined;
}

function resolve(superappId: string, row: PaymentConfigRow | undefined): ResolvedPaymentConfig {
  if (!row) {
    return {
      superappId,
      paymentEnabled: false,
      currencies: [...defaultCurrencies],
      channelKind: null,
      channelSettings: {},
      channelSecretSet: false,
      channelConnectionId: null,
      statementsSupported: false,
      statementUrl: null,
      updatedAt: null,
    };
  }
  return {
    superappId,
    paymentEnabled: row.payment_enabled === 1,
    currencies: (JSON.parse(row.currencies_json) as string[]).filter(isCurrencyCode),
    channelKind: row.channel_kind,
    channelSettings: JSON.parse(row.channel_settings_json) as ChannelSettings,
    channelSecretSet: keySealedOf(row) !== null,
    channelConnectionId: row.channel_connection_id,
    statementsSupported: row.statements_supported === 1,
    statementUrl: row.statement_url,
    updatedAt: row.updated_at,
  };
}

/** The sealed key of the configuration's current kind: the HTTP channel key or the host key. */
function keySealedOf(row: PaymentConfigRow): string | null {
  if (row.channel_kind === 'http') return row.channel_key_sealed;
  if (row.channel_kind === 'host_reported') return row.host_key_sealed;
  return null;
}

/** The payment configuration of a superapp (defaults when never saved): read by every payment rule. */
export async function resolvePaymentConfig(db: Executor, superappId: string): Promise<ResolvedPaymentConfig> {
  return resolve(superappId, await paymentConfigRepository.find(db, superappId));
}

/** Superapp → Payment management → Payment configuration (SPEC §5): enable flag, currencies, channel. */
export class PaymentConfigService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
    private readonly settings: { sandboxEnabled: boolean; keyOverlapMs: number },
    private readonly connections: Pick<ChannelConnectionService, 'previousConnectionsInUse'>,
  ) {}

  /** Every currency a superapp may allow, with its minor-unit exponent. */
  listCurrencies() {
    return currencies.map((c) => ({ code: c.code, exponent: c.exponent, name: c.name }));
  }

  /** SA Administrator (and admins, read-only) see the configuration; other superapp roles may not. */
  async get(actor: Actor, applicationId: string): Promise<PaymentConfigView> {
    const { superapp, scope } = await accessSuperapp(this.db, actor, applicationId);
    if (!accessLevel(actor, 'payment_config.manage', scope)) throw forbidden();
    const row = await paymentConfigRepository.find(this.db, superapp.id);
    return this.toView(this.db, resolve(superapp.id, row), row);
  }

  async update(actor: Actor, applicationId: string, changes: PaymentConfigChanges): Promise<PaymentConfigView> {
    return this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, applicationId, 'payment_config.manage');
      const currenciesAfter = changes.currencies === undefined ? undefined : this.validCurrencies(changes.currencies);
      const existing = await paymentConfigRepository.find(trx, superapp.id);
      const before = resolve(superapp.id, existing);
      const channel = changes.channel === undefined ? undefined : this.validChannel(changes.channel);
      if (changes.statementUrl) checkChannelUrl(changes.statementUrl, 'statementUrl');
      // A newly chosen HTTP channel is expected to serve statements; one configured before keeps what it had.
      const statementsSupported =
        changes.statementsSupported ?? (channel?.kind === 'http' && before.channelKind !== 'http' ? true : before.statementsSupported);
      const now = this.clock.nowMs();
      // A new kind or URL is a new connection for new orders; older orders keep theirs (SPEC §7).
      const connectionId = channel
        ? await connectionForConfiguration(
            trx,
            superapp.id,
            existing?.channel_connection_id ?? null,
            { kind: channel.kind, url: connectionUrlOf(channel.kind, channel.settings) },
            now,
          )
        : (existing?.channel_connection_id ?? null);
      // A new key applies to every order at once; the replaced one is still accepted on incoming calls for a while.
      const keyChanges =
        channel && channel.kind !== 'sandbox' && channel.secret !== undefined
          ? replaceKeyColumns(channel.kind, existing, this.sealChannelSecret(superapp.id, channel.secret), now, this.settings.keyOverlapMs)
          : {};
      const row: PaymentConfigRow = {
        superapp_id: superapp.id,
        payment_enabled: (changes.paymentEnabled ?? before.paymentEnabled) ? 1 : 0,
        currencies_json: JSON.stringify(currenciesAfter ?? before.currencies),
        channel_kind: channel ? channel.kind : before.channelKind,
        channel_settings_json: JSON.stringify(channel ? channel.settings : before.channelSettings),
        channel_connection_id: connectionId,
        channel_key_sealed: existing?.channel_key_sealed ?? null,
        previous_channel_key_sealed: existing?.previous_channel_key_sealed ?? null,
        previous_channel_key_until: existing?.previous_channel_key_until ?? null,
        host_key_sealed: existing?.host_key_sealed ?? null,
        previous_host_key_sealed: existing?.previous_host_key_sealed ?? null,
        previous_host_key_until: existing?.previous_host_key_until ?? null,
        statements_supported: statementsSupported ? 1 : 0,
        statement_url: changes.statementUrl === undefined ? before.statementUrl : changes.statementUrl || null,
        ...keyChanges,
        created_at: existing?.created_at ?? now,
        updated_at: now,
      };
      if (!existing) await paymentConfigRepository.insert(trx, row);
      else if (!(await paymentConfigRepository.updateIfUnchanged(trx, superapp.id, existing.updated_at, row)))
        throw new AppError('FailedOperation', 'The payment configuration was changed meanwhile; load it again and retry');
      const after = resolve(superapp.id, row);
      const audited = (c: ResolvedPaymentConfig) => ({
        paymentEnabled: c.paymentEnabled,
        currencies: c.currencies,
        channelKind: c.channelKind,
        channelSettings: c.channelSettings,
        channelSecretSet: c.channelSecretSet,
        channelConnectionId: c.channelConnectionId,
        statementsSupported: c.statementsSupported,
        statementUrl: c.statementUrl,
      });
      // Which key this change replaced (never the key itself): the replaced one overlaps until `previous_*_until`.
      const keyReplaced = { channelKeyReplaced: 'channel_key_sealed' in keyChanges, hostKeyReplaced: 'host_key_sealed' in keyChanges };
      await recordAudit(trx, this.clock, actor, {
        action: 'payment_config.update',
        targetType: 'superapp',
        targetId: superapp.id,
        teamId: superapp.team_id,
        before: audited(before),
        after: { ...audited(after), ...keyReplaced },
      });
      return this.toView(trx, after, row);
    });
  }

  private async toView(db: Executor, config: ResolvedPaymentConfig, row: PaymentConfigRow | undefined): Promise<PaymentConfigView> {
    const { superappId, ...rest } = config;
    const { sandboxEnabled } = this.settings;
    return {
      applicationId: superappId,
      ...rest,
      sandboxAvailable: sandboxEnabled,
      selectableChannelKinds: sandboxEnabled ? ['sandbox', 'http', 'host_reported'] : ['http', 'host_reported'],
      previousConnections: await this.connections.previousConnectionsInUse(db, row),
    };
  }

  private validCurrencies(codes: string[]): CurrencyCode[] {
    const normalized = codes.map((code) => code.trim().toUpperCase());
    if (normalized.length === 0)
      throw new AppError('InvalidParameterValue', 'currencies: allow at least one currency', { field: 'currencies' });
    const unknown = normalized.filter((code) => !isCurrencyCode(code));
    if (unknown.length > 0)
      throw new AppError('InvalidParameterValue', `currencies: not ISO 4217 codes we support: ${unknown.join(', ')}`, {
        field: 'currencies',
      });
    if (new Set(normalized).size !== normalized.length)
      throw new AppError('InvalidParameterValue', 'currencies: a currency is listed twice', { field: 'currencies' });
    return normalized as CurrencyCode[];
  }

  private validChannel(
    channel: ChannelConnectionInput,
  ):
    | { kind: 'sandbox'; settings: ChannelSettings }
    | { kind: 'http' | 'host_reported'; settings: ChannelSettings; secret: string | undefined } {
    if (channel.kind === 'sandbox') {
      if (!this.settings.sandboxEnabled) {
        throw new AppError(
          'InvalidParameterValue',
          'channel.kind: the sandbox channel is switched off on this deployment (PAYTHROUGH_SANDBOX=off)',
          { field: 'channel.kind' },
        );
      }
      return { kind: 'sandbox', settings: {} };
    }
    const url = channel.kind === 'http' ? channel.baseUrl : channel.webhookUrl;
    const field = channel.kind === 'http' ? 'channel.baseUrl' : 'channel.webhookUrl';
    checkChannelUrl(url, field);
    if (channel.secret !== undefined && channel.secret.length < minimumChannelKeyLength) {
      throw new AppError('InvalidParameterValue', `channel.secret: at least ${minimumChannelKeyLength} random characters`, {
        field: 'channel.secret',
      });
    }
    const settings: ChannelSettings = channel.kind === 'http' ? { baseUrl: url } : { webhookUrl: url };
    // Each kind keeps its own key: orders still on a connection of the other kind go on using theirs.
    return { kind: channel.kind, settings, secret: channel.secret };
  }

  /** Seals a channel secret for storage (used once the HTTP / host-reported connectors are selectable). */
  sealChannelSecret(superappId: string, secret: string): string {
    return this.secretBox.seal(secret, sealingContexts.channelSecret(superappId));
  }
}
