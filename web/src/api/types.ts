import type { z } from 'zod';
import type { AccessLevel, Capability } from '../../../src/domain/permissions.ts';
import type { PlatformRole, TeamKind, TeamRole, TeamStatus } from '../../../src/domain/roles.ts';
import type {
  apiKeySchema,
  memberSchema,
  miniProgramSchema,
  passwordChangedSchema,
  superappSchema,
  teamSchema,
  userSchema,
} from '../../../src/routes/console/schemas.ts';
import type {
  approvalItemSchema,
  bindingOverviewSchema,
  bindingRecordSchema,
  bindingSchema,
  credentialSchema,
  currencySchema,
  issuedKeySchema,
  merchantKeySchema,
  merchantSchema,
  miniProgramPaymentSchema,
  paymentConfigSchema,
  platformKeySchema,
} from '../../../src/routes/console/payment-schemas.ts';
import type { enablementDescriptionSchema } from '../../../src/routes/console/payment-schemas.ts';
import type { appKeySchema, deliveryViewSchema, exemptionSchema, itemSchema } from '../../../src/routes/console/virtual-payment-schemas.ts';

// Type-only imports: the console's types come from the server's Zod schemas and never drift from them.
export type { AccessLevel, Capability, PlatformRole, TeamKind, TeamRole, TeamStatus };

export type CapabilityMap = Partial<Record<Capability, AccessLevel>>;
export type User = z.infer<typeof userSchema>;
export type Team = z.infer<typeof teamSchema>;
export type Member = z.infer<typeof memberSchema>;
export type Superapp = z.infer<typeof superappSchema>;
export type MiniProgram = z.infer<typeof miniProgramSchema>;
export type ApiKey = z.infer<typeof apiKeySchema>;
export type NewApiKey = ApiKey & { secretKey: string };
/** POST /api/v1/me/password: the caller's new session's CSRF token and the API keys that still work. */
export type PasswordChanged = z.infer<typeof passwordChangedSchema>;

export type SessionTeam = Team & { capabilities: CapabilityMap };

/** GET /api/v1/session. */
export interface Session {
  user: User;
  csrfToken: string;
  /** What the caller may do platform-wide (no team scope). */
  capabilities: CapabilityMap;
  teams: SessionTeam[];
}

export interface AuditEntry {
  id: number;
  at: number;
  actorUserId: string | null;
  actorAccount: string;
  action: string;
  targetType: string;
  targetId: string;
  teamId: string | null;
  before: unknown;
  after: unknown;
}

export interface AuditPage {
  items: AuditEntry[];
  nextBeforeId: number | null;
}

export interface Items<T> {
  items: T[];
}

export type Currency = z.infer<typeof currencySchema>;
export type PaymentConfig = z.infer<typeof paymentConfigSchema>;
export type ChannelKind = PaymentConfig['selectableChannelKinds'][number];
export type Merchant = z.infer<typeof merchantSchema>;
export type Binding = z.infer<typeof bindingSchema>;
export type BindingRecord = z.infer<typeof bindingRecordSchema>;
export type BindingOverview = z.infer<typeof bindingOverviewSchema>;
export type MiniProgramPayment = z.infer<typeof miniProgramPaymentSchema>;
export type ApprovalItem = z.infer<typeof approvalItemSchema>;
export type ApprovalKind = ApprovalItem['kind'];
export type MerchantKey = z.infer<typeof merchantKeySchema>;
export type PaymentCredentials = z.infer<typeof credentialSchema>;
export type IssuedKey = z.infer<typeof issuedKeySchema>;
export type PlatformKey = z.infer<typeof platformKeySchema>;

/** SPEC §8.1: a mini program's virtual payment setup, as the console API answers it. */
export type EnablementDescription = z.infer<typeof enablementDescriptionSchema>;
export type VirtualDeliveryView = z.infer<typeof deliveryViewSchema>;
export type VirtualAppKey = z.infer<typeof appKeySchema>;
export type VirtualItem = z.infer<typeof itemSchema>;
export type ItemExemption = z.infer<typeof exemptionSchema>;

export interface Page<T> {
  total: number;
  items: T[];
}
