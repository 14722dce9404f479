import { afterAll, beforeAll, expect, it } from 'vitest';
import { maxSignedHeaders, tc3Date, tc3Signature } from '../../src/crypto/tc3.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { callAction, managementClient } from '../helpers/management-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('management API authentication (TC3 through the published CommonClient)', (kind) => {
  let context: TestContext;
  let baseUrl: string;
  let manifest: DemoManifest;

  beforeAll(async () => {
    context = await createTestContext(kind);
    // The SDK signs with the real time; keep the server's clock on it.
    context.clock.set(Date.now());
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    const address = context.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    manifest = await context.services.demoWorld.ensure();
  });
  afterAll(() => context?.close());

  const admin = () => manifest.miniProgramTeam.users.admin;

  it('accepts a correctly signed call and answers in the envelope', async () => {
    const result = await callAction(managementClient(baseUrl, admin()), 'NoSuchAction', { PlatformId: manifest.platformId });
    expect(result.error.code).toBe('InvalidAction');
    expect(result.error.requestId).toMatch(/[0-9a-f-]{36}/);
  });

  it('refuses a wrong SecretKey with AuthFailure.SignatureFailure', async () => {
    const client = managementClient(baseUrl, { secretId: admin().secretId, secretKey: `${admin().secretKey}x` });
    expect((await callAction(client, 'NoSuchAction', { PlatformId: manifest.platformId })).error.code).toBe('AuthFailure.SignatureFailure');
  });

  it('refuses an unknown SecretId', async () => {
    const client = managementClient(baseUrl, { secretId: 'AKIDunknown', secretKey: admin().secretKey });
    expect((await callAction(client, 'NoSuchAction', { PlatformId: manifest.platformId })).error.code).toBe('AuthFailure.SecretIdNotFound');
  });

  it('refuses timestamps more than 5 minutes away, both ways', async () => {
    const client = managementClient(baseUrl, admin());
    try {
      context.clock.set(Date.now() + 6 * 60 * 1000);
      expect((await callAction(client, 'NoSuchAction', { PlatformId: manifest.platformId })).error.code).toBe(
        'AuthFailure.SignatureExpire',
      );
      context.clock.set(Date.now() - 6 * 60 * 1000);
      expect((await callAction(client, 'NoSuchAction', { PlatformId: manifest.platformId })).error.code).toBe(
        'AuthFailure.SignatureExpire',
      );
      context.clock.set(Date.now() + 4 * 60 * 1000);
      expect((await callAction(client, 'NoSuchAction', { PlatformId: manifest.platformId })).error.code).toBe('InvalidAction');
    } finally {
      context.clock.set(Date.now());
    }
  });

  it('refuses a revoked key', async () => {
    const user = manifest.unboundTeam.users.admin;
    const { ConsoleClient } = await import('../helpers/console-client.ts');
    const console = await ConsoleClient.signIn(context.app, user.account, user.password);
    const keys = await console.get('/api-keys');
    const key = keys.body.items.find((k: { secretId: string }) => k.secretId === user.secretId);
    expect((await console.delete(`/api-keys/${key.id}`)).statusCode).toBe(204);
    expect((await callAction(managementClient(baseUrl, user), 'NoSuchAction', { PlatformId: manifest.platformId })).error.code).toBe(
      'AuthFailure.SecretIdNotFound',
    );
  });

  it('answers HTTP 200 with the envelope for a tampered body, and 400 for a request that is not an API call', async () => {
    const tampered = await context.app.inject({
      method: 'POST',
      url: '/',
      headers: {
        'content-type': 'application/json',
        'x-tc-action': 'QueryMNPMerchantInfo',
        'x-tc-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-tc-version': '2025-01-06',
        authorization:
          `TC3-HMAC-SHA256 Credential=${admin().secretId}/${new Date().toISOString().slice(0, 10)}/127/tc3_request, ` +
          `SignedHeaders=content-type;host, Signature=${'0'.repeat(64)}`,
      },
      payload: '{"PlatformId":"x"}',
    });
    expect(tampered.statusCode).toBe(200);
    expect(tampered.json().Response.Error.Code).toBe('AuthFailure.SignatureFailure');
    const notAnApiCall = await context.app.inject({ method: 'POST', url: '/', payload: {} });
    expect(notAnApiCall.statusCode).toBe(400);
  });
  /** A management call signed over exactly `signed` (name → value as sent), to shape SignedHeaders by hand. */
  async function signedCall(signed: [string, string][], options: { sendAction?: string; extraHeaders?: Record<string, string> } = {}) {
    const timestampSeconds = Math.floor(context.clock.nowMs() / 1000);
    const body = JSON.stringify({ PlatformId: manifest.platformId, QueryTeamID: manifest.miniProgramTeam.teamId });
    const date = tc3Date(timestampSeconds);
    const names = signed.map(([name]) => name);
    const signature = tc3Signature({
      method: 'POST',
      path: '/',
      query: '',
      canonicalHeaders: signed,
      body,
      timestampSeconds,
      date,
      service: '127',
      secretKey: admin().secretKey,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      host: '127.0.0.1',
      'x-tc-action': options.sendAction ?? 'QueryMNPMerchantInfo',
      'x-tc-timestamp': String(timestampSeconds),
      'x-tc-version': '2025-01-06',
      ...Object.fromEntries(signed),
      ...options.extraHeaders,
      authorization:
        `TC3-HMAC-SHA256 Credential=${admin().secretId}/${date}/127/tc3_request, ` +
        `SignedHeaders=${names.join(';')}, Signature=${signature}`,
    };
    const response = await context.app.inject({ method: 'POST', url: '/', headers, payload: body });
    expect(response.statusCode).toBe(200);
    return response.json().Response as { Error?: { Code: string; Message: string }; Data?: unknown };
  }
  const required: [string, string][] = [
    ['content-type', 'application/json'],
    ['host', '127.0.0.1'],
  ];

  it('accepts a hand-signed call over content-type and host (the oracle for the refusals below)', async () => {
    expect((await signedCall(required)).Error).toBeUndefined();
  });

  it('refuses a signature that leaves out content-type or host, as Tencent Cloud does', async () => {
    const hostOnly = await signedCall([['host', '127.0.0.1']]);
    expect(hostOnly.Error).toMatchObject({ Code: 'AuthFailure.SignatureFailure', Message: 'SignedHeaders must include content-type' });
    const contentTypeOnly = await signedCall([['content-type', 'application/json']]);
    expect(contentTypeOnly.Error).toMatchObject({ Code: 'AuthFailure.SignatureFailure', Message: 'SignedHeaders must include host' });
  });

  it('refuses a header signed twice, and a list of 40 repeats at once, and keeps serving', async () => {
    const repeats = (count: number) => Array.from({ length: count }, (): [string, string] => ['x-pad', 'ABCDEF']);
    const twice = await signedCall([...required, ...repeats(12)]);
    expect(twice.Error).toMatchObject({ Code: 'AuthFailure.SignatureFailure', Message: 'SignedHeaders names a header twice' });
    // Each repeat of an upper-case value once doubled the forms tried: 40 repeats would never have finished.
    const forty = await signedCall([...required, ...repeats(40)]);
    expect(forty.Error).toMatchObject({ Code: 'AuthFailure.SignatureFailure', Message: 'SignedHeaders names at most 16 headers' });
    expect((await context.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it(`accepts ${maxSignedHeaders} distinct signed headers with upper-case values, and refuses one more`, async () => {
    const padding = (count: number) =>
      Array.from({ length: count }, (_, index): [string, string] => [`x-pad-${index}`, `Value-${index}-ABC`]);
    expect((await signedCall([...required, ...padding(maxSignedHeaders - 2)])).Error).toBeUndefined();
    const tooMany = await signedCall([...required, ...padding(maxSignedHeaders - 1)]);
    expect(tooMany.Error).toMatchObject({
      Code: 'AuthFailure.SignatureFailure',
      Message: `SignedHeaders names at most ${maxSignedHeaders} headers`,
    });
  });

  it('verifies X-TC-Action when the client signs it', async () => {
    const signedAction: [string, string][] = [...required, ['x-tc-action', 'QueryMNPMerchantInfo']];
    expect((await signedCall(signedAction)).Error).toBeUndefined();
    const swapped = await signedCall(signedAction, { extraHeaders: { 'x-tc-action': 'UnbindMNPPaymentMerchant' } });
    expect(swapped.Error?.Code).toBe('AuthFailure.SignatureFailure');
  });
});
