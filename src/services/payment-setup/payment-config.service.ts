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

export const channelKinds = ['sandbox', 'http', 'host_reported'] as const satisfies readonly ChannelKind[];

/** A channel base URL or refund webhook URL: absolute https, no credentials (the SSRF guard checks addresses at each call). */
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
  updatedAt: number | null;
}

export interface PaymentConfigView extends Omit<ResolvedPaymentConfig, 'superappId'> {
  applicationId: string;
  /** Whether this deployment offers the sandbox channel (PAYTHROUGH_SANDBOX). */
  sandboxAvailable: boolean;
  /** The kinds that can be chosen on this deployment now. */
  selectableChannelKinds: ChannelKind[];
}

export interface PaymentConfigChanges {
  paymentEnabled?: boolean | undefined;
  currencies?: string[] | undefined;
  channel?: ChannelConnectionInput | undefined;
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
      updatedAt: null,
    };
  }
  return {
    superappId,
    paymentEnabled: row.payment_enabled === 1,
    currencies: (JSON.parse(row.currencies_json) as string[]).filter(isCurrencyCode),
    channelKind: row.channel_kind,
    channelSettings: JSON.parse(row.channel_settings_json) as ChannelSettings,
    channelSecretSet: row.channel_secret_sealed !== null,
    updatedAt: row.updated_at,
  };
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
    private readonly sandboxEnabled: boolean,
  ) {}

  /** Every currency a superapp may allow, with its minor-unit exponent. */
  listCurrencies() {
    return currencies.map((c) => ({ code: c.code, exponent: c.exponent, name: c.name }));
  }

  /** SA Administrator (and admins, read-only) see the configuration; other superapp roles may not. */
  async get(actor: Actor, applicationId: string): Promise<PaymentConfigView> {
    const { superapp, scope } = await accessSuperapp(this.db, actor, applicationId);
    if (!accessLevel(actor, 'payment_config.manage', scope)) throw forbidden();
    return this.toView(await resolvePaymentConfig(this.db, superapp.id));
  }

  async update(actor: Actor, applicationId: string, changes: PaymentConfigChanges): Promise<PaymentConfigView> {
    return this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, applicationId, 'payment_config.manage');
      const currenciesAfter = changes.currencies === undefined ? undefined : this.validCurrencies(changes.currencies);
      const existing = await paymentConfigRepository.find(trx, superapp.id);
      const before = resolve(superapp.id, existing);
      const channel =
        changes.channel === undefined
          ? undefined
          : this.validChannel(changes.channel, superapp.id, before, existing?.channel_secret_sealed ?? null);
      const now = this.clock.nowMs();
      const row: PaymentConfigRow = {
        superapp_id: superapp.id,
        payment_enabled: (changes.paymentEnabled ?? before.paymentEnabled) ? 1 : 0,
        currencies_json: JSON.stringify(currenciesAfter ?? before.currencies),
        channel_kind: channel ? channel.kind : before.channelKind,
        channel_settings_json: JSON.stringify(channel ? channel.settings : before.channelSettings),
        channel_secret_sealed: channel ? channel.secretSealed : (existing?.channel_secret_sealed ?? null),
        created_at: existing?.created_at ?? now,
        updated_at: now,
      };
      if (existing) await paymentConfigRepository.update(trx, superapp.id, row);
      else await paymentConfigRepository.insert(trx, row);
      const after = resolve(superapp.id, row);
      const audited = (c: ResolvedPaymentConfig) => ({
        paymentEnabled: c.paymentEnabled,
        currencies: c.currencies,
        channelKind: c.channelKind,
        channelSettings: c.channelSettings,
        channelSecretSet: c.channelSecretSet,
      });
      await recordAudit(trx, this.clock, actor, {
        action: 'payment_config.update',
        targetType: 'superapp',
        targetId: superapp.id,
        teamId: superapp.team_id,
        before: audited(before),
        after: audited(after),
      });
      return this.toView(after);
    });
  }

  private toView(config: ResolvedPaymentConfig): PaymentConfigView {
    const { superappId, ...rest } = config;
    return {
      applicationId: superappId,
      ...rest,
      sandboxAvailable: this.sandboxEnabled,
      selectableChannelKinds: this.sandboxEnabled ? ['sandbox', 'http', 'host_reported'] : ['http', 'host_reported'],
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
    superappId: string,
    before: ResolvedPaymentConfig,
    existingSecret: string | null,
  ): { kind: ChannelKind; settings: ChannelSettings; secretSealed: string | null } {
    if (channel.kind === 'sandbox') {
      if (!this.sandboxEnabled) {
        throw new AppError(
          'InvalidParameterValue',
          'channel.kind: the sandbox channel is switched off on this deployment (PAYTHROUGH_SANDBOX=off)',
          { field: 'channel.kind' },
        );
      }
      return { kind: 'sandbox', settings: {}, secretSealed: null };
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
    // Switching kinds drops the old kind's secret; a host-reported superapp then issues its host key (shown once).
    const keep = channel.kind === before.channelKind ? existingSecret : null;
    return {
      kind: channel.kind,
      settings,
      secretSealed: channel.secret !== undefined ? this.sealChannelSecret(superappId, channel.secret) : keep,
    };
  }

  /** Seals a channel secret for storage (used once the HTTP / host-reported connectors are selectable). */
  sealChannelSecret(superappId: string, secret: string): string {
    return this.secretBox.seal(secret, sealingContexts.channelSecret(superappId));
  }
}
