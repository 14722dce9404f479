import { afterAll, beforeAll, expect, it } from 'vitest';
import { notificationRetryScheduleMs, OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import type { DeliveryResult, OutboxHandler } from '../../src/services/payments/index.ts';
import { outboxRepository, type OutboxRow } from '../../src/repositories/outbox.repository.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/** A handler that fails the first `failures` attempts of each job, then succeeds. */
class ScriptedHandler implements OutboxHandler {
  readonly calls: number[] = [];
  constructor(
    private failures: number,
    private readonly pauseMs = 0,
  ) {}
  async deliver(job: OutboxRow): Promise<DeliveryResult> {
    this.calls.push(job.id);
    if (this.pauseMs) await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
    const seen = this.calls.filter((id) => id === job.id).length;
    if (seen <= this.failures)
      return { delivered: false, httpStatus: 500, responseExcerpt: `{"code":"FAIL","n":${seen}}`, error: 'HTTP 500' };
    return { delivered: true, httpStatus: 204, responseExcerpt: '' };
  }
}

describeOnEachDatabase('outbox and its worker', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  const worker = (handler: OutboxHandler, id = 'worker-a', topic = 'test-topic') =>
    new OutboxWorker({ db: context.database.db, kind, clock: context.clock, handlers: { [topic]: handler }, workerId: id });
  const enqueue = (topic = 'test-topic') =>
    context.database.db.transaction().execute((trx) =>
      context.services.outbox.enqueue(trx, {
        topic,
        payload: { n: 1 },
        targetUrl: 'https://merchant.example/notify',
        sandbox: false,
        subject: { type: 'order', id: 42 },
      }),
    );

  it('enqueues only with the transaction that made the change', async () => {
    const before = (await context.services.outbox.backlog()).pending;
    await expect(
      context.database.db.transaction().execute(async (trx) => {
        await context.services.outbox.enqueue(trx, { topic: 'test-topic', payload: {}, targetUrl: null, sandbox: false });
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    expect((await context.services.outbox.backlog()).pending).toBe(before);
    const row = await enqueue();
    expect(row).toMatchObject({
      status: 'pending',
      attempts: 0,
      next_attempt_at: context.clock.nowMs(),
      subject_type: 'order',
      subject_id: '42',
    });
    expect((await context.services.outbox.backlog()).pending).toBe(before + 1);
    await worker(new ScriptedHandler(0)).drain();
  });

  it('retries on exactly 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h, then fails; every attempt logged', async () => {
    const handler = new ScriptedHandler(Number.POSITIVE_INFINITY);
    const run = worker(handler);
    const job = await enqueue();
    const attemptTimes: number[] = [];
    expect(await run.runOnce()).toMatchObject({ claimed: 1, rescheduled: 1 });
    attemptTimes.push(context.clock.nowMs());
    for (const waitMs of notificationRetryScheduleMs) {
      context.clock.advance(waitMs - 1);
      expect((await run.runOnce()).claimed).toBe(0);
      context.clock.advance(1);
      expect((await run.runOnce()).claimed).toBe(1);
      attemptTimes.push(context.clock.nowMs());
    }
    const final = (await context.services.outbox.get(job.id))!;
    expect(final).toMatchObject({
      status: 'failed',
      attempts: 16,
      round_attempts: 16,
      next_attempt_at: null,
      failed_at: context.clock.nowMs(),
      last_http_status: 500,
    });
    const gaps = attemptTimes.slice(1).map((t, i) => t - attemptTimes[i]!);
    expect(gaps).toEqual([...notificationRetryScheduleMs]);
    expect(attemptTimes.at(-1)! - attemptTimes[0]!).toBe((24 * 60 + 4) * 60_000);
    const attempts = await context.services.outbox.attempts(job.id);
    expect(attempts).toHaveLength(16);
    expect(attempts.map((a) => a.attempt_no)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(attempts.every((a) => a.outcome === 'failed' && a.http_status === 500 && a.latency_ms >= 0 && a.worker === 'worker-a')).toBe(
      true,
    );
    expect(attempts[3]!.response_excerpt).toBe('{"code":"FAIL","n":4}');
    context.clock.advance(30 * 24 * 3600_000);
    expect((await run.runOnce()).claimed).toBe(0);
  });

  it('fails N times, then delivers and stops', async () => {
    const handler = new ScriptedHandler(3);
    const run = worker(handler);
    const job = await enqueue();
    await run.runOnce();
    for (const waitMs of notificationRetryScheduleMs.slice(0, 3)) {
      context.clock.advance(waitMs);
      await run.runOnce();
    }
    expect((await context.services.outbox.get(job.id))!).toMatchObject({
      status: 'delivered',
      attempts: 4,
      delivered_at: context.clock.nowMs(),
      last_error: null,
      claim_token: null,
    });
    expect((await context.services.outbox.attempts(job.id)).map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed', 'delivered']);
    context.clock.advance(3600_000);
    expect((await run.runOnce()).claimed).toBe(0);
  });

  it('a manual resend starts a new round for a failed or delivered event, and hurries a waiting one', async () => {
    const handler = new ScriptedHandler(Number.POSITIVE_INFINITY);
    const run = worker(handler);
    const job = await enqueue();
    await run.runOnce();
    expect((await context.services.outbox.get(job.id))!.next_attempt_at).toBe(context.clock.nowMs() + 15_000);
    const hurried = await context.services.outbox.resend(job.id);
    expect(hurried).toMatchObject({ status: 'pending', next_attempt_at: context.clock.nowMs(), manual: 1 });
    await run.runOnce();
    const attempts = await context.services.outbox.attempts(job.id);
    expect(attempts.map((a) => a.manual)).toEqual([0, 1]);

    // Let it fail for good, then resend: a fresh round from the start of the schedule.
    await context.database.db.updateTable('outbox').set({ status: 'failed', next_attempt_at: null }).where('id', '=', job.id).execute();
    const restarted = await context.services.outbox.resend(job.id);
    expect(restarted).toMatchObject({
      status: 'pending',
      round_attempts: 0,
      manual: 1,
      failed_at: null,
      next_attempt_at: context.clock.nowMs(),
    });
    const succeeding = worker(new ScriptedHandler(0));
    await succeeding.runOnce();
    expect((await context.services.outbox.get(job.id))!).toMatchObject({ status: 'delivered', manual: 0 });
    const delivered = await context.services.outbox.resend(job.id);
    expect(delivered.status).toBe('pending');
    await succeeding.runOnce();
    expect((await context.services.outbox.attempts(job.id)).map((a) => [a.outcome, a.manual])).toEqual([
      ['failed', 0],
      ['failed', 1],
      ['delivered', 1],
      ['delivered', 1],
    ]);
    await expect(context.services.outbox.resend(999_999)).rejects.toMatchObject({ code: 'ResourceNotFound' });
  });

  it('several workers deliver each job exactly once', async () => {
    const handler = new ScriptedHandler(0, 5);
    const jobs = await Promise.all(Array.from({ length: 30 }, () => enqueue('race-topic')));
    const workers = ['w1', 'w2', 'w3', 'w4'].map((id) => worker(handler, id, 'race-topic'));
    await Promise.all(workers.map((w) => w.drain()));
    const ids = jobs.map((j) => j.id).sort((a, b) => a - b);
    expect([...handler.calls].sort((a, b) => a - b)).toEqual(ids);
    for (const job of jobs) expect((await context.services.outbox.get(job.id))!.status).toBe('delivered');
  });

  it('a job whose worker died is claimed again once its lease expires; the late worker cannot overwrite', async () => {
    const job = await enqueue('lease-topic');
    const now = context.clock.nowMs();
    // Worker A claims it and "crashes" before delivering.
    expect(
      await outboxRepository.claim(context.database.db, job.id, { workerId: 'A', token: 'token-a', now, leaseUntil: now + 60_000 }),
    ).toBe(true);
    const handler = new ScriptedHandler(0);
    const b = worker(handler, 'B', 'lease-topic');
    expect((await b.runOnce()).claimed).toBe(0);
    context.clock.advance(60_000);
    expect((await b.runOnce()).delivered).toBe(1);
    // A comes back with its stale claim: nothing changes.
    const stale = await outboxRepository.complete(context.database.db, job.id, 'token-a', {
      status: 'failed',
      roundAttempts: 9,
      nextAttemptAt: null,
      now: context.clock.nowMs(),
      error: 'x',
      httpStatus: null,
    });
    expect(stale).toBe(false);
    expect((await context.services.outbox.get(job.id))!.status).toBe('delivered');
  });

  it('a live worker renews its lease while a slow delivery runs, so no other worker takes the job meanwhile', async () => {
    const job = await enqueue('renew-topic');
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = {
      async deliver(): Promise<DeliveryResult> {
        await released;
        return { delivered: true, httpStatus: 204 };
      },
    };
    const leaseMs = 300;
    const a = new OutboxWorker({
      db: context.database.db,
      kind,
      clock: context.clock,
      handlers: { 'renew-topic': slow },
      workerId: 'A',
      leaseMs,
    });
    const b = new OutboxWorker({
      db: context.database.db,
      kind,
      clock: context.clock,
      handlers: { 'renew-topic': new ScriptedHandler(0) },
      workerId: 'B',
      leaseMs,
    });
    const running = a.runOnce();
    // Three leases pass on the clock while A's delivery hangs; A renews every 100 ms, so B never gets the job.
    for (let step = 0; step < 18; step += 1) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      context.clock.advance(leaseMs / 6);
      expect((await b.runOnce()).claimed).toBe(0);
    }
    release();
    expect(await running).toMatchObject({ claimed: 1, delivered: 1 });
    expect((await context.services.outbox.get(job.id))!).toMatchObject({ status: 'delivered', claim_token: null, claim_expires_at: null });
  });

  it('a job without a handler is a failed attempt, retried on schedule', async () => {
    const job = await enqueue('nobody-handles-this');
    await worker(new ScriptedHandler(0), 'w', 'other').runOnce();
    const attempts = await context.services.outbox.attempts(job.id);
    expect(attempts[0]).toMatchObject({ outcome: 'failed', error: 'No handler for topic nobody-handles-this' });
  });

  it('keeps response excerpts and errors within 1 KB', async () => {
    const big = {
      async deliver(): Promise<DeliveryResult> {
        return { delivered: false, httpStatus: 500, responseExcerpt: '错'.repeat(1000), error: 'e'.repeat(5000) };
      },
    };
    const job = await enqueue('big-topic');
    await worker(big, 'w', 'big-topic').runOnce();
    const [attempt] = await context.services.outbox.attempts(job.id);
    expect(Buffer.byteLength(attempt!.response_excerpt!)).toBeLessThanOrEqual(1024);
    expect(attempt!.response_excerpt!.endsWith('错')).toBe(true);
    expect(attempt!.error!.length).toBe(1024);
  });
});
