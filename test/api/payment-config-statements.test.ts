import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * The statement settings of the payment configuration in the console API (SPEC §9.1): `statementsSupported` for the
 * HTTP channel (on for a newly chosen one), the host-reported statement URL (https, like the refund webhook), both
 * in the answer, refused input in the console's error format, and audited.
 */
describeOnEachDatabase('payment configuration: statement settings over the console API', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let admin: ConsoleClient;
  let url: string;

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    manifest = await context.services.demoWorld.ensure();
    admin = await ConsoleClient.signIn(context.app, manifest.superapp.users.admin.account, manifest.superapp.users.admin.password);
    url = `/superapps/${manifest.superapp.applicationId}/payment-config`;
  });
  afterAll(async () => {
    await context?.close();
  });

  it('shows the settings, switches statements for a new HTTP channel on, saves a statement URL and refuses a bad one', async () => {
    const before = await admin.get(url);
    expect(before.statusCode).toBe(200);
    expect(before.body).toMatchObject({ channelKind: 'sandbox', statementsSupported: false, statementUrl: null });

    const http = await admin.patch(url, {
      channel: { kind: 'http', baseUrl: 'https://pay.superapp.example/pt', secret: 'a-channel-key-0123456789abcdefghijklmn' },
    });
    expect(http.statusCode).toBe(200);
    expect(http.body).toMatchObject({ channelKind: 'http', statementsSupported: true });
    const off = await admin.patch(url, { statementsSupported: false });
    expect(off.body).toMatchObject({ channelKind: 'http', statementsSupported: false, channelSecretSet: true });

    for (const [statementUrl, field] of [
      ['http://statements.superapp.example/day', 'statementUrl'],
      ['https://user:secret@statements.superapp.example/day', 'statementUrl'],
      ['not a url', 'statementUrl'],
    ] as const) {
      const refused = await admin.patch(url, {
        channel: { kind: 'host_reported', webhookUrl: 'https://hooks.superapp.example/refund' },
        statementUrl,
      });
      expect(refused.statusCode, statementUrl).toBe(400);
      expect(refused.body.error, statementUrl).toMatchObject({ code: 'InvalidParameterValue', details: { field } });
    }
    // Nothing of a refused change was saved.
    expect((await admin.get(url)).body).toMatchObject({ channelKind: 'http', statementUrl: null });

    const host = await admin.patch(url, {
      channel: { kind: 'host_reported', webhookUrl: 'https://hooks.superapp.example/refund' },
      statementUrl: 'https://hooks.superapp.example/statements',
    });
    expect(host.statusCode).toBe(200);
    expect(host.body).toMatchObject({
      channelKind: 'host_reported',
      channelSettings: { webhookUrl: 'https://hooks.superapp.example/refund' },
      statementUrl: 'https://hooks.superapp.example/statements',
    });
    // The statement URL is no part of the connection: changing it keeps the connection orders are created under.
    const moved = await admin.patch(url, { statementUrl: 'https://hooks.superapp.example/statements/v2' });
    expect(moved.body).toMatchObject({
      statementUrl: 'https://hooks.superapp.example/statements/v2',
      channelConnectionId: host.body.channelConnectionId,
    });
    expect((await admin.patch(url, { statementUrl: null })).body).toMatchObject({ statementUrl: null });

    const audit = await context.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'payment_config.update')
      .where('target_id', '=', manifest.superapp.applicationId)
      .execute();
    expect(audit.some((entry) => JSON.stringify(entry).includes('statements/v2'))).toBe(true);
  });
});
