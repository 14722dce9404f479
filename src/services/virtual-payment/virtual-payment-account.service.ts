import { randomInt } from 'node:crypto';
import type { SecretBox } from '../../crypto/secret-box.ts';
import type { DatabaseClient, Executor } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import { randomString } from '../../domain/ids.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';
import { virtualPaymentAccountRepository, type VirtualPaymentAccountRow } from '../../repositories/virtual-payment-account.repository.ts';
import type { VirtualAccountOpener } from '../payment-setup/index.ts';
import { recordAudit } from '../tenancy/index.ts';
import { accessVirtualSetup } from './virtual-access.ts';

/** SPEC §8.1: 32 characters of [A-Za-z0-9]. */
export const appKeyPattern = /^[A-Za-z0-9]{32}$/;
export const generateAppKey = () => randomString(32);
/** A 10-digit OfferId, as WeChat's are. */
const generateOfferId = () => String(randomInt(1_000_000_000, 10_000_000_000));

export interface AppKeyView {
  mnpId: string;
  offerId: string;
  mchid: string;
  /** The AppKey in clear: answered only to MP admin / senior developer (SPEC §8.1). */
  appKey: string;
  /** 1 for the first key, raised by each reset. */
  appKeyGeneration: number;
  appKeySetAt: number;
}

const noAccount = () => new AppError('FailedOperation.PaymentRecordNotFound', 'Virtual payment was never approved for this mini program');

/** The virtual payment account (SPEC §8.1): opened on approval, its AppKey sealed at rest, reset revokes the old key at once. */
export class VirtualPaymentAccountService implements VirtualAccountOpener {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
  ) {}

  /** In the approval's transaction: the first approval creates the account and its AppKey; a later one re-points the mchid. */
  async openAccount(trx: Executor, actor: Actor, account: { mnpId: string; superappId: string; teamId: string; mchid: string }) {
    const now = this.clock.nowMs();
    const existing = await virtualPaymentAccountRepository.find(trx, account.mnpId);
    if (existing) {
      if (existing.mchid !== account.mchid) await virtualPaymentAccountRepository.setMchid(trx, account.mnpId, account.mchid, now);
      return;
    }
    const offerId = generateOfferId();
    await virtualPaymentAccountRepository.insert(trx, {
      mnp_id: account.mnpId,
      superapp_id: account.superappId,
      team_id: account.teamId,
      offer_id: offerId,
      mchid: account.mchid,
      app_key_sealed: this.sealKey(account.mnpId, generateAppKey()),
      app_key_generation: 1,
      app_key_set_at: now,
      created_at: now,
      updated_at: now,
    });
    await recordAudit(trx, this.clock, actor, {
      action: 'virtual_payment_account.create',
      targetType: 'virtual_payment_account',
      targetId: account.mnpId,
      teamId: account.teamId,
      after: { mnpId: account.mnpId, offerId, mchid: account.mchid, appKeyGeneration: 1 },
    });
  }

  /** The current AppKey, for MP admin / senior developer; each view is audited. */
  async viewAppKey(actor: Actor, mnpId: string): Promise<AppKeyView> {
    return this.db.transaction().execute(async (trx) => {
      const { miniProgram, team } = await accessVirtualSetup(trx, actor, mnpId, 'virtual_delivery.view', 'virtual_app_key.manage');
      const account = await virtualPaymentAccountRepository.find(trx, miniProgram.id);
      if (!account) throw noAccount();
      await recordAudit(trx, this.clock, actor, {
        action: 'virtual_app_key.view',
        targetType: 'virtual_payment_account',
        targetId: miniProgram.id,
        teamId: team.id,
        after: { appKeyGeneration: account.app_key_generation },
      });
      return this.viewOf(account);
    });
  }

  /** A new AppKey replaces the old one in the same row: the old key signs and verifies nothing from now on. */
  async resetAppKey(actor: Actor, mnpId: string): Promise<AppKeyView> {
    return this.db.transaction().execute(async (trx) => {
      const { miniProgram, team } = await accessVirtualSetup(trx, actor, mnpId, 'virtual_delivery.view', 'virtual_app_key.manage');
      const account = await virtualPaymentAccountRepository.find(trx, miniProgram.id);
      if (!account) throw noAccount();
      const now = this.clock.nowMs();
      const generation = Number(account.app_key_generation);
      const sealed = this.sealKey(miniProgram.id, generateAppKey());
      if (!(await virtualPaymentAccountRepository.replaceAppKey(trx, miniProgram.id, generation, sealed, now)))
        throw new AppError('FailedOperation', 'The AppKey was reset meanwhile; view it again');
      await recordAudit(trx, this.clock, actor, {
        action: 'virtual_app_key.reset',
        targetType: 'virtual_payment_account',
        targetId: miniProgram.id,
        teamId: team.id,
        before: { appKeyGeneration: generation },
        after: { appKeyGeneration: generation + 1 },
      });
      return this.viewOf({ ...account, app_key_sealed: sealed, app_key_generation: generation + 1, app_key_set_at: now });
    });
  }

  /** The account and its AppKey in clear, for virtual orders (the directory); undefined when never approved. */
  async accountWithKey(db: Executor, mnpId: string): Promise<AppKeyView | undefined> {
    const account = await virtualPaymentAccountRepository.find(db, mnpId);
    return account && this.viewOf(account);
  }

  private sealKey(mnpId: string, appKey: string): string {
    return this.secretBox.seal(appKey, sealingContexts.virtualAppKey(mnpId));
  }

  private viewOf(account: VirtualPaymentAccountRow): AppKeyView {
    return {
      mnpId: account.mnp_id,
      offerId: account.offer_id,
      mchid: account.mchid,
      appKey: this.secretBox.open(account.app_key_sealed, sealingContexts.virtualAppKey(account.mnp_id)),
      appKeyGeneration: Number(account.app_key_generation),
      appKeySetAt: Number(account.app_key_set_at),
    };
  }
}
