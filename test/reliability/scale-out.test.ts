import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppContext } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config/config.ts';
import { SecretBox } from '../../src/crypto/secret-box.ts';
import { decryptV3Resource, signV3Request, verifyV3Response } from '../../src/crypto/wechatpay-v3.ts';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import type { AppContext } from '../../src/composition.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { readyMerchant, type MerchantCredentials } from '../helpers/gateway-client.ts';
import { postgresReachable, postgresRequired, postgresTestUrl } from '../helpers/postgres.ts';

/**
 * Scale-out (SPEC §6, §7 "Shared state when scaled out"): real `paythrough start`
 * processes (bin/paythrough.mjs as child processes) against one PostgreSQL database of this file's own,
 * two instances and then three, sharing PAYTHROUGH_MASTER_KEY, with the sandbox on and a local notify
 * receiver. Under a concurrent load spread over the instances it checks that there are no duplicate
 * orders or over-refunds, that each notification is in flight from one instance at a time and delivered
 * once, that auto-close and the reconciler act once per due order, that nonces, sign-in limits and
 * sessions are shared, that instances starting together on an empty database migrate once and make one
 * demo world and one platform key.
 *
 * PostgreSQL only: skipped with a message when it does not answer (fails when PAYTHROUGH_REQUIRE_POSTGRES=1).
 *
 *   CI (default)                       2 then 3 instances, 10 orders per round (about 100 s quiet; most of it is
 *                                      the instances starting: tsx compiles the sources in each process)
 *   PAYTHROUGH_FULL_RELIABILITY=1      2, 3 then 4 instances, 60 orders per round
 *   PAYTHROUGH_SCALE_ORDERS=N          orders per round, either way
 *
 *   PAYTHROUGH_FULL_RELIABILITY=1 npx vitest run test/reliability/scale-out.test.ts
 */

const full = process.env.PAYTHROUGH_FULL_RELIABILITY === '1';
const settings = {
  instanceCounts: full ? [2, 3, 4] : [2, 3],
  ordersPerRound: Number(process.env.PAYTHROUGH_SCALE_ORDERS ?? (full ? 60 : 10)),
};

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(repositoryRoot, 'bin/paythrough.mjs');
const migrationCount = readdirSync(path.join(repositoryRoot, 'src/db/migrations')).filter((name) => /^\d{4}-.*\.ts$/.test(name)).length;
const postgresAvailable = await postgresReachable();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** One `paythrough start` child process. */
class Instance {
  readonly url: string;
  private child: ChildProcess | undefined;
  output = '';
  exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly environment: Record<string, string>,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  start(): this {
    const environment = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      ...this.environment,
      PORT: String(this.port),
      PUBLIC_URL: this.url,
    };
    this.child = spawn(process.execPath, [cli, 'start'], { cwd: repositoryRoot, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString('utf8')).slice(-20_000));
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.child.on('exit', (code) => (this.exitCode = code));
    return this;
  }

  async ready(timeoutMs = 90_000): Promise<void> {
    await waitFor(`${this.name} to answer /healthz`, timeoutMs, async () => {
      if (this.exitCode !== undefined) throw new Error(`${this.name} exited with ${this.exitCode}: ${this.output}`);
      const response = await fetch(`${this.url}/healthz`);
      return response.status === 200 ? true : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.name} output:\n${this.output}`);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.exitCode !== undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

interface Arrival {
  eventId: string;
  eventType: string;
  outTradeNo: string;
  outRefundNo: string | undefined;
  arrivedAt: number;
  answeredAt: number;
}

/** The merchants' notify_url: answers after a short random wait and notes overlapping deliveries of one event. */
class NotifyReceiver {
  readonly arrivals: Arrival[] = [];
  readonly overlaps: string[] = [];
  private readonly inFlight = new Map<string, number>();
  private server: Server | undefined;
  url = '';

  /** Set once the demo merchant is known. */
  apiV3Key = '';

  async start(): Promise<void> {
    this.server = createHttpServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const arrivedAt = Date.now();
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          id: string;
          event_type: string;
          resource: { ciphertext: string; nonce: string; associated_data?: string };
        };
        const resource = JSON.parse(decryptV3Resource(body.resource, this.apiV3Key)) as { out_trade_no: string; out_refund_no?: string };
        const flying = (this.inFlight.get(body.id) ?? 0) + 1;
        this.inFlight.set(body.id, flying);
        if (flying > 1) this.overlaps.push(body.id);
        setTimeout(
          () => {
            this.inFlight.set(body.id, (this.inFlight.get(body.id) ?? 1) - 1);
            this.arrivals.push({
              eventId: body.id,
              eventType: body.event_type,
              outTradeNo: resource.out_trade_no,
              outRefundNo: resource.out_refund_no,
              arrivedAt,
              answeredAt: Date.now(),
            });
            response.writeHead(204).end();
          },
          50 + Math.floor(Math.random() * 250),
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/notify`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

interface V3Answer {
  status: number;
  body: any;
}

/** A v3 merchant client over HTTP: signs each request, checks the platform's signature on every answer. */
class V3HttpClient {
  constructor(private readonly merchant: MerchantCredentials) {}

  sign(method: 'GET' | 'POST', url: string, body = ''): string {
    return signV3Request(
      { mchid: this.merchant.mchid, serialNo: this.merchant.serialNo, privateKey: this.merchant.privateKeyPem },
      { method, url, body },
      { nowMs: Date.now() },
    );
  }

  async request(baseUrl: string, method: 'GET' | 'POST', url: string, body?: unknown, authorization?: string): Promise<V3Answer> {
    const raw = body === undefined ? '' : JSON.stringify(body);
    const response = await fetch(`${baseUrl}${url}`, {
      method,
      headers: {
        authorization: authorization ?? this.sign(method, url, raw),
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: raw }),
    });
    const text = await response.text();
    if (response.status < 400) {
      const verified = verifyV3Response({
        headers: Object.fromEntries(response.headers),
        body: text,
        publicKeys: { [this.merchant.platformSerial]: this.merchant.platformPublicKeyPem },
        nowMs: Date.now(),
      });
      if (!verified.ok) throw new Error(`${method} ${url} on ${baseUrl}: answer not signed correctly: ${verified.message}`);
    }
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  prepay(baseUrl: string, outTradeNo: string, notifyUrl: string, total: number) {
    return this.request(baseUrl, 'POST', '/v3/pay/transactions/jsapi', {
      appid: this.merchant.mnpId,
      mchid: this.merchant.mchid,
      description: 'Scale-out coffee',
      out_trade_no: outTradeNo,
      notify_url: notifyUrl,
      amount: { total, currency: 'CNY' },
      payer: { openid: 'openid-scale' },
    });
  }

  refund(baseUrl: string, outTradeNo: string, outRefundNo: string, refund: number, total: number, notifyUrl: string) {
    return this.request(baseUrl, 'POST', '/v3/refund/domestic/refunds', {
      out_trade_no: outTradeNo,
      out_refund_no: outRefundNo,
      notify_url: notifyUrl,
      amount: { refund, total, currency: 'CNY' },
    });
  }
}

const describeOnPostgres = postgresAvailable || postgresRequired ? describe : describe.skip;
const suiteName =
  postgresAvailable || postgresRequired
    ? 'scale-out: several instances against one PostgreSQL'
    : `scale-out: several instances against one PostgreSQL — SKIPPED: PostgreSQL at ${postgresTestUrl} does not answer`;

describeOnPostgres(suiteName, { timeout: 240_000 }, () => {
  const databaseName = `paythrough_scale_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const databaseUrl = postgresTestUrl.replace(/\/[^/]*$/, `/${databaseName}`);
  const masterKey = SecretBox.generateMasterKey();
  const instances: Instance[] = [];
  const receiver = new NotifyReceiver();
  let observer: AppContext;
  let manifest: DemoManifest;
  let client: V3HttpClient;
  const figures: Record<string, unknown> = {};
  const startedAt = Date.now();

  const environment = () => ({
    DATABASE_URL: databaseUrl,
    PAYTHROUGH_MASTER_KEY: masterKey,
    PAYTHROUGH_SANDBOX: 'on',
    PAYTHROUGH_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
    PAYTHROUGH_LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
  });
  const addInstances = async (count: number) => {
    const added: Instance[] = [];
    for (let index = 0; index < count; index++)
      added.push(new Instance(`instance ${instances.length + index + 1}`, await freePort(), environment()));
    // Started at the same moment: the first ones race on an empty database.
    for (const instance of added) instances.push(instance.start());
    await Promise.all(added.map((instance) => instance.ready()));
  };
  const db = () => observer.database.db;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: postgresTestUrl });
    await admin.connect();
    await admin.query(`create database ${databaseName}`);
    await admin.end();
  }, 30_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await receiver.stop();
    await observer?.database.close();
    const admin = new pg.Client({ connectionString: postgresTestUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${databaseName} with (force)`);
    await admin.end();
    figures.totalSeconds = Math.round((Date.now() - startedAt) / 100) / 10;
    process.stdout.write(`[scale-out] ${JSON.stringify(figures)}\n`);
  }, 60_000);

  const startTogetherTitle =
    `${settings.instanceCounts[0]} instances started together on an empty database ` +
    'migrate once and make one demo world and one platform key';
  it(startTogetherTitle, async () => {
    const began = Date.now();
    await addInstances(settings.instanceCounts[0]!);
    figures.firstStartSeconds = Math.round((Date.now() - began) / 100) / 10;
    observer = await createAppContext(loadConfig({ ...environment(), PORT: '0' }), { migrate: false, postgresPoolSize: 4 });
    const migrations = await sql<{ name: string }>`select name from kysely_migration`.execute(db());
    expect(migrations.rows).toHaveLength(migrationCount);
    expect(new Set(migrations.rows.map((row) => row.name)).size).toBe(migrationCount);
    const superAdmins = await db().selectFrom('users').select('account').where('platform_role', '=', 'super_admin').execute();
    expect(superAdmins.map((user) => user.account)).toEqual(['demo-superadmin']);
    const keys = await db().selectFrom('platform_signing_keys').select('serial_no').execute();
    expect(keys).toHaveLength(1);
    const keyAudits = await db().selectFrom('audit_log').select('id').where('action', '=', 'platform_key.create').execute();
    expect(keyAudits).toHaveLength(1);

    manifest = await observer.services.demoWorld.ensure();
    const merchant = readyMerchant(manifest);
    client = new V3HttpClient(merchant);
    receiver.apiV3Key = merchant.apiV3Key;
    await receiver.start();
    // Every instance publishes that one key and signs with it.
    for (const instance of instances) {
      const answer = await client.request(instance.url, 'GET', '/v3/certificates');
      expect(answer.status).toBe(200);
      expect(answer.body.data.map((entry: { serial_no: string }) => entry.serial_no)).toEqual([keys[0]!.serial_no]);
    }
  });

  const migratorsTitle =
    'eight migrators at once on an empty schema apply each migration exactly once ' + '(Kysely takes an advisory lock on PostgreSQL)';
  it(migratorsTitle, async () => {
    const schema = `scale_migrate_${Date.now().toString(36)}`;
    await sql`create schema ${sql.id(schema)}`.execute(db());
    const handles = Array.from({ length: 8 }, () => openDatabase(databaseUrl, { postgresSchema: schema, postgresPoolSize: 2 }));
    try {
      // Connections open first, so the migrators start as close together as they can.
      await Promise.all(handles.map((handle) => sql`select 1`.execute(handle.db)));
      const applied = await Promise.all(handles.map((handle) => migrateToLatest(handle.db, 'postgres')));
      expect(applied.flat()).toHaveLength(migrationCount);
      expect(new Set(applied.flat()).size).toBe(migrationCount);
    } finally {
      await Promise.all(handles.map((handle) => handle.close()));
      await sql`drop schema ${sql.id(schema)} cascade`.execute(db());
    }
  });

  for (const [round, count] of settings.instanceCounts.entries()) {
    const roundTitle =
      `with ${count} instances: one order per out_trade_no, no over-refund, ` +
      'each notification once from one instance, auto-close and reconciler once';
    it(roundTitle, async () => {
      if (instances.length < count) {
        const began = Date.now();
        await addInstances(count - instances.length);
        figures[`addedInstanceSeconds${count}`] = Math.round((Date.now() - began) / 100) / 10;
      }
      const roundStarted = Date.now();
      const at = (index: number) => instances[index % count]!.url;
      const prefix = `S${round}${Date.now().toString(36)}`;
      const orders = Array.from({ length: settings.ordersPerRound }, (_, index) => ({
        outTradeNo: `${prefix}O${index}`,
        total: 1000 + index,
      }));

      // The same prepay on every instance at once: one order, one prepay_id.
      const prepays = await Promise.all(
        orders.flatMap((order) =>
          instances.slice(0, count).map((instance) => client.prepay(instance.url, order.outTradeNo, receiver.url, order.total)),
        ),
      );
      expect(prepays.map((answer) => answer.status)).toEqual(prepays.map(() => 200));
      for (const [index, order] of orders.entries()) {
        const ids = new Set(prepays.slice(index * count, (index + 1) * count).map((answer) => answer.body.prepay_id as string));
        expect(ids.size, order.outTradeNo).toBe(1);
        Object.assign(order, { prepayId: [...ids][0]! });
      }
      const stored = await db()
        .selectFrom('orders')
        .select(['out_trade_no', 'prepay_id'])
        .where('out_trade_no', 'like', `${prefix}%`)
        .execute();
      expect(stored).toHaveLength(orders.length);

      // Two thirds are paid, the payment reported to every instance at once; the rest stay unpaid.
      const paid = orders.filter((_, index) => index % 3 !== 2);
      const unpaid = orders.filter((_, index) => index % 3 === 2);
      const payments = await Promise.all(
        paid.flatMap((order) =>
          instances.slice(0, count).map((instance) =>
            fetch(`${instance.url}/sandbox/v1/payments/${(order as { prepayId?: string }).prepayId}/succeed`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ payer_openid: 'openid-scale' }),
            }),
          ),
        ),
      );
      expect(payments.every((response) => response.status < 500)).toBe(true);
      await waitFor('the paid orders to be SUCCESS', 30_000, async () => {
        const rows = await db()
          .selectFrom('orders')
          .select('trade_state')
          .where(
            'out_trade_no',
            'in',
            paid.map((order) => order.outTradeNo),
          )
          .where('trade_state', '=', 'SUCCESS')
          .execute();
        return rows.length === paid.length ? true : undefined;
      });

      // Refunds of 40% each, four per order, spread over the instances at once: at most two fit.
      const refundable = paid.slice(0, Math.max(1, Math.floor(paid.length / 2)));
      const refunds = await Promise.all(
        refundable.flatMap((order, orderIndex) =>
          [0, 1, 2, 3].map((k) =>
            client.refund(
              at(orderIndex + k),
              order.outTradeNo,
              `${order.outTradeNo}R${k}`,
              Math.floor(order.total * 0.4),
              order.total,
              receiver.url,
            ),
          ),
        ),
      );
      expect(refunds.every((answer) => answer.status < 500)).toBe(true);
      // The same out_refund_no on every instance at once: one refund.
      const repeated = paid.slice(refundable.length);
      const repeats = await Promise.all(
        repeated.flatMap((order) =>
          instances
            .slice(0, count)
            .map((instance) => client.refund(instance.url, order.outTradeNo, `${order.outTradeNo}RX`, 100, order.total, receiver.url)),
        ),
      );
      expect(repeats.map((answer) => answer.status)).toEqual(repeats.map(() => 200));
      for (const [index, order] of repeated.entries()) {
        expect(
          new Set(repeats.slice(index * count, (index + 1) * count).map((answer) => answer.body.refund_id)).size,
          order.outTradeNo,
        ).toBe(1);
      }
      const orderRows = await db()
        .selectFrom('orders')
        .select(['id', 'out_trade_no', 'amount_total', 'refund_reserved', 'refund_count'])
        .where(
          'out_trade_no',
          'in',
          paid.map((order) => order.outTradeNo),
        )
        .execute();
      for (const order of orderRows) {
        const own = await db().selectFrom('refunds').select(['amount_refund', 'status']).where('order_id', '=', order.id).execute();
        const held = own.filter((refund) => refund.status !== 'CLOSED').reduce((sum, refund) => sum + Number(refund.amount_refund), 0);
        expect(held, order.out_trade_no).toBeLessThanOrEqual(Number(order.amount_total));
        expect(Number(order.refund_reserved), order.out_trade_no).toBe(held);
        expect(Number(order.refund_count), order.out_trade_no).toBe(own.length);
      }
      const accepted = refunds.filter((answer) => answer.status === 200).length;
      expect(accepted).toBe(refundable.length * 2);

      // Due work for the jobs: half the unpaid orders past their expiry, the other half a close in doubt.
      const expiring = unpaid.filter((_, index) => index % 2 === 0).map((order) => order.outTradeNo);
      const doubtful = unpaid.filter((_, index) => index % 2 === 1).map((order) => order.outTradeNo);
      const now = Date.now();
      if (expiring.length)
        await db()
          .updateTable('orders')
          .set({ time_expire: now - 1000 })
          .where('out_trade_no', 'in', expiring)
          .execute();
      if (doubtful.length)
        await db()
          .updateTable('orders')
          .set({ pending_operation: 'close', reconcile_at: now - 1000 })
          .where('out_trade_no', 'in', doubtful)
          .execute();
      await waitFor('auto-close and the reconciler to close the due orders', 30_000, async () => {
        const open = await db()
          .selectFrom('orders')
          .select('id')
          .where(
            'out_trade_no',
            'in',
            unpaid.map((order) => order.outTradeNo),
          )
          .where('trade_state', '=', 'WAIT_PAY')
          .execute();
        return open.length === 0 ? true : undefined;
      });
      const unpaidRows = await db()
        .selectFrom('orders')
        .select(['id', 'out_trade_no', 'trade_state', 'pending_operation', 'reconcile_at'])
        .where(
          'out_trade_no',
          'in',
          unpaid.map((order) => order.outTradeNo),
        )
        .execute();
      for (const order of unpaidRows) {
        expect(order.trade_state, order.out_trade_no).toBe(expiring.includes(order.out_trade_no) ? 'AUTO_CLOSED' : 'CLOSED');
        expect(order.pending_operation).toBeNull();
      }

      // Every state change happened once: one history row per (order or refund, target state).
      const history = await sql<{ subject: string; subject_id: number; to_state: string; n: number }>`
        select h.subject, h.subject_id, h.to_state, count(*)::int as n from payment_state_history h
        left join orders o on h.subject = 'order' and o.id = h.subject_id
        left join refunds r on h.subject = 'refund' and r.id = h.subject_id
        left join orders ro on ro.id = r.order_id
        where coalesce(o.out_trade_no, ro.out_trade_no) like ${`${prefix}%`}
        group by h.subject, h.subject_id, h.to_state`.execute(db());
      expect(history.rows.filter((row) => row.n !== 1)).toEqual([]);
      const closes = history.rows.filter((row) => row.subject === 'order' && (row.to_state === 'CLOSED' || row.to_state === 'AUTO_CLOSED'));
      expect(closes).toHaveLength(unpaid.length);

      // Notifications: one per payment and per refund result, each delivered by one attempt of one instance.
      const refundRows = await db()
        .selectFrom('refunds')
        .innerJoin('orders', 'orders.id', 'refunds.order_id')
        .select(['refunds.out_refund_no', 'refunds.status'])
        .where('orders.out_trade_no', 'like', `${prefix}%`)
        .execute();
      await waitFor('the sandbox to settle the refunds', 40_000, async () => {
        const processing = await db()
          .selectFrom('refunds')
          .innerJoin('orders', 'orders.id', 'refunds.order_id')
          .select('refunds.id')
          .where('orders.out_trade_no', 'like', `${prefix}%`)
          .where('refunds.status', '=', 'PROCESSING')
          .execute();
        return processing.length === 0 ? true : undefined;
      });
      const expectedEvents = paid.length + refundRows.length;
      const pattern = `%${prefix}%`;
      const jobs = await waitFor('every notification of the round to be delivered', 40_000, async () => {
        const rows = await sql<{ id: number; event_id: string; status: string; attempts: number }>`
          select id, event_id, status, attempts from outbox where topic = 'merchant_notification' and payload_json like ${pattern}`.execute(
          db(),
        );
        return rows.rows.length >= expectedEvents && rows.rows.every((row) => row.status === 'delivered') ? rows.rows : undefined;
      }).catch(async (error: Error) => {
        const rows = await sql<{ status: string; n: number }>`select status, count(*)::int as n from outbox group by status`.execute(db());
        throw new Error(`${error.message}; outbox: ${JSON.stringify(rows.rows)}; expected ${expectedEvents}`);
      });
      expect(jobs).toHaveLength(expectedEvents);
      const attempts = await db()
        .selectFrom('delivery_attempts')
        .select(['outbox_id', 'worker', 'started_at', 'latency_ms', 'outcome'])
        .where(
          'outbox_id',
          'in',
          jobs.map((job) => Number(job.id)),
        )
        .orderBy('started_at')
        .execute();
      const byJob = new Map<number, typeof attempts>();
      for (const attempt of attempts) byJob.set(Number(attempt.outbox_id), [...(byJob.get(Number(attempt.outbox_id)) ?? []), attempt]);
      for (const job of jobs) {
        const own = byJob.get(Number(job.id)) ?? [];
        expect(
          own.map((attempt) => attempt.outcome),
          job.event_id,
        ).toEqual(['delivered']);
      }
      const arrivals = receiver.arrivals.filter((arrival) => arrival.outTradeNo.startsWith(prefix));
      expect(arrivals).toHaveLength(expectedEvents);
      expect(new Set(arrivals.map((arrival) => arrival.eventId)).size).toBe(expectedEvents);
      expect(receiver.overlaps).toEqual([]);
      const payments1 = arrivals
        .filter((arrival) => arrival.eventType === 'TRANSACTION.SUCCESS')
        .map((arrival) => arrival.outTradeNo)
        .sort();
      expect(payments1).toEqual(paid.map((order) => order.outTradeNo).sort());
      // Which instance sent what (worker ids carry the process id).
      const perInstance = instances
        .slice(0, count)
        .map((instance) => attempts.filter((attempt) => attempt.worker.split(':')[1] === String(instance.pid)).length);
      expect(perInstance.reduce((sum, n) => sum + n, 0)).toBe(attempts.length);
      figures[`round${count}`] = {
        instances: count,
        prepayRequests: prepays.length,
        orders: orders.length,
        paymentReports: payments.length,
        refundRequests: refunds.length + repeats.length,
        refundsAccepted: accepted + repeated.length,
        closedByJobs: unpaid.length,
        notifications: expectedEvents,
        deliveriesPerInstance: perInstance,
        seconds: Math.round((Date.now() - roundStarted) / 100) / 10,
      };
    });
  }

  it('nonces, sign-in limits and sessions are shared by the instances', async () => {
    const [first, second] = instances;
    // A signed request replayed to another instance is refused.
    const url = `/v3/pay/transactions/out-trade-no/none-such?mchid=${readyMerchant(manifest).mchid}`;
    const authorization = client.sign('GET', url);
    expect((await client.request(first!.url, 'GET', url, undefined, authorization)).status).toBe(404);
    const replay = await client.request(second!.url, 'GET', url, undefined, authorization);
    expect(replay.status).toBe(401);

    // Five failed sign-ins of one (account, address) spread over the instances make its next attempt wait (1 s) on all of them.
    const account = manifest.superapp.users.developer;
    const signIn = (instance: Instance, password: string) =>
      fetch(`${instance.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ account: account.account, password }),
      });
    for (let attempt = 0; attempt < 5; attempt++)
      expect((await signIn(instances[attempt % instances.length]!, 'wrong-password-123')).status).toBe(401);
    for (const instance of instances) expect((await signIn(instance, account.password)).status).toBe(429);

    // A session opened on one instance works on the others.
    const operator = manifest.miniProgramTeam.users.operator;
    const opened = await fetch(`${first!.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ account: operator.account, password: operator.password }),
    });
    expect(opened.status).toBe(200);
    const cookie = opened.headers
      .getSetCookie()
      .find((value) => value.startsWith('paythrough_session='))!
      .split(';')[0]!;
    for (const instance of instances) {
      const session = await fetch(`${instance.url}/api/v1/session`, { headers: { cookie } });
      expect(session.status, instance.name).toBe(200);
    }
  });
});
