import { afterAll, beforeAll, expect, it } from 'vitest';
import { merchantNotificationTopic } from '../../src/services/payments/notification.service.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('background jobs', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  it('start when the server listens: the outbox worker picks up due work', async () => {
    const job = await context.database.db.transaction().execute((trx) =>
      context.services.outbox.enqueue(trx, {
        topic: merchantNotificationTopic,
        payload: { event_type: 'TRANSACTION.SUCCESS', resource: {}, mnp_id: 'mnp_without_account' },
        targetUrl: 'http://127.0.0.1:9/notify',
        sandbox: true,
      }),
    );
    expect(await context.services.outbox.attempts(job.id)).toHaveLength(0);
    await context.app.listen({ port: 0, host: '127.0.0.1' });
    const deadline = Date.now() + 10_000;
    let attempts = await context.services.outbox.attempts(job.id);
    while (attempts.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      attempts = await context.services.outbox.attempts(job.id);
    }
    // No payment account, so no APIv3 key: a logged, failed attempt, retried 15 s later on the clock.
    expect(attempts[0]).toMatchObject({ outcome: 'failed' });
    expect(attempts[0]!.error).toMatch(/no APIv3 key/);
    expect((await context.services.outbox.get(job.id))!.next_attempt_at).toBe(context.clock.nowMs() + 15_000);
  });
});
