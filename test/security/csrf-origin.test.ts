import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../../src/routes/console/console-auth.ts';
import { createTenant, snapshotDatabase, type Tenant } from '../helpers/factories.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';

/**
 * CSRF defence in depth: besides the x-csrf-token header, a cookie-carrying state change, or a sign-in
 * (login CSRF), whose Origin (or, without one, Referer) is not this server's is refused with 403 in the
 * console's error format, and changes nothing. The server's origins: PUBLIC_URL's, and the Host the
 * request reached. HTTP logic only, so SQLite alone.
 */
describe('console refuses cross-site state changes by Origin / Referer', () => {
  const publicUrl = 'https://pay.example.com';
  let context: TestContext;
  let tenant: Tenant;
  let session: { token: string; csrf: string };
  let renames = 0;

  beforeAll(async () => {
    context = await createTestContext('sqlite', { config: { publicUrl } });
    tenant = await createTenant(context);
    const admin = tenant.members['mp:administrator'];
    const signIn = await context.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { account: admin.account, password: admin.password },
    });
    session = { token: signIn.cookies.find((cookie) => cookie.name === sessionCookieName)!.value, csrf: signIn.json().csrfToken };
  });
  afterAll(() => context?.close());

  /** Renames the mini program (a state change) with the given headers; light-my-request sends Host: localhost:80. */
  const rename = (headers: Record<string, string>, csrf = true) =>
    context.app.inject({
      method: 'PATCH',
      url: `/api/v1/mini-programs/${tenant.mnpId}`,
      payload: { name: `Renamed ${(renames += 1)}` },
      cookies: { [sessionCookieName]: session.token },
      headers: { ...(csrf ? { 'x-csrf-token': session.csrf } : {}), ...headers },
    });

  it.each([
    ['Origin = PUBLIC_URL', { origin: publicUrl }],
    ['Origin = the Host reached', { origin: 'http://localhost:80' }],
    ['Referer under PUBLIC_URL, no Origin', { referer: `${publicUrl}/console/mini-programs` }],
    ['Referer on the Host reached, no Origin', { referer: 'http://localhost/console' }],
    ['neither Origin nor Referer', {}],
  ])('same origin is allowed: %s', async (_name, headers) => {
    const response = await rename(headers);
    expect(response.statusCode, response.body).toBe(200);
  });

  it.each([
    ['another site', { origin: 'https://evil.example' }],
    ['an opaque origin (null)', { origin: 'null' }],
    ['a look-alike host', { origin: 'https://pay.example.com.evil.example' }],
    ['PUBLIC_URL host on another scheme and port', { origin: 'http://pay.example.com:8443' }],
    ['another site, same-origin Referer (Origin decides)', { origin: 'https://evil.example', referer: `${publicUrl}/` }],
    ['a Referer from another site, no Origin', { referer: 'https://evil.example/page' }],
    ['an unreadable Origin', { origin: 'not a url' }],
  ])('cross-site is refused with 403 in the console format, nothing changes: %s', async (_name, headers) => {
    const before = await snapshotDatabase(context.database.db);
    const response = await rename(headers);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({ error: { code: 'AuthFailure.CsrfTokenInvalid', message: expect.stringMatching(/cross-site/i) } });
    expect(await snapshotDatabase(context.database.db)).toEqual(before);
  });

  it('every unsafe method is checked (DELETE of the session stays signed in when cross-site)', async () => {
    const signOut = await context.app.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      cookies: { [sessionCookieName]: session.token },
      headers: { 'x-csrf-token': session.csrf, origin: 'https://evil.example' },
    });
    expect(signOut.statusCode).toBe(403);
    expect(
      (await context.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { [sessionCookieName]: session.token } })).statusCode,
    ).toBe(200);
  });

  it('a same-origin request, or one without Origin, still needs the CSRF header', async () => {
    for (const headers of [{}, { origin: publicUrl }, { referer: `${publicUrl}/x` }] as Record<string, string>[]) {
      const response = await rename(headers, false);
      expect(response.statusCode).toBe(403);
      expect(response.json().error.message).toMatch(/x-csrf-token/);
    }
  });

  /** Signs the tenant's administrator in without any cookie: what a cross-site form posting to the console would do. */
  const signIn = (headers: Record<string, string>) => {
    const admin = tenant.members['mp:administrator'];
    return context.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { account: admin.account, password: admin.password },
      headers,
    });
  };

  it.each([
    ['another site', { origin: 'https://evil.example' }],
    ['an opaque origin (null)', { origin: 'null' }],
    ['a look-alike host', { origin: 'https://pay.example.com.evil.example' }],
    ['a Referer from another site, no Origin', { referer: 'https://evil.example/login-csrf' }],
  ])('sign-in without a cookie is Origin-checked too (login CSRF): %s is refused, no session, nothing counted', async (_name, headers) => {
    const before = await snapshotDatabase(context.database.db);
    const response = await signIn(headers);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({ error: { code: 'AuthFailure.CsrfTokenInvalid', message: expect.stringMatching(/cross-site/i) } });
    expect(response.cookies.find((cookie) => cookie.name === sessionCookieName)).toBeUndefined();
    expect(await snapshotDatabase(context.database.db)).toEqual(before);
  });

  it.each([
    ['Origin = PUBLIC_URL', { origin: publicUrl }],
    ['Origin = the Host reached', { origin: 'http://localhost:80' }],
    ['Referer under PUBLIC_URL, no Origin', { referer: `${publicUrl}/console/sign-in` }],
    ['neither Origin nor Referer (curl, the CLI)', {}],
  ])('sign-in from this server, or from a client that names no origin, still works: %s', async (_name, headers) => {
    const response = await signIn(headers);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.cookies.find((cookie) => cookie.name === sessionCookieName)?.value).toBeTruthy();
  });

  it('reads (GET) are not refused for their Origin', async () => {
    const response = await context.app.inject({
      method: 'GET',
      url: '/api/v1/session',
      cookies: { [sessionCookieName]: session.token },
      headers: { origin: 'https://evil.example' },
    });
    expect(response.statusCode).toBe(200);
  });
});
