import type { TeamRole } from './roles.ts';

/**
 * The permission table of SPEC §1.1, as data. Every route declares one capability; the access check
 * reads only this table. `write` means the role may act; `read` means it sees the thing read-only.
 *
 * A role key names where the role is held: `super_admin` / `platform_admin` (platform-wide),
 * `mp:<role>` (in the mini program team that owns the resource), `sa:<role>` (in the superapp team
 * that owns the resource's superapp).
 */
export type AccessLevel = 'read' | 'write';
export type RoleKey = 'super_admin' | 'platform_admin' | `mp:${TeamRole}` | `sa:${TeamRole}`;

const allMiniProgramRoles = ['mp:administrator', 'mp:member_admin', 'mp:senior_developer', 'mp:developer', 'mp:operator'] as const;
const allSuperappRoles = [
  'sa:administrator',
  'sa:member_admin',
  'sa:senior_developer',
  'sa:developer',
  'sa:operator',
  'sa:reviewer',
] as const;
const admins = { super_admin: 'write', platform_admin: 'write' } as const;
const adminsReadOnly = { super_admin: 'read', platform_admin: 'read' } as const;

function grant(level: AccessLevel, keys: readonly RoleKey[]): Partial<Record<RoleKey, AccessLevel>> {
  return Object.fromEntries(keys.map((key) => [key, level]));
}

export const permissionTable = {
  // Platform and tenancy (SPEC §1, §7 "Roles").
  'platform.users.manage': { ...admins },
  'team.create': { ...admins },
  'team.view': { ...admins, ...grant('read', allMiniProgramRoles), ...grant('read', allSuperappRoles) },
  'team.manage': { ...admins },
  'team.members.manage': {
    ...admins,
    ...grant('read', allMiniProgramRoles),
    ...grant('read', allSuperappRoles),
    'mp:administrator': 'write',
    'mp:member_admin': 'write',
    'sa:administrator': 'write',
    'sa:member_admin': 'write',
  },
  'superapp.view': { ...admins, ...grant('read', allSuperappRoles) },
  'superapp.manage': { ...admins, ...grant('read', allSuperappRoles), 'sa:administrator': 'write' },
  'mini_program.view': { ...admins, ...grant('read', allMiniProgramRoles), ...grant('read', allSuperappRoles) },
  'mini_program.manage': {
    ...admins,
    ...grant('read', allMiniProgramRoles),
    'mp:administrator': 'write',
    'mp:senior_developer': 'write',
  },
  'audit.view': { super_admin: 'read', platform_admin: 'read', 'mp:administrator': 'read', 'sa:administrator': 'read' },

  // Mini program side (SPEC §1.1, first table).
  'merchant_binding.view': {
    ...adminsReadOnly,
    'mp:administrator': 'write',
    'mp:senior_developer': 'write',
    'mp:developer': 'write',
    'mp:operator': 'write',
  },
  'merchant_binding.manage': { ...adminsReadOnly, 'mp:administrator': 'write' },
  'payment_enable.request': { 'mp:administrator': 'write' },
  'payment_credentials.manage': { 'mp:administrator': 'write', 'mp:senior_developer': 'write' },
  'order.view': {
    ...admins,
    'mp:administrator': 'write',
    'mp:senior_developer': 'write',
    'mp:developer': 'write',
    'mp:operator': 'write',
    'sa:administrator': 'write',
    'sa:senior_developer': 'write',
    'sa:developer': 'write',
    'sa:operator': 'write',
  },
  'order.export': {
    ...admins,
    'mp:administrator': 'write',
    'mp:senior_developer': 'write',
    'mp:developer': 'write',
    'mp:operator': 'write',
    'sa:administrator': 'write',
    'sa:senior_developer': 'write',
    'sa:developer': 'write',
    'sa:operator': 'write',
  },
  'refund.view': {
    ...admins,
    'mp:administrator': 'write',
    'mp:senior_developer': 'write',
    'mp:developer': 'write',
    'mp:operator': 'write',
    'sa:administrator': 'write',
    'sa:senior_developer': 'write',
    'sa:developer': 'write',
    'sa:operator': 'write',
  },

  // Superapp side (SPEC §1.1, second table).
  'payment_config.manage': { ...adminsReadOnly, 'sa:administrator': 'write' },
  'merchant.manage': { ...adminsReadOnly, 'sa:administrator': 'write', 'sa:senior_developer': 'write' },
  // Every superapp role but Member admin (§7: member admins have no payment capability).
  'merchant.view': {
    ...adminsReadOnly,
    'sa:administrator': 'write',
    'sa:senior_developer': 'write',
    'sa:developer': 'write',
    'sa:operator': 'write',
    'sa:reviewer': 'write',
  },
  'approval.decide': { ...adminsReadOnly, 'sa:administrator': 'write', 'sa:reviewer': 'write' },
  // SPEC §7 "ABNORMAL refunds": settling one by hand is as "approve / reject binding …" minus review staff.
  'refund.settle': { ...adminsReadOnly, 'sa:administrator': 'write' },

  // Virtual payment setup (SPEC §8.1's table). Member admins have none of these; the superapp's decisions on
  // virtual enablement, items and exemptions are 'approval.decide' (the same cells: SA admin and review staff).
  'virtual_payment.request': { 'mp:administrator': 'write' },
  'virtual_delivery.view': {
    ...adminsReadOnly,
    'mp:administrator': 'write',
    'mp:senior_developer': 'write',
    'mp:developer': 'read',
    'mp:operator': 'read',
  },
  'virtual_delivery.manage': { 'mp:administrator': 'write', 'mp:senior_developer': 'write' },
  'virtual_app_key.manage': { 'mp:administrator': 'write', 'mp:senior_developer': 'write' },
  'item_exemption.view': {
    ...adminsReadOnly,
    'mp:administrator': 'write',
    'mp:senior_developer': 'write',
    'mp:developer': 'read',
    'mp:operator': 'read',
  },
  'item_exemption.request': { 'mp:administrator': 'write', 'mp:senior_developer': 'write' },
  // "every SA role may view items" (member admins excepted: no payment capability, §7).
  'virtual_item.view': {
    ...adminsReadOnly,
    'mp:administrator': 'write',
    'mp:senior_developer': 'write',
    'mp:developer': 'read',
    'mp:operator': 'read',
    'sa:administrator': 'read',
    'sa:senior_developer': 'read',
    'sa:developer': 'read',
    'sa:operator': 'read',
    'sa:reviewer': 'read',
  },
  'virtual_item.edit': { 'mp:administrator': 'write', 'mp:senior_developer': 'write' },

  // Daily reconciliation (SPEC §9.5). Mini program roles but member admin see exceptions of their own mini
  // programs only (the record scope narrows what they reach); the days and reports are the superapp's.
  'reconciliation.view': {
    ...admins,
    'mp:administrator': 'write',
    'mp:senior_developer': 'write',
    'mp:developer': 'write',
    'mp:operator': 'write',
    'sa:administrator': 'write',
    'sa:senior_developer': 'write',
    'sa:developer': 'write',
    'sa:operator': 'write',
  },
  'reconciliation.resolve': { ...adminsReadOnly, 'sa:administrator': 'write', 'sa:operator': 'write' },
  'reconciliation.rerun': { ...adminsReadOnly, 'sa:administrator': 'write' },
} as const satisfies Record<string, Partial<Record<RoleKey, AccessLevel>>>;

export type Capability = keyof typeof permissionTable;
export const capabilities = Object.keys(permissionTable) as Capability[];

/** The strongest level any of the given role keys has for a capability, or undefined for none. */
export function levelFor(capability: Capability, roleKeys: readonly RoleKey[]): AccessLevel | undefined {
  const row: Partial<Record<RoleKey, AccessLevel>> = permissionTable[capability];
  let best: AccessLevel | undefined;
  for (const key of roleKeys) {
    const level = row[key];
    if (level === 'write') return 'write';
    if (level === 'read') best = 'read';
  }
  return best;
}
