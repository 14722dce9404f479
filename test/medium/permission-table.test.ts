import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilities, permissionTable, type Capability, type RoleKey } from '../../src/domain/permissions.ts';
import {
  expectedLevel,
  presetRoleKeys,
  specCapabilities,
  type ExpectedLevel,
  type PresetRoleKey,
} from '../fixtures/spec-permission-table.ts';
import type { ConsoleClient, ConsoleResponse } from '../helpers/console-client.ts';
import { createPlatform, createTenant, createUser, signIn, type Tenant, type TestUser } from '../helpers/factories.ts';
import { insertOrder, insertReconciliationException, insertRefund } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

// Part 1: the data. Every cell of src/domain/permissions.ts equals the SPEC transcription.
describe('permission table (src/domain/permissions.ts) against SPEC §1.1 / §7', () => {
  it('names exactly the capabilities the SPEC transcription covers', () => {
    expect([...capabilities].sort()).toEqual(specCapabilities);
  });

  it('uses only preset role keys', () => {
    for (const capability of capabilities) {
      for (const key of Object.keys(permissionTable[capability])) expect(presetRoleKeys).toContain(key);
    }
  });

  for (const capability of specCapabilities) {
    for (const roleKey of presetRoleKeys) {
      const expected = expectedLevel(capability, roleKey);
      it(`${capability} × ${roleKey} is ${expected}`, () => {
        const row = permissionTable[capability as Capability] as Partial<Record<RoleKey, 'read' | 'write'>> | undefined;
        expect(row, `capability ${capability} is missing from the table`).toBeDefined();
        expect(row![roleKey] ?? 'none').toBe(expected);
      });
    }
  }
});

// Part 2: the behaviour. For each capability that has console routes now, every preset role (and a
// member of another tenant) calls the real routes; the expected answer comes from the SPEC transcription.

type Caller = PresetRoleKey | 'outsider';
const callers: readonly Caller[] = [...presetRoleKeys, 'outsider'];
type TargetTeam = 'miniProgramTeam' | 'superappTeam';

interface World {
  context: TestContext;
  tenant: Tenant;
  other: Tenant;
  clients: Record<Caller, ConsoleClient>;
  users: Record<Caller, TestUser>;
  superAdmin: ConsoleClient;
}

/** The role key a caller holds on a target of the tenant (admins hold theirs everywhere). */
function roleKeyOn(caller: Caller, target: TargetTeam | 'superapp' | 'platform'): PresetRoleKey | undefined {
  if (caller === 'super_admin' || caller === 'platform_admin') return caller;
  if (caller === 'outsider' || target === 'platform') return undefined;
  // A mini program team is reached by its own roles and by the roles of its superapp's team.
  if (target === 'miniProgramTeam') return caller;
  return caller.startsWith('sa:') ? caller : undefined;
}

function levelOn(capability: string, caller: Caller, target: TargetTeam | 'superapp' | 'platform'): ExpectedLevel {
  return expectedLevel(capability, roleKeyOn(caller, target));
}

/** Teams a caller's cell is checked on: its own side's team; admins and outsiders on both. */
function teamsOf(caller: Caller, includeMiniProgramTeamForSuperappRoles: boolean): TargetTeam[] {
  if (caller.startsWith('mp:')) return ['miniProgramTeam'];
  if (caller.startsWith('sa:')) return includeMiniProgramTeamForSuperappRoles ? ['superappTeam', 'miniProgramTeam'] : ['superappTeam'];
  return ['miniProgramTeam', 'superappTeam'];
}

const teamIdOf = (world: World, target: TargetTeam) =>
  target === 'miniProgramTeam' ? world.tenant.miniProgramTeamId : world.tenant.superappTeamId;

function expectStatus(response: ConsoleResponse<any>, status: number, what: string) {
  expect(response.statusCode, `${what}: ${JSON.stringify(response.body)}`).toBe(status);
  if (status === 403) expect(response.body.error.code).toBe('UnauthorizedOperation');
  if (status === 404) expect(response.body.error.code).toBe('ResourceNotFound');
}

/** A mutation's answer: success with write, 403 where the thing is visible, 404 where it is not. */
function mutationStatus(level: ExpectedLevel, visible: ExpectedLevel, success: number): number {
  if (level === 'write') return success;
  return visible === 'none' ? 404 : 403;
}

interface Probe {
  capability: Capability;
  check(world: World, caller: Caller): Promise<void>;
}

const probes: Probe[] = [
  {
    capability: 'team.view',
    async check(world, caller) {
      for (const target of teamsOf(caller, true)) {
        const teamId = teamIdOf(world, target);
        const level = levelOn('team.view', caller, target);
        const client = world.clients[caller];
        const team = await client.get(`/teams/${teamId}`);
        expectStatus(team, level === 'none' ? 404 : 200, `GET team (${target})`);
        const members = await client.get(`/teams/${teamId}/members`);
        expectStatus(members, level === 'none' ? 404 : 200, `GET members (${target})`);
        const list = await client.get('/teams');
        expect(list.statusCode).toBe(200);
        expect(
          list.body.items.some((t: { id: string }) => t.id === teamId),
          `team list includes ${target}`,
        ).toBe(level !== 'none');
      }
    },
  },
  {
    capability: 'team.members.manage',
    async check(world, caller) {
      for (const target of teamsOf(caller, false)) {
        const teamId = teamIdOf(world, target);
        const level = levelOn('team.members.manage', caller, target);
        const visible = levelOn('team.view', caller, target);
        const client = world.clients[caller];
        const newcomer = await createUser(world.context);
        const added = await client.post(`/teams/${teamId}/members`, { account: newcomer.account, role: 'developer' });
        expectStatus(added, mutationStatus(level, visible, 201), `add member (${target})`);
        const existing = target === 'miniProgramTeam' ? world.tenant.members['mp:operator'] : world.tenant.members['sa:operator'];
        const subject = level === 'write' ? newcomer : existing;
        const changed = await client.patch(`/teams/${teamId}/members/${subject.id}`, { role: 'senior_developer' });
        expectStatus(changed, mutationStatus(level, visible, 200), `change role (${target})`);
        const removed = await client.delete(`/teams/${teamId}/members/${subject.id}`);
        expectStatus(removed, mutationStatus(level, visible, 204), `remove member (${target})`);
        const after = (await world.superAdmin.get(`/teams/${teamId}/members`)).body.items as { userId: string; role: string }[];
        expect(
          after.some((m) => m.userId === newcomer.id),
          'the newcomer is not a member afterwards',
        ).toBe(false);
        expect(after.find((m) => m.userId === existing.id)?.role, 'the operator keeps its role').toBe('operator');
      }
    },
  },
  {
    capability: 'team.manage',
    async check(world, caller) {
      for (const target of teamsOf(caller, true)) {
        const teamId = teamIdOf(world, target);
        const level = levelOn('team.manage', caller, target);
        const before = (await world.superAdmin.get(`/teams/${teamId}`)).body.name as string;
        const name = `renamed by ${caller} ${Math.random().toString(36).slice(2, 6)}`;
        const response = await world.clients[caller].patch(`/teams/${teamId}`, { name });
        expectStatus(response, mutationStatus(level, levelOn('team.view', caller, target), 200), `rename team (${target})`);
        const after = (await world.superAdmin.get(`/teams/${teamId}`)).body.name as string;
        expect(after).toBe(level === 'write' ? name : before);
      }
    },
  },
  {
    capability: 'team.create',
    async check(world, caller) {
      const level = levelOn('team.create', caller, 'platform');
      const administrator = await createUser(world.context);
      const client = world.clients[caller];
      const team = await client.post('/teams', {
        kind: 'miniprogram',
        name: `team by ${caller}`,
        superappId: world.tenant.applicationId,
        administratorUserId: administrator.id,
      });
      expectStatus(team, mutationStatus(level, level, 201), 'create team');
      const superapp = await client.post('/superapps', { teamId: world.tenant.superappTeamId, name: `superapp by ${caller}` });
      expectStatus(superapp, mutationStatus(level, level, 201), 'create superapp');
    },
  },
  {
    capability: 'platform.users.manage',
    async check(world, caller) {
      const level = levelOn('platform.users.manage', caller, 'platform');
      const client = world.clients[caller];
      expectStatus(await client.get('/users'), level === 'none' ? 404 : 200, 'list users');
      const account = `created-by-${caller.replace(':', '-')}-${Math.random().toString(36).slice(2, 6)}`;
      const created = await client.post('/users', {
        account,
        displayName: 'New member',
        password: 'a long enough password',
        platformRole: 'member',
      });
      expectStatus(created, mutationStatus(level, level, 201), 'create user');
      const subject = await createUser(world.context);
      const disabled = await client.patch(`/users/${subject.id}`, { status: 'disabled' });
      expectStatus(disabled, mutationStatus(level, level, 200), 'disable user');
      const users = (await world.superAdmin.get(`/users?search=${subject.account}`)).body.items as { id: string; status: string }[];
      expect(users.find((u) => u.id === subject.id)?.status).toBe(level === 'write' ? 'disabled' : 'active');
    },
  },
  {
    capability: 'superapp.view',
    async check(world, caller) {
      const level = levelOn('superapp.view', caller, 'superapp');
      const client = world.clients[caller];
      expectStatus(await client.get(`/superapps/${world.tenant.applicationId}`), level === 'none' ? 404 : 200, 'GET superapp');
      const list = await client.get('/superapps');
      expect(list.statusCode).toBe(200);
      expect(list.body.items.some((s: { applicationId: string }) => s.applicationId === world.tenant.applicationId)).toBe(level !== 'none');
    },
  },
  {
    capability: 'superapp.manage',
    async check(world, caller) {
      const level = levelOn('superapp.manage', caller, 'superapp');
      const url = `/superapps/${world.tenant.applicationId}`;
      const before = (await world.superAdmin.get(url)).body.description as string;
      const description = `edited by ${caller} ${Math.random().toString(36).slice(2, 6)}`;
      const response = await world.clients[caller].patch(url, { description });
      expectStatus(response, mutationStatus(level, levelOn('superapp.view', caller, 'superapp'), 200), 'edit superapp');
      expect((await world.superAdmin.get(url)).body.description).toBe(level === 'write' ? description : before);
    },
  },
  {
    capability: 'mini_program.view',
    async check(world, caller) {
      const level = levelOn('mini_program.view', caller, 'miniProgramTeam');
      const response = await world.clients[caller].get(`/teams/${world.tenant.miniProgramTeamId}/mini-programs`);
      expectStatus(response, level === 'none' ? 404 : 200, 'list mini programs');
      if (level !== 'none') expect(response.body.items.map((m: { mnpId: string }) => m.mnpId)).toContain(world.tenant.mnpId);
    },
  },
  {
    capability: 'mini_program.manage',
    async check(world, caller) {
      const level = levelOn('mini_program.manage', caller, 'miniProgramTeam');
      const expected = (success: number) => mutationStatus(level, levelOn('mini_program.view', caller, 'miniProgramTeam'), success);
      const client = world.clients[caller];
      const teamId = world.tenant.miniProgramTeamId;
      const countBefore = (await world.superAdmin.get(`/teams/${teamId}/mini-programs`)).body.items.length as number;
      expectStatus(await client.post(`/teams/${teamId}/mini-programs`, { name: `by ${caller}` }), expected(201), 'register mini program');
      const category = `category by ${caller}`;
      expectStatus(await client.patch(`/mini-programs/${world.tenant.mnpId}`, { category }), expected(200), 'edit mini program');
      const after = (await world.superAdmin.get(`/teams/${teamId}/mini-programs`)).body.items as { mnpId: string; category: string }[];
      expect(after.length).toBe(countBefore + (level === 'write' ? 1 : 0));
      if (level !== 'write') expect(after.find((m) => m.mnpId === world.tenant.mnpId)?.category).not.toBe(category);
    },
  },
  {
    capability: 'audit.view',
    async check(world, caller) {
      const client = world.clients[caller];
      for (const target of teamsOf(caller, false)) {
        const teamId = teamIdOf(world, target);
        const level = levelOn('audit.view', caller, target);
        const response = await client.get(`/audit-log?teamId=${teamId}`);
        expectStatus(response, level === 'none' ? 404 : 200, `audit log of ${target}`);
        if (level !== 'none') {
          expect(response.body.items.length, 'the team has entries').toBeGreaterThan(0);
          expect(response.body.items.every((entry: { teamId: string }) => entry.teamId === teamId)).toBe(true);
        }
      }
      // Unfiltered: only entries of teams the caller's roles reach with audit.view.
      const all = await client.get('/audit-log?limit=200');
      if (all.statusCode === 200) {
        for (const entry of all.body.items as { teamId: string | null }[]) {
          if (caller === 'super_admin' || caller === 'platform_admin') continue;
          const target: TargetTeam | undefined =
            entry.teamId === world.tenant.miniProgramTeamId
              ? 'miniProgramTeam'
              : entry.teamId === world.tenant.superappTeamId
                ? 'superappTeam'
                : undefined;
          if (target) expect(levelOn('audit.view', caller, target), `entry of ${target} shown to ${caller}`).not.toBe('none');
          else expect(caller, `an entry of another tenant (${entry.teamId}) shown`).toBe('outsider');
        }
      } else {
        expectStatus(all, 404, 'unfiltered audit log');
        expect(teamsOf(caller, false).every((target) => levelOn('audit.view', caller, target) === 'none')).toBe(true);
      }
    },
  },
  {
    // SPEC §7 "ABNORMAL refunds": "Settle by hand" in the After-sales record drawer.
    capability: 'refund.settle',
    async check(world, caller) {
      const level = levelOn('refund.settle', caller, 'miniProgramTeam');
      const visible = levelOn('refund.view', caller, 'miniProgramTeam');
      const owner = {
        mnpId: world.tenant.mnpId,
        applicationId: world.tenant.applicationId,
        miniProgramTeamId: world.tenant.miniProgramTeamId,
        superappTeamId: world.tenant.superappTeamId,
      };
      const db = world.context.database.db;
      const now = world.context.clock.nowMs();
      const order = await insertOrder(db, owner, { createdAt: now - 120_000, tradeState: 'REFUND', refundSucceeded: 0 });
      const refund = await insertRefund(db, order, { createdAt: now - 60_000, amount: 10, status: 'ABNORMAL' });
      const client = world.clients[caller];
      if (visible !== 'none') expectStatus(await client.get(`/refunds/${refund.id}`), 200, 'the refund is visible');
      const settled = await client.post(`/refunds/${refund.id}/settle`, { status: 'SUCCESS', note: `checked by ${caller}` });
      expectStatus(settled, mutationStatus(level, visible, 200), 'settle by hand');
      const after = (await world.superAdmin.get(`/refunds/${refund.id}`)).body.refund as { status: string; settledBy: string | null };
      expect(after).toMatchObject(
        level === 'write' ? { status: 'SUCCESS', settledBy: world.users[caller].account } : { status: 'ABNORMAL', settledBy: null },
      );
    },
  },
  {
    // SPEC §9.5: Resolve in Records → Reconciliation, on an exception of the tenant's mini program.
    capability: 'reconciliation.resolve',
    async check(world, caller) {
      const level = levelOn('reconciliation.resolve', caller, 'superappTeam');
      // Seen by the superapp's roles, and by the mini program's own roles (a mini program team is reached by both).
      const visible = levelOn('reconciliation.view', caller, 'miniProgramTeam');
      const db = world.context.database.db;
      const now = world.context.clock.nowMs();
      const { id } = await insertReconciliationException(
        db,
        { applicationId: world.tenant.applicationId, mnpId: world.tenant.mnpId },
        { billDate: '2026-01-15', outTradeNo: `RP-${caller}`, at: now },
      );
      const resolved = await world.clients[caller].post(
        `/superapps/${world.tenant.applicationId}/reconciliation/exceptions/${id}/resolve`,
        { note: `checked by ${caller}` },
      );
      expectStatus(resolved, mutationStatus(level, visible, 200), 'resolve an exception');
      const after = await db
        .selectFrom('reconciliation_exceptions')
        .select(['status', 'resolved_by'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(after).toEqual(
        level === 'write' ? { status: 'RESOLVED', resolved_by: world.users[caller].account } : { status: 'OPEN', resolved_by: null },
      );
    },
  },
];

/** A view capability of virtual payment setup (SPEC §8.1): the mini program's page answers 200 where the cell is not none. */
function virtualViewProbe(capability: Capability, path: string): Probe {
  return {
    capability,
    async check(world, caller) {
      const level = levelOn(capability, caller, 'miniProgramTeam');
      const response = await world.clients[caller].get(`/mini-programs/${world.tenant.mnpId}${path}`);
      expectStatus(response, level === 'none' ? 404 : 200, `GET ${path}`);
    },
  };
}

let virtualProbeSequence = 0;
const virtualProbes: Probe[] = [
  virtualViewProbe('virtual_item.view', '/virtual-items'),
  virtualViewProbe('item_exemption.view', '/item-exemption'),
  virtualViewProbe('virtual_delivery.view', '/virtual-payment/config'),
  {
    capability: 'virtual_item.edit',
    async check(world, caller) {
      const level = levelOn('virtual_item.edit', caller, 'miniProgramTeam');
      const visible = levelOn('virtual_item.view', caller, 'miniProgramTeam');
      const path = `/mini-programs/${world.tenant.mnpId}/virtual-items`;
      const countBefore = (await world.superAdmin.get(path)).body.items.length as number;
      virtualProbeSequence += 1;
      const productId = `probe_${virtualProbeSequence}`;
      const created = await world.clients[caller].post(path, { productId, name: `by ${caller}`, price: 100 });
      expectStatus(created, mutationStatus(level, visible, 201), 'save an item');
      expect((await world.superAdmin.get(path)).body.items.length).toBe(countBefore + (level === 'write' ? 1 : 0));
    },
  },
  {
    capability: 'item_exemption.request',
    async check(world, caller) {
      const level = levelOn('item_exemption.request', caller, 'miniProgramTeam');
      const visible = levelOn('item_exemption.view', caller, 'miniProgramTeam');
      const path = `/mini-programs/${world.tenant.mnpId}/item-exemption`;
      const current = async () => (await world.superAdmin.get(path)).body as { status: number; approvalNo: string | null };
      // The superapp rejects a pending request (one left by an earlier call), so each call starts with none pending.
      const rejectPending = async () => {
        const { status, approvalNo } = await current();
        if (status !== 0) return;
        const rejected = await world.clients['sa:administrator'].post(`/superapps/${world.tenant.applicationId}/approvals/decide`, {
          approvalNo,
          approvalType: 20,
          approvalNote: 'probe',
        });
        expectStatus(rejected, 200, 'reject the pending request');
      };
      await rejectPending();
      const requested = await world.clients[caller].post(`${path}/requests`, { applyNote: `by ${caller}` });
      expectStatus(requested, mutationStatus(level, visible, 201), 'request the exemption');
      expect((await current()).status === 0, 'pending exactly after an allowed request').toBe(level === 'write');
      await rejectPending();
    },
  },
  {
    capability: 'virtual_delivery.manage',
    async check(world, caller) {
      const level = levelOn('virtual_delivery.manage', caller, 'miniProgramTeam');
      const visible = levelOn('virtual_delivery.view', caller, 'miniProgramTeam');
      const base = `/mini-programs/${world.tenant.mnpId}/virtual-payment`;
      virtualProbeSequence += 1;
      const deliveryUrl = `https://shop.example/deliver/${virtualProbeSequence}`;
      const response = await world.clients[caller].request('PUT', `${base}/delivery-url`, { deliveryUrl });
      expectStatus(response, mutationStatus(level, visible, 200), 'set the delivery URL');
      const after = (await world.superAdmin.get(`${base}/config`)).body.deliveryUrl as string | null;
      if (level === 'write') expect(after).toBe(deliveryUrl);
      else expect(after).not.toBe(deliveryUrl);
    },
  },
];
probes.push(...virtualProbes);

describeOnEachDatabase('permission table behaviour (console API)', (kind) => {
  const world = {} as World;
  beforeAll(async () => {
    world.context = await createTestContext(kind);
    const platform = await createPlatform(world.context);
    world.tenant = await createTenant(world.context, 'alpha');
    world.other = await createTenant(world.context, 'beta');
    world.users = {
      super_admin: platform.superAdmin,
      platform_admin: platform.platformAdmin,
      ...world.tenant.members,
      outsider: world.other.members['mp:administrator'],
    };
    world.clients = {} as Record<Caller, ConsoleClient>;
    for (const caller of callers) world.clients[caller] = await signIn(world.context, world.users[caller]);
    world.superAdmin = world.clients.super_admin;
  });
  afterAll(() => world.context?.close());

  for (const probe of probes) {
    describe(probe.capability, () => {
      for (const caller of callers) {
        const cell = caller === 'outsider' ? 'none: a member of another tenant' : expectedLevel(probe.capability, caller);
        it(`${caller} (${cell})`, () => probe.check(world, caller));
      }
    });
  }

  // What the console shows (the session's capability maps) is the same table the routes enforce.
  describe("the session's capability map", () => {
    for (const caller of callers.filter((c) => c !== 'outsider')) {
      it(`${caller}: every capability on its teams and platform-wide`, async () => {
        const session = (await world.clients[caller].get('/session')).body as {
          capabilities: Record<string, string>;
          teams: { id: string; capabilities: Record<string, string> }[];
        };
        for (const target of teamsOf(caller, false)) {
          const team = session.teams.find((t) => t.id === teamIdOf(world, target));
          expect(team, `${target} in the session`).toBeDefined();
          for (const capability of specCapabilities) {
            expect(team!.capabilities[capability] ?? 'none', `${capability} on ${target}`).toBe(levelOn(capability, caller, target));
          }
        }
        for (const capability of specCapabilities) {
          expect(session.capabilities[capability] ?? 'none', `${capability} platform-wide`).toBe(levelOn(capability, caller, 'platform'));
        }
      });
    }
  });

  it('a superapp role does not manage the members of mini program teams on its superapp', async () => {
    const superappAdministratorSession = (await world.clients['sa:administrator'].get('/session')).body as {
      teams: { id: string; capabilities: Record<string, string> }[];
    };
    const miniProgramTeam = superappAdministratorSession.teams.find((t) => t.id === world.tenant.miniProgramTeamId);
    expect(miniProgramTeam?.capabilities['team.view']).toBe('read');
    expect(miniProgramTeam?.capabilities['team.members.manage']).toBeUndefined();
    const newcomer = await createUser(world.context);
    for (const caller of ['sa:administrator', 'sa:member_admin'] as const) {
      const response = await world.clients[caller].post(`/teams/${world.tenant.miniProgramTeamId}/members`, {
        account: newcomer.account,
        role: 'developer',
      });
      expectStatus(response, 403, `${caller} adds to the mini program team`);
      const removal = await world.clients[caller].delete(
        `/teams/${world.tenant.miniProgramTeamId}/members/${world.tenant.members['mp:developer'].id}`,
      );
      expectStatus(removal, 403, `${caller} removes from the mini program team`);
    }
  });
});

// Part 3: the behaviour tests above are sensitive to every cell they cover. Each cell of the code's
// table is changed in turn (in memory, restored after) and the generated check for it must then fail.
const viewCapabilities = new Set<Capability>([
  'team.view',
  'superapp.view',
  'mini_program.view',
  'audit.view',
  'virtual_item.view',
  'item_exemption.view',
  'virtual_delivery.view',
]);
const platformScoped = new Set<Capability>(['team.create', 'platform.users.manage']);
const superappScoped = new Set<Capability>(['superapp.view', 'superapp.manage', 'reconciliation.resolve']);
// A thing a role cannot see stays "not found" to it whatever its cell for acting on that thing says.
const seenThrough: Partial<Record<Capability, Capability>> = {
  'refund.settle': 'refund.view',
  'reconciliation.resolve': 'reconciliation.view',
  'virtual_item.edit': 'virtual_item.view',
  'item_exemption.request': 'item_exemption.view',
  'virtual_delivery.manage': 'virtual_delivery.view',
};

describe('the behaviour tests fail when a single cell of the enforced table changes [sqlite]', () => {
  const world = {} as World;
  beforeAll(async () => {
    world.context = await createTestContext('sqlite');
    const platform = await createPlatform(world.context);
    world.tenant = await createTenant(world.context, 'gamma');
    world.other = await createTenant(world.context, 'delta');
    world.users = {
      super_admin: platform.superAdmin,
      platform_admin: platform.platformAdmin,
      ...world.tenant.members,
      outsider: world.other.members['mp:administrator'],
    };
    world.clients = {} as Record<Caller, ConsoleClient>;
    for (const caller of callers) world.clients[caller] = await signIn(world.context, world.users[caller]);
    world.superAdmin = world.clients.super_admin;
  });
  afterAll(() => world.context?.close());

  for (const probe of probes) {
    for (const roleKey of presetRoleKeys) {
      // Platform-wide capabilities have no team in scope, superapp ones only the superapp's team: a
      // team role's cell there can never apply (it stays '–', which part 1 checks).
      const inert =
        (platformScoped.has(probe.capability) && roleKey.includes(':')) ||
        (superappScoped.has(probe.capability) && roleKey.startsWith('mp:')) ||
        (seenThrough[probe.capability] !== undefined && expectedLevel(seenThrough[probe.capability]!, roleKey) === 'none');
      if (inert) continue;
      const current = expectedLevel(probe.capability, roleKey);
      // A change that the routes can show: on a view capability read and write look alike, on a
      // mutation none and read do (the thing stays visible through its view capability).
      const changed: ExpectedLevel =
        current === 'write' ? 'none' : current === 'none' ? 'write' : viewCapabilities.has(probe.capability) ? 'none' : 'write';
      it(`${probe.capability} × ${roleKey}: ${current} → ${changed} is noticed`, async () => {
        const row = permissionTable[probe.capability] as Partial<Record<RoleKey, 'read' | 'write'>>;
        const original = row[roleKey];
        if (changed === 'none') delete row[roleKey];
        else row[roleKey] = changed;
        try {
          await expect(probe.check(world, roleKey)).rejects.toThrow();
        } finally {
          if (original === undefined) delete row[roleKey];
          else row[roleKey] = original;
        }
        await probe.check(world, roleKey);
      });
    }
  }
});
