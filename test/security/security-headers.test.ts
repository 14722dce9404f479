import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredRoute } from '../../src/plugins/app/route-guards.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';

/**
 * Security headers on every answer of every surface (console pages and API, management API, gateway,
 * host API, sandbox cashier, demo, documents): the route list comes from the app, so a new route is
 * covered. Each route is called anonymously with placeholder ids; whatever it answers (page, 401,
 * 404, FAIL) carries the headers.
 */
describe('security headers on every route [sqlite]', () => {
  let context: TestContext;
  let routes: RegisteredRoute[];

  beforeAll(async () => {
    context = await createTestContext('sqlite');
    await context.app.ready();
    routes = context.app.registeredRoutes().filter((route) => route.method !== 'HEAD');
  });
  afterAll(() => context?.close());

  function directives(csp: string): Map<string, string> {
    return new Map(
      csp
        .split(';')
        .map((part) => part.trim().split(/\s+/))
        .map(([name, ...values]) => [name!, values.join(' ')]),
    );
  }

  it('every answer: CSP (no inline script, no framing by other sites, no plugins), nosniff, no referrer, no X-Powered-By', async () => {
    const problems: string[] = [];
    for (const route of routes) {
      const url = route.url.replace(/:[A-Za-z_]+/g, 'placeholder').replace('*', 'placeholder.js');
      const response = await context.app.inject({ method: route.method as 'GET', url, ...(route.method === 'GET' ? {} : { payload: {} }) });
      const where = `${route.method} ${route.url} (${response.statusCode})`;
      const csp = directives(String(response.headers['content-security-policy'] ?? ''));
      if (csp.get('default-src') !== "'self'") problems.push(`${where}: default-src ${csp.get('default-src')}`);
      if (csp.get('script-src') !== "'self'") problems.push(`${where}: script-src ${csp.get('script-src')}`);
      if (csp.get('object-src') !== "'none'") problems.push(`${where}: object-src ${csp.get('object-src')}`);
      // The demo host frames its shop and the sandbox cashier: same origin only, never another site.
      if (csp.get('frame-ancestors') !== "'self'") problems.push(`${where}: frame-ancestors ${csp.get('frame-ancestors')}`);
      if (response.headers['x-frame-options'] !== 'SAMEORIGIN')
        problems.push(`${where}: x-frame-options ${response.headers['x-frame-options']}`);
      if (response.headers['x-content-type-options'] !== 'nosniff')
        problems.push(`${where}: x-content-type-options ${response.headers['x-content-type-options']}`);
      if (response.headers['referrer-policy'] !== 'no-referrer')
        problems.push(`${where}: referrer-policy ${response.headers['referrer-policy']}`);
      if ('x-powered-by' in response.headers) problems.push(`${where}: x-powered-by present`);
      if (response.statusCode >= 500) problems.push(`${where}: a 5xx to an anonymous call`);
    }
    expect(problems).toEqual([]);
    expect(routes.length).toBeGreaterThan(80);
  });

  it('the console page, the demo, the cashier and the API all answer with those headers (the pages exist)', async () => {
    for (const url of ['/', '/demo', '/demo/shop', '/api/v1/session', '/v3/certificates', '/openapi.json']) {
      const response = await context.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBeLessThan(500);
      expect(response.headers['content-security-policy'], url).toContain("frame-ancestors 'self'");
    }
  });

  it('sets the session cookie Secure when PUBLIC_URL is https', async () => {
    const secure = await createTestContext('sqlite', { config: { publicUrl: 'https://pay.example' } });
    try {
      const { createUser } = await import('../helpers/factories.ts');
      const user = await createUser(secure);
      const response = await secure.app.inject({
        method: 'POST',
        url: '/api/v1/session',
        payload: { account: user.account, password: user.password },
      });
      expect(response.statusCode).toBe(200);
      expect(response.cookies.find((c) => c.name === 'paythrough_session')).toMatchObject({
        secure: true,
        httpOnly: true,
        sameSite: 'Strict',
      });
    } finally {
      await secure.close();
    }
  });
});
