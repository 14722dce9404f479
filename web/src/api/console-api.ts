import { ApiError, apiRequest } from './client.ts';
import type {
  ApiKey,
  AuditPage,
  Items,
  Member,
  MiniProgram,
  NewApiKey,
  PlatformRole,
  Session,
  Superapp,
  Team,
  TeamKind,
  TeamRole,
  TeamStatus,
  User,
} from './types.ts';

export interface NewUser {
  account: string;
  displayName: string;
  password: string;
  platformRole: Exclude<PlatformRole, 'super_admin'>;
}

export interface NewTeam {
  kind: TeamKind;
  name: string;
  superappId?: string;
  expiresAt?: number | null;
  administratorUserId: string;
}

export interface TeamChanges {
  name?: string;
  status?: TeamStatus;
  expiresAt?: number | null;
}

export interface MiniProgramFields {
  name: string;
  iconUrl?: string;
  category?: string;
}

/** The console API (/api/v1), one typed function per route of src/routes/console. */
export const consoleApi = {
  /** The signed-in session, or null when nobody is signed in. */
  async getSession(): Promise<Session | null> {
    try {
      return await apiRequest<Session>('GET', '/session');
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return null;
      throw error;
    }
  },
  signIn: (account: string, password: string) => apiRequest<Session>('POST', '/session', { body: { account, password } }),
  signOut: () => apiRequest<null>('DELETE', '/session'),

  listUsers: (search?: string) => apiRequest<Items<User>>('GET', '/users', { query: { search } }),
  createUser: (user: NewUser) => apiRequest<User>('POST', '/users', { body: user }),
  setUserStatus: (userId: string, status: User['status']) => apiRequest<User>('PATCH', `/users/${encodeURIComponent(userId)}`, { body: { status } }),

  listTeams: () => apiRequest<Items<Team>>('GET', '/teams'),
  createTeam: (team: NewTeam) => apiRequest<Team>('POST', '/teams', { body: team }),
  updateTeam: (teamId: string, changes: TeamChanges) => apiRequest<Team>('PATCH', `/teams/${encodeURIComponent(teamId)}`, { body: changes }),

  listMembers: (teamId: string) => apiRequest<Items<Member>>('GET', `/teams/${encodeURIComponent(teamId)}/members`),
  addMember: (teamId: string, account: string, role: TeamRole) =>
    apiRequest<Member>('POST', `/teams/${encodeURIComponent(teamId)}/members`, { body: { account, role } }),
  changeMemberRole: (teamId: string, userId: string, role: TeamRole) =>
    apiRequest<Items<Member>>('PATCH', `/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(userId)}`, { body: { role } }),
  removeMember: (teamId: string, userId: string) =>
    apiRequest<null>('DELETE', `/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(userId)}`),

  listSuperapps: () => apiRequest<Items<Superapp>>('GET', '/superapps'),
  createSuperapp: (superapp: { teamId: string; name: string; description: string }) => apiRequest<Superapp>('POST', '/superapps', { body: superapp }),
  updateSuperapp: (applicationId: string, changes: { name?: string; description?: string }) =>
    apiRequest<Superapp>('PATCH', `/superapps/${encodeURIComponent(applicationId)}`, { body: changes }),

  listMiniPrograms: (teamId: string) => apiRequest<Items<MiniProgram>>('GET', `/teams/${encodeURIComponent(teamId)}/mini-programs`),
  createMiniProgram: (teamId: string, fields: MiniProgramFields) =>
    apiRequest<MiniProgram>('POST', `/teams/${encodeURIComponent(teamId)}/mini-programs`, { body: fields }),
  updateMiniProgram: (mnpId: string, fields: Partial<MiniProgramFields>) =>
    apiRequest<MiniProgram>('PATCH', `/mini-programs/${encodeURIComponent(mnpId)}`, { body: fields }),

  listApiKeys: () => apiRequest<Items<ApiKey>>('GET', '/api-keys'),
  createApiKey: (description: string) => apiRequest<NewApiKey>('POST', '/api-keys', { body: { description } }),
  revokeApiKey: (keyId: string) => apiRequest<null>('DELETE', `/api-keys/${encodeURIComponent(keyId)}`),

  listAuditLog: (beforeId?: number, limit = 50) => apiRequest<AuditPage>('GET', '/audit-log', { query: { beforeId, limit } }),
};

/** React Query keys, one place so mutations invalidate exactly what they change. */
export const queryKeys = {
  session: ['session'] as const,
  users: ['users'] as const,
  teams: ['teams'] as const,
  members: (teamId: string) => ['teams', teamId, 'members'] as const,
  superapps: ['superapps'] as const,
  miniPrograms: (teamId: string) => ['teams', teamId, 'mini-programs'] as const,
  apiKeys: ['api-keys'] as const,
  auditLog: ['audit-log'] as const,
};
