import { readdirSync, readFileSync } from 'node:fs';
import { verifyV3Response } from '../src/crypto/wechatpay-v3.ts';
import { errorKindOf, LoadHttpClient, type HttpAnswer } from './load-http.ts';
import { runOpenLoop, type Outcome } from './load-scheduler.ts';
import { processCpuMs } from './load-servers.ts';

/**
 * The money-path bench's load generator, in a process of its own so that it never shares an event loop with
 * what it measures. It is handed requests that are already signed (the clock never includes a merchant's RSA
 * signature) and sends them over `concurrency` keep-alive connections: closed loop (each connection sends its
 * next request when the previous one answered: the maximal rate) or open loop at a fixed rate (latency from
 * when each request was due, bench/load-scheduler.ts). Every answer must be 200, carry a platform signature
 * that verifies and the expected field; anything else is an error. It reads the server's CPU time (and, for
 * PostgreSQL, that of the database's backends) from /proc right before and after the measured requests.
 *
 * Forked by bench/money-path.bench.ts with `--import tsx`; one IPC message per run, one answer each.
 */

export interface PresignedRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The answer's JSON must have this top-level field (a non-empty string), equal to `equals` when given. */
  expect: { field: string; equals?: string };
}

export interface LoadRun {
  kind: 'run';
  id: number;
  port: number;
  /** The first `warmup` requests are sent first and not measured. */
  requests: PresignedRequest[];
  warmup: number;
  concurrency: number;
  /** Open loop at this many requests per second; closed loop when absent. */
  rate?: number;
  serverPid: number;
  /** PostgreSQL: the database whose backends' CPU is summed beside the server's. */
  postgresDatabase?: string;
  platform: { serial: string; publicKeyPem: string };
}

export interface LoadRunResult {
  kind: 'result';
  id: number;
  /** Of the measured requests: successful latencies in ms (unsorted), errors by kind. */
  latenciesMs: number[];
  errors: Record<string, number>;
  /** First measured request sent to last measured answer. */
  elapsedMs: number;
  serverCpuMs: number;
  backendCpuMs: number | null;
  backends: number;
  clientCpuMs: number;
  /** The expected field's value of every answer, warm-up included (e.g. each prepay_id), or null. */
  values: (string | null)[];
}

/** CPU so far of every backend of `database` (its process title names the database), by pid. */
function postgresBackendsCpu(database: string): Map<number, number> {
  const found = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (title.startsWith('postgres: ') && title.includes(` ${database} `)) found.set(Number(entry), processCpuMs(Number(entry)));
    } catch {
      // The process went away while we looked.
    }
  }
  return found;
}

function backendDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  // A backend that started during the window counts whole; one that ended is lost (the pool keeps them open).
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

async function execute(run: LoadRun, http: LoadHttpClient): Promise<LoadRunResult> {
  const values: (string | null)[] = new Array<string | null>(run.requests.length).fill(null);
  const check = (index: number, answer: HttpAnswer): Outcome => {
    if (answer.kind !== 'answer' || answer.status !== 200) return { ok: false, kind: errorKindOf(answer) };
    const verified = verifyV3Response({
      headers: answer.headers as Record<string, unknown>,
      body: answer.body,
      publicKeys: { [run.platform.serial]: run.platform.publicKeyPem },
      nowMs: Date.now(),
    });
    if (!verified.ok) return { ok: false, kind: `answer_${verified.problem}` };
    const { field, equals } = run.requests[index]!.expect;
    let value: unknown;
    try {
      value = (JSON.parse(answer.body) as Record<string, unknown>)[field];
    } catch {
      return { ok: false, kind: 'unexpected_body' };
    }
    if (typeof value !== 'string' || value === '' || (equals !== undefined && value !== equals))
      return { ok: false, kind: 'unexpected_body' };
    values[index] = value;
    return { ok: true };
  };
  const send = async (index: number): Promise<Outcome> => {
    const { expect: _expect, ...request } = run.requests[index]!;
    return check(index, await http.send(request));
  };

  const latenciesMs: number[] = [];
  const errors: Record<string, number> = {};
  let cpu = { server: 0, backends: new Map<number, number>(), client: process.cpuUsage() };
  const snapshot = () => ({
    server: processCpuMs(run.serverPid),
    backends: run.postgresDatabase ? postgresBackendsCpu(run.postgresDatabase) : new Map<number, number>(),
    client: process.cpuUsage(),
  });
  let startedMs = 0;
  let lastAnswerMs = 0;

  if (run.rate === undefined) {
    let next = 0;
    const lanes = (until: number, record: boolean) =>
      Array.from({ length: run.concurrency }, async () => {
        while (next < until) {
          const index = next++;
          const sent = performance.now();
          const outcome = await send(index);
          if (!record) continue;
          if (outcome.ok) latenciesMs.push(performance.now() - sent);
          else errors[outcome.kind] = (errors[outcome.kind] ?? 0) + 1;
        }
      });
    await Promise.all(lanes(run.warmup, false));
    cpu = snapshot();
    startedMs = performance.now();
    await Promise.all(lanes(run.requests.length, true));
    lastAnswerMs = performance.now();
  } else {
    let next = 0;
    const schedule = await runOpenLoop(
      [{ name: 'request', rate: run.rate, run: () => (next < run.requests.length ? send(next++) : 'skipped') }],
      {
        warmupMs: (run.warmup / run.rate) * 1000,
        durationMs: ((run.requests.length - run.warmup) / run.rate) * 1000,
        onMeasuring: () => (cpu = snapshot()),
      },
    );
    const tally = schedule.tallies[0]!;
    latenciesMs.push(...tally.latenciesMs);
    Object.assign(errors, tally.errors);
    if (tally.skipped > 0) errors.ran_out_of_requests = tally.skipped;
    startedMs = schedule.windowStartMs;
    lastAnswerMs = Math.max(tally.lastCompletionMs, schedule.windowStartMs + schedule.windowMs);
  }
  const after = snapshot();
  const client = process.cpuUsage(cpu.client);
  return {
    kind: 'result',
    id: run.id,
    latenciesMs,
    errors,
    elapsedMs: lastAnswerMs - startedMs,
    serverCpuMs: after.server - cpu.server,
    backendCpuMs: run.postgresDatabase ? backendDelta(cpu.backends, after.backends) : null,
    backends: after.backends.size,
    clientCpuMs: (client.user + client.system) / 1000,
    values,
  };
}

if (process.send) {
  process.on('message', (message: LoadRun) => {
    const http = new LoadHttpClient([message.port], 30_000, message.concurrency);
    void execute(message, http)
      .then((result) => process.send!(result))
      .finally(() => http.close());
  });
  process.once('disconnect', () => process.exit(0));
}
