/**
 * Which order and refund records an actor reaches through a capability (SPEC §1.1): everything for
 * platform admins, else the mini program teams it serves and the superapps whose team it serves.
 * Orders and refunds carry `mini_program_team_id` and `application_id`, so this filters without joins.
 */
export type RecordScope = { all: true } | { all: false; miniProgramTeamIds: string[]; applicationIds: string[] };

/** Whether a record owned by (mini program team, superapp) is inside the scope. */
export function scopeIncludes(scope: RecordScope, owner: { miniProgramTeamId: string; applicationId: string }): boolean {
  return scope.all || scope.miniProgramTeamIds.includes(owner.miniProgramTeamId) || scope.applicationIds.includes(owner.applicationId);
}

/** The orders a record list can be read in (newest first by default). */
export const recordSorts = ['newest', 'oldest'] as const;
export type RecordSort = (typeof recordSorts)[number];
