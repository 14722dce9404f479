import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { levelFor, permissionTable, type Capability, type RoleKey } from '../../src/domain/permissions.ts';
import type { ConsoleClient } from '../helpers/console-client.ts';
import { discoverConsoleRoutes } from '../helpers/console-routes.ts';
import { signIn, type TeamRoleKey } from '../helpers/factories.ts';
import { createPaymentWorld, type PaymentWorld } from '../helpers/payment-world.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Every payment console route, called by every preset role (and a member of another tenant). The
 * expected answer comes from the permission table (src/domain/permissions.ts): not reachable through the
 * route's visibility capability → 404; reachable but the role lacks the capability (write for a change)
 * → 403; allowed → the route's own answer. Allowed changes are chosen to stop at a business rule after
 * the role check (an unknown id, no binding yet), so each probe can run for every role on one world.
 */

type Caller = 'super_admin' | 'platform_admin' | TeamRoleKey | 'outsider';
type Target = 'miniProgramTeam' | 'superapp';

interface Probe {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  /** Fastify form, as the app lists it. */
  route: string;
  target: Target;
  /** How the caller reaches the resource at all. */
  visibleVia: Capability;
  /** What the route needs on it: read (any level) or write. */
  needs: Capability;
  write: boolean;
  url(world: PaymentWorld, ids: SetupIds): string;
  body?(world: PaymentWorld, ids: SetupIds): unknown;
  allowed: { status: number; code?: string };
}

interface SetupIds {
  editableMerchantId: number;
}

const unknownRecord = { id: 99_999_999 };
let sequence = 0;
const app = (w: PaymentWorld) => `/superapps/${w.applicationId}`;
const team = (w: PaymentWorld) => `/teams/${w.teamId}`;
const mnp = (w: PaymentWorld) => `/mini-programs/${w.mnpId}`;
const notFound = { status: 409, code: 'FailedOperation.PaymentRecordNotFound' };

const probes: Probe[] = [
  {
    method: 'GET',
    route: '/superapps/:applicationId/payment-config',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'payment_config.manage',
    write: false,
    url: (w) => `${app(w)}/payment-config`,
    allowed: { status: 200 },
  },
  {
    method: 'PATCH',
    route: '/superapps/:applicationId/payment-config',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'payment_config.manage',
    write: true,
    url: (w) => `${app(w)}/payment-config`,
    body: () => ({ paymentEnabled: true }),
    allowed: { status: 200 },
  },
  // The world's superapp is on the sandbox: an allowed caller learns the host key needs host-reported mode first.
  {
    method: 'POST',
    route: '/superapps/:applicationId/payment-config/host-key',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'payment_config.manage',
    write: true,
    url: (w) => `${app(w)}/payment-config/host-key`,
    allowed: { status: 409, code: 'FailedOperation' },
  },
  {
    method: 'GET',
    route: '/superapps/:applicationId/merchants',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'merchant.view',
    write: false,
    url: (w) => `${app(w)}/merchants?search=merchant`,
    allowed: { status: 200 },
  },
  {
    method: 'POST',
    route: '/superapps/:applicationId/merchants',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'merchant.manage',
    write: true,
    url: (w) => `${app(w)}/merchants`,
    body: () => ({ merchantId: `gate${++sequence}`, merchantName: `Gate merchant ${sequence}` }),
    allowed: { status: 201 },
  },
  {
    method: 'PATCH',
    route: '/superapps/:applicationId/merchants',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'merchant.manage',
    write: true,
    url: (w) => `${app(w)}/merchants`,
    body: (_w, ids) => ({ id: ids.editableMerchantId, merchantName: `Renamed ${++sequence}` }),
    allowed: { status: 200 },
  },
  {
    method: 'GET',
    route: '/teams/:teamId/merchant-binding',
    target: 'miniProgramTeam',
    visibleVia: 'merchant_binding.view',
    needs: 'merchant_binding.view',
    write: false,
    url: (w) => `${team(w)}/merchant-binding`,
    allowed: { status: 200 },
  },
  {
    method: 'GET',
    route: '/teams/:teamId/merchant-binding/records',
    target: 'miniProgramTeam',
    visibleVia: 'merchant_binding.view',
    needs: 'merchant_binding.view',
    write: false,
    url: (w) => `${team(w)}/merchant-binding/records`,
    allowed: { status: 200 },
  },
  {
    method: 'GET',
    route: '/teams/:teamId/merchant-binding/merchants',
    target: 'miniProgramTeam',
    visibleVia: 'merchant_binding.view',
    needs: 'merchant_binding.manage',
    write: true,
    url: (w) => `${team(w)}/merchant-binding/merchants`,
    allowed: { status: 200 },
  },
  {
    method: 'POST',
    route: '/teams/:teamId/merchant-binding/requests',
    target: 'miniProgramTeam',
    visibleVia: 'merchant_binding.view',
    needs: 'merchant_binding.manage',
    write: true,
    url: (w) => `${team(w)}/merchant-binding/requests`,
    body: () => ({ merchantId: '0000000000', merchantName: 'Nobody' }),
    allowed: { status: 400, code: 'InvalidParameterValue.InvalidMerchantId' },
  },
  {
    method: 'POST',
    route: '/teams/:teamId/merchant-binding/change-requests',
    target: 'miniProgramTeam',
    visibleVia: 'merchant_binding.view',
    needs: 'merchant_binding.manage',
    write: true,
    url: (w) => `${team(w)}/merchant-binding/change-requests`,
    body: () => ({ merchantId: '0000000000', merchantName: 'Nobody' }),
    allowed: { status: 400, code: 'InvalidParameterValue.InvalidMerchantId' },
  },
  {
    method: 'POST',
    route: '/teams/:teamId/merchant-binding/unbind',
    target: 'miniProgramTeam',
    visibleVia: 'merchant_binding.view',
    needs: 'merchant_binding.manage',
    write: true,
    url: (w) => `${team(w)}/merchant-binding/unbind`,
    body: () => unknownRecord,
    allowed: notFound,
  },
  {
    method: 'POST',
    route: '/superapps/:applicationId/merchant-bindings/unbind',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'approval.decide',
    write: true,
    url: (w) => `${app(w)}/merchant-bindings/unbind`,
    body: () => unknownRecord,
    allowed: notFound,
  },
  {
    method: 'GET',
    route: '/teams/:teamId/payment/mini-programs',
    target: 'miniProgramTeam',
    visibleVia: 'mini_program.view',
    needs: 'mini_program.view',
    write: false,
    url: (w) => `${team(w)}/payment/mini-programs`,
    allowed: { status: 200 },
  },
  {
    method: 'GET',
    route: '/mini-programs/:mnpId/payment',
    target: 'miniProgramTeam',
    visibleVia: 'mini_program.view',
    needs: 'mini_program.view',
    write: false,
    url: (w) => `${mnp(w)}/payment`,
    allowed: { status: 200 },
  },
  // No binding yet: an allowed request stops at "no effective merchant binding".
  {
    method: 'POST',
    route: '/mini-programs/:mnpId/payment/requests',
    target: 'miniProgramTeam',
    visibleVia: 'mini_program.view',
    needs: 'payment_enable.request',
    write: true,
    url: (w) => `${mnp(w)}/payment/requests`,
    body: () => ({ applyNote: 'please' }),
    allowed: notFound,
  },
  {
    method: 'POST',
    route: '/superapps/:applicationId/payment-records/disable',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'approval.decide',
    write: true,
    url: (w) => `${app(w)}/payment-records/disable`,
    body: () => unknownRecord,
    allowed: notFound,
  },
  {
    method: 'GET',
    route: '/superapps/:applicationId/approvals',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'superapp.view',
    write: false,
    url: (w) => `${app(w)}/approvals?approvalStatus=0,10&limit=100`,
    allowed: { status: 200 },
  },
  {
    method: 'POST',
    route: '/superapps/:applicationId/approvals/decide',
    target: 'superapp',
    visibleVia: 'superapp.view',
    needs: 'approval.decide',
    write: true,
    url: (w) => `${app(w)}/approvals/decide`,
    body: () => ({ approvalNo: 'apr_none', approvalType: 10 }),
    allowed: { status: 400, code: 'InvalidParameterValue.InvalidApprovalNo' },
  },
  // Payment never approved: an allowed caller stops at "no payment account".
  {
    method: 'GET',
    route: '/mini-programs/:mnpId/payment-credentials',
    target: 'miniProgramTeam',
    visibleVia: 'mini_program.view',
    needs: 'payment_credentials.manage',
    write: true,
    url: (w) => `${mnp(w)}/payment-credentials`,
    allowed: notFound,
  },
  {
    method: 'POST',
    route: '/mini-programs/:mnpId/payment-credentials/private-key',
    target: 'miniProgramTeam',
    visibleVia: 'mini_program.view',
    needs: 'payment_credentials.manage',
    write: true,
    url: (w) => `${mnp(w)}/payment-credentials/private-key`,
    body: () => ({}),
    allowed: notFound,
  },
  {
    method: 'POST',
    route: '/mini-programs/:mnpId/payment-credentials/reset',
    target: 'miniProgramTeam',
    visibleVia: 'mini_program.view',
    needs: 'payment_credentials.manage',
    write: true,
    url: (w) => `${mnp(w)}/payment-credentials/reset`,
    body: () => ({ mode: 'generate' }),
    allowed: notFound,
  },
  {
    method: 'PUT',
    route: '/mini-programs/:mnpId/payment-credentials/api-v3-key',
    target: 'miniProgramTeam',
    visibleVia: 'mini_program.view',
    needs: 'payment_credentials.manage',
    write: true,
    url: (w) => `${mnp(w)}/payment-credentials/api-v3-key`,
    body: () => ({ apiV3Key: 'abcdefghABCDEFGH12345678abcdefgh' }),
    allowed: notFound,
  },
];

const callers: Caller[] = [
  'super_admin',
  'platform_admin',
  'mp:administrator',
  'mp:member_admin',
  'mp:senior_developer',
  'mp:developer',
  'mp:operator',
  'sa:administrator',
  'sa:member_admin',
  'sa:senior_developer',
  'sa:developer',
  'sa:operator',
  'sa:reviewer',
  'outsider',
];

/** The role keys a caller holds on a target: a mini program team is reached by its own and its superapp team's roles. */
function roleKeysOn(caller: Caller, target: Target): RoleKey[] {
  if (caller === 'outsider') return [];
  if (caller === 'super_admin' || caller === 'platform_admin') return [caller];
  if (caller.startsWith('mp:')) return target === 'miniProgramTeam' ? [caller] : [];
  return [caller];
}

function expected(probe: Probe, caller: Caller): { status: number; code?: string } {
  const keys = roleKeysOn(caller, probe.target);
  if (!levelFor(probe.visibleVia, keys)) return { status: 404, code: 'ResourceNotFound' };
  const level = levelFor(probe.needs, keys);
  if (probe.write ? level !== 'write' : !level) return { status: 403, code: 'UnauthorizedOperation' };
  return probe.allowed;
}

const paymentCapabilities: Capability[] = [
  'payment_config.manage',
  'merchant.view',
  'merchant.manage',
  'merchant_binding.view',
  'merchant_binding.manage',
  'payment_enable.request',
  'payment_credentials.manage',
  'approval.decide',
];
const routes = await discoverConsoleRoutes();
const paymentRoute = /payment-config|\/merchants|merchant-binding|\/payment|approvals|payment-records/;

describe('the payment gate probes', () => {
  it('cover every payment capability of the permission table and every payment console route', () => {
    for (const capability of paymentCapabilities) {
      expect(Object.keys(permissionTable[capability]).length, capability).toBeGreaterThan(0);
      expect(
        probes.some((p) => p.needs === capability),
        `a probe needs ${capability}`,
      ).toBe(true);
    }
    const listed = routes.filter((r) => paymentRoute.test(r.url)).map((r) => `${r.method} ${r.url.replace('/api/v1', '')}`);
    expect(listed.length).toBeGreaterThanOrEqual(probes.length);
    expect(listed.sort()).toEqual(probes.map((p) => `${p.method} ${p.route}`).sort());
  });
});

describeOnEachDatabase('payment console routes × roles (from the permission table)', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  let ids: SetupIds;
  const clients = {} as Record<Caller, ConsoleClient>;

  beforeAll(async () => {
    context = await createTestContext(kind);
    world = await createPaymentWorld(context);
    const outsiderWorld = await createPaymentWorld(context);
    const merchants = await context.services.merchants.search(world.saAdmin, world.applicationId, { offset: 0, limit: 100 });
    ids = { editableMerchantId: merchants.items.at(-1)!.id };
    for (const caller of callers) {
      const user =
        caller === 'outsider'
          ? outsiderWorld.tenant.members['mp:administrator']
          : caller === 'super_admin' || caller === 'platform_admin'
            ? world.adminUsers[caller]
            : world.tenant.members[caller];
      clients[caller] = await signIn(context, user);
    }
  });
  afterAll(() => context?.close());

  for (const probe of probes) {
    describe(`${probe.method} ${probe.route}`, () => {
      for (const caller of callers) {
        const want = expected(probe, caller);
        it(`${caller} → ${want.status}${want.code ? ` ${want.code}` : ''}`, async () => {
          const body = probe.body?.(world, ids);
          const response = await clients[caller].request(probe.method, probe.url(world, ids), body);
          expect(response.statusCode, JSON.stringify(response.body)).toBe(want.status);
          if (want.code) expect(response.body.error.code).toBe(want.code);
        });
      }
    });
  }
});
