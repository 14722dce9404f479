import type { VirtualPaymentDirectoryFactory } from '../../src/composition.ts';
import type { PaymentAccounts } from '../../src/services/payment-setup/index.ts';
import type { MiniProgramKind, SellableItem, VirtualPaymentDirectory } from '../../src/services/virtual-payment/index.ts';

/**
 * The one stand-in for virtual payment setup (SPEC §8.1), until the real VirtualPaymentDirectory lands with the setup
 * branch: accounts and APPROVED items held in memory, the standard gate read from the real payment accounts.
 * Replace `virtualSetup` with the real setup services when the branches merge; nothing else uses this file's internals.
 */
export interface FakeVirtualAccount {
  kind: MiniProgramKind;
  offerId: string;
  mchid: string;
  appKey: string;
  deliveryUrl: string | null;
  virtualPaymentEnabled: boolean;
}

export class FakeVirtualPaymentSetup {
  private readonly accounts = new Map<string, FakeVirtualAccount>();
  private readonly items = new Map<string, SellableItem>();
  private paymentAccounts: PaymentAccounts | undefined;

  /** What `createTestContext({ virtualPaymentDirectory })` takes. */
  readonly factory: VirtualPaymentDirectoryFactory = ({ paymentAccounts }) => {
    this.paymentAccounts = paymentAccounts;
    return this.directory;
  };

  readonly directory: VirtualPaymentDirectory = {
    accountOf: async (db, mnpId) => {
      const account = this.accounts.get(mnpId);
      if (!account) return undefined;
      return { mnpId, ...account, standard: await this.paymentAccounts?.findPaymentAccount(db, mnpId) };
    },
    sellableItemOf: async (_db, mnpId, productId) => this.items.get(`${mnpId}/${productId}`),
  };

  setAccount(mnpId: string, account: FakeVirtualAccount): void {
    this.accounts.set(mnpId, account);
  }

  updateAccount(mnpId: string, changes: Partial<FakeVirtualAccount>): void {
    const account = this.accounts.get(mnpId);
    if (!account) throw new Error(`no virtual account for ${mnpId}`);
    this.accounts.set(mnpId, { ...account, ...changes });
  }

  approveItem(mnpId: string, item: SellableItem): void {
    this.items.set(`${mnpId}/${item.productId}`, item);
  }

  withdrawItem(mnpId: string, productId: string): void {
    this.items.delete(`${mnpId}/${productId}`);
  }
}
