import type { VirtualPaymentDirectory } from './virtual-payment-directory.ts';

/**
 * The directory a deployment has until virtual payment setup (SPEC §8.1: accounts, AppKeys, items) provides the
 * real one: no mini program has a virtual payment account, so every verification answers −15005.
 */
export const noVirtualPaymentSetup: VirtualPaymentDirectory = {
  accountOf: async () => undefined,
  sellableItemOf: async () => undefined,
};
