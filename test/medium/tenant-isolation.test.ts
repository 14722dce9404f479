import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleClient } from '../helpers/console-client.ts';
import {
  bodySchemaOf,
  consolePrefix,
  discoverConsoleRoutes,
  fillPath,
  queryParametersOf,
  sampleFromSchema,
  type ConsoleRoute,
} from '../helpers/console-routes.ts';
import { systemActor } from '../../src/domain/access.ts';
import {
  actorOf,
  addMiniProgramTeam,
  createPlatform,
  createTenant,
  createUser,
  signIn,
  snapshotDatabase,
  type Tenant,
  type TestUser,
} from '../helpers/factories.ts';
import { insertNotification, insertOrder, insertReconciliationException, insertRefund } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Two tenants (a superapp with its team, two mini program teams on it, their mini programs, users with
 * API keys). Every console route is called by every user of one tenant with the ids of the other:
 * always "not found", nothing changes; and no list ever shows the other tenant's rows. The routes come
 * from the app itself, so a new console route is covered without touching this file — unless it takes
 * an id this file does not know yet, which fails loudly below.
 */

interface TenantWorld {
  tenant: Tenant;
  users: TestUser[];
  apiKeys: { id: string; secretId: string }[];
  clients: ConsoleClient[];
  /** An order, its refund and notification, an export (of a member who is not signed in here), a reconciliation exception. */
  records: {
    orderId: string;
    refundId: string;
    notificationId: string;
    exportId: string;
    exceptionId: string;
    /** A virtual item of the tenant's mini program. */
    productId: string;
    identifiers: string[];
  };
}

/** The other tenant's ids for each kind of route parameter (path or query). */
function idsFor(world: TenantWorld, param: string): string[] | undefined {
  const { tenant } = world;
  switch (param) {
    case 'teamId':
      return tenant.teamIds;
    case 'userId':
      return [tenant.members['mp:administrator'].id, tenant.members['sa:developer'].id];
    case 'applicationId':
      return [tenant.applicationId];
    case 'mnpId':
      return tenant.mnpIds;
    case 'keyId':
      return world.apiKeys.map((key) => key.id);
    case 'orderId':
      return [world.records.orderId];
    case 'refundId':
      return [world.records.refundId];
    case 'notificationId':
      return [world.records.notificationId];
    case 'exportId':
      return [world.records.exportId];
    case 'exceptionId':
      return [world.records.exceptionId];
    case 'productId':
      return [world.records.productId];
    case 'billDate':
      // Not an id: the day the tenant's exception is of, which a caller of the other tenant must not reach either.
      return [reconciledDay];
    default:
      return undefined;
  }
}

/** The business day of each tenant's reconciliation exception. */
const reconciledDay = '2026-01-15';

/** Every string that identifies one of the tenant's rows. */
function identifiersOf(world: TenantWorld): string[] {
  const { tenant } = world;
  return [
    tenant.applicationId,
    ...tenant.teamIds,
    ...tenant.mnpIds,
    ...world.users.flatMap((u) => [u.id, u.account]),
    ...world.apiKeys.flatMap((k) => [k.id, k.secretId]),
    ...world.records.identifiers,
  ];
}

function combinations(route: ConsoleRoute, world: TenantWorld): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const param of route.params) {
    const ids = idsFor(world, param);
    if (!ids)
      throw new Error(`${route.method} ${route.url}: the isolation test has no id of another tenant for :${param}; add it to idsFor()`);
    out = out.flatMap((partial) => ids.map((id) => ({ ...partial, [param]: id })));
  }
  return out;
}

function bodyFor(route: ConsoleRoute): unknown {
  if (route.method !== 'POST' && route.method !== 'PATCH' && route.method !== 'PUT') return undefined;
  const schema = bodySchemaOf(route);
  return schema ? sampleFromSchema(schema) : {};
}

const routes = await discoverConsoleRoutes();
const knownIdParams = new Set([
  'teamId',
  'userId',
  'applicationId',
  'mnpId',
  'keyId',
  'orderId',
  'refundId',
  'notificationId',
  'exportId',
  'exceptionId',
]);

describe('the console route list', () => {
  it('is read from the app (the generated checks are not vacuous)', () => {
    const names = routes.map((r) => `${r.method} ${r.url}`);
    for (const expected of [
      'GET /api/v1/teams/:teamId',
      'PATCH /api/v1/mini-programs/:mnpId',
      'DELETE /api/v1/teams/:teamId/members/:userId',
      'GET /api/v1/audit-log',
    ]) {
      expect(names).toContain(expected);
    }
  });
});

describeOnEachDatabase('tenant isolation (console API)', (kind) => {
  let context: TestContext;
  const worlds = {} as Record<'alpha' | 'beta', TenantWorld>;

  beforeAll(async () => {
    context = await createTestContext(kind);
    await createPlatform(context);
    for (const name of ['alpha', 'beta'] as const) {
      const tenant = await createTenant(context, name);
      const second = await addMiniProgramTeam(context, tenant);
      const users = [...Object.values(tenant.members), second.administrator];
      const apiKeys = [];
      for (const user of [tenant.members['mp:administrator'], tenant.members['sa:administrator']]) {
        const key = await context.services.apiKeys.create(await actorOf(context, user), `${name} key`);
        apiKeys.push({ id: key.id, secretId: key.secretId });
      }
      const clients = [];
      for (const user of users) clients.push(await signIn(context, user));
      const owner = {
        mnpId: tenant.mnpId,
        applicationId: tenant.applicationId,
        miniProgramTeamId: tenant.miniProgramTeamId,
        superappTeamId: tenant.superappTeamId,
      };
      const order = await insertOrder(context.database.db, owner, { createdAt: context.clock.nowMs() - 60_000, tradeState: 'REFUND' });
      const refund = await insertRefund(context.database.db, order, { createdAt: context.clock.nowMs() - 30_000, amount: 10 });
      const notification = await insertNotification(context.database.db, { type: 'order', id: order.id }, owner, order.created_at);
      const exporter = await createUser(context);
      await context.services.teams.addMember(systemActor(), tenant.miniProgramTeamId, { account: exporter.account, role: 'operator' });
      const exported = await context.services.exports.create(await actorOf(context, exporter), {
        kind: 'orders',
        format: 'csv',
        query: {},
      });
      const exception = await insertReconciliationException(context.database.db, owner, {
        billDate: reconciledDay,
        outTradeNo: `REC-${name}-${order.out_trade_no}`,
        at: context.clock.nowMs(),
      });
      const item = await context.services.virtualItems.create(await actorOf(context, tenant.members['mp:administrator']), tenant.mnpId, {
        productId: `item_${name}`,
        name: `Item of ${name}`,
        price: 600,
        currency: 'CNY',
      });
      // The record numbers (not the small integer ids) are what a leaked row would show.
      const identifiers = [
        order.out_trade_no,
        exception.out_trade_no,
        order.prepay_id,
        refund.out_refund_no,
        refund.refund_id,
        exported.id,
        item.productId,
        ...(order.transaction_id ? [order.transaction_id] : []),
      ];
      const records = {
        orderId: String(order.id),
        refundId: String(refund.id),
        notificationId: String(notification.id),
        exportId: exported.id,
        exceptionId: String(exception.id),
        productId: item.productId,
        identifiers,
      };
      worlds[name] = { tenant, users, apiKeys, clients, records };
    }
  });
  afterAll(() => context?.close());

  for (const [callerSide, otherSide] of [
    ['alpha', 'beta'],
    ['beta', 'alpha'],
  ] as const) {
    describe(`${callerSide}'s users with ${otherSide}'s ids: 404 ResourceNotFound, nothing changes`, () => {
      for (const route of routes) {
        const queryIdNames = queryParametersOf(route)
          .map((p) => p.name)
          .filter((name) => knownIdParams.has(name));
        if (route.params.length === 0 && queryIdNames.length === 0) continue;
        it(`${route.method} ${route.url}${queryIdNames.length ? ` ?${queryIdNames.join('&')}` : ''}`, async () => {
          const caller = worlds[callerSide];
          const other = worlds[otherSide];
          const urls: string[] = [];
          if (route.params.length > 0) {
            for (const ids of combinations(route, other)) urls.push(fillPath(route, (param) => ids[param]));
          } else {
            // Query-string ids (e.g. the audit log's teamId) on an otherwise reachable URL.
            for (const name of queryIdNames)
              for (const id of idsFor(other, name)!) urls.push(`${route.url}?${name}=${encodeURIComponent(id)}`);
          }
          const before = await snapshotDatabase(context.database.db);
          const failures: string[] = [];
          for (const url of urls) {
            // Every user of the tenant at once: a leak must not depend on who asks first.
            const responses = await Promise.all(
              caller.clients.map((client) => client.request(route.method as 'GET', url.slice(consolePrefix.length), bodyFor(route))),
            );
            responses.forEach((response, index) => {
              if (response.statusCode !== 404 || response.body?.error?.code !== 'ResourceNotFound') {
                failures.push(
                  `${caller.users[index]!.account}: ${route.method} ${url} → ` +
                    `${response.statusCode} ${JSON.stringify(response.body).slice(0, 200)}`,
                );
              }
            });
          }
          expect(failures).toEqual([]);
          expect(await snapshotDatabase(context.database.db)).toEqual(before);
        });
      }
    });

    describe(`${callerSide}'s users never see ${otherSide}'s rows`, () => {
      for (const route of routes.filter((r) => r.method === 'GET')) {
        it(`GET ${route.url}`, async () => {
          const caller = worlds[callerSide];
          const forbidden = identifiersOf(worlds[otherSide]);
          const urls =
            route.params.length === 0 ? [route.url] : combinations(route, caller).map((ids) => fillPath(route, (param) => ids[param]));
          const leaks: string[] = [];
          for (const url of urls) {
            // The first alone (it may warm a lazily built resource, like the platform key), the rest at once.
            const [firstClient, ...others] = caller.clients;
            const responses = [
              await firstClient!.get(url.slice(consolePrefix.length)),
              ...(await Promise.all(others.map((client) => client.get(url.slice(consolePrefix.length))))),
            ];
            responses.forEach((response, index) => {
              const text = JSON.stringify(response.body);
              for (const id of forbidden) if (text.includes(id)) leaks.push(`${caller.users[index]!.account}: ${url} shows ${id}`);
            });
          }
          expect(leaks).toEqual([]);
        });
      }

      it('while the lists do show the caller its own tenant', async () => {
        const caller = worlds[callerSide];
        const own = identifiersOf(caller);
        for (const [index, client] of caller.clients.entries()) {
          const teams = JSON.stringify((await client.get('/teams')).body);
          expect(
            own.some((id) => teams.includes(id)),
            `${caller.users[index]!.account} sees its teams`,
          ).toBe(true);
        }
      });
    });
  }
});
