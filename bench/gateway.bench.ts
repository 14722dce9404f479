import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { buildApp } from '../src/app.ts';
import { createBenchContext } from './bench-context.ts';

/**
 * Prepay throughput and latency through the whole path on loopback: HTTP, WECHATPAY2-SHA256-RSA2048
 * verification, the nonce store, the gate, the order insert, the in-process sandbox channel's create,
 * the platform signature on the answer. The load runs in its own process and signs every request afresh
 * (new nonce, new signature), as a merchant server does; the server's CPU time per prepay is measured
 * too, which stays meaningful on a busy machine where throughput does not. The machine's RSA-2048
 * signing rate is measured in the same run: the server signs every answer, so it is the natural ceiling.
 *
 *   npm run bench -- gateway [--duration 10] [--concurrency 16] [--warmup 2]
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench -- gateway
 */

interface LoadResult {
  latenciesMs: number[];
  errors: number;
  statuses: Record<string, number>;
  elapsedMs: number;
}

const line = (metric: string, value: number | string, unit: string) =>
  process.stdout.write(
    `${JSON.stringify({ bench: 'gateway', metric, value: typeof value === 'number' ? Math.round(value * 1000) / 1000 : value, unit })}\n`,
  );

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * RSA-2048 SHA256 PKCS#1 v1.5 signatures on this machine (one thread) for `seconds`: per second of wall
 * time, and per second of CPU time (the latter does not drop when other processes share the CPU).
 */
export function rsaSigningRate(seconds: number): { wall: number; cpu: number } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const message = Buffer.from('1700000000\n0123456789abcdef0123456789abcdef\n{"prepay_id":"wx20260115040506abcdef0123456789abcdef"}\n');
  for (let i = 0; i < 50; i += 1) sign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
  let count = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 20; i += 1) sign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
    count += 20;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { wall: count / ((performance.now() - start) / 1000), cpu: count / ((cpu.user + cpu.system) / 1e6) };
}

// The load generator, run in its own process (so the server's CPU time can be measured alone). Plain JS.
const loadScript = `
const workerData = JSON.parse(process.env.PAYTHROUGH_BENCH_LOAD);
const crypto = require('node:crypto');
const http = require('node:http');
const { port, merchant, concurrency, warmupMs, durationMs, runId } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const key = crypto.createPrivateKey(merchant.privateKeyPem);
let sequence = 0;
function prepay() {
  sequence += 1;
  const body = JSON.stringify({
    appid: merchant.mnpId, mchid: merchant.mchid, description: 'Bench coffee', out_trade_no: runId + sequence.toString(36),
    notify_url: 'https://merchant.example/notify', amount: { total: 100 + (sequence % 900), currency: 'CNY' },
    payer: { openid: 'bench-openid' },
  });
  const timestamp = Math.floor(Date.now() / 1000);
  const nonce = crypto.randomBytes(16).toString('hex');
  const url = '/v3/pay/transactions/jsapi';
  const message = 'POST\\n' + url + '\\n' + timestamp + '\\n' + nonce + '\\n' + body + '\\n';
  const signature = crypto
    .sign('sha256', Buffer.from(message), { key, padding: crypto.constants.RSA_PKCS1_PADDING })
    .toString('base64');
  const authorization = 'WECHATPAY2-SHA256-RSA2048 mchid="' + merchant.mchid + '",serial_no="' + merchant.serialNo +
    '",timestamp="' + timestamp + '",nonce_str="' + nonce + '",signature="' + signature + '"';
  const started = performance.now();
  return new Promise((resolve) => {
    const request = http.request({ host: '127.0.0.1', port, path: url, method: 'POST', agent, headers: {
      'content-type': 'application/json; charset=utf-8', accept: 'application/json', authorization,
      'content-length': Buffer.byteLength(body),
    } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode, latency: performance.now() - started }));
    });
    request.on('error', () => resolve({ status: 'error', latency: performance.now() - started }));
    request.end(body);
  });
}
(async () => {
  const warmupEnd = performance.now() + warmupMs;
  const lanes = (until, record) => Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) record(await prepay());
  });
  await Promise.all(lanes(warmupEnd, () => {}));
  const latenciesMs = [];
  const statuses = {};
  let errors = 0;
  process.send({ phase: 'measuring' });
  const start = performance.now();
  await Promise.all(lanes(start + durationMs, (result) => {
    statuses[result.status] = (statuses[result.status] || 0) + 1;
    if (result.status === 200) latenciesMs.push(result.latency); else errors += 1;
  }));
  const elapsedMs = performance.now() - start;
  process.send({ phase: 'done', result: { latenciesMs, errors, statuses, elapsedMs } }, () => process.exit(0));
  agent.destroy();
})();
`;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '16' },
      warmup: { type: 'string', default: '2' },
      'rsa-seconds': { type: 'string', default: '3' },
    },
  });
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const concurrency = Number(values.concurrency);

  const { context, dispose } = await createBenchContext();
  const app = await buildApp(context, { backgroundJobs: false });
  try {
    const manifest = await context.services.demoWorld.ensure();
    const ready = manifest.miniPrograms.ready;
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;

    process.stderr.write(
      `gateway bench: ${context.database.kind}, concurrency ${concurrency}, ${values.duration} s after ${values.warmup} s warm-up\n`,
    );
    const rsaRate = rsaSigningRate(Number(values['rsa-seconds']));

    let cpuAtStart = process.cpuUsage();
    const result = await new Promise<LoadResult>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', loadScript], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: {
          ...process.env,
          PAYTHROUGH_BENCH_LOAD: JSON.stringify({
            port,
            concurrency,
            warmupMs,
            durationMs,
            runId: `B${Date.now().toString(36)}`,
            merchant: { mnpId: ready.mnpId, mchid: ready.mchid, serialNo: ready.serialNo, privateKeyPem: ready.privateKeyPem },
          }),
        },
      });
      child.on('message', (message: { phase: 'measuring' } | { phase: 'done'; result: LoadResult }) => {
        if (message.phase === 'measuring') cpuAtStart = process.cpuUsage();
        else resolve(message.result);
      });
      child.once('error', reject);
      child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`the load generator exited with ${code}`));
      });
    });
    const cpu = process.cpuUsage(cpuAtStart);
    const serverCpuMsPerPrepay = (cpu.user + cpu.system) / 1000 / Math.max(1, result.latenciesMs.length + result.errors);

    const sorted = [...result.latenciesMs].sort((a, b) => a - b);
    const throughput = result.latenciesMs.length / (result.elapsedMs / 1000);
    line('database', context.database.kind, 'kind');
    line('concurrency', concurrency, 'connections');
    line('duration', result.elapsedMs / 1000, 's');
    line('prepay_ok', result.latenciesMs.length, 'requests');
    line('prepay_errors', result.errors, 'requests');
    line('prepay_throughput', throughput, 'req/s');
    line('prepay_latency_p50', percentile(sorted, 50), 'ms');
    line('prepay_latency_p99', percentile(sorted, 99), 'ms');
    line('rsa2048_sign_rate', rsaRate.wall, 'signs/s');
    line('prepay_per_rsa_sign', throughput / rsaRate.wall, 'ratio');
    // Load-independent: CPU time per prepay in the server process, and per signature, and their ratio.
    line('rsa2048_sign_rate_cpu', rsaRate.cpu, 'signs/cpu-s');
    line('server_cpu_per_prepay', serverCpuMsPerPrepay, 'ms');
    line('server_cpu_per_prepay_in_rsa_signs', serverCpuMsPerPrepay / (1000 / rsaRate.cpu), 'ratio');
    line('prepay_capacity_per_core', 1000 / serverCpuMsPerPrepay, 'req/s');
    line('cpus', cpus().length, `x ${cpus()[0]?.model ?? 'unknown'}`);
    // Other work on the machine skews every figure above; say how busy it was.
    line('loadavg_1m', loadavg()[0]!, 'runnable');
    process.stderr.write(
      `prepay: ${throughput.toFixed(1)} req/s, p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms ` +
        `(${result.latenciesMs.length} ok, ${result.errors} errors ${JSON.stringify(result.statuses)}); ` +
        `RSA-2048 signing ${rsaRate.wall.toFixed(0)}/s (${rsaRate.cpu.toFixed(0)} per CPU second); ` +
        `ratio ${(throughput / rsaRate.wall).toFixed(3)}; ` +
        `server CPU ${serverCpuMsPerPrepay.toFixed(2)} ms per prepay ` +
        `(${(serverCpuMsPerPrepay / (1000 / rsaRate.cpu)).toFixed(1)} RSA signatures)\n`,
    );
  } finally {
    await app.close();
    await dispose();
  }
}
