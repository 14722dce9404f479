export const platformRoles = ['super_admin', 'platform_admin', 'member'] as const;
export type PlatformRole = (typeof platformRoles)[number];

export const teamKinds = ['superapp', 'miniprogram'] as const;
export type TeamKind = (typeof teamKinds)[number];

export const miniProgramTeamRoles = ['administrator', 'member_admin', 'senior_developer', 'developer', 'operator'] as const;
export const superappTeamRoles = [...miniProgramTeamRoles, 'reviewer'] as const;
export type TeamRole = (typeof superappTeamRoles)[number];

export function rolesOfTeamKind(kind: TeamKind): readonly TeamRole[] {
  return kind === 'superapp' ? superappTeamRoles : miniProgramTeamRoles;
}

export const teamStatuses = ['active', 'disabled', 'expired'] as const;
export type TeamStatus = (typeof teamStatuses)[number];
