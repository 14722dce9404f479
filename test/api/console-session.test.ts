import { afterAll, beforeAll, expect, it } from 'vitest';
import { sessionLifetimeMs } from '../../src/services/auth/auth.service.ts';
import { createPlatform, createTenant, createUser, snapshotDatabase, type Platform, type TestUser } from '../helpers/factories.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const cookieName = 'paythrough_session';

describeOnEachDatabase('console sign-in and session security', (kind) => {
  let context: TestContext;
  let platform: Platform;

  beforeAll(async () => {
    context = await createTestContext(kind);
    platform = await createPlatform(context);
  });
  afterAll(() => context?.close());

  /** Signs in with raw requests (optionally presenting a cookie), returning the new token and CSRF token. */
  async function signIn(account: string, password: string, presentedToken?: string) {
    const response = await context.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { account, password },
      ...(presentedToken ? { cookies: { [cookieName]: presentedToken } } : {}),
    });
    const cookie = response.cookies.find((c) => c.name === cookieName);
    return {
      response,
      cookie,
      token: cookie?.value,
      csrf: response.statusCode === 200 ? (response.json() as { csrfToken: string }).csrfToken : undefined,
    };
  }

  const getSession = (token: string) => context.app.inject({ method: 'GET', url: '/api/v1/session', cookies: { [cookieName]: token } });
  const errorOf = (response: { json(): unknown }) => (response.json() as { error: { code: string; message: string } }).error;

  it('stores passwords as argon2id hashes, never the password', async () => {
    const user = await createUser(context);
    const row = await context.database.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.password_hash.startsWith('$argon2id$')).toBe(true);
    expect(row.password_hash).not.toContain(user.password);
  });

  it('refuses a wrong password and an unknown account with the same 401 and message', async () => {
    const user = await createUser(context);
    const wrongPassword = await signIn(user.account, 'not the password');
    const unknownAccount = await signIn(`nobody-${user.account}`, 'not the password');
    for (const attempt of [wrongPassword, unknownAccount]) {
      expect(attempt.response.statusCode).toBe(401);
      expect(attempt.cookie).toBeUndefined();
    }
    expect(errorOf(wrongPassword.response)).toEqual(errorOf(unknownAccount.response));
    expect(errorOf(wrongPassword.response).message).not.toMatch(/unknown|exist|password is wrong/i);
  });

  /** Signs in from an address, answering the status and, when refused for too many attempts, the wait it names. */
  async function attempt(account: string, password: string, address: string) {
    const response = await context.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      remoteAddress: address,
      payload: { account, password },
    });
    if (response.statusCode !== 429) return { status: response.statusCode };
    const error = errorOf(response) as { code: string; message: string; details?: { retryAfterSeconds?: number } };
    const waitSeconds = error.details?.retryAfterSeconds;
    // The code, the Retry-After header and the message all name the same wait (else the difference shows in the diff).
    const header = response.headers['retry-after'];
    const consistent =
      error.code === 'RequestLimitExceeded' && header === String(waitSeconds) && error.message.includes(`try again in ${waitSeconds} s`);
    return consistent ? { status: 429, waitSeconds } : { status: 429, waitSeconds, error, header };
  }

  const throttleTitle =
    'throttles an (account, address) pair with growing delays after 5 failures, never the account: ' +
    'the right password from another address signs in while an attacker hammers the super admin';
  it(throttleTitle, async () => {
    const admin = platform.superAdmin;
    const attacker = '203.0.113.66';
    for (let failure = 1; failure <= 5; failure++)
      expect(await attempt(admin.account, `wrong ${failure}`, attacker)).toEqual({ status: 401 });
    // Growing delays: 1 s, 2 s, 4 s … and an attempt inside the wait is refused without being checked or counted.
    for (const waitSeconds of [1, 2, 4, 8]) {
      expect(await attempt(admin.account, admin.password, '203.0.113.67'), 'the owner, elsewhere').toEqual({ status: 200 });
      for (let i = 0; i < 20; i++) expect(await attempt(admin.account, admin.password, attacker)).toEqual({ status: 429, waitSeconds });
      context.clock.advance(waitSeconds * 1000 - 1);
      expect(await attempt(admin.account, 'still wrong', attacker)).toEqual({ status: 429, waitSeconds: 1 });
      context.clock.advance(1);
      expect(await attempt(admin.account, 'still wrong', attacker)).toEqual({ status: 401 });
    }
    // Failures spread over many addresses lock nobody out either.
    for (let host = 1; host <= 10; host++) {
      for (let failure = 1; failure <= 6; failure++) await attempt(admin.account, `spread ${failure}`, `198.18.0.${host}`);
    }
    expect(await attempt(admin.account, admin.password, '203.0.113.68')).toEqual({ status: 200 });
    // The right password from the attacker's address, once its wait is over, clears the pair.
    context.clock.advance(16_000);
    expect(await attempt(admin.account, admin.password, attacker)).toEqual({ status: 200 });
    expect(await attempt(admin.account, 'wrong again', attacker)).toEqual({ status: 401 });
    context.clock.advance(15 * 60 * 1000);
  });

  it('caps the delay at 5 minutes, and forgets a pair an hour after its last attempt', async () => {
    const user = await createUser(context);
    const address = '203.0.113.70';
    const waits: number[] = [];
    for (let failure = 1; failure <= 5; failure++)
      expect(await attempt(user.account, `wrong ${failure}`, address)).toEqual({ status: 401 });
    for (let failure = 6; failure <= 17; failure++) {
      const refused = await attempt(user.account, user.password, address);
      expect(refused).toEqual({ status: 429, waitSeconds: expect.any(Number) });
      waits.push(refused.waitSeconds!);
      context.clock.advance(refused.waitSeconds! * 1000);
      expect(await attempt(user.account, `wrong ${failure}`, address)).toEqual({ status: 401 });
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    context.clock.advance(60 * 60 * 1000);
    for (let failure = 1; failure <= 5; failure++)
      expect(await attempt(user.account, `later ${failure}`, address)).toEqual({ status: 401 });
    expect(await attempt(user.account, user.password, address)).toEqual({ status: 429, waitSeconds: 1 });
  });

  it('does not let parallel guesses past the limit', async () => {
    const user = await createUser(context);
    const attempts = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn(user.account, `parallel guess ${i}`)));
    const statuses = attempts.map((a) => a.response.statusCode);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(7);
    expect((await signIn(user.account, user.password)).response.statusCode).toBe(429);
    context.clock.advance(15 * 60 * 1000);
  });

  it('counts only failures against an address: many successful sign-ins from one address all work', async () => {
    const users = [await createUser(context), await createUser(context)];
    for (let i = 0; i < 36; i++) {
      const user = users[i % 2]!;
      expect((await signIn(user.account, user.password)).response.statusCode, `sign-in ${i + 1}`).toBe(200);
    }
  });

  it('sets the session cookie httpOnly, SameSite=Strict, Path=/', async () => {
    const { cookie, response } = await signIn(platform.superAdmin.account, platform.superAdmin.password);
    expect(response.statusCode).toBe(200);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const header = String(response.headers['set-cookie']);
    expect(header).toMatch(/HttpOnly/);
    expect(header).toMatch(/SameSite=Strict/);
    expect(header).toMatch(/Path=\//);
  });

  it('issues a new session token on every sign-in; the token presented before stops working (no fixation)', async () => {
    const user = await createUser(context);
    const first = await signIn(user.account, user.password);
    expect((await getSession(first.token!)).statusCode).toBe(200);
    const second = await signIn(user.account, user.password, first.token);
    expect(second.token).toBeDefined();
    expect(second.token).not.toBe(first.token);
    expect((await getSession(first.token!)).statusCode).toBe(401);
    expect((await getSession(second.token!)).statusCode).toBe(200);

    // A token planted by someone else is never adopted.
    const planted = 'attacker-chosen-session-token';
    const third = await signIn(user.account, user.password, planted);
    expect(third.token).not.toBe(planted);
    expect((await getSession(planted)).statusCode).toBe(401);
  });

  it('ends the session on sign-out', async () => {
    const user = await createUser(context);
    const { token, csrf } = await signIn(user.account, user.password);
    const out = await context.app.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      cookies: { [cookieName]: token! },
      headers: { 'x-csrf-token': csrf! },
    });
    expect(out.statusCode).toBe(204);
    const cleared = out.cookies.find((c) => c.name === cookieName);
    expect(cleared?.value ?? '').toBe('');
    const after = await getSession(token!);
    expect(after.statusCode).toBe(401);
    expect(errorOf(after).code).toBe('AuthFailure');
  });

  it('refuses mutations without the right CSRF header (403) and changes nothing', async () => {
    const tenant = await createTenant(context);
    const admin = tenant.members['mp:administrator'];
    const { token, csrf } = await signIn(admin.account, admin.password);
    const newcomer = await createUser(context);
    const mutations = [
      { method: 'PATCH' as const, url: `/api/v1/mini-programs/${tenant.mnpId}`, payload: { name: 'hijacked' } },
      {
        method: 'POST' as const,
        url: `/api/v1/teams/${tenant.miniProgramTeamId}/members`,
        payload: { account: newcomer.account, role: 'developer' },
      },
      { method: 'POST' as const, url: '/api/v1/api-keys', payload: { description: 'hijacked' } },
      { method: 'DELETE' as const, url: '/api/v1/session' },
    ];
    for (const headers of [{}, { 'x-csrf-token': 'wrong' }, { 'x-csrf-token': `${csrf}x` }, { 'x-csrf-token': '' }]) {
      for (const mutation of mutations) {
        const before = await snapshotDatabase(context.database.db);
        const response = await context.app.inject({ ...mutation, cookies: { [cookieName]: token! }, headers });
        expect(response.statusCode, `${mutation.method} ${mutation.url} with ${JSON.stringify(headers)}`).toBe(403);
        expect(errorOf(response).code).toBe('AuthFailure.CsrfTokenInvalid');
        expect(await snapshotDatabase(context.database.db)).toEqual(before);
      }
    }
    // The same request with the header goes through: the refusal above was the CSRF check.
    const allowed = await context.app.inject({ ...mutations[0]!, cookies: { [cookieName]: token! }, headers: { 'x-csrf-token': csrf! } });
    expect(allowed.statusCode).toBe(200);
    // Another session's CSRF token is no good either.
    const other = await signIn(platform.platformAdmin.account, platform.platformAdmin.password);
    const crossed = await context.app.inject({
      ...mutations[2]!,
      cookies: { [cookieName]: token! },
      headers: { 'x-csrf-token': other.csrf! },
    });
    expect(crossed.statusCode).toBe(403);
  });

  it("ends a disabled user's sessions and refuses their sign-in with the generic message", async () => {
    const user: TestUser = await createUser(context);
    const sessions = [await signIn(user.account, user.password), await signIn(user.account, user.password)];
    const admin = await signIn(platform.superAdmin.account, platform.superAdmin.password);
    const disabled = await context.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      payload: { status: 'disabled' },
      cookies: { [cookieName]: admin.token! },
      headers: { 'x-csrf-token': admin.csrf! },
    });
    expect(disabled.statusCode).toBe(200);
    for (const session of sessions) expect((await getSession(session.token!)).statusCode).toBe(401);
    const again = await signIn(user.account, user.password);
    expect(again.response.statusCode).toBe(401);
    expect(errorOf(again.response).message).toBe(errorOf((await signIn(user.account, 'wrong password')).response).message);
  });

  it('expires a session after its lifetime (the injected clock moves, nobody sleeps)', async () => {
    const user = await createUser(context);
    const { token } = await signIn(user.account, user.password);
    context.clock.advance(sessionLifetimeMs - 1000);
    expect((await getSession(token!)).statusCode).toBe(200);
    context.clock.advance(1000);
    const expired = await getSession(token!);
    expect(expired.statusCode).toBe(401);
    expect(errorOf(expired).code).toBe('AuthFailure');
  });

  it('answers 401 to every console route but sign-in without a session', async () => {
    for (const url of ['/api/v1/session', '/api/v1/teams', '/api/v1/users', '/api/v1/api-keys', '/api/v1/audit-log']) {
      const response = await context.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(401);
      expect(errorOf(response).code).toBe('AuthFailure');
    }
  });
});
