import type { SecretBox } from '../../crypto/secret-box.ts';
import type { ChannelKind } from '../../db/payment-schema.ts';
import type { DatabaseClient, Executor } from '../../db/schema.ts';
import { type Clock, dayMs } from '../../domain/clock.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';
import { channelConnectionRepository, type ChannelConnectionRow } from '../../repositories/channel-connection.repository.ts';
import { paymentConfigRepository, type PaymentConfigRow } from '../../repositories/payment-config.repository.ts';

/** SPEC §4.1: a paid order may be refunded for 365 days, so its connection is kept that long. */
const refundableForMs = 365 * dayMs;

/** What an order or refund names to reach its channel: its kind, its superapp, the connection it was created under. */
export interface ChannelRoute {
  channel_kind: string;
  application_id: string;
  /** Null only for rows written outside the services: those use the superapp's current connection. */
  channel_connection_id: number | null;
}

/** A superapp's key of one kind: the one that signs, and every one accepted on incoming calls now. */
export interface ChannelKeys {
  signing: string;
  accepted: string[];
}

/** Whether a superapp's channel serves the daily statement (SPEC §9.1). */
export interface StatementSettings {
  /** The HTTP channel serves `/v1/statements/query`. */
  statementsSupported: boolean;
  /** Where the host-reported superapp serves it; null: nowhere. */
  statementUrl: string | null;
}

/** A connection that is no longer the superapp's current one but still carries open orders or refunds. */
export interface PreviousConnectionView {
  id: number;
  kind: ChannelKind;
  /** The HTTP channel's base URL or the host-reported refund webhook; null for the sandbox. */
  url: string | null;
  createdAt: number;
  openOrders: number;
  openRefunds: number;
}

/** The URL a connection of this kind is reached at, from the configuration's channel settings. */
export function connectionUrlOf(kind: ChannelKind, settings: { baseUrl?: string; webhookUrl?: string }): string | null {
  if (kind === 'http') return settings.baseUrl ?? null;
  if (kind === 'host_reported') return settings.webhookUrl ?? null;
  return null;
}

/** The connection new orders go through: the current one when it matches, a live one again, or a new one. */
export async function connectionForConfiguration(
  trx: Executor,
  superappId: string,
  currentId: number | null,
  wanted: { kind: ChannelKind; url: string | null },
  nowMs: number,
): Promise<number> {
  const current = currentId === null ? undefined : await channelConnectionRepository.findById(trx, currentId);
  if (current && current.kind === wanted.kind && current.base_url === wanted.url && current.retired_at === null) return current.id;
  const live = await channelConnectionRepository.findLive(trx, superappId, wanted.kind, wanted.url);
  if (live) return Number(live.id);
  return channelConnectionRepository.insert(trx, {
    application_id: superappId,
    kind: wanted.kind,
    base_url: wanted.url,
    created_at: nowMs,
    retired_at: null,
  });
}

/**
 * A superapp's channel connections (SPEC §7 "Channel change with live money"): each order and refund is reached
 * through the connection it was created under; the keys are the superapp's, the replaced one still accepted on
 * incoming calls for PAYTHROUGH_KEY_OVERLAP_HOURS; a replaced connection is retired once it carries nothing open
 * (SPEC §9's daily reconciliation, once it exists, is a further condition: every day it carried reconciled).
 */
export class ChannelConnectionService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
  ) {}

  /** The connection an order or refund goes through (its own, or the superapp's current one for a row without). */
  async connectionOf(route: ChannelRoute): Promise<ChannelConnectionRow | undefined> {
    const id = route.channel_connection_id ?? (await paymentConfigRepository.find(this.db, route.application_id))?.channel_connection_id;
    if (id === null || id === undefined) return undefined;
    const connection = await channelConnectionRepository.findById(this.db, id);
    return connection && connection.application_id === route.application_id ? connection : undefined;
  }

  /** The HTTP channel key of a superapp, with the replaced one while its overlap lasts; null when it has none. */
  async httpChannelKeysOf(applicationId: string): Promise<ChannelKeys | null> {
    const row = await paymentConfigRepository.find(this.db, applicationId);
    if (!row?.channel_key_sealed) return null;
    return this.keysOf(applicationId, row.channel_key_sealed, row.previous_channel_key_sealed, row.previous_channel_key_until);
  }

  /** The host key of a superapp, with the replaced one while its overlap lasts; null when it has none. */
  async hostKeysOf(applicationId: string): Promise<ChannelKeys | null> {
    const row = await paymentConfigRepository.find(this.db, applicationId);
    if (!row?.host_key_sealed) return null;
    return this.keysOf(applicationId, row.host_key_sealed, row.previous_host_key_sealed, row.previous_host_key_until);
  }

  /**
   * Whether a superapp's channel serves the daily statement (SPEC §9.1): the HTTP channel's `statements_supported`,
   * and the host-reported statement URL. Per superapp like its keys (not per connection: a connection is kind + URL).
   */
  async statementSettingsOf(applicationId: string): Promise<StatementSettings> {
    const row = await paymentConfigRepository.find(this.db, applicationId);
    return { statementsSupported: row?.statements_supported === 1, statementUrl: row?.statement_url ?? null };
  }

  /** Where a host-reported superapp serves its statement, with its host keys (null: none issued); null without a statement URL. */
  async hostStatementTargetOf(applicationId: string): Promise<{ url: string; keys: ChannelKeys | null } | null> {
    const row = await paymentConfigRepository.find(this.db, applicationId);
    if (!row?.statement_url) return null;
    const keys = row.host_key_sealed
      ? this.keysOf(applicationId, row.host_key_sealed, row.previous_host_key_sealed, row.previous_host_key_until)
      : null;
    return { url: row.statement_url, keys };
  }

  /** The superapp's replaced connections still in use, with how many open orders and refunds each carries. */
  async previousConnectionsInUse(db: Executor, config: PaymentConfigRow | undefined): Promise<PreviousConnectionView[]> {
    if (!config) return [];
    const previous = await channelConnectionRepository.listPrevious(db, config.superapp_id, config.channel_connection_id);
    const use = await channelConnectionRepository.countUse(
      db,
      previous.map((connection) => Number(connection.id)),
      this.clock.nowMs() - refundableForMs,
    );
    // One that carries nothing open is only waiting for the retirement job: not in use any more.
    return previous
      .map((connection, index) => ({
        id: Number(connection.id),
        kind: connection.kind,
        url: connection.base_url,
        createdAt: connection.created_at,
        openOrders: use[index]?.openOrders ?? 0,
        openRefunds: use[index]?.openRefunds ?? 0,
      }))
      .filter((connection) => connection.openOrders > 0 || connection.openRefunds > 0);
  }

  /**
   * Retires replaced connections that carry no open order or refund any more, each a compare-and-set, and forgets
   * a kind's key once the superapp has no live connection of that kind. Returns how many it retired.
   */
  async retireIdle(batchSize = 100): Promise<number> {
    const now = this.clock.nowMs();
    let retired = 0;
    // In pages by id, so connections still in use (for up to a year) never hide the ones after them.
    for (let afterId = 0; ;) {
      const batch = await channelConnectionRepository.listReplaced(this.db, afterId, batchSize);
      for (const connection of batch) {
        const done = await this.db.transaction().execute(async (trx) => {
          if (!(await channelConnectionRepository.retireIfIdle(trx, Number(connection.id), now, now - refundableForMs))) return false;
          await this.forgetUnusedKey(trx, connection.application_id, connection.kind);
          return true;
        });
        if (done) retired += 1;
      }
      if (batch.length < batchSize) return retired;
      afterId = Number(batch[batch.length - 1]?.id);
    }
  }

  private async forgetUnusedKey(trx: Executor, applicationId: string, kind: ChannelKind): Promise<void> {
    if (kind === 'sandbox' || (await channelConnectionRepository.hasLive(trx, applicationId, kind))) return;
    const config = await paymentConfigRepository.find(trx, applicationId);
    if (kind === 'http' && config?.channel_key_sealed)
      await paymentConfigRepository.dropChannelKey(trx, applicationId, config.channel_key_sealed);
    if (kind === 'host_reported' && config?.host_key_sealed)
      await paymentConfigRepository.dropHostKey(trx, applicationId, config.host_key_sealed);
  }

  private keysOf(applicationId: string, current: string, previous: string | null, previousUntil: number | null): ChannelKeys {
    const context = sealingContexts.channelSecret(applicationId);
    const signing = this.secretBox.open(current, context);
    const overlapping = previous !== null && previousUntil !== null && this.clock.nowMs() < previousUntil;
    return { signing, accepted: overlapping ? [signing, this.secretBox.open(previous, context)] : [signing] };
  }
}

/**
 * The columns that install a new key of this kind: the current one becomes the previous one, accepted on
 * incoming calls for `overlapMs` more (0 revokes it at once). Keys apply to every order of the superapp at once.
 */
export function replaceKeyColumns(
  kind: 'http' | 'host_reported',
  existing: Pick<PaymentConfigRow, 'channel_key_sealed' | 'host_key_sealed'> | undefined,
  newKeySealed: string,
  nowMs: number,
  overlapMs: number,
) {
  const replaced = (kind === 'http' ? existing?.channel_key_sealed : existing?.host_key_sealed) ?? null;
  const previous = overlapMs > 0 && replaced !== null ? replaced : null;
  const until = previous === null ? null : nowMs + overlapMs;
  return kind === 'http'
    ? { channel_key_sealed: newKeySealed, previous_channel_key_sealed: previous, previous_channel_key_until: until }
    : { host_key_sealed: newKeySealed, previous_host_key_sealed: previous, previous_host_key_until: until };
}
