import type { Executor } from '../../db/schema.ts';
import { accessLevel, isPlatformAdmin, type Actor } from '../../domain/access.ts';
import type { Capability } from '../../domain/permissions.ts';
import { forbidden } from '../../domain/errors.ts';

/**
 * Which order and refund records an actor reaches through a capability (SPEC §1.1): everything for
 * platform admins, else the mini program teams it serves and the superapps whose team it serves.
 * Orders and refunds carry `mini_program_team_id` and `application_id`, so this filters without joins.
 */
export type RecordScope = { all: true } | { all: false; miniProgramTeamIds: string[]; applicationIds: string[] };

export async function recordScopeOf(db: Executor, actor: Actor, capability: Capability): Promise<RecordScope> {
  if (isPlatformAdmin(actor) && accessLevel(actor, capability, {})) return { all: true };
  const teamIds = [...actor.memberships.keys()];
  if (teamIds.length === 0) throw forbidden('Your role does not reach payment records');
  const teams = await db.selectFrom('teams').select(['id', 'kind']).where('id', 'in', teamIds).execute();
  const miniProgramTeamIds = teams
    .filter((team) => team.kind === 'miniprogram' && accessLevel(actor, capability, { miniProgramTeamId: team.id }))
    .map((team) => team.id);
  const superappTeamIds = teams
    .filter((team) => team.kind === 'superapp' && accessLevel(actor, capability, { superappTeamId: team.id }))
    .map((team) => team.id);
  const applicationIds = superappTeamIds.length
    ? (await db.selectFrom('superapps').select('id').where('team_id', 'in', superappTeamIds).execute()).map((row) => row.id)
    : [];
  // SPEC §7: review staff (and anyone else without the capability) are refused, not shown an empty list.
  if (miniProgramTeamIds.length === 0 && superappTeamIds.length === 0) throw forbidden('Your role does not reach payment records');
  return { all: false, miniProgramTeamIds, applicationIds };
}

/** Whether a record owned by (mini program team, superapp) is inside the scope. */
export function scopeIncludes(scope: RecordScope, owner: { miniProgramTeamId: string; applicationId: string }): boolean {
  return scope.all || scope.miniProgramTeamIds.includes(owner.miniProgramTeamId) || scope.applicationIds.includes(owner.applicationId);
}
