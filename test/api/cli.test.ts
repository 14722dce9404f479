import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildApp } from '../../src/app.ts';
import { createAppContext } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config/config.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { callAction, managementClient } from '../helpers/management-client.ts';
import { createPostgresSchema, postgresReachable, postgresRequired, postgresTestUrl } from '../helpers/postgres.ts';
import { withSchemaCatalogLock } from '../helpers/test-context.ts';
import { cliPath, repositoryRoot, runCli, type CliRun } from '../helpers/cli-process.ts';
import { dayMs as day } from '../../src/domain/clock.ts';
import { addCalendarDays, businessDateOf } from '../../src/domain/business-time.ts';

/**
 * The command line as a user runs it: `node bin/paythrough.mjs ...` as a child process against a
 * temporary SQLite file, its output read as printed.
 */

function cleanEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...extra };
  return environment;
}

const run = (args: string[], environment: Record<string, string>, timeoutMs?: number) =>
  runCli(args, cleanEnvironment(environment), timeoutMs);

function freePort(): Promise<number> {
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

const demoUser = z.object({
  account: z.string().min(1),
  password: z.string().min(10),
  secretId: z.string().min(1),
  secretKey: z.string().min(1),
});
/** SPEC §6.2: the tenant and user parts of the manifest (the payment parts arrive with later issues). */
const manifestSchema = z.object({
  baseUrl: z.string().url(),
  platformId: z.string().min(1),
  superAdmin: z.object({ account: z.string().min(1), password: z.string().min(10) }),
  superapp: z.object({
    applicationId: z.string().min(1),
    teamId: z.string().min(1),
    currencies: z.array(z.string()),
    merchants: z.array(z.object({ merchantId: z.string(), merchantName: z.string() })),
    users: z.object({ admin: demoUser, seniorDeveloper: demoUser, developer: demoUser, operator: demoUser, reviewer: demoUser }),
  }),
  miniProgramTeam: z.object({
    teamId: z.string().min(1),
    users: z.object({ admin: demoUser, seniorDeveloper: demoUser, developer: demoUser, operator: demoUser, memberAdmin: demoUser }),
  }),
  unboundTeam: z.object({ teamId: z.string().min(1), users: z.object({ admin: demoUser }) }),
  miniPrograms: z.object({
    ready: z.object({ mnpId: z.string().min(1) }).passthrough(),
    fresh: z.object({ mnpId: z.string().min(1) }),
    unbound: z.object({ mnpId: z.string().min(1) }),
  }),
});
type Manifest = z.infer<typeof manifestSchema>;

/** Opens the database a command worked on, in this process, with the app on top. */
async function openApp(databaseUrl: string) {
  const context = await createAppContext(loadConfig({ DATABASE_URL: databaseUrl }));
  const app = await buildApp(context);
  return {
    context,
    app,
    close: async () => {
      await app.close();
      await context.database.close();
    },
  };
}

// Each test starts a few Node processes that compile the sources: give them room on a busy machine.
describe('command line (bin/paythrough.mjs)', { timeout: 180_000 }, () => {
  let folder: string;
  const databaseUrl = (name: string) => `file:${path.join(folder, name, 'paythrough.db')}`;

  beforeAll(() => {
    folder = mkdtempSync(path.join(tmpdir(), 'paythrough-cli-'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  describe('demo --json', () => {
    let first: CliRun;
    let manifest: Manifest;

    beforeAll(async () => {
      first = await run(['demo', '--json'], { DATABASE_URL: databaseUrl('demo') }, 150_000);
    }, 180_000);

    it('prints exactly one JSON document on stdout with the SPEC §6.2 tenant and user parts', () => {
      expect(first.code, first.stderr).toBe(0);
      const text = first.stdout.trim();
      expect(text.startsWith('{') && text.endsWith('}')).toBe(true);
      manifest = manifestSchema.parse(JSON.parse(text));
      expect(manifest.baseUrl).toBe('http://127.0.0.1:8080');
      const accounts = [
        manifest.superAdmin,
        ...Object.values(manifest.superapp.users),
        ...Object.values(manifest.miniProgramTeam.users),
        manifest.unboundTeam.users.admin,
      ].map((u) => u.account);
      expect(new Set(accounts).size).toBe(accounts.length);
    });

    it('prints the same manifest again on a second run', async () => {
      const second = await run(['demo', '--json'], { DATABASE_URL: databaseUrl('demo') });
      expect(second.code, second.stderr).toBe(0);
      expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));
    });

    it("signs every printed user in, and each user's printed API key is theirs and active", async () => {
      const { app, context, close } = await openApp(databaseUrl('demo'));
      try {
        const admin = await ConsoleClient.signIn(app, manifest.superAdmin.account, manifest.superAdmin.password);
        expect((await admin.get('/session')).body.user.platformRole).toBe('super_admin');
        const users = [
          ...Object.values(manifest.superapp.users),
          ...Object.values(manifest.miniProgramTeam.users),
          manifest.unboundTeam.users.admin,
        ];
        for (const user of users) {
          const client = await ConsoleClient.signIn(app, user.account, user.password);
          const keys = (await client.get('/api-keys')).body.items as { secretId: string; status: string }[];
          expect(keys.find((k) => k.secretId === user.secretId)?.status, user.account).toBe('active');
          // What the management API will check a TC3 signature with.
          const resolved = await context.services.apiKeys.resolve(user.secretId);
          expect(resolved?.user.account).toBe(user.account);
          expect(resolved?.secretKey).toBe(user.secretKey);
        }
        const teams = (
          await (
            await ConsoleClient.signIn(app, manifest.miniProgramTeam.users.admin.account, manifest.miniProgramTeam.users.admin.password)
          ).get('/teams')
        ).body.items as { id: string }[];
        expect(teams.map((t) => t.id)).toContain(manifest.miniProgramTeam.teamId);
      } finally {
        await close();
      }
    });
  });

  it('migrate applies the migrations once, then reports the database up to date', async () => {
    const url = databaseUrl('migrate');
    const first = await run(['migrate'], { DATABASE_URL: url });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Applied: 0001-foundation/);
    const second = await run(['migrate'], { DATABASE_URL: url });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe('The database is up to date.');
  });

  it('migrate works on PostgreSQL too, without a master key', async (test) => {
    if (!(await postgresReachable())) {
      if (postgresRequired) throw new Error(`PostgreSQL at ${postgresTestUrl} does not answer`);
      test.skip();
    }
    const schema = await createPostgresSchema();
    try {
      const url = `${postgresTestUrl}?options=${encodeURIComponent(`-c search_path=${schema.schema}`)}`;
      const first = await withSchemaCatalogLock('shared', () => run(['migrate'], { DATABASE_URL: url }));
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/^Applied: 0001-foundation/);
      const second = await withSchemaCatalogLock('shared', () => run(['migrate'], { DATABASE_URL: url }));
      expect(second.stdout.trim()).toBe('The database is up to date.');
    } finally {
      await withSchemaCatalogLock('exclusive', schema.drop);
    }
  });

  it('create-admin creates the super admin, then platform admins; the passwords work', async () => {
    const url = databaseUrl('admins');
    const password = 'a strong password 42';
    const root = await run(['create-admin', '--account', 'root'], { DATABASE_URL: url, PAYTHROUGH_ADMIN_PASSWORD: password });
    expect(root.code, root.stderr).toBe(0);
    expect(root.stdout).toMatch(/^Created super admin root/);
    expect(root.stdout).not.toContain(password);
    const ops = await run(['create-admin', '--account', 'ops'], { DATABASE_URL: url });
    expect(ops.code, ops.stderr).toBe(0);
    const generated = /^Created platform admin ops; password: (\S+)$/m.exec(ops.stdout)?.[1];
    expect(generated, ops.stdout).toBeDefined();
    const duplicate = await run(['create-admin', '--account', 'ops'], { DATABASE_URL: url, PAYTHROUGH_ADMIN_PASSWORD: password });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/already exists/);
    const short = await run(['create-admin', '--account', 'shorty'], { DATABASE_URL: url, PAYTHROUGH_ADMIN_PASSWORD: 'short' });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/at least 10 characters/);

    const { app, close } = await openApp(url);
    try {
      const rootSession = await ConsoleClient.signIn(app, 'root', password);
      expect((await rootSession.get('/session')).body.user.platformRole).toBe('super_admin');
      const opsSession = await ConsoleClient.signIn(app, 'ops', generated!);
      expect((await opsSession.get('/session')).body.user.platformRole).toBe('platform_admin');
      expect(((await rootSession.get('/users')).body.items as { account: string }[]).map((u) => u.account).sort()).toEqual(['ops', 'root']);
    } finally {
      await close();
    }
  });

  const rotateTitle =
    'rotate-platform-key publishes a new key signing after PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS, ' +
    'prints JSON, is audited as cli, one at a time';
  it(rotateTitle, async () => {
    const url = databaseUrl('rotate');
    const before = Date.now();
    const rotated = await run(['rotate-platform-key'], { DATABASE_URL: url, PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS: '2' });
    expect(rotated.code, rotated.stderr).toBe(0);
    const printed = z
      .object({
        serialNo: z.string().regex(/^[0-9A-F]{40}$/),
        publicKeyId: z.string().regex(/^PUB_KEY_ID_\d{31}$/),
        publishedAt: z.iso.datetime(),
        signingFrom: z.iso.datetime(),
        graceDays: z.number(),
        retiring: z.object({
          serialNo: z.string(),
          publicKeyId: z.string(),
          signsUntil: z.iso.datetime(),
          publishedUntil: z.iso.datetime(),
        }),
      })
      .strict()
      .parse(JSON.parse(rotated.stdout));
    const publishedAt = Date.parse(printed.publishedAt);
    expect(publishedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(printed.signingFrom) - publishedAt).toBe(2 * day);
    expect(printed.graceDays).toBe(2);
    expect(Date.parse(printed.retiring.signsUntil)).toBe(Date.parse(printed.signingFrom));
    expect(Date.parse(printed.retiring.publishedUntil) - Date.parse(printed.signingFrom)).toBe(2 * day);

    const again = await run(['rotate-platform-key'], { DATABASE_URL: url });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`rotation is in progress: key ${printed.serialNo}`));

    const { context, close } = await openApp(url);
    try {
      const published = await context.services.platformKeys.publishedKeys();
      expect(published.map((k) => [k.serialNo, k.signing])).toEqual([
        [printed.retiring.serialNo, true],
        [printed.serialNo, false],
      ]);
      const audit = await context.database.db
        .selectFrom('audit_log')
        .select(['action', 'actor_account', 'target_id'])
        .where('action', '=', 'platform_key.rotate')
        .execute();
      expect(audit).toEqual([{ action: 'platform_key.rotate', actor_account: 'cli', target_id: printed.serialNo }]);
    } finally {
      await close();
    }
  });

  it('reconcile --date runs the business day now, prints each run with its exceptions by kind, and is audited as cli', async () => {
    const url = databaseUrl('reconcile');
    let yesterday: string;
    let applicationId: string;
    let merchantId: string;
    const fault = async (body: Record<string, string>) => {
      const { app, close } = await openApp(url);
      try {
        const response = await app.inject({
          method: 'POST',
          url: '/sandbox/v1/statement-faults',
          payload: { application_id: applicationId, bill_date: yesterday, kind: 'extra', ...body },
        });
        expect(response.statusCode).toBeLessThan(300);
      } finally {
        await close();
      }
    };
    {
      const { context, close } = await openApp(url);
      try {
        const manifest = await context.services.demoWorld.ensure();
        applicationId = manifest.superapp.applicationId;
        merchantId = manifest.superapp.merchants[0]!.merchantId;
        const today = businessDateOf(Date.now(), context.config.timezone);
        yesterday = addCalendarDays(today, -1);
      } finally {
        await close();
      }
    }
    // The channel lists a payment of the superapp's merchant for an order Paythrough never had.
    await fault({ out_trade_no: 'CLI-UNKNOWN-1', mchid: merchantId! });
    const result = await run(['reconcile', '--date', yesterday, '--superapp', applicationId], { DATABASE_URL: url });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({
      billDate: yesterday,
      runs: [
        {
          applicationId,
          billDate: yesterday,
          status: 'DONE',
          lastError: null,
          // The demo world's yesterday (SPEC §9.5): four payment lines and a refund line of its own, three exceptions.
          lines: 6,
          exceptions: {
            MISSING_AT_PAYTHROUGH: { OPEN: 1 },
            MISSING_AT_CHANNEL: { OPEN: 1 },
            AMOUNT_MISMATCH: { OPEN: 1 },
            STATE_MISMATCH: { OPEN: 1 },
          },
        },
      ],
    });
    expect(printed.runs[0].totals.channel).toEqual([expect.objectContaining({ currency: 'CNY', payment_count: 5 })]);

    // A line of a merchant not the superapp's fails the run (STATEMENT_INVALID): exit 3, the reason printed.
    await fault({ out_trade_no: 'CLI-UNKNOWN-2', mchid: '1999999999' });
    const failed = await run(['reconcile', '--date', yesterday], { DATABASE_URL: url });
    expect(failed.code, failed.stderr).toBe(3);
    expect(JSON.parse(failed.stdout).runs).toEqual([
      expect.objectContaining({ applicationId, status: 'FAILED', lastError: expect.stringMatching(/^STATEMENT_INVALID: merchant/) }),
    ]);

    // A day not over yet, or no date, is refused (exit 1) with the reason on stderr.
    const refused = await run(['reconcile', '--date', '2999-01-01'], { DATABASE_URL: url });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not over yet/);
    expect((await run(['reconcile'], { DATABASE_URL: url })).stderr).toMatch(/--date YYYY-MM-DD/);

    const { context, close } = await openApp(url);
    try {
      const audit = await context.database.db
        .selectFrom('audit_log')
        .select(['action', 'actor_account'])
        .where('action', '=', 'reconciliation.run')
        .execute();
      expect(audit).toEqual([
        { action: 'reconciliation.run', actor_account: 'cli' },
        { action: 'reconciliation.run', actor_account: 'cli' },
      ]);
    } finally {
      await close();
    }
  });

  it('refuses an unknown command with the usage on stderr (exit 2)', async () => {
    const result = await run(['frobnicate'], { DATABASE_URL: databaseUrl('usage') });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Usage: paythrough <command>/);
  });

  it('start serves /healthz and the console, prints working sign-in details, accepts the demo API keys, and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [cliPath, 'start'], {
      cwd: repositoryRoot,
      env: cleanEnvironment({ DATABASE_URL: databaseUrl('start'), PORT: String(port), PAYTHROUGH_LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no sign-in details printed in 120 s; stdout: ${stdout}; stderr: ${stderr}`)),
          120_000,
        );
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          if (/mini program operator .*\n/.test(stdout)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('close', () => reject(new Error(`start exited early; stderr: ${stderr}`)));
      });
      const baseUrl = `http://127.0.0.1:${port}`;
      expect(stdout).toContain(`Paythrough is running at ${baseUrl}`);
      const health = await fetch(`${baseUrl}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect((await fetch(`${baseUrl}/`)).status).toBe(200);

      const superAdmin = /super admin\s+(\S+) \/ (\S+)/.exec(stdout);
      expect(superAdmin, stdout).not.toBeNull();
      const signIn = await fetch(`${baseUrl}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ account: superAdmin![1], password: superAdmin![2] }),
      });
      expect(signIn.status).toBe(200);
      expect(((await signIn.json()) as { user: { platformRole: string } }).user.platformRole).toBe('super_admin');

      // The manifest's API keys sign management API calls that the running server accepts.
      const printed = await run(['demo', '--json'], { DATABASE_URL: databaseUrl('start'), PORT: String(port) });
      expect(printed.code, printed.stderr).toBe(0);
      const manifest = manifestSchema.parse(JSON.parse(printed.stdout));
      expect(manifest.baseUrl).toBe(baseUrl);
      const users = [
        ...Object.values(manifest.superapp.users),
        ...Object.values(manifest.miniProgramTeam.users),
        manifest.unboundTeam.users.admin,
      ];
      for (const user of users) {
        const answer = await callAction(managementClient(baseUrl, user), 'QueryMNPMerchantInfo', {
          PlatformId: manifest.platformId,
          QueryTeamID: manifest.miniProgramTeam.teamId,
        });
        expect(String(answer?.error?.code ?? ''), `${user.account}: ${JSON.stringify(answer)}`).not.toMatch(/^AuthFailure/);
      }
      const binding = await callAction(managementClient(baseUrl, manifest.miniProgramTeam.users.admin), 'QueryMNPMerchantInfo', {
        PlatformId: manifest.platformId,
        QueryTeamID: manifest.miniProgramTeam.teamId,
      });
      expect(binding.error, JSON.stringify(binding)).toBeUndefined();
      const forged = await callAction(
        managementClient(baseUrl, { secretId: manifest.miniProgramTeam.users.admin.secretId, secretKey: 'not-the-secret-key' }),
        'QueryMNPMerchantInfo',
        { PlatformId: manifest.platformId, QueryTeamID: manifest.miniProgramTeam.teamId },
      );
      expect(forged.error?.code).toMatch(/^AuthFailure/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
