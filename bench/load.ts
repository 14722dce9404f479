import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { SecretBox } from '../src/crypto/secret-box.ts';
import { rsaSigningRate } from './gateway.bench.ts';
import { LoadHttpClient } from './load-http.ts';
import { LoadMix, mixShares, signInToConsole } from './load-mix.ts';
import { LoadNotifyReceiver } from './load-notify-receiver.ts';
import { percentile, runOpenLoop } from './load-scheduler.ts';
import { createBenchDatabase, demoManifest, freePort, startInstance, type BenchDatabase, type ServerInstance } from './load-servers.ts';

/**
 * A realistic mix at fixed offered rates against the real server: `paythrough start` child processes
 * (sandbox on, the demo world from `paythrough demo --json`), one on SQLite, or one or two on one
 * PostgreSQL database behind the load generator's round robin. Open loop: arrivals are due at fixed
 * intervals whatever the server answers, so a slow server shows as latency (measured from when each
 * request was due), not as a lower offered rate. See docs/BENCHMARKS.md, "load".
 *
 *   npm run bench -- load [--database sqlite|postgres] [--instances 1|2] [--rate 40] [--duration 20]
 *                         [--warmup 3] [--drain 30] [--rsa-seconds 1] [--postgres-url postgres://…]
 */

const round = (value: number) => (Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null);

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      database: { type: 'string', default: 'sqlite' },
      instances: { type: 'string', default: '1' },
      rate: { type: 'string', default: '40' },
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      drain: { type: 'string', default: '30' },
      'rsa-seconds': { type: 'string', default: '1' },
      'postgres-url': { type: 'string', default: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    },
  });
  const kind = values.database;
  if (kind !== 'sqlite' && kind !== 'postgres') throw new Error('--database is sqlite or postgres');
  const instanceCount = Number(values.instances);
  if (instanceCount !== 1 && instanceCount !== 2) throw new Error('--instances is 1 or 2');
  if (kind === 'sqlite' && instanceCount > 1) throw new Error('several instances need PostgreSQL (one SQLite file belongs to one server)');
  const rate = Number(values.rate);
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const drainMs = Number(values.drain) * 1000;
  const rsaSeconds = Number(values['rsa-seconds']);
  if (!(rate > 0) || !(durationMs > 0) || !(warmupMs >= 0)) throw new Error('--rate and --duration must be positive, --warmup at least 0');

  const bench = `load.${kind}.x${instanceCount}`;
  const line = (metric: string, value: number | string | null, unit: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ bench, metric, value: typeof value === 'number' ? round(value) : value, unit, ...extra })}\n`);
  const say = (text: string) => process.stderr.write(`${bench}: ${text}\n`);

  const began = performance.now();
  const elapsed = () => `${((performance.now() - began) / 1000).toFixed(1)} s`;
  const loadBefore = loadavg()[0]!;
  const rsaBefore = rsaSigningRate(rsaSeconds);

  let database: BenchDatabase | undefined;
  const servers: ServerInstance[] = [];
  let receiver: LoadNotifyReceiver | undefined;
  let http: LoadHttpClient | undefined;
  const cleanUp = async () => {
    http?.close();
    await Promise.all(servers.map((server) => server.stop()));
    await receiver?.stop();
    await database?.drop();
  };
  // Interrupted: still stop the servers and drop the bench's database.
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    database = await createBenchDatabase(kind, values['postgres-url']);
    const environment = { DATABASE_URL: database.url, PAYTHROUGH_MASTER_KEY: SecretBox.generateMasterKey() };
    const manifest = await demoManifest(environment);
    say(`demo world ready (${elapsed()})`);
    const ports = await Promise.all(Array.from({ length: instanceCount }, () => freePort()));
    servers.push(...(await Promise.all(ports.map((port) => startInstance(environment, port)))));
    say(
      `${instanceCount} instance(s) up on ports ${ports.join(', ')} (${elapsed()}); ` +
        `offered ${rate} req/s for ${values.duration} s after ${values.warmup} s warm-up`,
    );

    receiver = await new LoadNotifyReceiver(manifest.miniPrograms.ready).start();
    http = new LoadHttpClient(ports);
    const operator = manifest.miniProgramTeam.users.operator;
    const session = await signInToConsole(http, operator.account, operator.password);
    const mix = new LoadMix(http, manifest.miniPrograms.ready, receiver, session);
    receiver.onPaid = (outTradeNo) => mix.paid(outTradeNo);
    await mix.seed(3, Math.ceil(rate * mixShares.sandbox_pay * 5));
    say(`seeded (${elapsed()})`);

    let cpuAtStart = 0;
    const serverCpuMs = () => servers.reduce((sum, server) => sum + server.cpuMs(), 0);
    const schedule = await runOpenLoop(mix.operations(rate), { warmupMs, durationMs, onMeasuring: () => (cpuAtStart = serverCpuMs()) });
    const serverCpu = serverCpuMs() - cpuAtStart;
    const loadAfter = loadavg()[0]!;

    // Every payment and refund of the run (seed and warm-up too) should reach the notify_url: refunds
    // settle in the sandbox after its delay (5 s), then the outbox delivers.
    const drainUntil = performance.now() + drainMs;
    const expected = () => ({ transaction: mix.totals.paid, refund: mix.totals.refunded });
    while (
      performance.now() < drainUntil &&
      (receiver.count('TRANSACTION.SUCCESS') < expected().transaction || receiver.count('REFUND.SUCCESS') < expected().refund)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const rsaAfter = rsaSigningRate(rsaSeconds);
    const rsaWall = (rsaBefore.wall + rsaAfter.wall) / 2;
    const rsaCpu = (rsaBefore.cpu + rsaAfter.cpu) / 2;

    line('config', kind, 'database', {
      instances: instanceCount,
      offered_rate: rate,
      duration_s: durationMs / 1000,
      warmup_s: warmupMs / 1000,
    });
    let requests = 0;
    let achievedTotal = 0;
    let errorTotal = 0;
    for (const tally of schedule.tallies) {
      const sorted = [...tally.latenciesMs].sort((a, b) => a - b);
      // Completed answers over the time from the window's start to the last of them: a server that
      // falls behind stretches that time, so the achieved rate drops below the offered one.
      const spanMs = Math.max(schedule.windowMs, tally.lastCompletionMs - schedule.windowStartMs);
      const achieved = sorted.length / (spanMs / 1000);
      const errorCount = Object.values(tally.errors).reduce((sum, count) => sum + count, 0);
      requests += sorted.length + errorCount;
      achievedTotal += achieved;
      errorTotal += errorCount;
      line(`op.${tally.name}`, achieved, 'req/s', {
        offered_rate: round(tally.offered / (schedule.windowMs / 1000)),
        achieved_rate: round(achieved),
        ok: sorted.length,
        p50_ms: round(percentile(sorted, 50)),
        p99_ms: round(percentile(sorted, 99)),
        errors: tally.errors,
        error_count: errorCount,
        skipped: tally.skipped,
      });
    }
    line('total', achievedTotal, 'req/s', {
      offered_rate: round(schedule.tallies.reduce((sum, tally) => sum + tally.offered, 0) / (schedule.windowMs / 1000)),
      error_count: errorTotal,
    });
    const lag = [...receiver.paymentNotifyLagMs].sort((a, b) => a - b);
    line('notifications', receiver.events.size, 'events', {
      expected: expected().transaction + expected().refund,
      transaction_success: receiver.count('TRANSACTION.SUCCESS'),
      transaction_expected: expected().transaction,
      refund_success: receiver.count('REFUND.SUCCESS'),
      refund_expected: expected().refund,
      deliveries: receiver.deliveries,
      rejected: receiver.rejected,
      payment_to_notify_p50_ms: round(percentile(lag, 50)),
      payment_to_notify_p99_ms: round(percentile(lag, 99)),
    });
    // Baselines from the same run: the machine's RSA-2048 signing rate (before and after the load) and
    // the servers' CPU per request, which, unlike rates and latencies, does not drop on a busy machine.
    line('rsa2048_sign_rate', rsaWall, 'signs/s', { before: round(rsaBefore.wall), after: round(rsaAfter.wall) });
    line('rsa2048_sign_rate_cpu', rsaCpu, 'signs/cpu-s');
    line('achieved_per_rsa_sign', achievedTotal / rsaWall, 'ratio');
    const cpuPerRequest = serverCpu / Math.max(1, requests);
    line('server_cpu_per_request', cpuPerRequest, 'ms', {
      in_rsa_signs: round(cpuPerRequest / (1000 / rsaCpu)),
      server_cpu_ms: round(serverCpu),
      requests,
    });
    line(
      'server_error_logs',
      servers.reduce((sum, server) => sum + server.errorLogCount(), 0),
      'lines',
      { sample: servers.flatMap((server) => server.errorLogSample()).slice(0, 3) },
    );
    line('cpus', cpus().length, `x ${cpus()[0]?.model ?? 'unknown'}`);
    line('loadavg_1m', loadAfter, 'runnable', { before: round(loadBefore) });
    say(
      `${achievedTotal.toFixed(1)} of ${rate} req/s achieved, ${errorTotal} errors; ` +
        `notifications ${receiver.events.size}/${expected().transaction + expected().refund}; ` +
        `server CPU ${cpuPerRequest.toFixed(2)} ms per request; RSA-2048 ${rsaWall.toFixed(0)} signs/s; ` +
        `load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}
