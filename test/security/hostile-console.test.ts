import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleClient } from '../helpers/console-client.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';
import {
  allIds,
  bodySchema,
  createHostileWorld,
  describeHostile,
  discoverAppRoutes,
  expectHostileRequestHandled,
  expectRefusalsWithinBudget,
  fillUrl,
  forgetBaseline,
  hostileHeaderValue,
  hostileId,
  hostileJsonBody,
  hostileQuery,
  hostileSeed,
  paramNames,
  propertyParameters,
  refusalBudgetFor,
  sampleBody,
  type AppRoute,
  type HostileWorld,
} from './hostile-input.ts';

/**
 * Hostile input on the console API: every /api/v1 route, read from the app, with
 * hostile ids, queries and bodies — without a session, with a session but a missing or wrong CSRF
 * token (both refused, nothing changes), and signed in as the super admin with the CSRF token (never a
 * 5xx; a refusal is {error: {code, message}} and changes nothing).
 * PAYTHROUGH_FULL_RELIABILITY=1 runs ten times as many cases; PAYTHROUGH_HOSTILE_SEED replays a seed.
 */

const routes = (await discoverAppRoutes()).filter((route) => route.surface === 'console');

const keyOf = (route: AppRoute) => `${route.method} ${route.url}`;
const changesState = (route: AppRoute) => route.method !== 'GET';
/** Routes a caller without a session may use (signing in; reading whether one is signed in). */
const publicRoutes = new Set(['POST /api/v1/session', 'GET /api/v1/session', 'DELETE /api/v1/session']);

describe('hostile console input: generators', () => {
  it(`cover every console route (seed ${hostileSeed})`, () => {
    expect(routes.length).toBeGreaterThan(40);
    // A route that takes a body must say what it takes (the generators start from its schema).
    for (const route of routes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method))) {
      const documented = bodySchema(route) !== undefined || route.operation !== undefined;
      expect(documented, `no schema to generate hostile bodies for ${keyOf(route)}`).toBe(true);
    }
  });
});

describeHostile('hostile console input', (kind) => {
  let context: TestContext;
  let world: HostileWorld;
  let session: ConsoleClient;

  beforeAll(async () => {
    context = await createTestContext(kind);
    world = await createHostileWorld(context);
  });
  afterAll(() => context?.close());
  beforeEach(() => context && forgetBaseline(context));

  const base = kind === 'sqlite' ? 1 : 1;
  const signIn = async () => {
    session = await ConsoleClient.signIn(context.app, world.manifest.superAdmin.account, world.manifest.superAdmin.password);
    forgetBaseline(context);
  };

  const idsFor = (name: string): string[] => {
    const { ids } = world;
    const byName: Record<string, string[]> = {
      applicationId: ids.applicationIds,
      teamId: ids.teamIds,
      mnpId: ids.mnpIds,
      userId: ids.userIds,
      orderId: ids.orderIds,
      refundId: ids.refundIds,
    };
    return byName[name] ?? allIds(world);
  };

  const hostileRequest = (route: AppRoute) =>
    fc.record({
      params: fc.record(Object.fromEntries(paramNames(route.url).map((name) => [name, hostileId(idsFor(name))]))),
      query: fc.oneof(fc.constant(''), hostileQuery),
      body: changesState(route) ? hostileJsonBody(sampleBody(bodySchema(route))) : fc.constant(undefined),
      extraHeader: fc.option(
        fc.tuple(fc.constantFrom('cookie', 'x-csrf-token', 'origin', 'x-forwarded-for', 'accept-language'), hostileHeaderValue),
      ),
    });

  const requestOf = (
    route: AppRoute,
    generated: {
      params: Record<string, string>;
      query: string;
      body?: { payload: string; contentType: string | undefined } | undefined;
      extraHeader: [string, string] | null;
    },
    auth: Record<string, string>,
  ) => {
    const headers: Record<string, string> = { ...auth };
    if (generated.extraHeader && !(generated.extraHeader[0] in headers)) headers[generated.extraHeader[0]] = generated.extraHeader[1];
    if (generated.body?.contentType) headers['content-type'] = generated.body.contentType;
    return {
      method: route.method,
      url: fillUrl(route.url, generated.params) + generated.query,
      headers,
      ...(generated.body ? { payload: generated.body.payload } : {}),
    };
  };

  for (const route of routes) {
    describe(keyOf(route), () => {
      if (!publicRoutes.has(keyOf(route))) {
        it('without a session: refused, nothing changes', async () => {
          await fc.assert(
            fc.asyncProperty(hostileRequest(route), async (generated) => {
              const response = await expectHostileRequestHandled(context, 'console', requestOf(route, generated, {}), {
                mayAccept: false,
                what: 'no session',
              });
              expect([400, 401, 403, 404, 413, 415]).toContain(response.statusCode);
            }),
            propertyParameters(base),
          );
        });
      }

      if (changesState(route) && !publicRoutes.has(keyOf(route))) {
        it('with a session but a missing or wrong CSRF token: refused, nothing changes', async () => {
          await signIn();
          await fc.assert(
            fc.asyncProperty(hostileRequest(route), fc.option(hostileHeaderValue), async (generated, csrf) => {
              const auth: Record<string, string> = { cookie: session.cookieHeader, ...(csrf === null ? {} : { 'x-csrf-token': csrf }) };
              await expectHostileRequestHandled(context, 'console', requestOf(route, { ...generated, extraHeader: null }, auth), {
                mayAccept: false,
                what: 'bad CSRF',
              });
            }),
            propertyParameters(base),
          );
        });
      }

      it('signed in with the CSRF token: never a 5xx, a refusal changes nothing', async () => {
        await signIn();
        await fc.assert(
          fc.asyncProperty(hostileRequest(route), async (generated) => {
            const auth = { cookie: session.cookieHeader, 'x-csrf-token': session.csrfToken };
            await expectHostileRequestHandled(context, 'console', requestOf(route, { ...generated, extraHeader: null }, auth), {
              mayAccept: true,
              what: `signed in (${generated.body?.kind ?? 'no body'})`,
            });
          }),
          propertyParameters(base * 2),
        );
      });
    });
  }

  it(`every refusal was timed: p99 server CPU ≤ ${refusalBudgetFor(kind)} ms per surface (SPEC §7)`, () => {
    expectRefusalsWithinBudget(kind, ['console']);
  });
});
