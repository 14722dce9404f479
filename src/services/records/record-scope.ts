import type { Executor } from '../../db/schema.ts';
import { accessLevel, isPlatformAdmin, type Actor } from '../../domain/access.ts';
import type { Capability } from '../../domain/permissions.ts';
import { forbidden } from '../../domain/errors.ts';
import type { RecordScope } from '../../domain/record-scope.ts';
import { superappRepository } from '../../repositories/superapp.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';

export async function recordScopeOf(db: Executor, actor: Actor, capability: Capability): Promise<RecordScope> {
  if (isPlatformAdmin(actor) && accessLevel(actor, capability, {})) return { all: true };
  const teamIds = [...actor.memberships.keys()];
  if (teamIds.length === 0) throw forbidden('Your role does not reach payment records');
  const teams = await teamRepository.listByIds(db, teamIds);
  const miniProgramTeamIds = teams
    .filter((team) => team.kind === 'miniprogram' && accessLevel(actor, capability, { miniProgramTeamId: team.id }))
    .map((team) => team.id);
  const superappTeamIds = teams
    .filter((team) => team.kind === 'superapp' && accessLevel(actor, capability, { superappTeamId: team.id }))
    .map((team) => team.id);
  const applicationIds = (await superappRepository.listByTeams(db, superappTeamIds)).map((row) => row.id);
  // SPEC §7: review staff (and anyone else without the capability) are refused, not shown an empty list.
  if (miniProgramTeamIds.length === 0 && superappTeamIds.length === 0) throw forbidden('Your role does not reach payment records');
  return { all: false, miniProgramTeamIds, applicationIds };
}
