import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createAppContext } from '../src/bootstrap.ts';
import type { AppContext } from '../src/composition.ts';
import { loadConfig } from '../src/config/config.ts';
import { testHashingCost } from '../src/crypto/passwords.ts';
import { SecretBox } from '../src/crypto/secret-box.ts';

/**
 * The app's services in the bench's own process, on a database of their own: a fresh SQLite file, or a fresh
 * schema of BENCH_DATABASE_URL's PostgreSQL. `dispose` closes the database and removes the file or schema.
 */
export async function createBenchContext(): Promise<{ context: AppContext; dispose: () => Promise<void> }> {
  const databaseUrlFromEnv = process.env.BENCH_DATABASE_URL;
  let databaseUrl: string;
  let removeDatabase: () => Promise<void>;
  let postgresSchema: string | undefined;
  if (databaseUrlFromEnv?.startsWith('postgres')) {
    postgresSchema = `bench_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: databaseUrlFromEnv });
    await admin.connect();
    await admin.query(`create schema ${postgresSchema}`);
    await admin.end();
    databaseUrl = databaseUrlFromEnv;
    removeDatabase = async () => {
      const dropper = new pg.Client({ connectionString: databaseUrlFromEnv });
      await dropper.connect();
      await dropper.query(`drop schema if exists ${postgresSchema} cascade`);
      await dropper.end();
    };
  } else {
    const folder = mkdtempSync(path.join(tmpdir(), 'paythrough-bench-'));
    databaseUrl = `file:${path.join(folder, 'bench.db')}`;
    removeDatabase = async () => rmSync(folder, { recursive: true, force: true });
  }
  const config = {
    ...loadConfig({ DATABASE_URL: databaseUrl, PAYTHROUGH_SANDBOX: 'on', PORT: '0', PAYTHROUGH_LOG_LEVEL: 'warn' }),
    masterKeys: [SecretBox.generateMasterKey()],
  };
  const context = await createAppContext(config, {
    hashingCost: testHashingCost,
    ...(postgresSchema ? { postgresSchema, postgresPoolSize: 10 } : {}),
  });
  return {
    context,
    dispose: async () => {
      await context.database.close();
      await removeDatabase();
    },
  };
}
