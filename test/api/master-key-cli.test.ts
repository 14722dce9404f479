import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createAppContext } from '../../src/bootstrap.ts';
import type { AppContext } from '../../src/composition.ts';
import { loadConfig } from '../../src/config/config.ts';
import { masterKeyId, SecretBox } from '../../src/crypto/secret-box.ts';
import { runCli, type CliRun } from '../helpers/cli-process.ts';
import { createPostgresSchema, postgresTestUrl } from '../helpers/postgres.ts';
import { describeOnEachDatabase, withSchemaCatalogLock } from '../helpers/test-context.ts';

/**
 * `paythrough rotate-master-key` as an operator runs it (SPEC §7 "Master key rotation"), as a child process against
 * the database of instances running in this process: refused while a live instance seals with the old key,
 * then re-seals under the new one, idempotent; a start lacking the new key fails naming its id.
 */

const summarySchema = z
  .object({
    keyId: z.string(),
    liveInstances: z.number(),
    tables: z.record(z.string(), z.object({ resealed: z.number(), changedMeanwhile: z.number() }).strict()),
    resealed: z.number(),
    remaining: z.number(),
  })
  .strict();

describeOnEachDatabase('rotate-master-key (child process)', (kind) => {
  const oldKey = SecretBox.generateMasterKey();
  const newKey = SecretBox.generateMasterKey();
  const newId = masterKeyId(newKey);
  let databaseUrl: string;
  let cleanup: () => Promise<void>;
  const opened: AppContext[] = [];
  const runs: CliRun[] = [];

  // On PostgreSQL every migrator run (each command and each instance) holds the test catalog lock shared.
  const underCatalogLock = <T>(work: () => Promise<T>) => (kind === 'postgres' ? withSchemaCatalogLock('shared', work) : work());

  async function run(args: string[], masterKey: string): Promise<CliRun> {
    const environment = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', DATABASE_URL: databaseUrl };
    const result = await underCatalogLock(() => runCli(args, { ...environment, PAYTHROUGH_MASTER_KEY: masterKey }));
    runs.push(result);
    return result;
  }

  /** An instance as a server runs it: its keys reported in the database, on the real clock. */
  async function startInstance(masterKey: string): Promise<AppContext> {
    const context = await underCatalogLock(() =>
      createAppContext(loadConfig({ DATABASE_URL: databaseUrl, PAYTHROUGH_MASTER_KEY: masterKey })),
    );
    opened.push(context);
    await context.services.masterKeyInstances.report();
    return context;
  }

  beforeAll(async () => {
    if (kind === 'sqlite') {
      const folder = mkdtempSync(path.join(tmpdir(), 'paythrough-master-key-'));
      databaseUrl = `file:${path.join(folder, 'paythrough.db')}`;
      cleanup = async () => rmSync(folder, { recursive: true, force: true });
    } else {
      const schema = await createPostgresSchema();
      databaseUrl = `${postgresTestUrl}?options=${encodeURIComponent(`-c search_path=${schema.schema}`)}`;
      cleanup = () => withSchemaCatalogLock('exclusive', schema.drop);
    }
  });
  afterAll(async () => {
    for (const context of opened) await context.database.close();
    await cleanup?.();
  });

  it('refuses while an instance seals with the old key, naming it; re-seals once every live instance has the new key', async () => {
    // Two sealed platform keys, sealed under the old key.
    const seeded = await run(['rotate-platform-key'], oldKey);
    expect(seeded.code, seeded.stderr).toBe(0);
    const oldInstance = await startInstance(oldKey);

    const refused = await run(['rotate-master-key'], `${newKey},${oldKey}`);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`do not seal with the new master key ${newId}`);
    expect(refused.stderr).toContain(oldInstance.services.masterKeyInstances.instanceId);

    // The old instance restarts with new,old: it withdraws as it stops and reports again as it starts.
    await oldInstance.services.masterKeyInstances.withdraw();
    const restarted = await startInstance(`${newKey},${oldKey}`);
    const rotated = await run(['rotate-master-key', '--batch-size', '1'], `${newKey},${oldKey}`);
    expect(rotated.code, rotated.stderr).toBe(0);
    const summary = summarySchema.parse(JSON.parse(rotated.stdout));
    expect(summary).toMatchObject({ keyId: newId, liveInstances: 1, resealed: 2, remaining: 0 });
    expect(summary.tables.platform_signing_keys).toEqual({ resealed: 2, changedMeanwhile: 0 });
    const sealed = await restarted.database.db.selectFrom('platform_signing_keys').select('private_key_sealed').execute();
    expect(sealed.map((row) => row.private_key_sealed.slice(0, 12))).toEqual([`v2.${newId}.`, `v2.${newId}.`]);
    // The running instance keeps signing.
    expect((await restarted.services.platformKeys.signingKey()).privateKey.type).toBe('private');

    const again = await run(['rotate-master-key'], `${newKey},${oldKey}`);
    expect(again.code, again.stderr).toBe(0);
    expect(summarySchema.parse(JSON.parse(again.stdout))).toMatchObject({ resealed: 0, remaining: 0 });
  }, 180_000);

  it('after the rotation the new key alone starts; the old key alone fails at start naming the new key id', async () => {
    const renewed = await startInstance(newKey);
    expect((await renewed.services.platformKeys.signingKey()).privateKey.type).toBe('private');
    await renewed.services.masterKeyInstances.withdraw();
    const stale = await run(['rotate-master-key'], oldKey);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`is sealed under master key ${newId}, which PAYTHROUGH_MASTER_KEY does not hold`);
  }, 120_000);

  it('a key list with a repeated or malformed key is refused naming the entry', async () => {
    const repeated = await run(['rotate-master-key'], `${newKey},${newKey}`);
    expect(repeated.code).toBe(1);
    expect(repeated.stderr).toContain('PAYTHROUGH_MASTER_KEY: key 2 of 2 repeats key 1');
    const malformed = await run(['rotate-master-key'], `${newKey},abc`);
    expect(malformed.stderr).toContain('PAYTHROUGH_MASTER_KEY: key 2 of 2 is not 32 bytes, base64-encoded');
  }, 120_000);

  it('no key was ever printed', () => {
    expect(runs.length).toBeGreaterThan(5);
    for (const result of runs) {
      for (const key of [oldKey, newKey]) expect(result.stdout + result.stderr).not.toContain(key);
    }
  });
});
