import { afterAll, beforeAll, expect, it } from 'vitest';
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
        authorization: `TC3-HMAC-SHA256 Credential=${admin().secretId}/${new Date().toISOString().slice(0, 10)}/127/tc3_request, SignedHeaders=content-type;host, Signature=${'0'.repeat(64)}`,
      },
      payload: '{"PlatformId":"x"}',
    });
    expect(tampered.statusCode).toBe(200);
    expect(tampered.json().Response.Error.Code).toBe('AuthFailure.SignatureFailure');
    const notAnApiCall = await context.app.inject({ method: 'POST', url: '/', payload: {} });
    expect(notAnApiCall.statusCode).toBe(400);
  });
});
