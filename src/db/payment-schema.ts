import type { Generated } from 'kysely';
import type { ApprovalKind, BindingStatus, EnablementStatus, PaymentType } from '../domain/approval-state.ts';

// Tables of merchant binding, payment enablement and payment credentials (SPEC §2); migration 0002.
// Times are ms since the epoch (UTC).

export type ChannelKind = 'sandbox' | 'http' | 'host_reported';

/** One row per superapp once its payment configuration was first saved; absent means the defaults. */
export interface SuperappPaymentConfigTable {
  superapp_id: string;
  /** 1 on, 0 off. */
  payment_enabled: number;
  /** JSON array of ISO 4217 codes; the first is the superapp's default currency. */
  currencies_json: string;
  channel_kind: ChannelKind | null;
  /** Non-secret settings of the channel connection (URLs); JSON. */
  channel_settings_json: string;
  /** The connection new orders are created under (SPEC §7 "Channel change with live money"); migration 0020. */
  channel_connection_id: number | null;
  // Keys are per superapp and kind, never per order: the HTTP channel key and the host key, each sealed with the
  // master key, and the key each replaced, still accepted on incoming calls until `previous_*_until` (never signs).
  channel_key_sealed: string | null;
  previous_channel_key_sealed: string | null;
  previous_channel_key_until: number | null;
  host_key_sealed: string | null;
  previous_host_key_sealed: string | null;
  previous_host_key_until: number | null;
  /** 1 when the HTTP channel serves the daily statement (SPEC §9.1); 0 for configurations saved before. Migration 0023. */
  statements_supported: Generated<number>;
  /** Where a host-reported superapp serves its daily statement (https, like its refund webhook); null: none. Migration 0023. */
  statement_url: string | null;
  created_at: number;
  updated_at: number;
}

/**
 * Where a superapp's channel is reached: its kind and URL (the HTTP channel's base URL, the host-reported refund
 * webhook; null for the sandbox). Orders and refunds keep theirs until they are final; a connection that is no
 * longer current is retired once nothing open uses it. Migration 0020.
 */
export interface ChannelConnectionTable {
  id: Generated<number>;
  application_id: string;
  kind: ChannelKind;
  base_url: string | null;
  created_at: number;
  retired_at: number | null;
}

/** The superapp's merchant list: the merchants a mini program team may bind. */
export interface SuperappMerchantTable {
  id: Generated<number>;
  superapp_id: string;
  merchant_id: string;
  merchant_name: string;
  created_at: number;
  updated_at: number;
}

/** One row per binding request; an approved request is the team's effective binding (`id` is the binding id). */
export interface MerchantBindingTable {
  id: Generated<number>;
  approval_no: string;
  superapp_id: string;
  team_id: string;
  merchant_ref: number;
  /** The merchant's ID and name as requested (kept even if the merchant list changes later). */
  merchant_id: string;
  merchant_name: string;
  request_kind: 'bind' | 'change';
  /** For a change request: the binding it replaces once approved. */
  replaces_binding_id: number | null;
  status: BindingStatus;
  requested_by: string | null;
  requested_at: number;
  decided_by: string | null;
  decided_at: number | null;
  approval_note: string;
  ended_by: string | null;
  ended_at: number | null;
  /** Why an effective binding ended: the team or the superapp unbound it, or a change replaced it. */
  end_reason: 'unbound_by_team' | 'unbound_by_superapp' | 'replaced' | null;
}

/** One row per payment application of a mini program; an approved row is its payment record (`id`). */
export interface PaymentEnablementTable {
  id: Generated<number>;
  approval_no: string;
  superapp_id: string;
  team_id: string;
  mnp_id: string;
  /** The team's effective merchant when the application was made. */
  merchant_id: string;
  merchant_name: string;
  apply_note: string;
  status: Exclude<EnablementStatus, -1>;
  requested_by: string | null;
  requested_at: number;
  decided_by: string | null;
  decided_at: number | null;
  approval_note: string;
  disabled_by: string | null;
  disabled_at: number | null;
  /** SPEC §8.1: 1 standard, 2 virtual (existing rows are 1); migration 0027. */
  payment_type: Generated<PaymentType>;
}

/** Every persisted transition of a binding or enablement row (append-only). */
export interface ApprovalTransitionTable {
  id: Generated<number>;
  kind: ApprovalKind;
  record_id: number;
  approval_no: string;
  event: string;
  /** Null for the row's creation. */
  from_status: number | null;
  to_status: number;
  actor_user_id: string | null;
  actor_account: string;
  note: string;
  at: number;
}

/** A mini program's payment account, created when its payment is first approved. */
export interface PaymentAccountTable {
  mnp_id: string;
  superapp_id: string;
  team_id: string;
  /** The team's bound merchant ID; follows an approved merchant change. */
  mchid: string;
  api_v3_key_sealed: string | null;
  api_v3_key_set_at: number | null;
  created_at: number;
  updated_at: number;
}

/** Merchant API keys (certificates) of a mini program: one active at a time, old serials revoked. */
export interface MerchantApiKeyTable {
  serial_no: string;
  mnp_id: string;
  source: 'generated' | 'public_key' | 'csr';
  public_key_pem: string;
  certificate_pem: string;
  /** A platform-generated private key, sealed, until its one download; then null. */
  private_key_sealed: string | null;
  status: 'active' | 'revoked';
  created_at: number;
  not_after: number;
  downloaded_at: number | null;
  revoked_at: number | null;
}

/** The platform's response/notification signing keys (SPEC §7 "Platform key rotation"). */
export interface PlatformSigningKeyTable {
  serial_no: string;
  /** 1, 2, 3, ... in creation order; unique, so two instances never both create "the next" key. */
  generation: number;
  public_key_id: string;
  public_key_pem: string;
  certificate_pem: string;
  private_key_sealed: string;
  published_at: number;
  signing_from: number;
  grace_ms: number;
  not_after: number;
  created_at: number;
}

/** One row: raised with every change to a table the gateway caches (migration 0025). */
export interface ConfigGenerationTable {
  id: number;
  generation: number;
}

export interface PaymentTables {
  superapp_payment_configs: SuperappPaymentConfigTable;
  channel_connections: ChannelConnectionTable;
  superapp_merchants: SuperappMerchantTable;
  merchant_bindings: MerchantBindingTable;
  payment_enablements: PaymentEnablementTable;
  approval_transitions: ApprovalTransitionTable;
  payment_accounts: PaymentAccountTable;
  merchant_api_keys: MerchantApiKeyTable;
  platform_signing_keys: PlatformSigningKeyTable;
  config_generation: ConfigGenerationTable;
}
