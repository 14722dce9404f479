import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { OutboxWorker, type OutboxWorkerOptions } from '../../src/jobs/outbox-worker.ts';
import { outboxRepository, type OutboxRow } from '../../src/repositories/outbox.repository.ts';
import type { DeliveryResult, OutboxHandler } from '../../src/services/payments/index.ts';
import { postgresTestUrl } from '../helpers/postgres.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/** Delivers at once, except to `https://dead.example`, which hangs until released (a receiver that never answers). */
class ReceiverDouble implements OutboxHandler {
  readonly delivered: number[] = [];
  deadInFlight = 0;
  maxDeadInFlight = 0;
  private releaseDead!: () => void;
  private readonly deadReleased = new Promise<void>((resolve) => (this.releaseDead = resolve));

  async deliver(job: OutboxRow): Promise<DeliveryResult> {
    if (job.target_url?.startsWith('https://dead.example/')) {
      this.deadInFlight += 1;
      this.maxDeadInFlight = Math.max(this.maxDeadInFlight, this.deadInFlight);
      await this.deadReleased;
      this.deadInFlight -= 1;
    }
    this.delivered.push(job.id);
    return { delivered: true, httpStatus: 204 };
  }

  release(): void {
    this.releaseDead();
  }
}

async function eventually(check: () => boolean | Promise<boolean>, withinMs: number): Promise<void> {
  const until = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeOnEachDatabase('outbox worker throughput', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  const topic = 'drain-topic';
  const worker = (handler: OutboxHandler, options: Partial<OutboxWorkerOptions> = {}) =>
    new OutboxWorker({ db: context.database.db, kind, clock: context.clock, handlers: { [topic]: handler }, ...options });
  const enqueue = (count: number, targetUrl = 'https://merchant.example/notify') =>
    context.database.db.transaction().execute(async (trx) => {
      const rows: OutboxRow[] = [];
      for (let i = 0; i < count; i += 1)
        rows.push(await context.services.outbox.enqueue(trx, { topic, payload: { i }, targetUrl, sandbox: false }));
      return rows;
    });
  const statusOf = async (ids: number[]) => Promise.all(ids.map(async (id) => (await context.services.outbox.get(id))!.status));

  const drainsBeforeInterval =
    'a started worker claims again at once while batches come back full: a backlog of several batches drains before any interval';
  it(drainsBeforeInterval, async () => {
    const jobs = await enqueue(45);
    const handler = new ReceiverDouble();
    // An interval far longer than the test: only the drain loop can deliver past the first batch.
    const loop = worker(handler, { batchSize: 10 }).start(60_000);
    try {
      await eventually(() => handler.delivered.length === 45, 5_000);
      await eventually(async () => (await statusOf(jobs.map((job) => job.id))).every((status) => status === 'delivered'), 5_000);
    } finally {
      await loop.stop();
    }
    expect([...handler.delivered].sort((a, b) => a - b)).toEqual(jobs.map((job) => job.id));
    // One attempt each, logged.
    for (const job of jobs) expect(await context.services.outbox.attempts(job.id)).toHaveLength(1);
  });

  it('an enqueue on this instance wakes the idle worker before its next interval', async () => {
    const handler = new ReceiverDouble();
    const outboxWorker = worker(handler);
    const stopWaking = context.services.outbox.onEnqueued(() => outboxWorker.wake());
    const loop = outboxWorker.start(60_000);
    try {
      // Let the first look find nothing, so the worker rests.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [job] = await enqueue(1);
      await eventually(() => handler.delivered.includes(job!.id), 2_000);
    } finally {
      stopWaking();
      await loop.stop();
    }
  });

  it('a dead receiver with a backlog holds its own lanes only: a healthy receiver behind it is delivered meanwhile', async () => {
    const dead = await enqueue(300, 'https://dead.example/notify');
    const healthy = await enqueue(10, 'https://healthy.example/notify');
    const handler = new ReceiverDouble();
    const loop = worker(handler, { batchSize: 50, concurrency: 8, perOriginConcurrency: 4 }).start(60_000);
    try {
      await eventually(() => healthy.every((job) => handler.delivered.includes(job.id)), 5_000);
      expect(handler.maxDeadInFlight).toBe(4);
      expect(handler.delivered.filter((id) => dead.some((job) => job.id === id))).toEqual([]);
      handler.release();
      await eventually(() => handler.delivered.length === 310, 10_000);
    } finally {
      handler.release();
      await loop.stop();
    }
    expect((await statusOf(dead.map((job) => job.id))).every((status) => status === 'delivered')).toBe(true);
  });

  it('two workers on two connections claim batches exclusively and deliver every job once', async () => {
    const second: DatabaseHandle =
      kind === 'sqlite'
        ? openDatabase(context.config.databaseUrl)
        : openDatabase(postgresTestUrl, { postgresSchema: context.postgresSchema!, postgresPoolSize: 4 });
    try {
      // The claiming statements alone, raced: no job in two claims, and a live lease keeps a job from a second claim.
      const jobs = await enqueue(200);
      const now = context.clock.nowMs();
      const claimers = [outboxRepository.claimBatch, ...(kind === 'postgres' ? [outboxRepository.claimBatchSkipLocked] : [])];
      for (const claimBatch of claimers) {
        const claimed: number[] = [];
        let round = 0;
        for (;;) {
          round += 1;
          const batches = await Promise.all(
            [context.database.db, second.db, context.database.db, second.db].map((db, index) =>
              claimBatch(db, { workerId: `w${index}`, token: `t${round}-${index}`, now, leaseUntil: now + 60_000 }, 7),
            ),
          );
          const ids = batches.flat().map((row) => row.id);
          claimed.push(...ids);
          if (ids.length === 0) break;
        }
        expect(claimed.length).toBe(new Set(claimed).size);
        expect([...claimed].sort((a, b) => a - b)).toEqual(jobs.map((job) => job.id));
        // The leases end: the jobs can be claimed again (by the next claimer, or the workers below).
        await outboxRepository.releaseClaims(
          context.database.db,
          (await Promise.all(jobs.map((job) => context.services.outbox.get(job.id)))).map((row) => ({
            id: row!.id,
            token: row!.claim_token!,
          })),
        );
      }

      // Two started workers, one per connection: each job delivered exactly once.
      const handlers = [new ReceiverDouble(), new ReceiverDouble()];
      const loops = [context.database.db, second.db].map((db, index) =>
        new OutboxWorker({ db, kind, clock: context.clock, handlers: { [topic]: handlers[index]! }, batchSize: 9 }).start(60_000),
      );
      try {
        await eventually(() => handlers[0]!.delivered.length + handlers[1]!.delivered.length >= 200, 10_000);
      } finally {
        await Promise.all(loops.map((loop) => loop.stop()));
      }
      const delivered = [...handlers[0]!.delivered, ...handlers[1]!.delivered].sort((a, b) => a - b);
      expect(delivered).toEqual(jobs.map((job) => job.id));
      for (const job of jobs) expect(await context.services.outbox.attempts(job.id)).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});
