import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConsoleClient } from '../helpers/console-client.ts';
import { signIn } from '../helpers/factories.ts';
import { createPaymentWorld, type PaymentWorld } from '../helpers/payment-world.ts';
import { insertOrder } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const hour = 60 * 60 * 1000;
const now = Date.UTC(2026, 5, 15, 4, 0, 0);

/**
 * PAYTHROUGH_EXPORT_RETENTION_HOURS (SPEC §7, 24 by default) sets how long an export can be downloaded:
 * the app built from a configuration of 2 hours serves the file until then, then answers that it expired
 * naming the 2 hours, and the purge deletes the file.
 */
describeOnEachDatabase('export retention from the configuration', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  let operator: ConsoleClient;

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { exportRetentionHours: 2 }, backgroundJobs: false });
    context.clock.set(now);
    world = await createPaymentWorld(context);
    await insertOrder(
      context.database.db,
      {
        mnpId: world.mnpId,
        applicationId: world.applicationId,
        miniProgramTeamId: world.teamId,
        superappTeamId: world.tenant.superappTeamId,
      },
      { createdAt: now - hour, description: 'Kept two hours' },
    );
    operator = await signIn(context, world.tenant.members['mp:operator']);
  });
  afterAll(async () => {
    for (const job of await context.database.db.selectFrom('export_jobs').select(['id', 'format']).execute()) {
      rmSync(path.join(context.services.exports.folder, `${job.id}.${job.format}`), { force: true });
    }
    await context?.close();
  });

  const download = (id: string) =>
    context.app.inject({ method: 'GET', url: `/api/v1/exports/${id}/file`, headers: { cookie: operator.cookieHeader } });

  it('serves the file for the configured hours, then answers that it expired naming them', async () => {
    const created = await operator.post('/orders/exports', { format: 'csv', mnpIds: [world.mnpId] });
    expect(created.statusCode).toBe(201);
    expect(created.body).toMatchObject({ status: 'done', rowsWritten: 1, expiresAt: now + 2 * hour });

    context.clock.set(now + 2 * hour - 1);
    const before = await download(created.body.id);
    expect(before.statusCode).toBe(200);
    expect(before.body).toContain('Kept two hours');
    expect(await context.services.exports.purgeExpired()).toBe(0);

    context.clock.set(now + 2 * hour);
    const after = await download(created.body.id);
    expect(after.statusCode).toBe(404);
    expect(after.json()).toEqual({
      error: { code: 'ResourceNotFound', message: 'This export has expired (exports are kept for 2 hours); export again' },
    });
    expect(await context.services.exports.purgeExpired()).toBe(1);
    expect((await operator.get('/exports')).body.items[0]).toMatchObject({ id: created.body.id, status: 'expired' });
  });
});
