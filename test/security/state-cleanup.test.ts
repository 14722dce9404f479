import { afterAll, beforeAll, expect, it } from 'vitest';
import { signV3Request } from '../../src/crypto/wechatpay-v3.ts';
import { purgeBatchSize } from '../../src/db/batched-delete.ts';
import { OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import { purgeExpiredSecurityState } from '../../src/jobs/security-purge.ts';
import { outboxRepository } from '../../src/repositories/outbox.repository.ts';
import { replayNonceRepository } from '../../src/repositories/replay-nonce.repository.ts';
import { rateLimitRetentionMs } from '../../src/services/auth/rate-limiter.ts';
import { replayWindowMs } from '../../src/services/auth/nonce.service.ts';
import { readyMerchant, type MerchantCredentials } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs as day } from '../../src/domain/clock.ts';

/**
 * Short-lived security state is purged by the periodic job once its window is over (SPEC §7 retention):
 * replay nonces after their 5 minutes, rate-limit counters (signature failures, sign-in, per mchid) after their
 * window; nothing still in force is deleted. Driven by the manual clock.
 */
describeOnEachDatabase('purge of nonces and rate-limit counters', (kind) => {
  let context: TestContext;
  let merchant: MerchantCredentials;
  let sequence = 0;

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { signatureFailureLimit: 3 } });
    merchant = readyMerchant(await context.services.demoWorld.ensure());
  });
  afterAll(() => context?.close());

  const v3Query = (address: string, forged = false) => {
    const url = `/v3/pay/transactions/out-trade-no/PURGE${(sequence += 1)}?mchid=${merchant.mchid}`;
    let authorization = signV3Request(
      { mchid: merchant.mchid, serialNo: merchant.serialNo, privateKey: merchant.privateKeyPem },
      { method: 'GET', url, body: '' },
      { nowMs: context.clock.nowMs() },
    );
    if (forged) authorization = authorization.replace(/signature="[^"]{8}/, 'signature="AAAAAAAA');
    return context.app.inject({ method: 'GET', url, remoteAddress: address, headers: { authorization, accept: 'application/json' } });
  };
  const rowsOf = async () => ({
    nonces: (await context.database.db.selectFrom('replay_nonces').select('nonce').execute()).length,
    counters: [
      ...(await context.database.db.selectFrom('rate_limit_counters').select(['counter_key', 'window_start']).execute()).map(
        (row) => `${row.counter_key}@${row.window_start}`,
      ),
      ...(await context.database.db.selectFrom('backoff_counters').select(['counter_key', 'updated_at']).execute()).map(
        (row) => `${row.counter_key}@${row.updated_at}`,
      ),
    ],
  });

  it('keeps what is in force, deletes nonces past their window and counters past theirs', async () => {
    // Start on the hour, so every window (5 and 15 minutes) starts now.
    context.clock.advance(rateLimitRetentionMs - (context.clock.nowMs() % rateLimitRetentionMs));
    for (let i = 0; i < 3; i++) expect((await v3Query('198.51.100.70', true)).statusCode).toBe(401);
    expect((await v3Query('198.51.100.70')).statusCode).toBe(429);
    expect((await v3Query('198.51.100.71')).statusCode).toBe(404);
    const signIn = await context.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      remoteAddress: '198.51.100.72',
      payload: { account: 'nobody-purge', password: 'guess' },
    });
    expect(signIn.statusCode).toBe(401);
    const made = await rowsOf();
    expect(made.nonces).toBe(1);
    // Signature failures of .70, sign-in per (account, address) and per address, the merchant's per-mchid request count.
    expect(made.counters.length).toBe(4);

    context.clock.advance(replayWindowMs - 60_000);
    expect(await purgeExpiredSecurityState(context.services)).toEqual({ nonces: 0, counters: 0 });
    expect(await rowsOf()).toEqual(made);
    expect((await v3Query('198.51.100.70')).statusCode, 'the signature-failure block still holds').toBe(429);

    context.clock.advance(2 * 60_000);
    expect((await purgeExpiredSecurityState(context.services)).nonces).toBe(made.nonces);
    expect((await rowsOf()).nonces).toBe(0);

    context.clock.advance(rateLimitRetentionMs - replayWindowMs - 60_000 + 1);
    expect((await v3Query('198.51.100.73', true)).statusCode).toBe(401);
    const fresh = (await rowsOf()).counters.filter((counter) => !made.counters.includes(counter));
    expect(fresh).toHaveLength(1);
    expect(await purgeExpiredSecurityState(context.services)).toEqual({ nonces: 0, counters: 4 });
    expect((await rowsOf()).counters, 'only the counter of the current window is left').toEqual(fresh);
  });
});

/**
 * Retention settings (SPEC §7): used nonces are kept PAYTHROUGH_NONCE_RETENTION_MINUTES from their timestamp
 * (past the window a kept nonce refuses nothing); delivery attempts of delivered or failed notifications are
 * deleted after PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS, a pending notification's never, the outbox row stays.
 * Purges delete in batches of purgeBatchSize rows, repeated until done.
 */
describeOnEachDatabase('retention of nonces and delivery attempts', (kind) => {
  const minute = 60_000;
  let context: TestContext;

  beforeAll(async () => {
    context = await createTestContext(kind, {
      config: { nonceRetentionMinutes: 30, deliveryAttemptRetentionDays: 2 },
      backgroundJobs: false,
    });
  });
  afterAll(() => context?.close());

  const nonceCount = () => replayNonceRepository.count(context.database.db);

  it('keeps a used nonce for the configured minutes; past its window it no longer refuses a message', async () => {
    const { nonces } = context.services;
    context.clock.advance(1000 - (context.clock.nowMs() % 1000));
    const seconds = context.clock.nowMs() / 1000;
    expect(await nonces.rememberNonce('retention:test', 'kept', seconds)).toBe(true);
    expect(await nonces.rememberNonce('retention:test', 'kept', seconds), 'a replay inside the window').toBe(false);
    expect(await nonces.rememberNonce('retention:test', 'reused', seconds)).toBe(true);

    context.clock.advance(replayWindowMs + 1000);
    expect(
      await nonces.rememberNonce('retention:test', 'reused', seconds + 400),
      'past the window the kept row takes the new message',
    ).toBe(true);
    expect(await nonces.purgeExpired()).toBe(0);

    // Kept 30 minutes from the end of its timestamp's second (as the window is counted).
    context.clock.advance(30 * minute - replayWindowMs - 1);
    expect(await nonces.purgeExpired(), 'one millisecond before its 30 minutes').toBe(0);
    expect(await nonceCount()).toBe(2);
    context.clock.advance(1);
    expect(await nonces.purgeExpired()).toBe(1);
    expect((await context.database.db.selectFrom('replay_nonces').select('nonce').execute()).map((row) => row.nonce)).toEqual(['reused']);
    context.clock.advance(400_000);
    expect(await nonces.purgeExpired()).toBe(1);
    expect(await nonceCount()).toBe(0);
  });

  it('purges nonces in batches of at most purgeBatchSize rows', async () => {
    const total = purgeBatchSize * 2 + 345;
    const now = context.clock.nowMs();
    const rows = Array.from({ length: total }, (_, i) => ({
      scope: 'retention:batch',
      nonce: `n${i}`,
      seen_at: now,
      expires_at: now + replayWindowMs,
    }));
    for (let i = 0; i < total; i += 500)
      await context.database.db
        .insertInto('replay_nonces')
        .values(rows.slice(i, i + 500))
        .execute();
    context.clock.advance(30 * minute);
    const before = context.clock.nowMs() - (30 * minute - replayWindowMs);
    expect(
      await replayNonceRepository.deleteExpiredBatch(context.database.db, before, purgeBatchSize),
      'one statement deletes one batch',
    ).toBe(purgeBatchSize);
    expect(await nonceCount()).toBe(total - purgeBatchSize);
    expect(await context.services.nonces.purgeExpired(), 'the job repeats batches until none is left').toBe(total - purgeBatchSize);
    expect(await nonceCount()).toBe(0);
  });

  const oldAttemptsTitle =
    'deletes old attempts of delivered and failed notifications in batches; ' +
    'keeps newer ones, a pending notification’s, and the outbox rows';
  it(oldAttemptsTitle, async () => {
    const { db } = context.database;
    const { outbox } = context.services;
    const failing = new Set<string>();
    const worker = new OutboxWorker({
      db,
      kind,
      clock: context.clock,
      workerId: 'retention',
      handlers: {
        'retention-topic': {
          deliver: async (job) =>
            failing.has(job.target_url ?? '')
              ? { delivered: false, httpStatus: 500, error: 'HTTP 500' }
              : { delivered: true, httpStatus: 204 },
        },
      },
    });
    const enqueue = (name: string) =>
      db
        .transaction()
        .execute((trx) =>
          outbox.enqueue(trx, { topic: 'retention-topic', payload: {}, targetUrl: `https://${name}.example/notify`, sandbox: false }),
        );
    const attemptsOf = async (id: number) => (await outbox.attempts(id)).map((attempt) => attempt.attempt_no);

    failing.add('https://pending.example/notify');
    failing.add('https://failed.example/notify');
    const delivered = await enqueue('delivered');
    const pending = await enqueue('pending');
    const failed = await enqueue('failed');
    expect((await worker.runOnce()).claimed).toBe(3);
    // The failed one's retries ran out; it carries a long history of attempts (more than two batches).
    const start = context.clock.nowMs();
    await db
      .updateTable('outbox')
      .set({ status: 'failed', next_attempt_at: null, failed_at: start, attempts: 1 + purgeBatchSize * 2 + 7 })
      .where('id', '=', failed.id)
      .execute();
    const history = Array.from({ length: purgeBatchSize * 2 + 7 }, (_, i) => ({
      outbox_id: failed.id,
      attempt_no: i + 2,
      manual: 0,
      target_url: failed.target_url,
      started_at: start + i,
      latency_ms: 5,
      outcome: 'failed' as const,
      http_status: 500,
      response_excerpt: null,
      error: 'HTTP 500',
      worker: 'retention',
    }));
    for (let i = 0; i < history.length; i += 500)
      await db
        .insertInto('delivery_attempts')
        .values(history.slice(i, i + 500))
        .execute();

    // Two days later the delivered one is resent (a new attempt) and a new notification is delivered.
    context.clock.advance(2 * day - 1);
    expect(await outbox.purgeOldAttempts(), 'nothing is two days old yet').toBe(0);
    expect(await outboxRepository.restart(db, delivered.id, 'delivered', context.clock.nowMs())).toBe(true);
    // The pending one's next retry is not due during this test.
    await db
      .updateTable('outbox')
      .set({ next_attempt_at: context.clock.nowMs() + day })
      .where('id', '=', pending.id)
      .execute();
    const fresh = await enqueue('fresh');
    expect((await worker.runOnce()).claimed).toBe(2);
    // Every attempt of the first day (the history's last at start + 2,006 ms) is now past two days.
    context.clock.advance(purgeBatchSize * 2 + 7 + 1);

    const before = context.clock.nowMs() - 2 * day;
    expect(await outboxRepository.deleteFinishedAttemptsBatch(db, before, purgeBatchSize), 'one statement deletes one batch').toBe(
      purgeBatchSize,
    );
    expect(await outbox.purgeOldAttempts()).toBe(1 + purgeBatchSize + 8);
    expect(await outbox.purgeOldAttempts(), 'a second purge finds nothing').toBe(0);

    expect(await attemptsOf(delivered.id), 'the resend’s attempt is newer than two days').toEqual([2]);
    expect(await attemptsOf(pending.id), 'a pending notification keeps its old attempt').toEqual([1]);
    expect(await attemptsOf(failed.id)).toEqual([]);
    expect(await attemptsOf(fresh.id)).toEqual([1]);
    expect(await outbox.get(delivered.id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(await outbox.get(failed.id)).toMatchObject({ status: 'failed', attempts: 1 + purgeBatchSize * 2 + 7 });
    expect(await outbox.get(pending.id)).toMatchObject({ status: 'pending', attempts: 1 });
  });
});
