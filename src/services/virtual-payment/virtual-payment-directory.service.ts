import type { SecretBox } from '../../crypto/secret-box.ts';
import type { Executor } from '../../db/schema.ts';
import { EnablementStatus, ItemStatus, PaymentType } from '../../domain/approval-state.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';
import { miniProgramRepository } from '../../repositories/mini-program.repository.ts';
import { paymentEnablementRepository } from '../../repositories/payment-enablement.repository.ts';
import { virtualItemRepository } from '../../repositories/virtual-item.repository.ts';
import { virtualPaymentAccountRepository } from '../../repositories/virtual-payment-account.repository.ts';
import { paymentGateOf } from '../payment-setup/index.ts';
import { sellingFields } from './virtual-item.service.ts';
import type { SellableItem, VirtualPaymentAccountLookup, VirtualPaymentDirectory } from './virtual-payment-directory.ts';

/** The seam's implementation (SPEC §8.1): reads setup in the caller's executor, so an order may read it in its own transaction. */
export class VirtualPaymentDirectoryService implements VirtualPaymentDirectory {
  constructor(private readonly secretBox: SecretBox) {}

  async accountOf(db: Executor, mnpId: string): Promise<VirtualPaymentAccountLookup | undefined> {
    const account = await virtualPaymentAccountRepository.find(db, mnpId);
    const miniProgram = account && (await miniProgramRepository.findById(db, mnpId));
    if (!account || !miniProgram) return undefined;
    const enablement = await paymentEnablementRepository.findLatestByMnp(db, mnpId, PaymentType.Virtual);
    const delivery = await virtualPaymentAccountRepository.findDeliveryConfig(db, mnpId);
    return {
      mnpId,
      kind: miniProgram.kind,
      offerId: account.offer_id,
      mchid: account.mchid,
      appKey: this.secretBox.open(account.app_key_sealed, sealingContexts.virtualAppKey(mnpId)),
      deliveryUrl: delivery?.delivery_url ?? null,
      virtualPaymentEnabled: enablement?.status === EnablementStatus.Approved,
      standard: await paymentGateOf(db, this.secretBox, account, PaymentType.Virtual),
    };
  }

  async sellableItemOf(db: Executor, mnpId: string, productId: string): Promise<SellableItem | undefined> {
    const item = await virtualItemRepository.findItem(db, mnpId, productId);
    const selling = item && item.status === ItemStatus.Approved ? sellingFields(item) : null;
    return selling ? { productId, name: selling.name, price: selling.price, currency: selling.currency } : undefined;
  }
}
