import type { Executor } from '../../db/schema.ts';
import type { PaymentAccountLookup } from '../payment-setup/index.ts';

/** A mini program's kind (SPEC §8.1): it decides the delivery notification's `Event`. */
export type MiniProgramKind = 'miniprogram' | 'minigame';

/**
 * What a virtual order needs to know about its mini program (SPEC §8.1), read in the order's own transaction
 * or just before it. Undefined when the mini program has no virtual payment account (never approved).
 */
export interface VirtualPaymentAccountLookup {
  mnpId: string;
  kind: MiniProgramKind;
  offerId: string;
  /** The binding's mchid the account was created with. */
  mchid: string;
  /** The current AppKey in clear: keys paySig, pay_sig, PayEventSig and the delivery signature. */
  appKey: string;
  /** Null until configured: orders are refused meanwhile (SPEC §8.1). */
  deliveryUrl: string | null;
  /** The virtual payment enablement (PaymentType 2) is APPROVED and not disabled. */
  virtualPaymentEnabled: boolean;
  /** The account's payment gate (team, binding, superapp, payment configuration, channel) as the gateway reads it. */
  standard: PaymentAccountLookup | undefined;
}

/** The version of an item that sells now: the APPROVED one (a pending revision does not sell yet). */
export interface SellableItem {
  productId: string;
  name: string;
  /** Unit price in minor units. */
  price: number;
  currency: string;
}

/**
 * The seam between virtual payment setup (accounts, keys, items; SPEC §8.1) and virtual orders (§8.2–8.6):
 * orders read setup only through this.
 */
export interface VirtualPaymentDirectory {
  accountOf(db: Executor, mnpId: string): Promise<VirtualPaymentAccountLookup | undefined>;
  /** Undefined unless the item exists and has an APPROVED version. */
  sellableItemOf(db: Executor, mnpId: string, productId: string): Promise<SellableItem | undefined>;
}
