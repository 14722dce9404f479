import type { z } from 'zod';
import type { AccessLevel, Capability } from '../../../src/domain/permissions.ts';
import type { PlatformRole, TeamKind, TeamRole, TeamStatus } from '../../../src/domain/roles.ts';
import type {
  apiKeySchema,
  memberSchema,
  miniProgramSchema,
  superappSchema,
  teamSchema,
  userSchema,
} from '../../../src/routes/console/schemas.ts';

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
