import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { describe } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { createAppContext } from '../../src/bootstrap.ts';
import { loadConfig, type Config, type DatabaseKind } from '../../src/config/config.ts';
import { testHashingCost, type PasswordHasher } from '../../src/crypto/passwords.ts';
import { SecretBox } from '../../src/crypto/secret-box.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import type { AppContext, VirtualPaymentDirectoryFactory } from '../../src/composition.ts';
import { createPostgresSchema, postgresReachable, postgresRequired, postgresTestUrl } from './postgres.ts';

export interface TestContext extends AppContext {
  clock: ManualClock;
  app: FastifyInstance;
  kind: DatabaseKind;
  /** The test's own PostgreSQL schema, for a second app context over the same database. */
  postgresSchema?: string;
  close(): Promise<void>;
}

export interface TestContextOptions {
  config?: Partial<Config>;
  /** The app's job loops once it listens (default true); off, a test runs each job itself. */
  backgroundJobs?: boolean;
  /** The app's password hasher (default: one with the fast test cost). */
  passwordHasher?: PasswordHasher;
  /** Virtual payment setup as orders read it (test/helpers/virtual-payment-directory-fake.ts until setup lands). */
  virtualPaymentDirectory?: VirtualPaymentDirectoryFactory;
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
    cleanup = () => withSchemaCatalogLock('exclusive', created.drop);
  }
  const config: Config = {
    ...loadConfig({ DATABASE_URL: databaseUrl, PAYTHROUGH_SANDBOX: 'on', PORT: '0' }),
    masterKeys: [SecretBox.generateMasterKey()],
    ...options.config,
  };
  const clock = new ManualClock();
  const createContext = () =>
    createAppContext(config, {
      clock,
      hashingCost: testHashingCost,
      passwordHasher: options.passwordHasher,
      postgresSchema,
      postgresPoolSize: 5,
      ...(options.virtualPaymentDirectory ? { virtualPaymentDirectory: options.virtualPaymentDirectory } : {}),
    });
  const context = kind === 'postgres' ? await withSchemaCatalogLock('shared', createContext) : await createContext();
  const app = await buildApp(context, { backgroundJobs: options.backgroundJobs ?? true });
  return {
    ...context,
    clock,
    app,
    kind,
    postgresSchema,
    async close() {
      await app.close();
      await context.database.close();
      await cleanup();
    },
  };
}

/**
 * Kysely's migrator reads the catalog of every schema in the database (its introspection), and that
 * query fails if a parallel test file drops its schema meanwhile. Migrating takes this advisory lock
 * shared, dropping a schema takes it exclusive, across every process using the test database.
 */
export async function withSchemaCatalogLock<T>(mode: 'shared' | 'exclusive', run: () => Promise<T>): Promise<T> {
  const lockKey = 72_610_001;
  const client = new pg.Client({ connectionString: postgresTestUrl });
  await client.connect();
  try {
    await client.query(mode === 'shared' ? 'select pg_advisory_lock_shared($1)' : 'select pg_advisory_lock($1)', [lockKey]);
    return await run();
  } finally {
    await client.end().catch(() => undefined);
  }
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

/** A fresh, empty database of the kind (no migrations run yet), for migration tests. */
export async function openEmptyDatabase(kind: DatabaseKind): Promise<{ handle: DatabaseHandle; dispose: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const folder = mkdtempSync(path.join(tmpdir(), 'paythrough-migrate-'));
    const handle = openDatabase(`file:${path.join(folder, 'empty.db')}`);
    return {
      handle,
      dispose: async () => {
        await handle.close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  }
  const schema = await createPostgresSchema();
  const handle = openDatabase(postgresTestUrl, { postgresSchema: schema.schema, postgresPoolSize: 2 });
  return {
    handle,
    dispose: async () => {
      await handle.close();
      await withSchemaCatalogLock('exclusive', schema.drop);
    },
  };
}
