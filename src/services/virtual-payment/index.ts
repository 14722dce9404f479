export type { MiniProgramKind, SellableItem, VirtualPaymentAccountLookup, VirtualPaymentDirectory } from './virtual-payment-directory.ts';
