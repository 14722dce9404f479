import { forbidden, notFound } from './errors.ts';
import { levelFor, type AccessLevel, type Capability, type RoleKey } from './permissions.ts';
import type { PlatformRole, TeamRole } from './roles.ts';

/** Who is acting: a console session, an API key, or the system itself (jobs, CLI). */
export interface Actor {
  kind: 'user' | 'system';
  userId: string | null;
  account: string;
  platformRole: PlatformRole;
  /** team id → the role held there; only teams that are active and not expired. */
  memberships: ReadonlyMap<string, TeamRole>;
}

export const systemActor = (account = 'system'): Actor => ({
  kind: 'system',
  userId: null,
  account,
  platformRole: 'super_admin',
  memberships: new Map(),
});

/** Which teams a resource belongs to, for the role keys of the permission table. */
export interface AccessScope {
  miniProgramTeamId?: string | null | undefined;
  superappTeamId?: string | null | undefined;
}

export function roleKeysFor(actor: Actor, scope: AccessScope): RoleKey[] {
  const keys: RoleKey[] = [];
  if (actor.platformRole === 'super_admin' || actor.platformRole === 'platform_admin') keys.push(actor.platformRole);
  const miniProgramRole = scope.miniProgramTeamId ? actor.memberships.get(scope.miniProgramTeamId) : undefined;
  if (miniProgramRole) keys.push(`mp:${miniProgramRole}`);
  const superappRole = scope.superappTeamId ? actor.memberships.get(scope.superappTeamId) : undefined;
  if (superappRole) keys.push(`sa:${superappRole}`);
  return keys;
}

export function accessLevel(actor: Actor, capability: Capability, scope: AccessScope): AccessLevel | undefined {
  return levelFor(capability, roleKeysFor(actor, scope));
}

/** The resource must be visible through `capability`, else it does not exist for this actor. */
export function requireVisible(actor: Actor, capability: Capability, scope: AccessScope, what: string): AccessLevel {
  const level = accessLevel(actor, capability, scope);
  if (!level) throw notFound(what);
  return level;
}

/** The actor must be allowed to act (write) through `capability`; the resource is already visible. */
export function requireAllowed(actor: Actor, capability: Capability, scope: AccessScope): void {
  if (accessLevel(actor, capability, scope) !== 'write') throw forbidden();
}

export const isPlatformAdmin = (actor: Actor) => actor.platformRole === 'super_admin' || actor.platformRole === 'platform_admin';
