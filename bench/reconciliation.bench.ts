import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { createAppContext } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config/config.ts';
import { testHashingCost } from '../src/crypto/passwords.ts';
import { SecretBox } from '../src/crypto/secret-box.ts';
import { addCalendarDays, businessDateOf, businessDayRange } from '../src/domain/business-time.ts';
import { dayMs } from '../src/domain/clock.ts';
import { userRepository } from '../src/repositories/user.repository.ts';
import { loadActor } from '../src/services/auth/auth.service.ts';
import { tlsFixtures } from '../test/fixtures/keys/index.ts';
import { expectedOf, type BenchDay } from './reconciliation-day.ts';
import type { ReconcileResult } from './reconciliation-run.ts';
import { seedReconciliationDay } from './reconciliation-seed.ts';

/**
 * Daily reconciliation at scale (SPEC §9.7): one superapp's business day of N statement items (payments, and a
 * refund for every tenth) recorded in Paythrough and listed on its HTTP channel's signed statement, 1 % of them bent
 * (a payment or refund missing on either side, another amount, a refund state, a time beyond the drift, a duplicate
 * line). The statement is served over HTTPS on loopback in pages of 5,000 by a process of its own, each page generated
 * from the cursor; the real StatementReconciliationService reads and matches the day in another process, whose wall
 * time and peak RSS are the figures. The bench fails (exit 1) unless the run is DONE, read every line, and found
 * exactly the exceptions injected, per kind.
 *
 *   npm run bench -- reconciliation [--lines 1000000] [--database sqlite|postgres://…] [--keep]
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench -- reconciliation
 */

const benchFolder = path.dirname(fileURLToPath(import.meta.url));
const channelKey = 'bench-reconciliation-channel-key-0123456789';

function startChild(script: string, env: Record<string, string>): ChildProcess {
  return fork(path.join(benchFolder, script), [], {
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.PAYTHROUGH_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.PAYTHROUGH_BENCH_CPU_PROF] : []),
    ],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function firstMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before answering`)));
  });
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      lines: { type: 'string', default: '1000000' },
      database: { type: 'string' },
      // Keeps the database (SQLite file or PostgreSQL schema) for a look at the plans afterwards.
      keep: { type: 'boolean', default: false },
    },
  });
  const items = Number(values.lines);
  if (!Number.isSafeInteger(items) || items < 100) throw new Error('--lines must be an integer of at least 100');
  const log = (message: string) => process.stderr.write(`[reconciliation] ${message}\n`);

  // The database: a fresh SQLite file, or a fresh schema of BENCH_DATABASE_URL's PostgreSQL (dropped after).
  const postgresUrl =
    values.database === 'sqlite' ? undefined : values.database?.startsWith('postgres') ? values.database : process.env.BENCH_DATABASE_URL;
  let databaseUrl: string;
  let postgresSchema: string | undefined;
  let cleanup: () => Promise<void>;
  if (postgresUrl?.startsWith('postgres')) {
    const schema = `bench_rec_${Date.now().toString(36)}`;
    postgresSchema = schema;
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    databaseUrl = postgresUrl;
    cleanup = async () => {
      const dropper = new pg.Client({ connectionString: postgresUrl });
      await dropper.connect();
      await dropper.query(`drop schema if exists ${schema} cascade`);
      await dropper.end();
    };
  } else {
    const folder = mkdtempSync(path.join(tmpdir(), 'paythrough-bench-rec-'));
    databaseUrl = `file:${path.join(folder, 'bench.db')}`;
    cleanup = async () => rmSync(folder, { recursive: true, force: true });
  }
  const kind = postgresSchema ? 'postgres' : 'sqlite';
  const masterKey = SecretBox.generateMasterKey();
  const children: ChildProcess[] = [];
  let failed = false;
  try {
    // The world: the demo superapp, its HTTP channel (the bench's statement server) serving statements.
    const config = {
      ...loadConfig({
        DATABASE_URL: databaseUrl,
        PAYTHROUGH_SANDBOX: 'on',
        PORT: '0',
        PAYTHROUGH_LOG_LEVEL: 'warn',
        PAYTHROUGH_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      }),
      masterKeys: [masterKey],
    };
    const context = await createAppContext(config, { hashingCost: testHashingCost, ...(postgresSchema ? { postgresSchema } : {}) });
    let day: BenchDay;
    let billDate: string;
    let applicationId: string;
    let connectionId: number;
    let owners;
    try {
      const manifest = await context.services.demoWorld.ensure();
      applicationId = manifest.superapp.applicationId;
      billDate = addCalendarDays(businessDateOf(Date.now(), config.timezone), -1);
      const range = businessDayRange(billDate, config.timezone)!;
      day = { items, merchantId: manifest.miniPrograms.ready.mchid, fromMs: range.startMs, toMs: range.endMs };

      const server = startChild('reconciliation-statement-server.ts', {
        PAYTHROUGH_BENCH_STATEMENT: JSON.stringify({ day, applicationId, billDate, channelKey }),
      });
      children.push(server);
      const { port } = await firstMessage<{ port: number }>(server, 'the statement server');

      context.services.gatewayChannels.configureConnector({
        lookup: async () => [{ address: '127.0.0.1', family: 4 }],
        tls: { ca: tlsFixtures.caPem },
      });
      const user = await userRepository.findByAccount(context.database.db, manifest.superapp.users.admin.account);
      const saAdmin = await loadActor(context.database.db, user!, Date.now());
      const view = await context.services.paymentConfig.update(saAdmin, applicationId, {
        channel: { kind: 'http', baseUrl: `https://${tlsFixtures.hostname}:${port}`, secret: channelKey },
        statementsSupported: true,
      });
      connectionId = view.channelConnectionId!;
      // The connection was live all day (it is made now, after the day; as if made the week before).
      await sql`update channel_connections set created_at = ${day.fromMs - 7 * dayMs} where id = ${connectionId}`.execute(
        context.database.db,
      );
      owners = {
        applicationId,
        mnpId: manifest.miniPrograms.ready.mnpId,
        miniProgramTeamId: manifest.miniProgramTeam.teamId,
        superappTeamId: manifest.superapp.teamId,
        connectionId,
      };
    } finally {
      await context.database.close();
    }

    log(`${kind}: seeding ${items.toLocaleString('en')} items of ${billDate} for ${applicationId}`);
    const seeded = await seedReconciliationDay({ kind, databaseUrl, postgresSchema }, day, owners, log);
    const expected = expectedOf(items);

    log(`reconciling ${expected.lines.toLocaleString('en')} statement lines (pages of 5,000 over HTTPS on loopback)`);
    const loadBefore = loadavg()[0]!;
    const reconciler = startChild('reconciliation-run.ts', {
      PAYTHROUGH_BENCH_RECONCILE: JSON.stringify({ databaseUrl, postgresSchema, masterKey, applicationId, billDate, connectionId }),
    });
    children.push(reconciler);
    const result = await firstMessage<ReconcileResult>(reconciler, 'the reconciling process');
    // It closes its database and exits by itself (writing its CPU profile when asked for one).
    if (reconciler.exitCode === null) await new Promise((resolve) => reconciler.once('exit', resolve));
    const loadAfter = loadavg()[0]!;

    const found: Record<string, number> = {};
    for (const entry of result.report?.exceptions ?? []) found[entry.kind] = (found[entry.kind] ?? 0) + entry.n;
    const foundTotal = Object.values(found).reduce((sum, n) => sum + n, 0);
    const expectedTotal = Object.values(expected.exceptions).reduce((sum, n) => sum + n, 0);
    const line = (metric: string, value: number | string, unit: string, extra: Record<string, unknown> = {}) => {
      const rounded = typeof value === 'number' ? Math.round(value * 1000) / 1000 : value;
      process.stdout.write(`${JSON.stringify({ bench: `reconciliation.${kind}`, metric, value: rounded, unit, ...extra })}\n`);
    };
    line('items', items, 'items');
    line('statement_lines', result.report?.lines ?? 0, 'lines', { expected: expected.lines });
    line('records', seeded.payments + seeded.refunds, 'payments+refunds', seeded);
    line('status', result.status, 'run');
    line('seconds', result.seconds, 's');
    line('reconciler_cpu_seconds', result.cpuSeconds, 's');
    line('peak_rss_mb', result.peakRssBytes / 2 ** 20, 'MiB', { before_run_mb: Math.round(result.rssBeforeBytes / 2 ** 20) });
    line('lines_per_second', (result.report?.lines ?? 0) / result.seconds, 'lines/s');
    line('exceptions', foundTotal, 'exceptions', { expected: expectedTotal, by_kind: found, expected_by_kind: expected.exceptions });
    line('cpus', cpus().length, `x ${cpus()[0]?.model ?? 'unknown'}`);
    line('loadavg_1m', Math.max(loadBefore, loadAfter), 'runnable');

    const problems: string[] = [];
    if (result.status !== 'DONE') problems.push(`the run is ${result.status}: ${result.lastError}`);
    if (result.report?.lines !== expected.lines) problems.push(`${result.report?.lines} lines read, ${expected.lines} served`);
    const kinds = new Set([...Object.keys(found), ...Object.keys(expected.exceptions)]);
    for (const name of kinds)
      if (found[name] !== expected.exceptions[name])
        problems.push(`${name}: ${found[name] ?? 0} found, ${expected.exceptions[name] ?? 0} injected`);
    for (const entry of result.report?.exceptions ?? [])
      if (entry.status !== 'OPEN') problems.push(`${entry.n} ${entry.kind} are ${entry.status}, not OPEN`);
    log(
      `${kind}: ${result.report?.lines.toLocaleString('en')} lines in ${result.seconds.toFixed(1)} s ` +
        `(${Math.round((result.report?.lines ?? 0) / result.seconds).toLocaleString('en')} lines/s; ` +
        `${result.cpuSeconds.toFixed(1)} s CPU in the reconciler), peak RSS ` +
        `${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB; ${foundTotal} exceptions ${JSON.stringify(found)}; ` +
        `load ${loadAfter.toFixed(2)}`,
    );
    if (problems.length > 0) {
      failed = true;
      log(`FAILED: ${problems.join('; ')}`);
    }
  } finally {
    // The statement server exits when its parent lets go of it.
    for (const child of children) if (child.connected) child.disconnect();
    if (values.keep) log(`kept ${postgresSchema ? `schema ${postgresSchema}` : databaseUrl}`);
    else await cleanup();
  }
  if (failed) process.exitCode = 1;
}
