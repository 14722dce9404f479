import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import { databaseKindOf, type DatabaseKind } from '../config/config.ts';
import type { Database } from './schema.ts';
import { GroupCommitSqliteDialect } from './sqlite-group-commit.ts';

// BIGINT (money, times) arrives as a string by default; our values stay below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL only: the schema to use (tests give each file its own). */
  postgresSchema?: string;
  postgresPoolSize?: number;
}

/** The driver under a Kysely handle, for the few hot paths Kysely's per-row mapping would slow down (exports). */
export type DriverHandle = { kind: 'sqlite'; connection: SQLite.Database } | { kind: 'postgres'; pool: pg.Pool };

const drivers = new WeakMap<object, DriverHandle>();

/** The driver of a handle openDatabase made; undefined for a transaction or a handle made elsewhere. */
export function driverOf(db: object): DriverHandle | undefined {
  return drivers.get(db);
}

export function sqliteFilePath(databaseUrl: string): string {
  if (databaseUrl === ':memory:' || databaseUrl === 'file::memory:') return ':memory:';
  return databaseUrl.replace(/^file:(\/\/)?/, '');
}

export function openDatabase(databaseUrl: string, options: OpenDatabaseOptions = {}): DatabaseHandle {
  const kind = databaseKindOf(databaseUrl);
  if (kind === 'sqlite') {
    const file = sqliteFilePath(databaseUrl);
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const connection = new SQLite(file);
    connection.pragma('journal_mode = WAL');
    connection.pragma('busy_timeout = 5000');
    connection.pragma('foreign_keys = ON');
    connection.pragma('synchronous = NORMAL');
    // Statement journals (an upsert inside a transaction) in memory: on disk each was a file opened and deleted.
    connection.pragma('temp_store = MEMORY');
    const db = new Kysely<Database>({ dialect: new GroupCommitSqliteDialect(connection, reusingStatements(connection)) });
    drivers.set(db, { kind: 'sqlite', connection });
    return { db, kind, close: () => db.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.postgresPoolSize ?? 10,
    ...(options.postgresSchema ? { options: `-c search_path=${options.postgresSchema}` } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  drivers.set(db, { kind: 'postgres', pool });
  return { db, kind, close: () => db.destroy() };
}

/** How many prepared statements one SQLite connection keeps for reuse (the app runs a few hundred distinct ones). */
export const sqliteStatementCacheSize = 1000;

/**
 * The connection as Kysely sees it, preparing each distinct SQL text once: Kysely asks for a new statement per
 * query, and preparing costs more than running most of ours. Least recently used statements are dropped past
 * `capacity`; a statement still iterating (a stream) is never handed out twice, a fresh one is prepared instead.
 */
export function reusingStatements(connection: SQLite.Database, capacity = sqliteStatementCacheSize): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(text: string) {
      const cached = statements.get(text);
      if (cached && !cached.busy) {
        statements.delete(text);
        statements.set(text, cached);
        return cached;
      }
      const statement = connection.prepare(text);
      if (!cached) {
        statements.set(text, statement);
        if (statements.size > capacity) statements.delete(statements.keys().next().value!);
      }
      return statement;
    },
    close: () => connection.close(),
  };
}

/** True while the database answers a trivial query. */
export async function databaseAnswers(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
