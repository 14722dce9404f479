import type { FastifyInstance, RouteOptions } from 'fastify';

/**
 * What stands between a route and an anonymous caller. Every route of the app declares one (its
 * surface's plugin stamps it next to the surface's auth hook); the app refuses to start with a route
 * that declares none, so a new route cannot slip out unguarded (test/security/route-permissions.test.ts).
 */
export const routeGuards = {
  'console-session': "the console's session cookie (and x-csrf-token on state changes); config.capability says what the caller needs",
  'tc3-signature': "a TC3-HMAC-SHA256 signature by a user API key; the action runs with that user's roles",
  'v3-signature': "a WECHATPAY2-SHA256-RSA2048 signature by a mini program's merchant certificate",
  'host-message': "a superapp's host-key signature (unsigned payOrder only for sandbox superapps while the sandbox is on)",
  'channel-signature': "a superapp HTTP channel's signature over its event",
  'pay-sign': "a mini program's paySign over the prepay_id: reveals the order summary only",
  'xpay-signature': "a mini program's pay_sig (HMAC-SHA256 under its virtual payment AppKey) over the raw body",
  'sandbox-only': 'no credential: the sandbox channel and the demo, which exist only while the sandbox is on',
  'metrics-token':
    "the bearer token PAYTHROUGH_METRICS_TOKEN names, compared in constant time (Prometheus's scrape); 404 while no token is set",
  public: 'no credential: health, API documents and the static console pages',
} as const;

export type RouteGuard = keyof typeof routeGuards;

export interface RegisteredRoute {
  method: string;
  url: string;
  guard: RouteGuard | undefined;
  capability: string | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route the app registered, with the guard and capability it declared. */
    registeredRoutes(): RegisteredRoute[];
  }
  interface FastifyContextConfig {
    /** Which surface's authentication guards the route (see `routeGuards`). */
    guard?: RouteGuard;
  }
}

// Routes whose guard came from a surface's stamp (an inner plugin's stamp replaces an outer one's; a route's own never is).
const stampedRoutes = new WeakSet<RouteOptions>();

/** Stamps every route registered in `app` (and its child plugins) with the surface's guard, unless it names its own. */
export function guardRoutesWith(app: FastifyInstance, guard: RouteGuard) {
  app.addHook('onRoute', (route) => {
    if (route.config?.guard && !stampedRoutes.has(route)) return;
    route.config = { ...route.config, guard };
    stampedRoutes.add(route);
  });
}

/** Collects every route at the root; once every plugin has run, refuses to start if any declares no known guard. */
export function requireRouteGuards(app: FastifyInstance) {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  const list = (): RegisteredRoute[] =>
    routes.flatMap((route) =>
      [route.method].flat().map((method) => ({
        method,
        url: route.url,
        guard: route.config?.guard,
        capability: route.config?.capability,
      })),
    );
  app.decorate('registeredRoutes', list);
  app.addHook('onReady', async () => {
    const unguarded = list().filter((route) => !route.guard || !(route.guard in routeGuards));
    if (unguarded.length > 0) {
      throw new Error(`Routes without a declared guard (config.guard): ${unguarded.map((r) => `${r.method} ${r.url}`).join(', ')}`);
    }
  });
}
