import type { Executor } from '../../db/schema.ts';
import { accessLevel, requireAllowed, requireVisible, type AccessScope, type Actor } from '../../domain/access.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import type { Capability } from '../../domain/permissions.ts';
import { miniProgramRepository, type MiniProgramRow } from '../../repositories/mini-program.repository.ts';
import { superappRepository, type SuperappRow } from '../../repositories/superapp.repository.ts';
import { teamRepository, type TeamRow } from '../../repositories/team.repository.ts';
import { scopeOfSuperapp, scopeOfTeam } from './access-scope.ts';

// Loading a resource and checking the caller's reach, the same way for every payment service:
// unreachable is "not found", reachable but not allowed is "unauthorized".

export interface MiniProgramTeamAccess {
  team: TeamRow & { superapp_id: string };
  scope: AccessScope;
}

/** A mini program team visible through `view`; with `act`, the caller must also be allowed that. */
export async function accessMiniProgramTeam(
  db: Executor,
  actor: Actor,
  teamId: string,
  view: Capability,
  act?: Capability,
): Promise<MiniProgramTeamAccess> {
  const team = await teamRepository.findById(db, teamId);
  if (!team) throw notFound('Team');
  const scope = await scopeOfTeam(db, team);
  requireVisible(actor, view, scope, 'Team');
  if (team.kind !== 'miniprogram' || !team.superapp_id) {
    throw new AppError('InvalidParameterValue', 'teamId: merchant binding and payment belong to mini program teams', { field: 'teamId' });
  }
  if (act) requireAllowed(actor, act, scope);
  return { team: { ...team, superapp_id: team.superapp_id }, scope };
}

export interface SuperappAccess {
  superapp: SuperappRow;
  scope: AccessScope;
}

/** A superapp visible to the caller; with `act`, the caller must also be allowed that on it. */
export async function accessSuperapp(db: Executor, actor: Actor, applicationId: string, act?: Capability): Promise<SuperappAccess> {
  const superapp = await superappRepository.findById(db, applicationId);
  if (!superapp) throw notFound('Superapp');
  const scope = scopeOfSuperapp(superapp);
  requireVisible(actor, 'superapp.view', scope, 'Superapp');
  if (act) requireAllowed(actor, act, scope);
  return { superapp, scope };
}

export interface MiniProgramAccess {
  miniProgram: MiniProgramRow;
  team: TeamRow & { superapp_id: string };
  scope: AccessScope;
}

/** A mini program visible to the caller; with `act`, the caller must also be allowed that on it. */
export async function accessMiniProgram(db: Executor, actor: Actor, mnpId: string, act?: Capability): Promise<MiniProgramAccess> {
  const miniProgram = await miniProgramRepository.findById(db, mnpId);
  const team = miniProgram ? await teamRepository.findById(db, miniProgram.team_id) : undefined;
  if (!miniProgram || !team) throw notFound('Mini program');
  const scope = await scopeOfTeam(db, team);
  requireVisible(actor, 'mini_program.view', scope, 'Mini program');
  if (!team.superapp_id) throw notFound('Mini program');
  if (act) requireAllowed(actor, act, scope);
  return { miniProgram, team: { ...team, superapp_id: team.superapp_id }, scope };
}

/**
 * Whether the caller sees a superapp at all. A record of a superapp out of its reach must be answered
 * as a nonexistent one, never "belongs to another superapp", which would confirm it exists (SPEC §7).
 */
export async function seesSuperapp(db: Executor, actor: Actor, applicationId: string): Promise<boolean> {
  const superapp = await superappRepository.findById(db, applicationId);
  return superapp !== undefined && accessLevel(actor, 'superapp.view', scopeOfSuperapp(superapp)) !== undefined;
}
