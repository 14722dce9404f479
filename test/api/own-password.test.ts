import { hash, verify } from '@node-rs/argon2';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { PasswordHasher, testHashingCost, type Argon2 } from '../../src/crypto/passwords.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const cookieName = 'paythrough_session';

/** Real argon2, except that while `holding` each verification stays open until the test releases it. */
function holdableArgon2() {
  const held: (() => void)[] = [];
  const state = { holding: false };
  const argon2: Argon2 = {
    hash: (password, cost) => hash(password, { algorithm: 2, ...cost }),
    async verify(passwordHash, password) {
      if (state.holding) await new Promise<void>((resolve) => held.push(resolve));
      return verify(passwordHash, password);
    },
  };
  return {
    argon2,
    hold: () => (state.holding = true),
    releaseAll() {
      state.holding = false;
      for (const release of held.splice(0)) release();
    },
  };
}

/**
 * SPEC §7 "Roles": password-change attempts are limited like sign-in, per (user, address) with growing delays; the
 * argon2 work queue is bounded, so a flood of guesses is refused (503 ServerBusy) instead of delaying every sign-in;
 * a password change ends every session but the caller's (which continues under a new token) and lists the API keys
 * that still work, which the caller may then revoke.
 */
describeOnEachDatabase('changing your own password', (kind) => {
  let context: TestContext;
  const argon2 = holdableArgon2();
  const hasher = new PasswordHasher(testHashingCost, { concurrency: 1, queue: 1 }, argon2.argon2);

  beforeAll(async () => {
    context = await createTestContext(kind, { passwordHasher: hasher });
  });
  afterAll(() => context?.close());

  const signIn = (user: { account: string; password: string }, address = '127.0.0.1') =>
    context.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: address, payload: user });

  async function sessionOf(user: TestUser, address = '127.0.0.1') {
    const response = await signIn(user, address);
    expect(response.statusCode).toBe(200);
    return {
      token: response.cookies.find((c) => c.name === cookieName)!.value,
      csrf: (response.json() as { csrfToken: string }).csrfToken,
    };
  }

  type Session = Awaited<ReturnType<typeof sessionOf>>;
  const call = (session: Session, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object, address = '127.0.0.1') =>
    context.app.inject({
      method,
      url: `/api/v1${url}`,
      remoteAddress: address,
      cookies: { [cookieName]: session.token },
      headers: { 'x-csrf-token': session.csrf },
      ...(payload ? { payload } : {}),
    });
  const changePassword = (session: Session, currentPassword: string, newPassword: string, address = '127.0.0.1') =>
    call(session, 'POST', '/me/password', { currentPassword, newPassword }, address);
  const errorOf = (response: { json(): unknown }) =>
    (response.json() as { error: { code: string; message: string; details?: object } }).error;

  it('lists the API keys still active in its answer; only the new session goes on, and it may revoke them', async () => {
    const user = await createUser(context);
    const caller = await sessionOf(user);
    const elsewhere = await sessionOf(user, '203.0.113.9');
    const used = (await call(caller, 'POST', '/api-keys', { description: 'deploy' })).json() as { id: string; secretId: string };
    const revoked = (await call(caller, 'POST', '/api-keys', { description: 'old' })).json() as { id: string };
    expect((await call(caller, 'DELETE', `/api-keys/${revoked.id}`)).statusCode).toBe(204);
    context.clock.advance(60_000);
    await context.services.apiKeys.markUsed(used.id);

    const changed = await changePassword(caller, user.password, 'a brand new password');
    expect(changed.statusCode).toBe(200);
    const body = changed.json() as { csrfToken: string; activeApiKeys: { id: string }[] };
    expect(body.activeApiKeys).toEqual([
      {
        id: used.id,
        secretId: used.secretId,
        description: 'deploy',
        status: 'active',
        createdAt: context.clock.nowMs() - 60_000,
        lastUsedAt: context.clock.nowMs(),
      },
    ]);
    const cookie = changed.cookies.find((c) => c.name === cookieName)!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const renewed = { token: cookie.value, csrf: body.csrfToken };
    expect(renewed.token).not.toBe(caller.token);
    for (const ended of [caller, elsewhere]) expect((await call(ended, 'GET', '/session')).statusCode).toBe(401);
    expect((await call(renewed, 'GET', '/session')).statusCode).toBe(200);

    // The key still works until revoked; the renewed session revokes it.
    expect((await context.services.apiKeys.resolve(used.secretId))?.keyId).toBe(used.id);
    expect((await call(renewed, 'DELETE', `/api-keys/${used.id}`)).statusCode).toBe(204);
    expect(await context.services.apiKeys.resolve(used.secretId)).toBeUndefined();
    expect((await signIn({ account: user.account, password: 'a brand new password' })).statusCode).toBe(200);
    expect((await signIn(user, '203.0.113.10')).statusCode).toBe(401);
  });

  it('limits wrong current passwords per (user, address) with growing delays; the password stays as it was', async () => {
    const user = await createUser(context);
    const session = await sessionOf(user);
    const attacker = '198.51.100.60';
    for (let attempt = 1; attempt <= 5; attempt++) {
      const wrong = await changePassword(session, `guess ${attempt}`, 'taken over account', attacker);
      expect([wrong.statusCode, errorOf(wrong).code], `attempt ${attempt}`).toEqual([400, 'InvalidParameterValue']);
    }
    const throttled = await changePassword(session, user.password, 'taken over account', attacker);
    expect(throttled.statusCode).toBe(429);
    expect(errorOf(throttled)).toMatchObject({ code: 'RequestLimitExceeded', details: { retryAfterSeconds: 1 } });
    expect(throttled.headers['retry-after']).toBe('1');
    expect(errorOf(throttled).message).toMatch(/try again in 1 s/);
    context.clock.advance(1000);
    expect((await changePassword(session, 'guess 6', 'taken over account', attacker)).statusCode).toBe(400);
    const longer = await changePassword(session, 'guess 7', 'taken over account', attacker);
    expect([longer.statusCode, errorOf(longer).details]).toEqual([429, { retryAfterSeconds: 2 }]);
    // The same user from another address is not held back, and nothing changed.
    expect((await call(session, 'GET', '/session', undefined, '198.51.100.61')).statusCode).toBe(200);
    expect((await signIn(user, '198.51.100.62')).statusCode).toBe(200);
    context.clock.advance(2000);
    expect((await changePassword(session, user.password, 'the owner changed it', attacker)).statusCode).toBe(200);
  });

  it('refuses a password check at once with 503 ServerBusy while the argon2 queue is full, counting nothing', async () => {
    const user = await createUser(context);
    const session = await sessionOf(user);
    argon2.hold();
    try {
      const running = signIn({ account: user.account, password: 'wrong password' }, '198.51.100.80');
      const queued = signIn(user, '198.51.100.81');
      await vi.waitFor(() => expect(hasher.load).toEqual({ running: 1, waiting: 1 }));
      for (const refused of [
        await signIn(user, '198.51.100.82'),
        await changePassword(session, user.password, 'another new password', '198.51.100.82'),
      ]) {
        expect(refused.statusCode).toBe(503);
        expect(errorOf(refused)).toEqual({
          code: 'ServerBusy',
          message: 'The server is busy checking passwords; retry in a moment',
          details: { retryAfterSeconds: 1 },
        });
        expect(refused.headers['retry-after']).toBe('1');
      }
      argon2.releaseAll();
      expect([(await running).statusCode, (await queued).statusCode]).toEqual([401, 200]);
    } finally {
      argon2.releaseAll();
    }
    // The refusals were not failures: neither the pair nor the address was charged.
    const pairs = await context.database.db
      .selectFrom('backoff_counters')
      .select('failures')
      .where('counter_key', 'like', '%:198.51.100.82')
      .execute();
    expect(pairs.map((row) => Number(row.failures))).toEqual([0, 0]);
    const addressHits = await context.database.db
      .selectFrom('rate_limit_counters')
      .select('hits')
      .where('counter_key', 'like', '%address:198.51.100.82')
      .execute();
    expect(addressHits.every((row) => Number(row.hits) === 0)).toBe(true);
    expect((await signIn(user, '198.51.100.82')).statusCode).toBe(200);
  });
});
