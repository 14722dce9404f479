import type { Generated } from 'kysely';
import type { ExemptionStatus, ItemStatus, RevisionStatus } from '../domain/approval-state.ts';

// Tables of virtual payment setup (SPEC §8.1); migration 0027. Times are ms since the epoch (UTC), money minor units.

/** Created when a mini program's virtual payment (PaymentType 2) is first approved. */
export interface VirtualPaymentAccountTable {
  mnp_id: string;
  superapp_id: string;
  team_id: string;
  offer_id: string;
  /** The binding's mchid when the account was opened (follows an approved re-application). */
  mchid: string;
  /** The AppKey, sealed with the master key; a reset replaces it, so the old key is gone at once. */
  app_key_sealed: string;
  /** 1 for the first key, raised by each reset. */
  app_key_generation: number;
  app_key_set_at: number;
  created_at: number;
  updated_at: number;
}

export interface VirtualDeliveryConfigTable {
  mnp_id: string;
  delivery_url: string;
  updated_by: string | null;
  created_at: number;
  updated_at: number;
}

/** An item: its identity and state, and the version that sells (null fields until it is first approved). */
export interface VirtualItemTable {
  id: Generated<number>;
  mnp_id: string;
  superapp_id: string;
  team_id: string;
  product_id: string;
  status: ItemStatus;
  approved_revision_id: number | null;
  name: string | null;
  price: number | null;
  currency: string | null;
  remark: string | null;
  item_url: string | null;
  created_at: number;
  updated_at: number;
}

/** Each submitted version of an item (approval kind `virtual_item`). */
export interface VirtualItemRevisionTable {
  id: Generated<number>;
  approval_no: string;
  item_id: number;
  mnp_id: string;
  superapp_id: string;
  team_id: string;
  product_id: string;
  name: string;
  price: number;
  currency: string;
  remark: string;
  item_url: string | null;
  status: RevisionStatus;
  /** 1 when approved at once under the mini program's approval exemption. */
  exempt: number;
  requested_by: string | null;
  requested_at: number;
  decided_by: string | null;
  decided_at: number | null;
  approval_note: string;
}

/** One row per exemption request of a mini program (approval kind `item_exemption`). */
export interface VirtualItemExemptionTable {
  id: Generated<number>;
  approval_no: string;
  mnp_id: string;
  superapp_id: string;
  team_id: string;
  apply_note: string;
  status: Exclude<ExemptionStatus, -1>;
  requested_by: string | null;
  requested_at: number;
  decided_by: string | null;
  decided_at: number | null;
  approval_note: string;
  revoked_by: string | null;
  revoked_at: number | null;
}

export interface VirtualPaymentTables {
  virtual_payment_accounts: VirtualPaymentAccountTable;
  virtual_delivery_configs: VirtualDeliveryConfigTable;
  virtual_items: VirtualItemTable;
  virtual_item_revisions: VirtualItemRevisionTable;
  virtual_item_exemptions: VirtualItemExemptionTable;
}
