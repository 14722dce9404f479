import type { Generated, Kysely, Transaction } from 'kysely';
import type { PlatformRole, TeamKind, TeamRole, TeamStatus } from '../domain/roles.ts';
import type { PaymentTables } from './payment-schema.ts';
import type { VirtualPaymentTables } from './virtual-payment-schema.ts';

// All times are milliseconds since the epoch (UTC); all money is an integer in the currency's minor unit.

export interface UserTable {
  id: string;
  account: string;
  display_name: string;
  password_hash: string;
  platform_role: PlatformRole;
  status: 'active' | 'disabled';
  created_at: number;
  updated_at: number;
}

export interface TeamTable {
  id: string;
  kind: TeamKind;
  name: string;
  status: TeamStatus;
  expires_at: number | null;
  /** For a mini program team: the superapp its mini programs are released on and pay through. */
  superapp_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface TeamMemberTable {
  team_id: string;
  user_id: string;
  role: TeamRole;
  created_at: number;
}

export interface SuperappTable {
  id: string;
  team_id: string;
  name: string;
  description: string;
  created_at: number;
  updated_at: number;
}

export interface MiniProgramTable {
  id: string;
  team_id: string;
  name: string;
  icon_url: string;
  category: string;
  /** SPEC §8.1; migration 0027. */
  kind: Generated<'miniprogram' | 'minigame'>;
  created_at: number;
  updated_at: number;
}

export interface ApiKeyTable {
  id: string;
  user_id: string;
  secret_id: string;
  secret_key_encrypted: string;
  description: string;
  status: 'active' | 'revoked';
  created_at: number;
  last_used_at: number | null;
}

export interface SessionTable {
  token_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

export interface RateLimitCounterTable {
  counter_key: string;
  window_start: number;
  hits: number;
}

/** Growing delays between password attempts, per key (SPEC §7 "Roles"). */
export interface BackoffCounterTable {
  counter_key: string;
  failures: number;
  /** The earliest time (ms) the key's next attempt is checked. */
  next_attempt_at: number;
  updated_at: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor_user_id: string | null;
  actor_account: string;
  action: string;
  target_type: string;
  target_id: string;
  team_id: string | null;
  before_json: string | null;
  after_json: string | null;
  request_id: string | null;
}

export interface SettingTable {
  setting_key: string;
  setting_value: string;
}

/** A running instance's master key report (SPEC §7 "Master key rotation"); migration 0017. */
export interface MasterKeyInstanceTable {
  instance_id: string;
  /** Host name and process id, to name the instance to an operator. */
  host_label: string;
  /** Comma-separated ids of the keys it opens with, the sealing one first. */
  key_ids: string;
  sealing_key_id: string;
  started_at: number;
  last_seen_at: number;
}

export interface FoundationTables {
  users: UserTable;
  teams: TeamTable;
  team_members: TeamMemberTable;
  superapps: SuperappTable;
  mini_programs: MiniProgramTable;
  api_keys: ApiKeyTable;
  sessions: SessionTable;
  rate_limit_counters: RateLimitCounterTable;
  backoff_counters: BackoffCounterTable;
  audit_log: AuditLogTable;
  settings: SettingTable;
  master_key_instances: MasterKeyInstanceTable;
}

/** Later issues add their tables by extending this interface from their own schema file. */
export interface Database extends FoundationTables, PaymentTables, VirtualPaymentTables {}

/** A database handle or an open transaction; repositories take one as a required argument. */
/** The database handle services and jobs hold; they open transactions on it and pass them to repositories. */
export type DatabaseClient = Kysely<Database>;
export type DatabaseTransaction = Transaction<Database>;
export type Executor = Kysely<Database> | Transaction<Database>;
