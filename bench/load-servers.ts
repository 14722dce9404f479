import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { DemoManifest } from '../src/services/demo/demo-world.service.ts';

/**
 * The servers of the load bench, run as an operator runs them: `node bin/paythrough.mjs start` child
 * processes with the sandbox on, after `paythrough demo --json` built the demo world in a database of
 * the bench's own (a temporary SQLite file, or a PostgreSQL database created for the run and dropped after).
 */

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repositoryRoot, 'bin/paythrough.mjs');

export interface BenchDatabase {
  kind: 'sqlite' | 'postgres';
  url: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(kind: 'sqlite' | 'postgres', postgresUrl: string): Promise<BenchDatabase> {
  if (kind === 'sqlite') {
    const folder = mkdtempSync(path.join(tmpdir(), 'paythrough-load-'));
    return { kind, url: `file:${path.join(folder, 'load.db')}`, drop: async () => rmSync(folder, { recursive: true, force: true }) };
  }
  const name = `paythrough_load_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    drop: async () => {
      const dropper = new pg.Client({ connectionString: postgresUrl });
      await dropper.connect();
      try {
        await dropper.query(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The environment of every child: nothing inherited but PATH and HOME, so the run is reproducible. */
/** Node flags for the server processes, e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/profiles" to profile them. */
const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    PAYTHROUGH_SANDBOX: 'on',
    PAYTHROUGH_LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** `paythrough demo --json`: migrates, builds the demo world (idempotent) and returns its manifest. */
export function demoManifest(environment: Record<string, string>): Promise<DemoManifest> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'demo', '--json'], {
      cwd: repositoryRoot,
      env: childEnvironment(environment),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`paythrough demo --json exited with ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(stdout) as DemoManifest);
      } catch (error) {
        reject(new Error(`paythrough demo --json printed no manifest: ${String(error)}; ${stdout.slice(0, 500)}`));
      }
    });
  });
}

export interface ServerInstance {
  port: number;
  pid: number;
  /** Log lines at level error or fatal (pino levels 50 and 60) and stderr lines, counted and sampled. */
  errorLogCount(): number;
  errorLogSample(): string[];
  /** CPU time (user + system) of the process so far, from /proc. */
  cpuMs(): number;
  stop(): Promise<void>;
}

const clockTicksPerSecond = 100;

/** CPU time (user + system) of process `pid` so far, in ms, from /proc (10 ms resolution). */
export function processCpuMs(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command name): utime, stime in ticks.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
}

/** `paythrough start --no-demo` on `port`; resolves once it prints that it is running. */
export function startInstance(environment: Record<string, string>, port: number, startTimeoutMs = 60_000): Promise<ServerInstance> {
  const child: ChildProcess = spawn(process.execPath, [...serverNodeArgs, cli, 'start', '--no-demo'], {
    cwd: repositoryRoot,
    env: childEnvironment({ ...environment, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errorLogs = 0;
  const sample: string[] = [];
  const noteError = (text: string) => {
    errorLogs += 1;
    if (sample.length < 5) sample.push(text.slice(0, 400));
  };
  let pending = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`paythrough start did not come up in ${startTimeoutMs} ms: ${sample.join(' | ')}`));
    }, startTimeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const text of lines) {
        if (text.startsWith('Paythrough is running at')) {
          clearTimeout(timer);
          resolve({
            port,
            pid: child.pid!,
            errorLogCount: () => errorLogs,
            errorLogSample: () => sample,
            cpuMs: () => processCpuMs(child.pid!),
            stop: async () => {
              if (!exited) child.kill('SIGTERM');
              const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
              await exit;
              clearTimeout(killer);
            },
          });
        } else if (/"level":(50|60)/.test(text)) {
          noteError(text);
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim()) noteError(text);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`paythrough start exited with ${code} before it was running: ${sample.join(' | ')}`));
    });
  });
}
