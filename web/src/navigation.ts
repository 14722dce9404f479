import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import type { Capability, Session, SessionTeam, TeamKind } from './api/types.ts';
import { levelIn } from './app/capabilities.ts';
import type { MessageKey } from './i18n/en.ts';
import { routePaths } from './route-paths.ts';

export type NavSection = 'platform' | 'team' | 'superapp' | 'miniProgram' | 'records' | 'account';
export const navSections: readonly NavSection[] = ['platform', 'team', 'superapp', 'miniProgram', 'records', 'account'];

/** One page of the console: where it lives, what shows it, and its component. */
export interface NavItem {
  key: keyof typeof routePaths;
  path: string;
  label: MessageKey;
  section: NavSection;
  /** Shown when the caller holds any of these (read or write), platform-wide or in the current team. */
  capabilities: readonly Capability[] | 'everyone';
  /** Shown only while the current team is of this kind. */
  teamKind?: TeamKind;
  /** Shown only while a team is selected. */
  needsTeam?: boolean;
  /** Null while the page is not built yet; such entries stay out of the menu and the router. */
  page: LazyExoticComponent<ComponentType> | null;
}

/** The console's pages in menu order. Adding a page is filling in its `page`, or adding one entry here. */
export const navItems: readonly NavItem[] = [
  {
    key: 'users',
    path: routePaths.users,
    label: 'nav.users',
    section: 'platform',
    capabilities: ['platform.users.manage'],
    page: lazy(() => import('./pages/users/users-page.tsx')),
  },
  {
    key: 'teams',
    path: routePaths.teams,
    label: 'nav.teams',
    section: 'team',
    capabilities: ['team.view', 'team.create'],
    page: lazy(() => import('./pages/teams/teams-page.tsx')),
  },
  {
    key: 'members',
    path: routePaths.members,
    label: 'nav.members',
    section: 'team',
    capabilities: ['team.members.manage'],
    needsTeam: true,
    page: lazy(() => import('./pages/team-members/team-members-page.tsx')),
  },
  {
    key: 'miniPrograms',
    path: routePaths.miniPrograms,
    label: 'nav.miniPrograms',
    section: 'team',
    capabilities: ['mini_program.view'],
    teamKind: 'miniprogram',
    page: lazy(() => import('./pages/mini-programs/mini-programs-page.tsx')),
  },
  {
    key: 'superapps',
    path: routePaths.superapps,
    label: 'nav.superapps',
    section: 'superapp',
    capabilities: ['superapp.view'],
    page: lazy(() => import('./pages/superapps/superapps-page.tsx')),
  },
  {
    key: 'paymentConfiguration',
    path: routePaths.paymentConfiguration,
    label: 'nav.paymentConfiguration',
    section: 'superapp',
    capabilities: ['payment_config.manage', 'merchant.view'],
    teamKind: 'superapp',
    page: lazy(() => import('./pages/payment-configuration/payment-configuration-page.tsx')),
  },
  {
    key: 'approvals',
    path: routePaths.approvals,
    label: 'nav.approvals',
    section: 'superapp',
    // SPEC §7: the approval list is visible to every superapp role (superapp.view); deciding is approval.decide.
    capabilities: ['approval.decide', 'superapp.view'],
    teamKind: 'superapp',
    page: lazy(() => import('./pages/approvals/approvals-page.tsx')),
  },
  {
    key: 'bindMerchant',
    path: routePaths.bindMerchant,
    label: 'nav.bindMerchant',
    section: 'miniProgram',
    capabilities: ['merchant_binding.view'],
    teamKind: 'miniprogram',
    page: lazy(() => import('./pages/bind-merchant/bind-merchant-page.tsx')),
  },
  {
    key: 'standardPayment',
    path: routePaths.standardPayment,
    label: 'nav.standardPayment',
    section: 'miniProgram',
    capabilities: ['payment_enable.request', 'payment_credentials.manage', 'merchant_binding.view'],
    teamKind: 'miniprogram',
    page: lazy(() => import('./pages/standard-payment/standard-payment-page.tsx')),
  },
  {
    key: 'virtualPayment',
    path: routePaths.virtualPayment,
    label: 'nav.virtualPayment',
    section: 'miniProgram',
    // SPEC §8.1: everyone in the team with a virtual payment capability (member admins have none).
    capabilities: ['virtual_payment.request', 'virtual_delivery.view', 'virtual_item.view'],
    teamKind: 'miniprogram',
    page: lazy(() => import('./pages/virtual-payment/virtual-payment-page.tsx')),
  },
  {
    key: 'orderRecord',
    path: routePaths.orderRecord,
    label: 'nav.orderRecord',
    section: 'records',
    capabilities: ['order.view'],
    page: lazy(() => import('./pages/order-record/order-record-page.tsx')),
  },
  {
    key: 'afterSalesRecord',
    path: routePaths.afterSalesRecord,
    label: 'nav.afterSalesRecord',
    section: 'records',
    capabilities: ['refund.view'],
    page: lazy(() => import('./pages/after-sales-record/after-sales-record-page.tsx')),
  },
  {
    key: 'notifications',
    path: routePaths.notifications,
    label: 'nav.notifications',
    section: 'records',
    capabilities: ['order.view'],
    page: lazy(() => import('./pages/notifications/notifications-page.tsx')),
  },
  {
    key: 'reconciliation',
    path: routePaths.reconciliation,
    label: 'nav.reconciliation',
    section: 'records',
    capabilities: ['reconciliation.view'],
    page: lazy(() => import('./pages/reconciliation/reconciliation-page.tsx')),
  },
  {
    key: 'paymentData',
    path: routePaths.paymentData,
    label: 'nav.paymentData',
    section: 'records',
    capabilities: ['order.view'],
    page: lazy(() => import('./pages/payment-data/payment-data-page.tsx')),
  },
  {
    key: 'auditLog',
    path: routePaths.auditLog,
    label: 'nav.auditLog',
    section: 'records',
    capabilities: ['audit.view'],
    page: lazy(() => import('./pages/audit-log/audit-log-page.tsx')),
  },
  {
    key: 'apiKeys',
    path: routePaths.apiKeys,
    label: 'nav.apiKeys',
    section: 'account',
    capabilities: 'everyone',
    page: lazy(() => import('./pages/api-keys/api-keys-page.tsx')),
  },
];

/** The entries whose page exists. */
export const builtNavItems = navItems.filter((item): item is NavItem & { page: NonNullable<NavItem['page']> } => item.page !== null);

/**
 * A nav item shows when its team kind (if any) matches the current team and the caller holds one of its
 * capabilities at any level. The levels come from the server's permission table via GET /session.
 */
export function isNavItemVisible(item: NavItem, session: Session, team: SessionTeam | undefined): boolean {
  if (item.teamKind && team?.kind !== item.teamKind) return false;
  if (item.needsTeam && !team) return false;
  if (item.capabilities === 'everyone') return true;
  return item.capabilities.some((capability) => levelIn(session, team, capability) !== undefined);
}
