import type { Executor } from '../../db/schema.ts';
import { accessLevel, type AccessScope, type Actor } from '../../domain/access.ts';
import { capabilities, type AccessLevel, type Capability } from '../../domain/permissions.ts';
import type { TeamRow } from '../../repositories/team.repository.ts';
import { superappRepository } from '../../repositories/superapp.repository.ts';

/** The access scope of a team: its own id, and for a mini program team, its superapp's team. */
export async function scopeOfTeam(db: Executor, team: TeamRow): Promise<AccessScope> {
  if (team.kind === 'superapp') return { superappTeamId: team.id };
  const superapp = team.superapp_id ? await superappRepository.findById(db, team.superapp_id) : undefined;
  return { miniProgramTeamId: team.id, superappTeamId: superapp?.team_id ?? null };
}

export const scopeOfSuperapp = (superapp: { team_id: string }): AccessScope => ({ superappTeamId: superapp.team_id });

/**
 * A team as the resource itself, without the superapp team above a mini program team: its members and
 * settings belong to the team, so only the team's own roles (and admins) act on them.
 */
export function ownTeamScope(team: Pick<TeamRow, 'id' | 'kind'>): AccessScope {
  return team.kind === 'superapp' ? { superappTeamId: team.id } : { miniProgramTeamId: team.id };
}

/** Capabilities on a team that only the team's own roles (and admins) hold: see ownTeamScope. */
export const ownTeamCapabilities: ReadonlySet<Capability> = new Set<Capability>(['team.manage', 'team.members.manage', 'audit.view']);

/** What the actor may do in a scope, capability by capability (team-owned capabilities in the team's own scope). */
export function capabilityMapOf(actor: Actor, scope: AccessScope, ownScope: AccessScope = scope): Partial<Record<Capability, AccessLevel>> {
  const map: Partial<Record<Capability, AccessLevel>> = {};
  for (const capability of capabilities) {
    const level = accessLevel(actor, capability, ownTeamCapabilities.has(capability) ? ownScope : scope);
    if (level) map[capability] = level;
  }
  return map;
}
