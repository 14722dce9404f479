import type { SecretBox } from '../../crypto/secret-box.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { randomString } from '../../domain/ids.ts';
import { paymentConfigRepository } from '../../repositories/payment-config.repository.ts';
import { accessSuperapp, recordAudit } from '../tenancy/index.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';
import { type ChannelConnectionService, type ChannelRoute, replaceKeyColumns } from './channel-connection.service.ts';

/** Length of a generated host key (random letters and digits: about 285 bits). */
export const hostKeyLength = 48;

export interface HostKeyIssued {
  applicationId: string;
  /** Shown once: Paythrough keeps it sealed and never shows it again. */
  hostKey: string;
  issuedAt: number;
}

/**
 * A host-reported superapp's host key (SPEC §4.5): the HMAC key its payment backend signs host reports
 * with and Paythrough signs refund webhooks with. Issued and rotated by the superapp's Administrator,
 * shown once, sealed at rest, every issue audited. The replaced key is still accepted on host reports for
 * PAYTHROUGH_KEY_OVERLAP_HOURS (never signs), so the superapp's backend can switch over without refused reports.
 */
export class HostKeyService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
    private readonly keyOverlapMs: number,
    private readonly connections: Pick<ChannelConnectionService, 'hostKeysOf' | 'connectionOf'>,
  ) {}

  /** Issues a new host key (the old one is accepted on incoming reports until the overlap ends) and returns it this one time. */
  async rotate(actor: Actor, applicationId: string, requestId?: string): Promise<HostKeyIssued> {
    return this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, applicationId, 'payment_config.manage');
      const row = await paymentConfigRepository.find(trx, superapp.id);
      if (!row || row.channel_kind !== 'host_reported') {
        throw new AppError('FailedOperation', 'Choose the host-reported channel in the payment configuration before issuing a host key');
      }
      const hostKey = randomString(hostKeyLength);
      const now = this.clock.nowMs();
      const sealed = this.secretBox.seal(hostKey, sealingContexts.channelSecret(superapp.id));
      const changes = { ...replaceKeyColumns('host_reported', row, sealed, now, this.keyOverlapMs), updated_at: now };
      if (!(await paymentConfigRepository.updateIfUnchanged(trx, superapp.id, row.updated_at, changes)))
        throw new AppError('FailedOperation', 'The payment configuration was changed meanwhile; try again');
      await recordAudit(
        trx,
        this.clock,
        actor,
        {
          action: 'payment_config.host_key.rotate',
          targetType: 'superapp',
          targetId: superapp.id,
          teamId: superapp.team_id,
          before: { hostKeySet: row.host_key_sealed !== null },
          after: { hostKeySet: true },
        },
        requestId,
      );
      return { applicationId: superapp.id, hostKey, issuedAt: now };
    });
  }

  /**
   * The keys a host report of this superapp may be signed with: its host key, and the replaced one while the overlap
   * lasts. The key is kept while any host-reported connection of the superapp is live (current or still in use).
   */
  async hostKeysOf(applicationId: string): Promise<string[]> {
    return (await this.connections.hostKeysOf(applicationId))?.accepted ?? [];
  }

  /** The key refund webhooks are signed with: only the current host key, never a replaced one. */
  async signingHostKeyOf(applicationId: string): Promise<string | null> {
    return (await this.connections.hostKeysOf(applicationId))?.signing ?? null;
  }

  /** The refund webhook URL of the host-reported connection a refund was created under, or null. */
  async refundWebhookOf(route: ChannelRoute): Promise<string | null> {
    const connection = await this.connections.connectionOf(route);
    return connection?.kind === 'host_reported' ? connection.base_url : null;
  }
}
