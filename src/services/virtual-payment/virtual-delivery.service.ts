import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { checkNotifyUrl } from '../../domain/notify-url.ts';
import { virtualPaymentAccountRepository } from '../../repositories/virtual-payment-account.repository.ts';
import { resolvePaymentConfig } from '../payment-setup/index.ts';
import { recordAudit } from '../tenancy/index.ts';
import { accessVirtualSetup } from './virtual-access.ts';

/** Virtual payment → Basic configuration: the account (never its key) and the delivery URL. */
export interface VirtualDeliveryView {
  mnpId: string;
  kind: 'miniprogram' | 'minigame';
  /** Null until virtual payment is first approved. */
  account: { offerId: string; mchid: string; appKeyGeneration: number; appKeySetAt: number } | null;
  /** Null until set: virtual orders are refused meanwhile (SPEC §8.1). */
  deliveryUrl: string | null;
  deliveryUrlUpdatedAt: number | null;
}

/** The delivery configuration per mini program (SPEC §8.1), under §4.2's notify URL rules. */
export class VirtualDeliveryService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly config: { sandboxEnabled: boolean },
  ) {}

  async view(actor: Actor, mnpId: string): Promise<VirtualDeliveryView> {
    const { miniProgram } = await accessVirtualSetup(this.db, actor, mnpId, 'virtual_delivery.view');
    const account = await virtualPaymentAccountRepository.find(this.db, miniProgram.id);
    const delivery = await virtualPaymentAccountRepository.findDeliveryConfig(this.db, miniProgram.id);
    return {
      mnpId: miniProgram.id,
      kind: miniProgram.kind,
      account: account
        ? {
            offerId: account.offer_id,
            mchid: account.mchid,
            appKeyGeneration: Number(account.app_key_generation),
            appKeySetAt: Number(account.app_key_set_at),
          }
        : null,
      deliveryUrl: delivery?.delivery_url ?? null,
      deliveryUrlUpdatedAt: delivery ? Number(delivery.updated_at) : null,
    };
  }

  /** https without query or fragment; plain http only for a sandbox superapp while the sandbox is on (SPEC §4.2). */
  async setDeliveryUrl(actor: Actor, mnpId: string, deliveryUrl: string): Promise<VirtualDeliveryView> {
    await this.db.transaction().execute(async (trx) => {
      const { miniProgram, team } = await accessVirtualSetup(trx, actor, mnpId, 'virtual_delivery.view', 'virtual_delivery.manage');
      const { channelKind } = await resolvePaymentConfig(trx, team.superapp_id);
      checkNotifyUrl(deliveryUrl, 'deliveryUrl', channelKind === 'sandbox' && this.config.sandboxEnabled);
      const before = await virtualPaymentAccountRepository.findDeliveryConfig(trx, miniProgram.id);
      const now = this.clock.nowMs();
      await virtualPaymentAccountRepository.upsertDeliveryConfig(trx, {
        mnp_id: miniProgram.id,
        delivery_url: deliveryUrl,
        updated_by: actor.userId,
        created_at: now,
        updated_at: now,
      });
      await recordAudit(trx, this.clock, actor, {
        action: 'virtual_delivery.set',
        targetType: 'virtual_delivery_config',
        targetId: miniProgram.id,
        teamId: team.id,
        before: { deliveryUrl: before?.delivery_url ?? null },
        after: { deliveryUrl },
      });
    });
    return this.view(actor, mnpId);
  }
}
