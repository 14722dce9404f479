import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { capabilities } from '../../src/domain/permissions.ts';
import { routeGuards, type RegisteredRoute } from '../../src/plugins/app/route-guards.ts';
import { managementActions } from '../../src/routes/manage/actions/index.ts';
import { expectedLevel, presetRoleKeys, type ExpectedLevel, type PresetRoleKey } from '../fixtures/spec-permission-table.ts';
import type { ConsoleClient } from '../helpers/console-client.ts';
import {
  bodySchemaOf,
  consolePrefix,
  fillPath,
  listConsoleRoutes,
  sampleFromSchema,
  type ConsoleRoute,
} from '../helpers/console-routes.ts';
import { createPlatform, createTenant, signIn, snapshotDatabase, type Platform, type Tenant } from '../helpers/factories.ts';
import { insertNotification, insertOrder, insertRefund } from '../helpers/record-factory.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';

/**
 * Every route of the built app against the permission table (SPEC §1.1) and the surfaces' guards.
 * The expected capability of each console route and management action is written out below, from the
 * SPEC, independently of the route files: a route or action missing here (a new one) fails the suite,
 * as does one whose declared capability differs, and one that declares no guard at all (the app then
 * refuses to start, shown with a throwaway route).
 */

// SPEC §1.1 / §5 / §7: what each console route needs. `self` = any signed-in user acting on their own things.
const consoleRouteCapabilities: Record<string, string> = {
  'POST /api/v1/session': 'public',
  'GET /api/v1/session': 'self',
  'DELETE /api/v1/session': 'self',
  'POST /api/v1/me/password': 'self',
  'GET /api/v1/users': 'platform.users.manage',
  'POST /api/v1/users': 'platform.users.manage',
  'PATCH /api/v1/users/:userId': 'platform.users.manage',
  'GET /api/v1/teams': 'self',
  'POST /api/v1/teams': 'team.create',
  'GET /api/v1/teams/:teamId': 'team.view',
  'PATCH /api/v1/teams/:teamId': 'team.manage',
  'GET /api/v1/teams/:teamId/members': 'team.view',
  'POST /api/v1/teams/:teamId/members': 'team.members.manage',
  'PATCH /api/v1/teams/:teamId/members/:userId': 'team.members.manage',
  'DELETE /api/v1/teams/:teamId/members/:userId': 'team.members.manage',
  'GET /api/v1/superapps': 'superapp.view',
  'POST /api/v1/superapps': 'team.create',
  'GET /api/v1/superapps/:applicationId': 'superapp.view',
  'PATCH /api/v1/superapps/:applicationId': 'superapp.manage',
  'GET /api/v1/teams/:teamId/mini-programs': 'mini_program.view',
  'POST /api/v1/teams/:teamId/mini-programs': 'mini_program.manage',
  'PATCH /api/v1/mini-programs/:mnpId': 'mini_program.manage',
  'GET /api/v1/api-keys': 'self',
  'POST /api/v1/api-keys': 'self',
  'DELETE /api/v1/api-keys/:keyId': 'self',
  'GET /api/v1/audit-log': 'audit.view',
  'GET /api/v1/currencies': 'self',
  'GET /api/v1/platform-keys': 'self',
  // Superapp side: payment configuration and host key, merchant list, approvals.
  'GET /api/v1/superapps/:applicationId/payment-config': 'payment_config.manage',
  'PATCH /api/v1/superapps/:applicationId/payment-config': 'payment_config.manage',
  'POST /api/v1/superapps/:applicationId/payment-config/host-key': 'payment_config.manage',
  'GET /api/v1/superapps/:applicationId/merchants': 'merchant.view',
  'POST /api/v1/superapps/:applicationId/merchants': 'merchant.manage',
  'PATCH /api/v1/superapps/:applicationId/merchants': 'merchant.manage',
  'GET /api/v1/superapps/:applicationId/approvals': 'superapp.view',
  'POST /api/v1/superapps/:applicationId/approvals/decide': 'approval.decide',
  'POST /api/v1/superapps/:applicationId/merchant-bindings/unbind': 'approval.decide',
  'POST /api/v1/superapps/:applicationId/payment-records/disable': 'approval.decide',
  // Mini program side: binding, enablement, credentials.
  'GET /api/v1/teams/:teamId/merchant-binding': 'merchant_binding.view',
  'GET /api/v1/teams/:teamId/merchant-binding/records': 'merchant_binding.view',
  'GET /api/v1/teams/:teamId/merchant-binding/merchants': 'merchant_binding.manage',
  'POST /api/v1/teams/:teamId/merchant-binding/requests': 'merchant_binding.manage',
  'POST /api/v1/teams/:teamId/merchant-binding/change-requests': 'merchant_binding.manage',
  'POST /api/v1/teams/:teamId/merchant-binding/unbind': 'merchant_binding.manage',
  'GET /api/v1/teams/:teamId/payment/mini-programs': 'mini_program.view',
  'GET /api/v1/mini-programs/:mnpId/payment': 'mini_program.view',
  'POST /api/v1/mini-programs/:mnpId/payment/requests': 'payment_enable.request',
  'GET /api/v1/mini-programs/:mnpId/payment-credentials': 'payment_credentials.manage',
  'POST /api/v1/mini-programs/:mnpId/payment-credentials/private-key': 'payment_credentials.manage',
  'POST /api/v1/mini-programs/:mnpId/payment-credentials/reset': 'payment_credentials.manage',
  'PUT /api/v1/mini-programs/:mnpId/payment-credentials/api-v3-key': 'payment_credentials.manage',
  // SPEC §8.1: virtual payment setup.
  'GET /api/v1/mini-programs/:mnpId/virtual-payment': 'mini_program.view',
  'POST /api/v1/mini-programs/:mnpId/virtual-payment/requests': 'virtual_payment.request',
  'GET /api/v1/mini-programs/:mnpId/virtual-payment/config': 'virtual_delivery.view',
  'PUT /api/v1/mini-programs/:mnpId/virtual-payment/delivery-url': 'virtual_delivery.manage',
  'GET /api/v1/mini-programs/:mnpId/virtual-payment/app-key': 'virtual_app_key.manage',
  'POST /api/v1/mini-programs/:mnpId/virtual-payment/app-key/reset': 'virtual_app_key.manage',
  'GET /api/v1/mini-programs/:mnpId/virtual-items': 'virtual_item.view',
  'POST /api/v1/mini-programs/:mnpId/virtual-items': 'virtual_item.edit',
  'GET /api/v1/mini-programs/:mnpId/virtual-items/:productId': 'virtual_item.view',
  'PATCH /api/v1/mini-programs/:mnpId/virtual-items/:productId': 'virtual_item.edit',
  'POST /api/v1/mini-programs/:mnpId/virtual-items/:productId/offline': 'virtual_item.edit',
  'POST /api/v1/mini-programs/:mnpId/virtual-items/:productId/resubmit': 'virtual_item.edit',
  'GET /api/v1/mini-programs/:mnpId/item-exemption': 'item_exemption.view',
  'POST /api/v1/mini-programs/:mnpId/item-exemption/requests': 'item_exemption.request',
  'POST /api/v1/superapps/:applicationId/item-exemptions/revoke': 'approval.decide',
  // Records (order record, after-sales record, payment data, exports: owner only).
  'GET /api/v1/orders': 'order.view',
  'GET /api/v1/orders/:orderId': 'order.view',
  'POST /api/v1/orders/:orderId/notifications/:notificationId/resend': 'order.view',
  // SPEC §5's notification delivery log: whoever sees order records sees (and resends) their notifications.
  'GET /api/v1/notifications': 'order.view',
  'GET /api/v1/notifications/:notificationId': 'order.view',
  'POST /api/v1/notifications/:notificationId/resend': 'order.view',
  'POST /api/v1/orders/exports': 'order.export',
  'GET /api/v1/refunds': 'refund.view',
  'GET /api/v1/refunds/:refundId': 'refund.view',
  // SPEC §7 "ABNORMAL refunds": settling one by hand.
  'POST /api/v1/refunds/:refundId/settle': 'refund.settle',
  'POST /api/v1/refunds/exports': 'refund.view',
  'GET /api/v1/order-stats': 'order.view',
  'GET /api/v1/exports': 'self',
  'GET /api/v1/exports/:exportId': 'self',
  'GET /api/v1/exports/:exportId/file': 'self',
  // SPEC §9.5: Records → Reconciliation.
  'GET /api/v1/superapps/:applicationId/reconciliation/days': 'reconciliation.view',
  'GET /api/v1/superapps/:applicationId/reconciliation/days/:billDate': 'reconciliation.view',
  'POST /api/v1/superapps/:applicationId/reconciliation/days/:billDate/rerun': 'reconciliation.rerun',
  'POST /api/v1/superapps/:applicationId/reconciliation/exceptions/:exceptionId/resolve': 'reconciliation.resolve',
  'GET /api/v1/reconciliation/exceptions': 'reconciliation.view',
  'GET /api/v1/reconciliation/exceptions.csv': 'reconciliation.view',
  'GET /api/v1/reconciliation/open-count': 'reconciliation.view',
};

// SPEC §3 actions and the §1.1 row each falls under.
const managementActionCapabilities: Record<string, string> = {
  RequestPaymentMerchantBinding: 'merchant_binding.manage',
  ChangePaymentBoundMerchant: 'merchant_binding.manage',
  QueryMNPMerchantInfo: 'merchant_binding.view',
  UnbindMNPPaymentMerchant: 'merchant_binding.manage',
  ApprovePaymentMerchantBinding: 'approval.decide',
  UnbindPaymentMerchant: 'approval.decide',
  RequestPaymentEnable: 'payment_enable.request',
  DescribeMNPPaymentApprovalInfo: 'mini_program.view',
  ApproveMNPPaymentEnable: 'approval.decide',
  DisableMNPPayment: 'approval.decide',
  ApproveVirtualPaymentRequest: 'approval.decide',
  DescribePaymentApprovalList: 'superapp.view',
  DescribePaymentDataOverview: 'order.view',
  DescribePaymentDataDetail: 'order.view',
  DescribePaymentDataLineChart: 'order.view',
  DescribeMNGPaymentOverview: 'order.view',
  DescribeMNGPaymentReportDetail: 'order.view',
  DescribeMNGPaymentRetentionAnalysis: 'order.view',
  DescribeMNGPaymentLineChart: 'order.view',
  DescribePaymentOrderList: 'order.view',
  DescribePaymentRefundList: 'refund.view',
  SettleAbnormalRefund: 'refund.settle',
  DescribeReconciliationList: 'reconciliation.view',
  DescribeReconciliationDetail: 'reconciliation.view',
  DescribeReconciliationExceptionList: 'reconciliation.view',
  ResolveReconciliationException: 'reconciliation.resolve',
  RerunReconciliation: 'reconciliation.rerun',
};

// Routes no credential guards, by surface: anything else new on them fails here until listed.
const publicRoutePatterns: RegExp[] = [
  /^GET \/(healthz|openapi\.json|index\.html|console|console\/\*|bridge\/\*)?$/,
  /^GET \/docs(\/.*)?$/,
  /^GET \/assets\/[\w.-]+\.(js|css|svg|png|woff2?)$/,
];
const sandboxOnlyRoutePatterns: RegExp[] = [/^(GET|POST) \/sandbox\//, /^(GET|POST) \/demo(\/.*)?$/];
// Method and path of each guarded surface.
const surfaceRoutes: Record<string, RegExp> = {
  'console-session': /^[A-Z]+ \/api\/v1\//,
  'tc3-signature': /^POST \/$/,
  'v3-signature': /^[A-Z]+ \/v3\//,
  'host-message': /^POST \/superapp\/pay\//,
  'channel-signature': /^POST \/channel\/v1\//,
  'pay-sign': /^POST \/bridge\/v1\//,
  'xpay-signature': /^POST \/xpay\/[a-z_]+$/,
  'metrics-token': /^GET \/metrics$/,
};

const key = (route: { method: string; url: string }) => `${route.method} ${route.url}`;

type Target = 'miniProgramTeam' | 'superappTeam' | 'platform';

/** The role key a tenant member (or admin) holds on a target (a mini program team is also reached by its superapp team's roles). */
function roleKeyOn(caller: PresetRoleKey, target: Target): PresetRoleKey | undefined {
  if (caller === 'super_admin' || caller === 'platform_admin') return caller;
  if (target === 'platform') return undefined;
  if (target === 'miniProgramTeam') return caller;
  return caller.startsWith('sa:') ? caller : undefined;
}

describe('every route declares its guard and capability [sqlite]', () => {
  let context: TestContext;
  let routes: RegisteredRoute[];

  beforeAll(async () => {
    context = await createTestContext('sqlite');
    await context.app.ready();
    routes = context.app.registeredRoutes().filter((route) => route.method !== 'HEAD');
  });
  afterAll(() => context?.close());

  it('the route list is read from the app, every surface included', () => {
    const surfaces = new Set(routes.map((route) => route.guard));
    for (const guard of Object.keys(routeGuards)) expect(surfaces, `a ${guard} route`).toContain(guard);
    expect(routes.length).toBeGreaterThan(80);
  });

  it('each route names a known guard, and the guard matches the surface its path belongs to', () => {
    const wrong: string[] = [];
    for (const route of routes) {
      const surface = route.guard ? surfaceRoutes[route.guard] : undefined;
      if (!route.guard || !(route.guard in routeGuards)) wrong.push(`${key(route)}: no guard`);
      else if (surface && !surface.test(key(route))) wrong.push(`${key(route)}: ${route.guard} outside its surface`);
      else if (route.guard === 'public' && !publicRoutePatterns.some((p) => p.test(key(route))))
        wrong.push(`${key(route)}: public, and not a known public route`);
      else if (route.guard === 'sandbox-only' && !sandboxOnlyRoutePatterns.some((p) => p.test(key(route))))
        wrong.push(`${key(route)}: sandbox-only outside /sandbox and /demo`);
      // A path of a guarded surface must carry that surface's guard.
      for (const [guard, pattern] of Object.entries(surfaceRoutes))
        if (pattern.test(key(route)) && route.guard !== guard) wrong.push(`${key(route)}: ${route.guard} on the ${guard} surface`);
    }
    expect(wrong).toEqual([]);
  });

  it('each console route declares the capability the SPEC table gives it (and every one is listed here)', () => {
    const consoleRoutes = routes.filter((route) => route.guard === 'console-session');
    const declared = Object.fromEntries(consoleRoutes.map((route) => [key(route), route.capability]));
    expect(declared).toEqual(consoleRouteCapabilities);
    for (const capability of Object.values(declared)) expect(['public', 'self', ...capabilities]).toContain(capability);
  });

  it('each management action declares the capability the SPEC table gives it (and every one is listed here)', () => {
    expect(Object.fromEntries(managementActions.map((action) => [action.name, action.capability]))).toEqual(managementActionCapabilities);
  });

  it('the sandbox-only routes do not exist while the sandbox is off', async () => {
    const off = await createTestContext('sqlite', { config: { sandboxEnabled: false } });
    try {
      await off.app.ready();
      const offRoutes = off.app.registeredRoutes();
      expect(offRoutes.filter((route) => route.guard === 'sandbox-only').map(key)).toEqual([]);
      expect(offRoutes.length).toBeGreaterThan(50);
    } finally {
      await off.close();
    }
  });

  it('a route that declares no guard stops the app from starting; one that declares one is accepted', async () => {
    const build = async (declare: boolean) => {
      const app = await buildApp(context, { backgroundJobs: false });
      await app.register(async (plugin: FastifyInstance) => {
        plugin.get('/added-later', declare ? { config: { guard: 'public' } } : {}, async () => ({ leaked: true }));
      });
      return app;
    };
    const undeclared = await build(false);
    await expect(undeclared.ready()).rejects.toThrow(/without a declared guard.*GET \/added-later/);
    await undeclared.close().catch(() => undefined);
    const declared = await build(true);
    await declared.ready();
    expect(declared.registeredRoutes().map(key)).toContain('GET /added-later');
    await declared.close();
  });

  it('a console route without a capability stops the app from building', async () => {
    const app = await buildApp(context, { backgroundJobs: false });
    const { registerConsoleAuth } = await import('../../src/routes/console/console-auth.ts');
    await expect(
      app.register(
        async (plugin: FastifyInstance) => {
          registerConsoleAuth(plugin);
          plugin.get('/undeclared', async () => ({}));
        },
        { prefix: '/api/v2' },
      ),
    ).rejects.toThrow(/declares no capability/);
    await app.close().catch(() => undefined);
  });
});

// Enforcement: every console route that needs a capability, called by every preset role that lacks
// it on the target its ids name: 403 or 404 as SPEC §7 says, nothing changes.
describe('console routes refuse roles without the capability (generated from the route list) [sqlite]', () => {
  let context: TestContext;
  let platform: Platform;
  let tenant: Tenant;
  let routes: ConsoleRoute[];
  const clients = {} as Record<PresetRoleKey, ConsoleClient>;
  const records = {} as { orderId: string; refundId: string; notificationId: string };

  beforeAll(async () => {
    context = await createTestContext('sqlite');
    platform = await createPlatform(context);
    tenant = await createTenant(context, 'perm');
    const owner = {
      mnpId: tenant.mnpId,
      applicationId: tenant.applicationId,
      miniProgramTeamId: tenant.miniProgramTeamId,
      superappTeamId: tenant.superappTeamId,
    };
    const order = await insertOrder(context.database.db, owner, { createdAt: context.clock.nowMs() - 60_000, tradeState: 'REFUND' });
    const refund = await insertRefund(context.database.db, order, { createdAt: context.clock.nowMs() - 30_000, amount: 10 });
    const notification = await insertNotification(context.database.db, { type: 'order', id: order.id }, owner, order.created_at);
    Object.assign(records, { orderId: String(order.id), refundId: String(refund.id), notificationId: String(notification.id) });
    const users = { super_admin: platform.superAdmin, platform_admin: platform.platformAdmin, ...tenant.members };
    for (const role of presetRoleKeys) clients[role] = await signIn(context, users[role]);
    routes = await listConsoleRoutes(context.app);
  });
  afterAll(() => context?.close());

  /** The ids to call a route with, and the target they name (undefined: the route is a list or acts on the caller's own things). */
  function targetsOf(route: ConsoleRoute): { target: Target; ids: Record<string, string> }[] | undefined {
    const params = route.params;
    const userId = tenant.members['mp:operator'].id;
    if (params.length === 0)
      return ['team.create', 'platform.users.manage'].includes(String(consoleRouteCapabilities[key(route)]))
        ? [{ target: 'platform', ids: {} }]
        : undefined;
    if (params.includes('keyId') || params.includes('exportId')) return undefined;
    // Binding and payment exist on mini program teams only (a superapp team's id is a parameter error there).
    if (params[0] === 'teamId' && /\/(merchant-binding|payment)\b/.test(route.url))
      return [{ target: 'miniProgramTeam', ids: { teamId: tenant.miniProgramTeamId } }];
    if (params[0] === 'teamId') {
      return [
        { target: 'miniProgramTeam', ids: { teamId: tenant.miniProgramTeamId, userId } },
        { target: 'superappTeam', ids: { teamId: tenant.superappTeamId, userId: tenant.members['sa:operator'].id } },
      ];
    }
    if (params[0] === 'userId') return [{ target: 'platform', ids: { userId } }];
    if (params[0] === 'applicationId')
      // A reconciled day and an exception of it (SPEC §9.5): any values, the refusal comes first.
      return [{ target: 'superappTeam', ids: { applicationId: tenant.applicationId, billDate: '2026-01-15', exceptionId: '1' } }];
    // An item need not exist: the refusal comes before the lookup (SPEC §8.1).
    if (params[0] === 'mnpId') return [{ target: 'miniProgramTeam', ids: { mnpId: tenant.mnpId, productId: 'probe_item' } }];
    if (['orderId', 'refundId', 'notificationId'].includes(params[0]!)) return [{ target: 'miniProgramTeam', ids: records }];
    throw new Error(`${key(route)}: teach targetsOf() the parameter :${params[0]}`);
  }

  it('covers the routes that take a target (the generated checks are not vacuous)', () => {
    const covered = routes.filter((route) => targetsOf(route) && !['public', 'self'].includes(consoleRouteCapabilities[key(route)] ?? ''));
    expect(covered.length).toBeGreaterThan(40);
  });

  it.each(['GET', 'POST', 'PATCH', 'PUT', 'DELETE'])('%s routes', async (method) => {
    const failures: string[] = [];
    let checked = 0;
    for (const route of routes.filter((r) => r.method === method)) {
      const capability = consoleRouteCapabilities[key(route)];
      const targets = targetsOf(route);
      if (!capability || capability === 'public' || capability === 'self' || !targets) continue;
      const mutation = method !== 'GET';
      for (const { target, ids } of targets) {
        const url = fillPath(route, (param) => ids[param]).slice(consolePrefix.length);
        const schema = bodySchemaOf(route);
        const body = mutation ? (schema ? sampleFromSchema(schema) : {}) : undefined;
        const lacking = presetRoleKeys.filter((role) => {
          const level: ExpectedLevel = expectedLevel(capability, roleKeyOn(role, target));
          return level === 'none' || (mutation && level === 'read');
        });
        if (lacking.length === 0) continue;
        const before = await snapshotDatabase(context.database.db);
        for (const role of lacking) {
          const response = await clients[role].request(method as 'GET', url, body);
          checked += 1;
          const code = (response.body as { error?: { code?: string } } | null)?.error?.code;
          const refused =
            (response.statusCode === 404 && code === 'ResourceNotFound') ||
            (response.statusCode === 403 && code === 'UnauthorizedOperation');
          if (!refused)
            failures.push(`${role} on ${target}: ${method} ${url} → ${response.statusCode} ${JSON.stringify(response.body).slice(0, 160)}`);
        }
        const after = await snapshotDatabase(context.database.db);
        if (JSON.stringify(after) !== JSON.stringify(before)) failures.push(`${method} ${url}: a refused call changed the database`);
      }
    }
    expect(failures).toEqual([]);
    if (method !== 'PUT') expect(checked, `${method}: calls made`).toBeGreaterThan(5);
  });
});
