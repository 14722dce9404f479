import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateApiV3Key } from '../../src/domain/credentials.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { bodySchemaOf, consolePrefix, fillPath, listConsoleRoutes, sampleFromSchema } from '../helpers/console-routes.ts';
import { demoActor, enableFreshMiniProgram } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * The audit log is append-only (SPEC §2.2): the database itself refuses UPDATE and DELETE on it (both
 * databases), no console route changes or removes an entry (every route is called, by an admin and a
 * team administrator, with real ids), and every credential and decision action writes an entry naming
 * its actor.
 */
describeOnEachDatabase('audit log: append-only, written by every credential and decision action', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  const auditRows = () => context.database.db.selectFrom('audit_log').selectAll().orderBy('id').execute();

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
  });
  afterAll(() => context?.close());

  it('the database refuses UPDATE, DELETE (and TRUNCATE-like deletes of every row) on audit_log', async () => {
    const before = await auditRows();
    expect(before.length).toBeGreaterThan(5);
    const id = before[0]!.id;
    await expect(sql`update audit_log set action = 'forged' where id = ${id}`.execute(context.database.db)).rejects.toThrow(
      /append-only|audit_log|not allowed|denied|abort/i,
    );
    await expect(sql`delete from audit_log where id = ${id}`.execute(context.database.db)).rejects.toThrow(
      /append-only|audit_log|not allowed|denied|abort/i,
    );
    await expect(sql`delete from audit_log`.execute(context.database.db)).rejects.toThrow();
    await expect(context.database.db.updateTable('audit_log').set({ after_json: null }).execute()).rejects.toThrow();
    expect(await auditRows()).toEqual(before);
  });

  it('every credential and decision action writes an entry naming its actor', async () => {
    const mpAdmin = await demoActor(context, manifest.miniProgramTeam.users.admin.account);
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    const { services } = context;
    const actions: { what: string; actor: string; run: () => Promise<unknown> }[] = [
      {
        what: 'enable payment: request, approve, private key download, APIv3 key',
        actor: manifest.superapp.users.reviewer.account,
        run: () => enableFreshMiniProgram(context, manifest),
      },
      {
        what: 'certificate reset',
        actor: mpAdmin.account,
        run: () => services.credentials.resetKey(mpAdmin, manifest.miniPrograms.fresh.mnpId, { mode: 'generate' }),
      },
      {
        what: 'APIv3 key set',
        actor: mpAdmin.account,
        run: () => services.credentials.setApiV3Key(mpAdmin, manifest.miniPrograms.fresh.mnpId, generateApiV3Key()),
      },
      { what: 'API key created', actor: mpAdmin.account, run: () => services.apiKeys.create(mpAdmin, 'audited key') },
      {
        what: 'payment configuration changed',
        actor: saAdmin.account,
        run: () =>
          services.paymentConfig.update(saAdmin, manifest.superapp.applicationId, {
            channel: { kind: 'host_reported', webhookUrl: 'https://93.184.215.14/refund-webhook' },
          }),
      },
      { what: 'host key issued', actor: saAdmin.account, run: () => services.hostKeys.rotate(saAdmin, manifest.superapp.applicationId) },
    ];
    for (const action of actions) {
      const before = (await auditRows()).length;
      await action.run();
      const added = (await auditRows()).slice(before);
      expect(added.length, action.what).toBeGreaterThan(0);
      expect(
        added.map((row) => row.actor_account),
        action.what,
      ).toContain(action.actor);
      // The entry records what happened, never the secret itself.
      for (const row of added)
        expect(`${row.before_json ?? ''}${row.after_json ?? ''}`, action.what).not.toMatch(/PRIVATE KEY|"apiV3Key"|"secretKey"|"hostKey"/);
    }
  });
  it('no console route changes or removes an entry: every route called by a platform admin and a team administrator', async () => {
    const before = await auditRows();
    const routes = await listConsoleRoutes(context.app);
    const order = await context.database.db.selectFrom('orders').select('id').executeTakeFirst();
    const ids: Record<string, string | undefined> = {
      teamId: manifest.miniProgramTeam.teamId,
      userId: (
        await context.database.db
          .selectFrom('users')
          .select('id')
          .where('account', '=', manifest.miniProgramTeam.users.developer.account)
          .executeTakeFirstOrThrow()
      ).id,
      applicationId: manifest.superapp.applicationId,
      mnpId: manifest.miniPrograms.fresh.mnpId,
      keyId: 'key_placeholder',
      orderId: order ? String(order.id) : '1',
      refundId: '1',
      notificationId: '1',
      exportId: 'export_placeholder',
      // A day long past (re-running it appends its audit entry) and an exception that may not exist.
      billDate: '2026-01-15',
      exceptionId: '1',
      // An item that may not exist (SPEC §8.1).
      productId: 'probe_item',
    };
    const callers = [manifest.superAdmin, manifest.miniProgramTeam.users.admin, manifest.superapp.users.admin];
    let calls = 0;
    for (const user of callers) {
      const client = await ConsoleClient.signIn(context.app, user.account, user.password);
      // Signing out would end this client's session midway; it is called last.
      for (const route of [
        ...routes.filter((r) => !(r.method === 'DELETE' && r.url.endsWith('/session'))),
        ...routes.filter((r) => r.method === 'DELETE' && r.url.endsWith('/session')),
      ]) {
        const schema = bodySchemaOf(route);
        const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : schema ? sampleFromSchema(schema) : {};
        const response = await client.request(
          route.method as 'GET',
          fillPath(route, (param) => ids[param]).slice(consolePrefix.length),
          body,
        );
        expect(response.statusCode, `${route.method} ${route.url}`).toBeLessThan(500);
        calls += 1;
      }
    }
    expect(calls).toBeGreaterThan(150);
    const after = await auditRows();
    // Every earlier entry is still there, unchanged; the routes only appended.
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBeGreaterThan(before.length);
  });
});
