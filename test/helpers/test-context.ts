import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { describe } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { createAppContext } from '../../src/bootstrap.ts';
import { loadConfig, type Config, type DatabaseKind } from '../../src/config/config.ts';
import { testHashingCost } from '../../src/crypto/passwords.ts';
import { SecretBox } from '../../src/crypto/secret-box.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { AppContext } from '../../src/plugins/app/context.plugin.ts';
import { createPostgresSchema, postgresReachable, postgresRequired, postgresTestUrl } from './postgres.ts';

export interface TestContext extends AppContext {
  clock: ManualClock;
  app: FastifyInstance;
  kind: DatabaseKind;
  close(): Promise<void>;
}

export interface TestContextOptions {
  config?: Partial<Config>;
}

/** A fresh database (SQLite temp file, or a new PostgreSQL schema), migrated, with its app built. */
export async function createTestContext(kind: DatabaseKind, options: TestContextOptions = {}): Promise<TestContext> {
  let databaseUrl: string;
  let cleanup: () => Promise<void>;
  let postgresSchema: string | undefined;
  if (kind === 'sqlite') {
    const folder = mkdtempSync(path.join(tmpdir(), 'paythrough-test-'));
    databaseUrl = `file:${path.join(folder, 'test.db')}`;
    cleanup = async () => rmSync(folder, { recursive: true, force: true });
  } else {
    const created = await createPostgresSchema();
    databaseUrl = postgresTestUrl;
    postgresSchema = created.schema;
    cleanup = created.drop;
  }
  const config: Config = {
    ...loadConfig({ DATABASE_URL: databaseUrl, PAYTHROUGH_SANDBOX: 'on', PORT: '0' }),
    masterKey: SecretBox.generateMasterKey(),
    ...options.config,
  };
  const clock = new ManualClock();
  const context = await createAppContext(config, { clock, hashingCost: testHashingCost, postgresSchema, postgresPoolSize: 5 });
  const app = await buildApp(context);
  return {
    ...context,
    clock,
    app,
    kind,
    async close() {
      await app.close();
      await context.database.close();
      await cleanup();
    },
  };
}

const postgresAvailable = await postgresReachable();

/**
 * Runs a suite once on SQLite and once on PostgreSQL. Without a reachable PostgreSQL the second run
 * is skipped with a clear name (and fails in CI, where PAYTHROUGH_REQUIRE_POSTGRES=1).
 */
export function describeOnEachDatabase(name: string, suite: (kind: DatabaseKind) => void) {
  describe(`${name} [sqlite]`, () => suite('sqlite'));
  if (postgresAvailable || postgresRequired) {
    describe(`${name} [postgres]`, () => suite('postgres'));
  } else {
    describe.skip(`${name} [postgres] — SKIPPED: PostgreSQL at ${postgresTestUrl} does not answer`, () => suite('postgres'));
  }
}
