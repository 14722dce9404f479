import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { demoActor, enableFreshMiniProgram } from '../helpers/gateway-client.ts';
import { postgresTestUrl } from '../helpers/postgres.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Secrets at rest (SPEC §2.2 "Stored encrypted at rest"): after every kind of credential has
 * been made — APIv3 keys, merchant private keys generated here, the platform signing key, API
 * SecretKeys, a host key, console sessions and their CSRF tokens, passwords — the database alone (the
 * SQLite file and its WAL, or a pg_dump of the test's schema) holds none of them in plain text, base64
 * or hex. Passwords are argon2id hashes.
 */

interface Secret {
  what: string;
  needles: string[];
}

/** A text secret as it could sit in bytes: itself, base64 at each alignment, hex either case. */
function textSecret(what: string, value: string): Secret {
  const base64At = (pad: number) =>
    Buffer.from(' '.repeat(pad) + value)
      .toString('base64')
      .slice(pad === 0 ? 0 : 4, -4);
  const hex = Buffer.from(value).toString('hex');
  return { what, needles: [value, base64At(0), base64At(1), base64At(2), hex, hex.toUpperCase()] };
}

/** A private key: a line of its PEM body, and bytes of its private exponent in hex and base64. */
function keySecret(what: string, pem: string): Secret {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  // Past the modulus (which the public key shares): inside the private exponent.
  const middle = der.subarray(400, 448);
  const pemLine = pem.split('\n').filter((line) => line.length === 64)[9]!;
  return { what, needles: [pemLine, middle.toString('hex'), middle.toString('hex').toUpperCase(), middle.toString('base64').slice(4, -4)] };
}

describeOnEachDatabase('no secret in the database in plain text, base64 or hex', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  const secrets: Secret[] = [];

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    const ready = manifest.miniPrograms.ready;
    secrets.push(textSecret('demo APIv3 key', ready.apiV3Key), keySecret('demo merchant private key', ready.privateKeyPem));
    // A production-style mini program: private key generated and downloaded once, APIv3 key set.
    const fresh = await enableFreshMiniProgram(context, manifest);
    secrets.push(textSecret('APIv3 key', fresh.apiV3Key), keySecret('merchant private key', fresh.privateKeyPem));
    const platformKey = await context.services.platformKeys.signingKey();
    secrets.push(keySecret('platform signing key', platformKey.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()));
    const users = [
      manifest.superAdmin,
      ...Object.values(manifest.superapp.users),
      ...Object.values(manifest.miniProgramTeam.users),
      ...Object.values(manifest.unboundTeam.users),
    ];
    for (const user of users) {
      secrets.push(textSecret(`password of ${user.account}`, user.password));
      if ('secretKey' in user && typeof user.secretKey === 'string')
        secrets.push(textSecret(`API SecretKey of ${user.account}`, user.secretKey));
    }
    // A host key (host-reported mode) on the demo superapp.
    const saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    await context.services.paymentConfig.update(saAdmin, manifest.superapp.applicationId, {
      channel: { kind: 'host_reported', webhookUrl: 'https://93.184.215.14/refund-webhook' },
    });
    secrets.push(textSecret('host key', (await context.services.hostKeys.rotate(saAdmin, manifest.superapp.applicationId)).hostKey));
    // Console sessions: the cookie's token and the CSRF token.
    for (const user of [manifest.superAdmin, manifest.miniProgramTeam.users.admin]) {
      const response = await context.app.inject({
        method: 'POST',
        url: '/api/v1/session',
        payload: { account: user.account, password: user.password },
      });
      secrets.push(textSecret(`session token of ${user.account}`, response.cookies.find((c) => c.name === 'paythrough_session')!.value));
      secrets.push(textSecret(`CSRF token of ${user.account}`, (response.json() as { csrfToken: string }).csrfToken));
    }
    const console = await ConsoleClient.signIn(context.app, manifest.superAdmin.account, manifest.superAdmin.password);
    expect((await console.get('/session')).statusCode).toBe(200);
  });
  afterAll(() => context?.close());

  async function databaseBytes(): Promise<Buffer> {
    if (kind === 'sqlite') {
      const file = context.config.databaseUrl.replace(/^file:/, '');
      // The file and its write-ahead log as they are (not checkpointed first): what a copied disk holds.
      return Buffer.concat([file, `${file}-wal`, `${file}-journal`].filter((path) => existsSync(path)).map((path) => readFileSync(path)));
    }
    const schema = String((await sql<{ s: string }>`select current_schema() as s`.execute(context.database.db)).rows[0]!.s);
    const { stdout } = await promisify(execFile)('pg_dump', ['--dbname', postgresTestUrl, '--schema', schema, '--no-owner'], {
      maxBuffer: 256 * 1024 * 1024,
      encoding: 'buffer',
    });
    return stdout as unknown as Buffer;
  }

  it('the secrets were made (the scan looks for real values)', () => {
    expect(secrets.length).toBeGreaterThan(20);
    expect(secrets.some((s) => s.what === 'host key')).toBe(true);
  });

  it('the raw database holds none of them', async () => {
    const bytes = await databaseBytes();
    expect(bytes.length).toBeGreaterThan(10_000);
    // The scan finds what is there: the demo's public mchid and a mini program id are in it.
    expect(bytes.includes(manifest.miniPrograms.ready.mchid)).toBe(true);
    expect(bytes.includes(manifest.miniPrograms.ready.mnpId)).toBe(true);
    const found = secrets.flatMap((secret) =>
      secret.needles.filter((needle) => bytes.includes(needle)).map((needle) => `${secret.what}: ${needle.slice(0, 12)}…`),
    );
    expect(found).toEqual([]);
  });

  it('passwords are argon2id hashes', async () => {
    const rows = await context.database.db.selectFrom('users').select(['account', 'password_hash']).execute();
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) expect(row.password_hash, row.account).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
  });
});
