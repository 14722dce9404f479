import { parseArgs } from 'node:util';
import { createAppContext } from '../bootstrap.ts';
import { loadConfig, type Config } from '../config/config.ts';
import { systemActor } from '../domain/access.ts';
import { randomString } from '../domain/ids.ts';
import { startServer } from '../server.ts';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrator.ts';
import { dayMs } from '../domain/clock.ts';
import type { ReconciliationReport } from '../services/reconciliation/index.ts';

const usage = `Usage: paythrough <command>

  start [--no-demo]     run the server (with the sandbox on, the demo world is created and its sign-in printed)
  migrate               apply database migrations
  create-admin --account NAME [--display-name NAME]
                        create the super admin (or a platform admin when one exists);
                        the password comes from PAYTHROUGH_ADMIN_PASSWORD or is generated and printed
  demo --json           create the demo world (idempotent) and print its manifest as JSON
  rotate-platform-key   publish a new platform signing key; it signs after PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS
                        (default 7) and the current key is withdrawn one grace period later; prints JSON
  rotate-master-key [--batch-size N]
                        re-seal every secret under the first key of PAYTHROUGH_MASTER_KEY=new,old; refused until
                        every live instance seals with it; prints JSON (re-sealed per table)
  reconcile --date YYYY-MM-DD [--superapp ID]
                        run (or re-run) the daily reconciliation of that business day now; prints JSON per run;
                        exits 3 when a run FAILED

Configuration comes from the environment: see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  switch (command) {
    case 'start':
      return startCommand(config, rest);
    case 'migrate':
      return migrateCommand(config);
    case 'create-admin':
      return createAdminCommand(config, rest);
    case 'demo':
      return demoCommand(config, rest);
    case 'rotate-platform-key':
      return rotatePlatformKeyCommand(config, rest);
    case 'rotate-master-key':
      return rotateMasterKeyCommand(config, rest);
    case 'reconcile':
      return reconcileCommand(config, rest);
    default:
      process.stderr.write(`${usage}\n`);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

/** Returns -1: the server keeps the process alive, and its signal handlers end it. */
async function startCommand(config: Config, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'no-demo': { type: 'boolean', default: false } } });
  const server = await startServer(config, { handleSignals: true });
  if (config.sandboxEnabled && !values['no-demo']) {
    const manifest = await server.context.services.demoWorld.ensure();
    const line = (label: string, user: { account: string; password: string }) => `  ${label.padEnd(28)} ${user.account} / ${user.password}`;
    process.stdout.write(
      [
        '',
        `Paythrough is running at ${config.publicUrl}`,
        `  console            ${config.publicUrl}/`,
        `  API docs           ${config.publicUrl}/docs`,
        `  demo (shop, host)  ${config.publicUrl}/demo`,
        '',
        'Sign in with (demo world; `npx paythrough demo --json` prints everything, API keys included):',
        line('super admin', manifest.superAdmin),
        line('superapp administrator', manifest.superapp.users.admin),
        line('superapp review staff', manifest.superapp.users.reviewer),
        line('mini program administrator', manifest.miniProgramTeam.users.admin),
        line('mini program operator', manifest.miniProgramTeam.users.operator),
        '',
      ].join('\n'),
    );
  } else {
    process.stdout.write(`Paythrough is running at ${config.publicUrl}\n`);
  }
  return -1;
}

async function migrateCommand(config: Config): Promise<number> {
  // Only the schema: no master key needed, so a PostgreSQL deployment can migrate before it has one.
  const database = openDatabase(config.databaseUrl);
  try {
    const applied = await migrateToLatest(database.db, database.kind);
    process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'The database is up to date.\n');
  } finally {
    await database.close();
  }
  return 0;
}

async function createAdminCommand(config: Config, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { account: { type: 'string' }, 'display-name': { type: 'string' } } });
  if (!values.account) throw new Error('create-admin needs --account NAME');
  const context = await createAppContext(config);
  try {
    const { users } = context.services;
    const password = process.env.PAYTHROUGH_ADMIN_PASSWORD ?? randomString(20);
    if (password.length < 10) throw new Error('PAYTHROUGH_ADMIN_PASSWORD must be at least 10 characters');
    const hasSuperAdmin = (await users.countSuperAdmins()) > 0;
    const created = await users.createUnchecked(systemActor('cli'), {
      account: values.account,
      displayName: values['display-name'] ?? values.account,
      password,
      platformRole: hasSuperAdmin ? 'platform_admin' : 'super_admin',
    });
    const shown = process.env.PAYTHROUGH_ADMIN_PASSWORD ? '(from PAYTHROUGH_ADMIN_PASSWORD)' : password;
    process.stdout.write(`Created ${created.platformRole.replace('_', ' ')} ${created.account}; password: ${shown}\n`);
  } finally {
    await context.database.close();
  }
  return 0;
}

async function demoCommand(config: Config, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const context = await createAppContext(config);
  try {
    const manifest = await context.services.demoWorld.ensure();
    const signIn = `Demo world ready; sign in as ${manifest.superAdmin.account} / ${manifest.superAdmin.password}\n`;
    process.stdout.write(values.json ? `${JSON.stringify(manifest, null, 2)}\n` : signIn);
  } finally {
    await context.database.close();
  }
  return 0;
}

async function rotatePlatformKeyCommand(config: Config, args: string[]): Promise<number> {
  if (args.length > 0) {
    const hint = 'the grace period is PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS';
    throw new Error(`rotate-platform-key takes no arguments (${hint}), got: ${args.join(' ')}`);
  }
  const context = await createAppContext(config);
  try {
    const rotation = await context.services.platformKeys.rotate(systemActor('cli'));
    const time = (ms: number) => new Date(ms).toISOString();
    const printed = {
      serialNo: rotation.serialNo,
      publicKeyId: rotation.publicKeyId,
      publishedAt: time(rotation.publishedAt),
      signingFrom: time(rotation.signingFrom),
      graceDays: rotation.graceMs / dayMs,
      retiring: {
        serialNo: rotation.retiring.serialNo,
        publicKeyId: rotation.retiring.publicKeyId,
        signsUntil: time(rotation.retiring.signsUntil),
        publishedUntil: time(rotation.retiring.publishedUntil),
      },
    };
    process.stdout.write(`${JSON.stringify(printed, null, 2)}\n`);
  } finally {
    await context.database.close();
  }
  return 0;
}

async function rotateMasterKeyCommand(config: Config, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'batch-size': { type: 'string', default: '100' }, json: { type: 'boolean' } } });
  const batchSize = Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    throw new Error('--batch-size must be a whole number from 1 to 10000');
  const context = await createAppContext(config);
  try {
    const summary = await context.services.masterKeyRotation.rotate(systemActor('cli'), {
      batchSize,
      onBatch: ({ table, column, resealed }) => void process.stderr.write(`re-sealed ${resealed} in ${table}.${column}\n`),
    });
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await context.database.close();
  }
  return 0;
}

/** SPEC §6.2, §9: runs a business day's reconciliation now and prints each run's summary; exit 3 when one FAILED. */
async function reconcileCommand(config: Config, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { date: { type: 'string' }, superapp: { type: 'string' }, json: { type: 'boolean' } } });
  if (!values.date || !/^\d{4}-\d{2}-\d{2}$/.test(values.date)) throw new Error('reconcile needs --date YYYY-MM-DD');
  const context = await createAppContext(config);
  try {
    const runs = await context.services.statementReconciliation.reconcileDay(values.date, values.superapp, systemActor('cli'));
    const printed = runs.map((run) => {
      const report = run.status === 'DONE' && run.report_json ? (JSON.parse(run.report_json) as ReconciliationReport) : null;
      const exceptions: Record<string, Record<string, number>> = {};
      for (const entry of report?.exceptions ?? []) exceptions[entry.kind] = { ...exceptions[entry.kind], [entry.status]: entry.n };
      return {
        applicationId: run.application_id,
        billDate: run.bill_date,
        channelConnectionId: Number(run.channel_connection_id),
        status: run.status,
        attempts: Number(run.attempts),
        lastError: run.last_error,
        totals: report ? { ours: report.ours, channel: report.channel } : null,
        lines: report?.lines ?? null,
        exceptions,
      };
    });
    process.stdout.write(`${JSON.stringify({ billDate: values.date, runs: printed }, null, 2)}\n`);
    return runs.some((run) => run.status === 'FAILED') ? 3 : 0;
  } finally {
    await context.database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`paythrough: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
