import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConsoleClient } from '../helpers/console-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('demo world', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  it('is built once and its manifest is printed again unchanged', async () => {
    const first = await context.services.demoWorld.ensure();
    const second = await context.services.demoWorld.ensure();
    expect(second).toEqual(first);
    expect(first.miniPrograms.ready.mnpId).toMatch(/^mnp_/);
    expect(first.superapp.users.reviewer.secretId).toMatch(/^AKID/);
  });

  it('signs its users in to the console with the printed passwords', async () => {
    const manifest = await context.services.demoWorld.ensure();
    const client = await ConsoleClient.signIn(
      context.app,
      manifest.miniProgramTeam.users.operator.account,
      manifest.miniProgramTeam.users.operator.password,
    );
    const session = await client.get('/session');
    expect(session.statusCode).toBe(200);
    expect(session.body.teams.map((t: { id: string }) => t.id)).toEqual([manifest.miniProgramTeam.teamId]);
  });
});
