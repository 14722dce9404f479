import type { Executor } from '../../db/schema.ts';
import type { AccessScope } from '../../domain/access.ts';
import type { TeamRow } from '../../repositories/team.repository.ts';
import { superappRepository } from '../../repositories/superapp.repository.ts';

/** The access scope of a team: its own id, and for a mini program team, its superapp's team. */
export async function scopeOfTeam(db: Executor, team: TeamRow): Promise<AccessScope> {
  if (team.kind === 'superapp') return { superappTeamId: team.id };
  const superapp = team.superapp_id ? await superappRepository.findById(db, team.superapp_id) : undefined;
  return { miniProgramTeamId: team.id, superappTeamId: superapp?.team_id ?? null };
}

export const scopeOfSuperapp = (superapp: { team_id: string }): AccessScope => ({ superappTeamId: superapp.team_id });
