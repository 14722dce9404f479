import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverConsoleRoutes } from '../helpers/console-routes.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const consoleRoutes = await discoverConsoleRoutes();

describeOnEachDatabase('fixed endpoints (SPEC §7)', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  it('GET /openapi.json is an OpenAPI 3 document listing every console route', async () => {
    const response = await context.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/application\/json/);
    const document = response.json() as {
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    };
    expect(document.openapi).toMatch(/^3\./);
    expect(document.info.title).toBe('Paythrough');
    expect(consoleRoutes.length).toBeGreaterThan(10);
    for (const route of consoleRoutes) {
      const operation = document.paths[route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url} in the document`).toBeDefined();
      // Every status a console route can answer has a documented response.
      for (const status of ['400', '401', '403', '404'])
        expect(operation!.responses?.[status], `${route.method} ${route.url} documents ${status}`).toBeDefined();
    }
  });

  it('GET /docs answers an HTML page that browses the document', async () => {
    let response = await context.app.inject({ method: 'GET', url: '/docs' });
    if (response.statusCode >= 300 && response.statusCode < 400) {
      response = await context.app.inject({
        method: 'GET',
        url: new URL(String(response.headers.location), 'http://localhost/docs').pathname,
      });
    }
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toMatch(/swagger/i);
  });

  it('GET / answers the console', async () => {
    const response = await context.app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
  });

  it('an unknown console API path is a JSON 4xx, not a page', async () => {
    const response = await context.app.inject({ method: 'GET', url: '/api/v1/no-such-thing' });
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.json().error.code).toMatch(/^(AuthFailure|ResourceNotFound)$/);
  });

  // Last: it closes the database under the running app.
  it('GET /healthz answers {"status":"ok"} while the database answers, and 503 once it does not', async () => {
    const healthy = await context.app.inject({ method: 'GET', url: '/healthz' });
    expect(healthy.statusCode).toBe(200);
    expect(healthy.json()).toEqual({ status: 'ok' });
    await context.database.close();
    const down = await context.app.inject({ method: 'GET', url: '/healthz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).not.toEqual({ status: 'ok' });
    // close() closes the database again; make that harmless.
    context.database.close = async () => undefined;
  });
});
