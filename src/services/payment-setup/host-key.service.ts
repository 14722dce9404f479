import type { SecretBox } from '../../crypto/secret-box.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { randomString } from '../../domain/ids.ts';
import { paymentConfigRepository } from '../../repositories/payment-config.repository.ts';
import { accessSuperapp, recordAudit } from '../tenancy/index.ts';
import type { ChannelSettings } from './payment-config.service.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';

/** Length of a generated host key (random letters and digits: about 285 bits). */
export const hostKeyLength = 48;

export interface HostKeyIssued {
  applicationId: string;
  /** Shown once: Paythrough keeps it sealed and never shows it again. */
  hostKey: string;
  issuedAt: number;
}

/** The sealing context of a superapp's channel secret (the HTTP channel key, or the host key). */

/**
 * A host-reported superapp's host key (SPEC §4.5): the HMAC key its payment backend signs host reports
 * with and Paythrough signs refund webhooks with. Issued and rotated by the superapp's Administrator,
 * shown once, sealed at rest, every issue audited. It is the superapp's channel secret, so no other table.
 */
export class HostKeyService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
  ) {}

  /** Issues a new host key (the old one stops working at once) and returns it this one time. */
  async rotate(actor: Actor, applicationId: string, requestId?: string): Promise<HostKeyIssued> {
    return this.db.transaction().execute(async (trx) => {
      const { superapp } = await accessSuperapp(trx, actor, applicationId, 'payment_config.manage');
      const row = await paymentConfigRepository.find(trx, superapp.id);
      if (!row || row.channel_kind !== 'host_reported') {
        throw new AppError('FailedOperation', 'Choose the host-reported channel in the payment configuration before issuing a host key');
      }
      const hostKey = randomString(hostKeyLength);
      const now = this.clock.nowMs();
      await paymentConfigRepository.update(trx, superapp.id, {
        channel_secret_sealed: this.secretBox.seal(hostKey, sealingContexts.channelSecret(superapp.id)),
        updated_at: now,
      });
      await recordAudit(
        trx,
        this.clock,
        actor,
        {
          action: 'payment_config.host_key.rotate',
          targetType: 'superapp',
          targetId: superapp.id,
          teamId: superapp.team_id,
          before: { hostKeySet: row.channel_secret_sealed !== null },
          after: { hostKeySet: true },
        },
        requestId,
      );
      return { applicationId: superapp.id, hostKey, issuedAt: now };
    });
  }

  /** The keys a host report of this superapp may be signed with: none unless it is in host-reported mode with a key. */
  async hostKeysOf(applicationId: string): Promise<string[]> {
    const row = await paymentConfigRepository.find(this.db, applicationId);
    if (!row || row.channel_kind !== 'host_reported' || !row.channel_secret_sealed) return [];
    return [this.secretBox.open(row.channel_secret_sealed, sealingContexts.channelSecret(applicationId))];
  }

  /** The refund webhook URL of a superapp in host-reported mode, or null. */
  async refundWebhookOf(applicationId: string): Promise<string | null> {
    const row = await paymentConfigRepository.find(this.db, applicationId);
    if (!row || row.channel_kind !== 'host_reported') return null;
    return (JSON.parse(row.channel_settings_json) as ChannelSettings).webhookUrl ?? null;
  }
}
