import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The package's `bin`, run as an operator runs it. */
export const cliPath = path.join(repositoryRoot, 'bin/paythrough.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `paythrough <args>` once to completion (e.g. `demo --json`), killed after `timeoutMs`. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliRun> {
  return runToCompletion([cliPath, ...args], { env, timeoutMs, stopSignal: 'SIGKILL', name: `paythrough ${args.join(' ')}` });
}

/**
 * Runs `npm run bench -- <bench> <args>` (through tsx, as npm does) to completion. Past `timeoutMs` it gets SIGTERM,
 * which lets a bench stop its servers and remove its database.
 */
export function runBench(bench: string, args: string[], timeoutMs: number): Promise<CliRun> {
  return runToCompletion(['--import', 'tsx', 'bench/run.ts', bench, ...args], {
    timeoutMs,
    stopSignal: 'SIGTERM',
    name: `the ${bench} bench`,
  });
}

function runToCompletion(
  nodeArgs: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number; stopSignal: NodeJS.Signals; name: string },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: repositoryRoot, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill(options.stopSignal);
      reject(new Error(`${options.name} did not finish in ${options.timeoutMs} ms; stderr: ${stderr}`));
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
