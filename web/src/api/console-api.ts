import { ApiError, apiRequest } from './client.ts';
import type {
  ApiKey,
  ApprovalItem,
  ApprovalKind,
  AuditPage,
  BindingOverview,
  BindingRecord,
  ChannelKind,
  Currency,
  IssuedKey,
  Merchant,
  MiniProgramPayment,
  Page,
  PaymentConfig,
  PaymentCredentials,
  PlatformKey,
  Items,
  Member,
  MiniProgram,
  NewApiKey,
  PasswordChanged,
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

export interface PaymentConfigChanges {
  paymentEnabled?: boolean;
  currencies?: string[];
  channel?: { kind: ChannelKind; baseUrl?: string; webhookUrl?: string; secret?: string };
  statementsSupported?: boolean;
  statementUrl?: string | null;
}

export interface MerchantFields {
  merchantId: string;
  merchantName: string;
}

export interface ApprovalQuery {
  kind?: ApprovalKind;
  /** Comma-separated statuses, e.g. "0" (pending) or "10,20,30" (decided). */
  approvalStatus?: string;
  mnpId?: string;
  teamId?: string;
  offset?: number;
  limit?: number;
}

export interface Decision {
  approvalNo: string;
  approvalType: number;
  approvalNote?: string;
}

export type KeyResetSource = { mode: 'generate' } | { mode: 'public_key'; publicKeyPem: string } | { mode: 'csr'; csrPem: string };

const segment = encodeURIComponent;

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
  changeOwnPassword: (currentPassword: string, newPassword: string) =>
    apiRequest<PasswordChanged>('POST', '/me/password', { body: { currentPassword, newPassword } }),

  listUsers: (search?: string) => apiRequest<Items<User>>('GET', '/users', { query: { search } }),
  createUser: (user: NewUser) => apiRequest<User>('POST', '/users', { body: user }),
  setUserStatus: (userId: string, status: User['status']) =>
    apiRequest<User>('PATCH', `/users/${encodeURIComponent(userId)}`, { body: { status } }),

  listTeams: () => apiRequest<Items<Team>>('GET', '/teams'),
  createTeam: (team: NewTeam) => apiRequest<Team>('POST', '/teams', { body: team }),
  updateTeam: (teamId: string, changes: TeamChanges) =>
    apiRequest<Team>('PATCH', `/teams/${encodeURIComponent(teamId)}`, { body: changes }),

  listMembers: (teamId: string) => apiRequest<Items<Member>>('GET', `/teams/${encodeURIComponent(teamId)}/members`),
  addMember: (teamId: string, account: string, role: TeamRole) =>
    apiRequest<Member>('POST', `/teams/${encodeURIComponent(teamId)}/members`, { body: { account, role } }),
  changeMemberRole: (teamId: string, userId: string, role: TeamRole) =>
    apiRequest<Items<Member>>('PATCH', `/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(userId)}`, { body: { role } }),
  removeMember: (teamId: string, userId: string) =>
    apiRequest<null>('DELETE', `/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(userId)}`),

  listSuperapps: () => apiRequest<Items<Superapp>>('GET', '/superapps'),
  createSuperapp: (superapp: { teamId: string; name: string; description: string }) =>
    apiRequest<Superapp>('POST', '/superapps', { body: superapp }),
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

  listCurrencies: () => apiRequest<Items<Currency>>('GET', '/currencies'),
  getPaymentConfig: (applicationId: string) => apiRequest<PaymentConfig>('GET', `/superapps/${segment(applicationId)}/payment-config`),
  updatePaymentConfig: (applicationId: string, changes: PaymentConfigChanges) =>
    apiRequest<PaymentConfig>('PATCH', `/superapps/${segment(applicationId)}/payment-config`, { body: changes }),
  /** Issues or rotates a host-reported superapp's host key; the answer is the only time it is shown. */
  issueHostKey: (applicationId: string) =>
    apiRequest<{ applicationId: string; hostKey: string; issuedAt: number }>(
      'POST',
      `/superapps/${segment(applicationId)}/payment-config/host-key`,
    ),
  searchMerchants: (applicationId: string, query: { search?: string; offset?: number; limit?: number }) =>
    apiRequest<Page<Merchant>>('GET', `/superapps/${segment(applicationId)}/merchants`, { query }),
  createMerchant: (applicationId: string, merchant: MerchantFields) =>
    apiRequest<Merchant>('POST', `/superapps/${segment(applicationId)}/merchants`, { body: merchant }),
  updateMerchant: (applicationId: string, id: number, changes: Partial<MerchantFields>) =>
    apiRequest<Merchant>('PATCH', `/superapps/${segment(applicationId)}/merchants`, { body: { id, ...changes } }),

  listApprovals: async (applicationId: string, query: ApprovalQuery): Promise<Page<ApprovalItem>> => {
    const page = await apiRequest<{ total: number; list: ApprovalItem[] }>('GET', `/superapps/${segment(applicationId)}/approvals`, {
      query: { ...query },
    });
    return { total: page.total, items: page.list };
  },
  decideApproval: (applicationId: string, decision: Decision) =>
    apiRequest<{ kind: ApprovalKind; id: number }>('POST', `/superapps/${segment(applicationId)}/approvals/decide`, { body: decision }),
  unbindBySuperapp: (applicationId: string, id: number) =>
    apiRequest<null>('POST', `/superapps/${segment(applicationId)}/merchant-bindings/unbind`, { body: { id } }),
  disablePayment: (applicationId: string, id: number) =>
    apiRequest<null>('POST', `/superapps/${segment(applicationId)}/payment-records/disable`, { body: { id } }),

  getBindingOverview: (teamId: string) => apiRequest<BindingOverview>('GET', `/teams/${segment(teamId)}/merchant-binding`),
  listBindingRecords: (teamId: string) => apiRequest<Items<BindingRecord>>('GET', `/teams/${segment(teamId)}/merchant-binding/records`),
  listPickableMerchants: (teamId: string) =>
    apiRequest<Items<MerchantFields>>('GET', `/teams/${segment(teamId)}/merchant-binding/merchants`),
  requestBinding: (teamId: string, merchant: MerchantFields) =>
    apiRequest<{ approvalNo: string }>('POST', `/teams/${segment(teamId)}/merchant-binding/requests`, { body: merchant }),
  requestBindingChange: (teamId: string, merchant: MerchantFields) =>
    apiRequest<{ approvalNo: string }>('POST', `/teams/${segment(teamId)}/merchant-binding/change-requests`, { body: merchant }),
  unbindByTeam: (teamId: string, id: number) =>
    apiRequest<null>('POST', `/teams/${segment(teamId)}/merchant-binding/unbind`, { body: { id } }),

  listMiniProgramPayments: (teamId: string) =>
    apiRequest<Items<MiniProgramPayment>>('GET', `/teams/${segment(teamId)}/payment/mini-programs`),
  requestPayment: (mnpId: string, applyNote: string) =>
    apiRequest<{ approvalNo: string }>('POST', `/mini-programs/${segment(mnpId)}/payment/requests`, { body: { applyNote } }),

  getPaymentCredentials: (mnpId: string) => apiRequest<PaymentCredentials>('GET', `/mini-programs/${segment(mnpId)}/payment-credentials`),
  downloadPrivateKey: (mnpId: string) =>
    apiRequest<IssuedKey & { privateKeyPem: string }>('POST', `/mini-programs/${segment(mnpId)}/payment-credentials/private-key`),
  resetMerchantKey: (mnpId: string, source: KeyResetSource) =>
    apiRequest<IssuedKey>('POST', `/mini-programs/${segment(mnpId)}/payment-credentials/reset`, { body: source }),
  setApiV3Key: (mnpId: string, apiV3Key: string) =>
    apiRequest<{ apiV3KeySetAt: number }>('PUT', `/mini-programs/${segment(mnpId)}/payment-credentials/api-v3-key`, { body: { apiV3Key } }),
  listPlatformKeys: () => apiRequest<Items<PlatformKey>>('GET', '/platform-keys'),
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
  currencies: ['currencies'] as const,
  paymentConfig: (applicationId: string) => ['superapps', applicationId, 'payment-config'] as const,
  merchants: (applicationId: string) => ['superapps', applicationId, 'merchants'] as const,
  approvals: (applicationId: string) => ['superapps', applicationId, 'approvals'] as const,
  binding: (teamId: string) => ['teams', teamId, 'merchant-binding'] as const,
  miniProgramPayments: (teamId: string) => ['teams', teamId, 'payment'] as const,
  paymentCredentials: (mnpId: string) => ['mini-programs', mnpId, 'payment-credentials'] as const,
  platformKeys: ['platform-keys'] as const,
};
