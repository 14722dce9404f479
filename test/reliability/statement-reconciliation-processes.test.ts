import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { channelCallbackPath, channelProtocolPaths, signChannelMessage, type WireOrder } from '../../src/channels/protocol.ts';
import type { StatementLine } from '../../src/channels/statement.ts';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../src/domain/business-time.ts';
import { minuteMs } from '../../src/domain/clock.ts';
import { tlsFixtures } from '../fixtures/keys/index.ts';
import { repositoryRoot } from '../helpers/cli-process.ts';
import { demoActor, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { FakeChannelServer, paymentLineOf } from './fake-channel-server.ts';

/**
 * SPEC §9.7 across processes, over the channel protocol: reconciliation workers (reconciliation-worker.ts, each a
 * process of its own on the test's database) read statements of several pages from the fake HTTP channel.
 * - Crash after a page: a worker is SIGKILLed while it waits for page 2 (page 1 committed), the next one takes the
 *   run over once the lease lapsed and is killed waiting for page 3, a third finishes. No committed page is fetched
 *   again, and the report is the one an uninterrupted run wrote, byte for byte.
 * - Two workers at once on the same due days: each page is fetched once (counted by cursor at the channel).
 */
const channelKey = 'statement-processes-channel-key-0123456';
const timezone = 'Asia/Shanghai';
const workerPath = path.join(repositoryRoot, 'test/reliability/reconciliation-worker.ts');
/** Six lines a day in pages of two: cursors null, '2', '4'. */
const pageCursors = [null, '2', '4'];

class Worker {
  private output = '';
  private readonly exited: Promise<number | null>;
  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** A worker process up and waiting (`ready`). */
  static async start(env: NodeJS.ProcessEnv): Promise<Worker> {
    const worker = new Worker(
      spawn(process.execPath, ['--import', 'tsx', workerPath], { cwd: repositoryRoot, env, stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    const started = Date.now();
    while (!worker.output.includes('ready\n')) {
      if (worker.child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`the worker did not start:\n${worker.output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return worker;
  }

  go(): void {
    this.child.stdin!.write('go\n');
  }

  /** Its runs taken, once it has exited by itself. */
  async done(): Promise<number> {
    const code = await this.exited;
    const match = /done (\d+)/.exec(this.output);
    if (code !== 0 || !match) throw new Error(`the worker failed (${code}):\n${this.output}`);
    return Number(match[1]);
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

describeOnEachDatabase('statement reconciliation across processes: a crash after a page, two workers', (kind) => {
  let context: TestContext;
  let server: FakeChannelServer;
  let applicationId: string;
  let client: V3InjectClient;
  let connectionId: number;
  const days: string[] = [];
  /** Each day's report and exceptions as an uninterrupted run left them. */
  const uninterrupted = new Map<string, { report: string | null; exceptions: unknown[] }>();
  const workers: Worker[] = [];
  const db = () => context.database.db;

  const workerEnvironment = (nowMs: number): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: context.config.databaseUrl,
    WORKER_POSTGRES_SCHEMA: context.postgresSchema ?? '',
    PAYTHROUGH_MASTER_KEY: context.config.masterKeys!.join(','),
    PAYTHROUGH_SANDBOX: 'on',
    PAYTHROUGH_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
    PAYTHROUGH_TIMEZONE: timezone,
    PAYTHROUGH_LOG_LEVEL: 'warn',
    PORT: '0',
    WORKER_NOW: String(nowMs),
  });
  async function startWorker(nowMs = context.clock.nowMs()) {
    const worker = await Worker.start(workerEnvironment(nowMs));
    workers.push(worker);
    return worker;
  }

  const runOf = async (billDate: string) =>
    (await db()
      .selectFrom('reconciliation_runs')
      .selectAll()
      .where('application_id', '=', applicationId)
      .where('bill_date', '=', billDate)
      .where('channel_connection_id', '=', connectionId)
      .executeTakeFirst())!;
  const exceptionsOf = async (billDate: string) =>
    (
      await db()
        .selectFrom('reconciliation_exceptions')
        .selectAll()
        .where('application_id', '=', applicationId)
        .where('bill_date', '=', billDate)
        .orderBy('item_key')
        .execute()
    ).map(({ updated_at: _u, last_seen_pass: _p, run_id: _r, ...kept }) => kept);
  /** The cursors the channel was asked for, per day, from request `since` on. */
  const cursorsSince = (since: number, billDate: string) =>
    server.requests
      .slice(since)
      .filter((request) => request.path === server.statementPath)
      .map((request) => request.body as { bill_date: string; cursor: string | null })
      .filter((body) => body.bill_date === billDate)
      .map((body) => body.cursor);

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { allowPrivateTargets: ['127.0.0.1/32'], timezone }, backgroundJobs: false });
    const manifest = await context.services.demoWorld.ensure();
    applicationId = manifest.superapp.applicationId;
    client = new V3InjectClient(context.app, readyMerchant(manifest), context.clock);
    context.services.gatewayChannels.configureConnector({
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      tls: { ca: tlsFixtures.caPem },
      timeoutMs: 5_000,
      statementTimeoutMs: 5_000,
    });
    server = await new FakeChannelServer(channelKey, context.clock, {
      keyPem: tlsFixtures.serverKeyPem,
      certPem: tlsFixtures.serverCertPem,
      hostname: tlsFixtures.hostname,
    }).start();
    server.statementPageSize = 2;
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    const view = await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'http', baseUrl: server.url, secret: channelKey },
    });
    connectionId = view.channelConnectionId!;

    // Four days alike: six payments each, the channel lists one with another amount and drops one; and an order the
    // user paid whose callback never came (a payment missing at Paythrough: its action pays the order).
    let day = businessDateOf(context.clock.nowMs(), timezone);
    const lines: StatementLine[] = [];
    for (let d = 0; d < 4; d += 1) {
      day = addCalendarDays(day, 1);
      days.push(day);
      for (let n = 0; n < 6; n += 1) {
        context.clock.set(businessTimeOn(day, '12:00', timezone) + n * minuteMs);
        const outTradeNo = `SRP-${kind}-${d}-${n}`;
        expect((await client.prepay({ outTradeNo, total: 100 + n })).statusCode).toBe(200);
        const order: WireOrder = server.pay(client.merchant.mchid, outTradeNo);
        const body = server.event('payment.succeeded', order);
        const answer = await context.app.inject({
          method: 'POST',
          url: channelCallbackPath(applicationId),
          headers: { 'content-type': 'application/json', ...signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() }) },
          payload: body,
        });
        expect(answer.statusCode).toBe(204);
        if (n === 5) continue; // dropped by the channel
        lines.push(n === 2 ? paymentLineOf(order, { amount: { total: 999, currency: order.amount.currency } }) : paymentLineOf(order));
      }
      context.clock.set(businessTimeOn(day, '13:00', timezone));
      const silent = `SRP-${kind}-${d}-silent`;
      expect((await client.prepay({ outTradeNo: silent, total: 106 })).statusCode).toBe(200);
      lines.push(paymentLineOf(server.pay(client.merchant.mchid, silent)));
    }
    server.statementLines = lines;
    context.clock.set(businessTimeOn(addCalendarDays(day, 1), '10:30', timezone));
  }, 120_000);
  afterAll(async () => {
    for (const worker of workers) await worker.kill();
    await server?.stop();
    await context?.close();
  });

  it('an uninterrupted run of each day, in process: every page once, one amount mismatch and one drop a day', async () => {
    for (const day of days.slice(0, 3)) {
      const since = server.requests.length;
      await context.services.statementReconciliation.reconcileDay(day, applicationId);
      const run = await runOf(day);
      expect(run).toMatchObject({ status: 'DONE', pages: 3 });
      expect(cursorsSince(since, day)).toEqual(pageCursors);
      const exceptions = await exceptionsOf(day);
      expect(exceptions.map((e) => [e.kind, e.status, e.action])).toEqual([
        ['AMOUNT_MISMATCH', 'OPEN', null],
        ['MISSING_AT_CHANNEL', 'OPEN', null],
        ['MISSING_AT_PAYTHROUGH', 'AUTO_RESOLVED', 'paid'],
      ]);
      uninterrupted.set(day, { report: run.report_json, exceptions });
    }
  });

  /** Lets `worker` go and SIGKILLs it when it asks for `cursor` of `day` (the page before is stored by then), before the answer. */
  async function killWhenAsked(worker: Worker, day: string, cursor: string) {
    let killed: Promise<void> | undefined;
    server.onStatementQuery = (query) => {
      if (query.billDate === day && query.cursor === cursor) killed ??= worker.kill();
    };
    server.beforeAnswer = async () => {
      if (killed) await killed;
    };
    worker.go();
    for (let waited = 0; !killed && waited < 60_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    await killed;
    server.onStatementQuery = undefined;
    server.beforeAnswer = undefined;
    expect(killed).toBeDefined();
  }
  const linesOf = async (runId: number) =>
    Number(
      (
        await db()
          .selectFrom('reconciliation_lines')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('run_id', '=', runId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('workers killed after committing page 1, then page 2: the next resumes, no committed page fetched again, same report', async () => {
    const day = days[0]!;
    await context.services.statementReconciliation.rerunDay(applicationId, day);
    const t0 = context.clock.nowMs();
    // Each worker's clock a lease (5 min) after the one before; the channel checks signatures on the test's clock.
    const [first, second, third] = await Promise.all([startWorker(t0), startWorker(t0 + 6 * minuteMs), startWorker(t0 + 12 * minuteMs)]);
    const since = server.requests.length;

    await killWhenAsked(first!, day, '2');
    let run = await runOf(day);
    expect(run).toMatchObject({ status: 'RUNNING', pages: 1, next_cursor: '2', fetched: 0, attempts: 1 });
    expect(await linesOf(run.id)).toBe(2);
    // Within the dead worker's lease nobody takes the run over.
    context.clock.set(t0 + 4 * minuteMs);
    expect(await context.services.statementReconciliation.runDue()).toBe(0);

    context.clock.set(t0 + 6 * minuteMs);
    await killWhenAsked(second!, day, '4');
    run = await runOf(day);
    expect(run).toMatchObject({ status: 'RUNNING', pages: 2, next_cursor: '4', fetched: 0, attempts: 2 });
    expect(await linesOf(run.id)).toBe(4);

    context.clock.set(t0 + 12 * minuteMs);
    third!.go();
    expect(await third!.done()).toBe(1);
    // Page 1 once; page 2 asked by the first worker (killed before the answer), stored by the second; page 3 the same.
    expect(cursorsSince(since, day)).toEqual([null, '2', '2', '4', '4']);
    run = await runOf(day);
    expect(run).toMatchObject({ status: 'DONE', pages: 3, attempts: 3 });
    expect(await linesOf(run.id)).toBe(6);
    expect(run.report_json).toBe(uninterrupted.get(day)!.report);
    expect(await exceptionsOf(day)).toEqual(uninterrupted.get(day)!.exceptions);
  });

  it('a worker killed after the last page, while it acts on a finding: the next acts once, fetching no page again', async () => {
    // Built like the first day, never reconciled yet: its report must come out the same as the first day's.
    const day = days[3]!;
    await context.services.statementReconciliation.scheduleDay(day, applicationId);
    const t0 = context.clock.nowMs();
    const [first, second] = await Promise.all([startWorker(t0), startWorker(t0 + 6 * minuteMs)]);
    const since = server.requests.length;
    let killed: Promise<void> | undefined;
    // The payment missing here is queried at the channel once every page is stored and matched: killed before the answer.
    server.beforeAnswer = async (path) => {
      if (path === channelProtocolPaths.queryOrder) await (killed ??= first!.kill());
    };
    first!.go();
    for (let waited = 0; !killed && waited < 60_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    await killed;
    server.beforeAnswer = undefined;
    expect(killed).toBeDefined();
    let run = await runOf(day);
    expect(run).toMatchObject({ status: 'RUNNING', pages: 3, fetched: 1, attempts: 1 });
    const silent = `SRP-${kind}-3-silent`;
    const paymentsOfSilent = () =>
      db()
        .selectFrom('channel_payments')
        .innerJoin('orders', 'orders.id', 'channel_payments.order_id')
        .select(['channel_payments.disposition'])
        .where('orders.out_trade_no', '=', silent)
        .execute();
    expect(await paymentsOfSilent()).toEqual([]);

    context.clock.set(t0 + 6 * minuteMs);
    second!.go();
    expect(await second!.done()).toBeGreaterThanOrEqual(1);
    expect(cursorsSince(since, day)).toEqual(pageCursors);
    run = await runOf(day);
    expect(run).toMatchObject({ status: 'DONE', pages: 3, attempts: 2 });
    expect(await paymentsOfSilent()).toEqual([{ disposition: 'applied' }]);
    expect(run.report_json).toBe(uninterrupted.get(days[0]!)!.report);
    expect((await exceptionsOf(day)).map((e) => [e.kind, e.status, e.action])).toEqual(
      uninterrupted.get(days[0]!)!.exceptions.map((e) => {
        const { kind: k, status, action } = e as { kind: string; status: string; action: string | null };
        return [k, status, action];
      }),
    );
  });

  it('two workers at once on the same due days: each page fetched once, the same reports', async () => {
    for (const day of days.slice(0, 3)) await context.services.statementReconciliation.rerunDay(applicationId, day);
    const since = server.requests.length;
    const pair = await Promise.all([startWorker(), startWorker()]);
    for (const worker of pair) worker.go();
    const taken = await Promise.all(pair.map((worker) => worker.done()));
    // Every run of the days taken once between them (the demo's sandbox connection has a run of each day too).
    const runs = await db().selectFrom('reconciliation_runs').select('id').where('bill_date', 'in', days.slice(0, 3)).execute();
    expect(taken[0]! + taken[1]!).toBe(runs.length);
    for (const day of days.slice(0, 3)) {
      expect(cursorsSince(since, day)).toEqual(pageCursors);
      const run = await runOf(day);
      expect(run).toMatchObject({ status: 'DONE', pages: 3, attempts: 1 });
      expect(run.report_json).toBe(uninterrupted.get(day)!.report);
      expect(await exceptionsOf(day)).toEqual(uninterrupted.get(day)!.exceptions);
    }
  });
});
