import { fork, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SecretBox } from '../src/crypto/secret-box.ts';
import { signV3Request } from '../src/crypto/wechatpay-v3.ts';
import type { DemoReadyMiniProgram } from '../src/services/demo/demo-world.service.ts';
import type { FloorReady } from './floor-server.ts';
import { rsaSigningRate } from './gateway.bench.ts';
import { errorKindOf, LoadHttpClient } from './load-http.ts';
import { LoadNotifyReceiver } from './load-notify-receiver.ts';
import { percentile } from './load-scheduler.ts';
import {
  createBenchDatabase,
  demoManifest,
  freePort,
  processCpuMs,
  startInstance,
  type BenchDatabase,
  type ServerInstance,
} from './load-servers.ts';
import type { LoadRun, LoadRunResult, PresignedRequest } from './money-path-load.ts';

/**
 * The money path against its floor: in one run on one machine, the product (`paythrough start`, sandbox
 * on, the demo world, SQLite or PostgreSQL) and bench/floor-server.ts (a minimal correct server on SQLite) answer
 * the same pre-signed prepay, order query, refund create and refund query requests from the same load generator
 * (bench/money-path-load.ts: its own process, 16 keep-alive connections, closed loop at the maximal rate). Every
 * figure is read as a ratio to one measured in the same run: server CPU per request ÷ the floor's, throughput ÷
 * the floor's, notification deliveries per second ÷ one core's RSA-2048 signing rate. Also: prepay p99 at half the
 * product's maximal prepay rate (open loop), and a notification burst (N orders paid at once through the sandbox).
 * Any non-2xx answer, bad signature, unexpected body or missing notification fails the run (exit 1).
 * See docs/BENCHMARKS.md, "money-path".
 *
 *   npm run bench -- money-path [--database sqlite|postgres] [--requests 3000] [--concurrency 16]
 *     [--phases prepay,query,refund,refund-query,half-rate,notify] [--notifications 2000] [--warmup 300]
 *     [--half-rate-seconds 10] [--rsa-seconds 2] [--postgres-url postgres://…]
 */

const benchFolder = path.dirname(fileURLToPath(import.meta.url));
const allPhases = ['prepay', 'query', 'refund', 'refund-query', 'half-rate', 'notify'] as const;
type Phase = (typeof allPhases)[number];
type Operation = 'prepay' | 'query' | 'refund' | 'refund_query';
type TargetName = 'product' | 'floor';

/** Refunds per paid order in the refund phase (at most 50 per order, SPEC §4.1): fewer payments to wait for. */
const refundsPerOrder = 20;
const refundAmount = 10;
/** Pre-signed requests older than this are signed again before use (both servers refuse them after 300 s). */
const resignAfterMs = 120_000;

interface Target {
  name: TargetName;
  port: number;
  pid: number;
  platform: { serial: string; publicKeyPem: string };
  postgresDatabase?: string;
  http: LoadHttpClient;
  /** The control API that marks an order paid: the sandbox's for the product, the floor's own for the floor. */
  payPath(prepayId: string): string;
}

interface Measured {
  ok: number;
  errorCount: number;
  errors: Record<string, number>;
  throughput: number;
  p50: number;
  p99: number;
  cpuPerRequest: number;
  backendCpuPerRequest: number | null;
  clientCpuPerRequest: number;
  elapsedMs: number;
}

const round = (value: number | null) => (value !== null && Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null);

function startLoadGenerator(): { child: ChildProcess; run(run: Omit<LoadRun, 'kind' | 'id'>): Promise<LoadRunResult> } {
  const child = fork(path.join(benchFolder, 'money-path-load.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let sequence = 0;
  const waiting = new Map<number, { resolve: (result: LoadRunResult) => void; reject: (error: Error) => void }>();
  child.on('message', (message: LoadRunResult) => {
    waiting.get(message.id)?.resolve(message);
    waiting.delete(message.id);
  });
  child.once('exit', (code) => {
    for (const { reject } of waiting.values()) reject(new Error(`the load generator exited with ${code}`));
    waiting.clear();
  });
  return {
    child,
    run: (run) =>
      new Promise((resolve, reject) => {
        sequence += 1;
        waiting.set(sequence, { resolve, reject });
        child.send({ kind: 'run', id: sequence, ...run } satisfies LoadRun);
      }),
  };
}

function startFloor(
  folder: string,
  merchant: DemoReadyMiniProgram,
  publicKeyPem: string,
): Promise<{ child: ChildProcess; ready: FloorReady }> {
  const child = fork(path.join(benchFolder, 'floor-server.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      FLOOR_DATABASE: path.join(folder, 'floor.db'),
      FLOOR_MERCHANT: JSON.stringify({ mchid: merchant.mchid, appid: merchant.mnpId, serialNo: merchant.serialNo, publicKeyPem }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (ready: FloorReady) => resolve({ child, ready }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the floor server exited with ${code} before it was ready`)));
  });
}

/** Runs `work` on every item, `concurrency` at a time. */
async function inLanes<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      database: { type: 'string', default: 'sqlite' },
      requests: { type: 'string', default: '3000' },
      warmup: { type: 'string' },
      concurrency: { type: 'string', default: '16' },
      phases: { type: 'string', default: allPhases.join(',') },
      notifications: { type: 'string', default: '2000' },
      'half-rate-seconds': { type: 'string', default: '10' },
      'rsa-seconds': { type: 'string', default: '2' },
      'postgres-url': { type: 'string', default: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    },
  });
  const kind = values.database;
  if (kind !== 'sqlite' && kind !== 'postgres') throw new Error('--database is sqlite or postgres');
  const requests = Number(values.requests);
  const warmup = values.warmup === undefined ? Math.max(50, Math.round(requests / 10)) : Number(values.warmup);
  const concurrency = Number(values.concurrency);
  const notifications = Number(values.notifications);
  const halfRateSeconds = Number(values['half-rate-seconds']);
  const rsaSeconds = Number(values['rsa-seconds']);
  if (![requests, concurrency, notifications].every((value) => Number.isSafeInteger(value) && value > 0) || !(warmup >= 0)) {
    throw new Error('--requests, --concurrency and --notifications must be positive integers, --warmup at least 0');
  }
  const phases = new Set(values.phases.split(',').map((phase) => phase.trim()));
  for (const phase of phases) if (!allPhases.includes(phase as Phase)) throw new Error(`unknown phase ${phase} (${allPhases.join(', ')})`);
  const selected = (phase: Phase) => phases.has(phase);
  // A phase needs the data of the ones before it: those run anyway (unreported) when not selected.
  const needs = {
    prepay: ['prepay', 'query', 'refund', 'refund-query', 'half-rate'].some((phase) => phases.has(phase)),
    query: selected('query'),
    refund: selected('refund') || selected('refund-query'),
    refundQuery: selected('refund-query'),
  };

  const bench = 'money-path';
  const line = (metric: string, value: number | string | null, unit: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ bench, metric, value: typeof value === 'number' ? round(value) : value, unit, ...extra })}\n`);
  const began = performance.now();
  const say = (text: string) => process.stderr.write(`${bench} [${((performance.now() - began) / 1000).toFixed(1)} s]: ${text}\n`);
  const failures: string[] = [];

  const loadBefore = loadavg()[0]!;
  const rsaBefore = rsaSigningRate(rsaSeconds);
  const folder = mkdtempSync(path.join(tmpdir(), 'paythrough-money-path-'));
  let database: BenchDatabase | undefined;
  let product: ServerInstance | undefined;
  let floor: { child: ChildProcess; ready: FloorReady } | undefined;
  let load: ReturnType<typeof startLoadGenerator> | undefined;
  let receiver: LoadNotifyReceiver | undefined;
  const targets: Target[] = [];
  const cleanUp = async () => {
    for (const target of targets) target.http.close();
    if (load?.child.connected) load.child.disconnect();
    if (floor && floor.child.exitCode === null) {
      const exited = new Promise((resolve) => floor!.child.once('exit', resolve));
      floor.child.kill('SIGTERM');
      await exited;
    }
    await product?.stop();
    await receiver?.stop();
    await database?.drop();
    rmSync(folder, { recursive: true, force: true });
  };
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    database = await createBenchDatabase(kind, values['postgres-url']);
    const environment = {
      DATABASE_URL: database.url,
      PAYTHROUGH_MASTER_KEY: SecretBox.generateMasterKey(),
      // One merchant at full rate: counted as always, never refused.
      PAYTHROUGH_MCHID_RATE_LIMIT: '100000000',
      // Refunds stay PROCESSING: no sandbox settlement or REFUND.SUCCESS delivery runs during the measured phases.
      PAYTHROUGH_SANDBOX_REFUND_DELAY_MS: '86400000',
    };
    const manifest = await demoManifest(environment);
    const merchant = manifest.miniPrograms.ready;
    const merchantKey: KeyObject = createPrivateKey(merchant.privateKeyPem);
    const merchantPublicKeyPem = createPublicKey(merchantKey).export({ type: 'spki', format: 'pem' }).toString();
    say(`demo world ready (${kind})`);
    const port = await freePort();
    [product, floor] = await Promise.all([startInstance(environment, port), startFloor(folder, merchant, merchantPublicKeyPem)]);
    receiver = await new LoadNotifyReceiver(merchant, 'success-json').start();
    load = startLoadGenerator();
    targets.push(
      {
        name: 'product',
        port,
        pid: product.pid,
        platform: { serial: merchant.platformSerial, publicKeyPem: merchant.platformPublicKeyPem },
        ...(kind === 'postgres' ? { postgresDatabase: new URL(database.url).pathname.slice(1) } : {}),
        http: new LoadHttpClient([port], 30_000, concurrency),
        payPath: (prepayId) => `/sandbox/v1/payments/${prepayId}/succeed`,
      },
      {
        name: 'floor',
        port: floor.ready.port,
        pid: floor.child.pid!,
        platform: { serial: floor.ready.platformSerial, publicKeyPem: floor.ready.platformPublicKeyPem },
        http: new LoadHttpClient([floor.ready.port], 30_000, concurrency),
        payPath: (prepayId) => `/floor/v1/payments/${prepayId}/succeed`,
      },
    );
    say(`product (pid ${product.pid}) and floor (pid ${floor.child.pid}) up; ${requests} requests per operation after ${warmup} warm-up`);

    const runId = `M${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
    const sign = (method: 'GET' | 'POST', url: string, expect: PresignedRequest['expect'], body?: unknown): PresignedRequest => {
      const raw = body === undefined ? '' : JSON.stringify(body);
      const authorization = signV3Request(
        { mchid: merchant.mchid, serialNo: merchant.serialNo, privateKey: merchantKey },
        { method, url, body: raw },
        { nowMs: Date.now() },
      );
      return {
        method,
        path: url,
        headers: {
          authorization,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        },
        ...(body === undefined ? {} : { body: raw }),
        expect,
      };
    };
    /** Signs `count` requests now (fresh nonce each), and again when they have grown older than resignAfterMs. */
    const presigned = (count: number, build: (index: number) => PresignedRequest) => {
      let signedAt = 0;
      let batch: PresignedRequest[] = [];
      return () => {
        if (Date.now() - signedAt > resignAfterMs) {
          batch = Array.from({ length: count }, (_, index) => build(index));
          signedAt = Date.now();
        }
        return batch;
      };
    };
    const orderNo = (prefix: string, index: number) => `${runId}${prefix}${index.toString(36)}`;
    const totalOf = (index: number) => 1000 + (index % 1000);
    const prepayRequest = (outTradeNo: string, total: number) =>
      sign(
        'POST',
        '/v3/pay/transactions/jsapi',
        { field: 'prepay_id' },
        {
          appid: merchant.mnpId,
          mchid: merchant.mchid,
          description: 'Money path bench coffee',
          out_trade_no: outTradeNo,
          notify_url: receiver!.url,
          amount: { total, currency: 'CNY' },
          payer: { openid: 'bench-openid' },
        },
      );

    const measure = async (
      target: Target,
      batch: PresignedRequest[],
      warm: number,
      rate?: number,
    ): Promise<Measured & { values: (string | null)[] }> => {
      const result = await load!.run({
        port: target.port,
        requests: batch,
        warmup: warm,
        concurrency,
        ...(rate === undefined ? {} : { rate }),
        serverPid: target.pid,
        ...(target.postgresDatabase ? { postgresDatabase: target.postgresDatabase } : {}),
        platform: target.platform,
      });
      const sorted = [...result.latenciesMs].sort((a, b) => a - b);
      const errorCount = Object.values(result.errors).reduce((sum, count) => sum + count, 0);
      const answered = Math.max(1, sorted.length + errorCount);
      return {
        ok: sorted.length,
        errorCount,
        errors: result.errors,
        throughput: sorted.length / (result.elapsedMs / 1000),
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        cpuPerRequest: result.serverCpuMs / answered,
        backendCpuPerRequest: result.backendCpuMs === null ? null : result.backendCpuMs / answered,
        clientCpuPerRequest: result.clientCpuMs / answered,
        elapsedMs: result.elapsedMs,
        values: result.values,
      };
    };
    const report = (metric: string, target: Target, measured: Measured, extra: Record<string, unknown> = {}) => {
      line(metric, measured.throughput, 'req/s', {
        target: target.name,
        ok: measured.ok,
        p50_ms: round(measured.p50),
        p99_ms: round(measured.p99),
        server_cpu_ms_per_request: round(measured.cpuPerRequest),
        ...(measured.backendCpuPerRequest === null ? {} : { postgres_backend_cpu_ms_per_request: round(measured.backendCpuPerRequest) }),
        client_cpu_ms_per_request: round(measured.clientCpuPerRequest),
        elapsed_s: round(measured.elapsedMs / 1000),
        errors: measured.errors,
        error_count: measured.errorCount,
        ...extra,
      });
      if (measured.errorCount > 0) failures.push(`${metric}: ${JSON.stringify(measured.errors)}`);
    };
    const results = new Map<Operation, Record<TargetName, Measured>>();
    /** One operation on both servers, the product first; reported when its phase was asked for. */
    const operation = async (name: Operation, reported: boolean, batch: () => PresignedRequest[]) => {
      const byTarget = {} as Record<TargetName, Measured & { values: (string | null)[] }>;
      for (const target of targets) {
        byTarget[target.name] = await measure(target, batch(), warmup);
        if (reported) report(`${name}.${target.name}`, target, byTarget[target.name]);
        else if (byTarget[target.name].errorCount > 0)
          failures.push(`${name}.${target.name} (setup): ${JSON.stringify(byTarget[target.name].errors)}`);
        say(
          `${name} on the ${target.name}: ${byTarget[target.name].throughput.toFixed(1)} req/s, ` +
            `${byTarget[target.name].cpuPerRequest.toFixed(3)} ms CPU per request, p99 ${byTarget[target.name].p99.toFixed(1)} ms, ` +
            `${byTarget[target.name].errorCount} errors${reported ? '' : ' (setup, not reported)'}`,
        );
      }
      if (reported) results.set(name, byTarget);
      return byTarget;
    };

    // Prepay: every order the later phases act on.
    const orderCount = requests + warmup;
    const prepayIds: Record<TargetName, string[]> = { product: [], floor: [] };
    if (needs.prepay) {
      const prepays = await operation(
        'prepay',
        selected('prepay'),
        presigned(orderCount, (index) => prepayRequest(orderNo('P', index), totalOf(index))),
      );
      for (const target of targets) prepayIds[target.name] = prepays[target.name].values.map((value) => value ?? '');
    }

    if (needs.query) {
      await operation(
        'query',
        true,
        presigned(orderCount, (index) => {
          const outTradeNo = orderNo('P', index % orderCount);
          return sign('GET', `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${merchant.mchid}`, {
            field: 'out_trade_no',
            equals: outTradeNo,
          });
        }),
      );
    }

    if (needs.refund) {
      // Refunds need paid orders: pay them through each server's control API, then let the product's
      // TRANSACTION.SUCCESS notifications drain so that their deliveries do not run inside the measured window.
      const refundCount = requests + warmup;
      const paidCount = Math.min(orderCount, Math.ceil(refundCount / refundsPerOrder));
      const notifiedBefore = receiver.count('TRANSACTION.SUCCESS');
      for (const target of targets) {
        await inLanes(prepayIds[target.name].slice(0, paidCount), concurrency, async (prepayId) => {
          const answer = await target.http.send({
            method: 'POST',
            path: target.payPath(prepayId),
            headers: { 'content-type': 'application/json' },
            body: '{"payer_openid":"bench-payer"}',
          });
          if (answer.kind !== 'answer' || answer.status !== 200) failures.push(`pay on the ${target.name}: ${errorKindOf(answer)}`);
        });
      }
      if (!(await waitFor(() => receiver!.count('TRANSACTION.SUCCESS') >= notifiedBefore + paidCount, 60_000 + paidCount * 200)))
        failures.push(`refund setup: ${receiver.count('TRANSACTION.SUCCESS') - notifiedBefore} of ${paidCount} payments notified`);
      say(`${paidCount} orders paid on each server (product notified ${receiver.count('TRANSACTION.SUCCESS') - notifiedBefore})`);
      await operation(
        'refund',
        selected('refund'),
        presigned(refundCount, (index) => {
          const order = index % paidCount;
          const outRefundNo = orderNo('R', index);
          return sign(
            'POST',
            '/v3/refund/domestic/refunds',
            { field: 'out_refund_no', equals: outRefundNo },
            {
              out_trade_no: orderNo('P', order),
              out_refund_no: outRefundNo,
              reason: 'money path bench',
              amount: { refund: refundAmount, total: totalOf(order), currency: 'CNY' },
            },
          );
        }),
      );
      if (needs.refundQuery) {
        await operation(
          'refund_query',
          true,
          presigned(refundCount, (index) => {
            const outRefundNo = orderNo('R', index % refundCount);
            return sign('GET', `/v3/refund/domestic/refunds/${outRefundNo}`, { field: 'out_refund_no', equals: outRefundNo });
          }),
        );
      }
    }

    // The ratios: the product's CPU per request and throughput over the floor's, per operation.
    for (const [name, byTarget] of results) {
      line(`${name}.cpu_ratio`, byTarget.product.cpuPerRequest / byTarget.floor.cpuPerRequest, 'ratio', {
        product_ms: round(byTarget.product.cpuPerRequest),
        floor_ms: round(byTarget.floor.cpuPerRequest),
        ...(byTarget.product.backendCpuPerRequest === null
          ? {}
          : {
              postgres_backend_ms: round(byTarget.product.backendCpuPerRequest),
              with_backends_ratio: round(
                (byTarget.product.cpuPerRequest + byTarget.product.backendCpuPerRequest) / byTarget.floor.cpuPerRequest,
              ),
            }),
      });
      line(`${name}.throughput_ratio`, byTarget.product.throughput / byTarget.floor.throughput, 'ratio', {
        product_rps: round(byTarget.product.throughput),
        floor_rps: round(byTarget.floor.throughput),
      });
    }
    const prepayResults = results.get('prepay');
    if (kind === 'postgres' && prepayResults) {
      // PostgreSQL's Node CPU per prepay against the SQLite floor, the backends' CPU beside it.
      line('prepay.postgres_node_cpu_ratio', prepayResults.product.cpuPerRequest / prepayResults.floor.cpuPerRequest, 'ratio', {
        node_ms: round(prepayResults.product.cpuPerRequest),
        backend_ms: round(prepayResults.product.backendCpuPerRequest),
        sqlite_floor_ms: round(prepayResults.floor.cpuPerRequest),
      });
    }

    if (selected('half-rate')) {
      const maxRate = prepayResults?.product.throughput;
      if (!maxRate || !(maxRate > 0)) throw new Error('half-rate needs the prepay phase to have measured a maximal rate');
      const rate = maxRate / 2;
      const warm = Math.ceil(rate);
      const count = warm + Math.ceil(rate * halfRateSeconds) + 10;
      for (const target of targets) {
        const batch = presigned(count, (index) => prepayRequest(orderNo(`H${target.name[0]}`, index), totalOf(index)));
        const measured = await measure(target, batch(), warm, rate);
        report(`half_rate.prepay.${target.name}`, target, measured, {
          offered_rate: round(rate),
          product_max_rate: round(maxRate),
        });
        say(`prepay at ${rate.toFixed(1)} req/s (half the product's max) on the ${target.name}: p99 ${measured.p99.toFixed(1)} ms`);
      }
    }

    let burst: { perSecond: number; lagMs: number; cpuPerNotification: number } | undefined;
    if (selected('notify')) {
      const productTarget = targets[0]!;
      const batch = presigned(notifications, (index) => prepayRequest(orderNo('N', index), totalOf(index)));
      const prepaid = await measure(productTarget, batch(), 0);
      if (prepaid.errorCount > 0) failures.push(`notify prepays: ${JSON.stringify(prepaid.errors)}`);
      const ids = prepaid.values.filter((value): value is string => value !== null);
      const notifiedBefore = receiver.count('TRANSACTION.SUCCESS');
      const deliveriesBefore = receiver.deliveries;
      // Let any earlier delivery finish so that the burst starts on a quiet outbox.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      say(`${ids.length} orders prepaid; paying them all`);
      const cpuBefore = processCpuMs(productTarget.pid);
      const firstPaymentMs = performance.now();
      let lastPaymentMs = firstPaymentMs;
      await inLanes(ids, concurrency, async (prepayId) => {
        const answer = await productTarget.http.send({
          method: 'POST',
          path: productTarget.payPath(prepayId),
          headers: { 'content-type': 'application/json' },
          body: '{"payer_openid":"bench-payer"}',
        });
        lastPaymentMs = performance.now();
        if (answer.kind !== 'answer' || answer.status !== 200) failures.push(`notify payment: ${errorKindOf(answer)}`);
      });
      const arrived = await waitFor(() => receiver!.count('TRANSACTION.SUCCESS') >= notifiedBefore + ids.length, 60_000 + ids.length * 200);
      const cpuMs = processCpuMs(productTarget.pid) - cpuBefore;
      const delivered = receiver.count('TRANSACTION.SUCCESS') - notifiedBefore;
      if (!arrived) failures.push(`notify: ${delivered} of ${ids.length} notifications arrived`);
      const spanMs = receiver.lastEventAtMs - firstPaymentMs;
      const rsaNow = rsaSigningRate(rsaSeconds);
      burst = {
        perSecond: delivered / (spanMs / 1000),
        lagMs: receiver.lastEventAtMs - lastPaymentMs,
        cpuPerNotification: cpuMs / Math.max(1, delivered),
      };
      line('notify.deliveries_per_s', burst.perSecond, 'notifications/s', {
        notifications: ids.length,
        delivered,
        deliveries: receiver.deliveries - deliveriesBefore,
        rejected: receiver.rejected,
        payments_per_s: round(ids.length / ((lastPaymentMs - firstPaymentMs) / 1000)),
        first_payment_to_last_notification_ms: round(spanMs),
        server_cpu_ms_per_notification: round(burst.cpuPerNotification),
      });
      line('notify.last_payment_to_last_notification', burst.lagMs, 'ms');
      line('notify.deliveries_per_rsa_sign', burst.perSecond / rsaNow.wall, 'ratio', {
        rsa2048_sign_rate: round(rsaNow.wall),
        // Against a whole core's signing rate (signatures per CPU-second), which a busy machine does not lower.
        per_cpu_second_ratio: round(burst.perSecond / rsaNow.cpu),
      });
      say(
        `${delivered}/${ids.length} notifications, ${burst.perSecond.toFixed(1)}/s; ` +
          `last one ${burst.lagMs.toFixed(0)} ms after the last payment`,
      );
    }

    const rsaAfter = rsaSigningRate(rsaSeconds);
    const loadAfter = loadavg()[0]!;
    line('rsa2048_sign_rate', (rsaBefore.wall + rsaAfter.wall) / 2, 'signs/s', {
      before: round(rsaBefore.wall),
      after: round(rsaAfter.wall),
    });
    line('rsa2048_sign_rate_cpu', (rsaBefore.cpu + rsaAfter.cpu) / 2, 'signs/cpu-s');
    line('server_error_logs', product.errorLogCount(), 'lines', { sample: product.errorLogSample().slice(0, 3) });
    line('config', kind, 'database', { requests, warmup, concurrency, phases: [...phases], notifications });
    line('cpus', cpus().length, `x ${cpus()[0]?.model ?? 'unknown'}`);
    line('loadavg_1m', loadAfter, 'runnable', { before: round(loadBefore) });

    const summary = [...results].map(
      ([name, byTarget]) =>
        `${name} ${byTarget.product.cpuPerRequest.toFixed(2)}/${byTarget.floor.cpuPerRequest.toFixed(2)} ms CPU ` +
        `(×${(byTarget.product.cpuPerRequest / byTarget.floor.cpuPerRequest).toFixed(1)}), ` +
        `${byTarget.product.throughput.toFixed(0)}/${byTarget.floor.throughput.toFixed(0)} req/s`,
    );
    if (burst) summary.push(`notifications ${burst.perSecond.toFixed(1)}/s`);
    say(
      `product/floor: ${summary.join('; ')}; RSA-2048 ${rsaAfter.wall.toFixed(0)} signs/s; ` +
        `load ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`,
    );
    if (failures.length > 0) {
      say(`FAILED: ${failures.slice(0, 10).join(' | ')}`);
      process.exitCode = 1;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
