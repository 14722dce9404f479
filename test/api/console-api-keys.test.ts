import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemActor } from '../../src/domain/access.ts';
import { createUser, signIn } from '../helpers/factories.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('console API keys', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  it('shows the SecretKey once, keeps it only encrypted, and resolves it for the management API', async () => {
    const user = await createUser(context);
    const client = await signIn(context, user);
    const created = await client.post('/api-keys', { description: 'deploy script' });
    expect(created.statusCode).toBe(201);
    expect(created.body.secretId).toMatch(/^AKID/);
    expect(created.body.secretKey.length).toBeGreaterThanOrEqual(32);
    const listed = await client.get('/api-keys');
    expect(listed.body.items).toEqual([
      expect.objectContaining({ id: created.body.id, secretId: created.body.secretId, status: 'active', description: 'deploy script' }),
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secretKey);
    const stored = await context.database.db.selectFrom('api_keys').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(created.body.secretKey);
    expect((await context.services.apiKeys.resolve(created.body.secretId))?.secretKey).toBe(created.body.secretKey);
  });

  it("revokes only the caller's own keys; a revoked key no longer resolves", async () => {
    const owner = await createUser(context);
    const other = await createUser(context);
    const ownerClient = await signIn(context, owner);
    const otherClient = await signIn(context, other);
    const key = (await ownerClient.post('/api-keys', { description: 'mine' })).body;
    const stolen = await otherClient.delete(`/api-keys/${key.id}`);
    expect(stolen.statusCode).toBe(404);
    expect(stolen.body.error.code).toBe('ResourceNotFound');
    expect((await otherClient.get('/api-keys')).body.items).toEqual([]);
    expect((await ownerClient.delete(`/api-keys/${key.id}`)).statusCode).toBe(204);
    expect((await ownerClient.get('/api-keys')).body.items[0].status).toBe('revoked');
    expect(await context.services.apiKeys.resolve(key.secretId)).toBeUndefined();
  });

  it("a disabled user's keys stop resolving", async () => {
    const user = await createUser(context);
    const key = (await (await signIn(context, user)).post('/api-keys', {})).body;
    expect(await context.services.apiKeys.resolve(key.secretId)).toBeDefined();
    await context.services.users.setStatus(systemActor(), user.id, 'disabled');
    expect(await context.services.apiKeys.resolve(key.secretId)).toBeUndefined();
  });
});
