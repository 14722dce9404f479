import { statfsSync } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { databaseKindOf, loadConfig, type Config } from '../src/config/config.ts';
import { openDatabase, sqliteFilePath, type DatabaseHandle } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrator.ts';
import type { Database } from '../src/db/schema.ts';
import type { Actor } from '../src/domain/access.ts';

/**
 * The records benchmark's world, shared by the seeder and the benchmark: a database of its own (never
 * the test database), 4 superapps, 50 mini program teams with 4 mini programs each, a platform admin
 * with an API-less user row (exports belong to a user), and a few team members to act as.
 */
export const benchDefaults = {
  sqlite: 'file:./data/bench/records.db',
  postgres: 'postgres://postgres@127.0.0.1:5432/paythrough_bench',
};

export const world = {
  superapps: 4,
  teams: 50,
  miniProgramsPerTeam: 4,
  adminUserId: 'user_bench_admin',
  mpOperatorUserId: 'user_bench_mp_operator',
  saOperatorUserId: 'user_bench_sa_operator',
};

export const superappId = (index: number) => `app_bench_${index}`;
export const superappTeamId = (index: number) => `team_bench_sa_${index}`;
export const miniProgramTeamId = (index: number) => `team_bench_mp_${String(index).padStart(2, '0')}`;
export const miniProgramId = (index: number) => `mnp_bench_${String(index).padStart(3, '0')}`;
export const teamOfMiniProgram = (mnpIndex: number) => Math.floor(mnpIndex / world.miniProgramsPerTeam);
export const superappOfTeam = (teamIndex: number) => teamIndex % world.superapps;
export const merchantIdOfTeam = (teamIndex: number) => `19${String(teamIndex).padStart(8, '0')}`;
export const miniProgramCount = world.teams * world.miniProgramsPerTeam;

export function parseDatabaseArg(value: string | undefined): string {
  if (!value || value === 'sqlite') return benchDefaults.sqlite;
  if (value === 'postgres') return benchDefaults.postgres;
  return value;
}

/** The config the app's services get for the bench database (sandbox off, fixed master key). */
export function benchConfig(databaseUrl: string): Config {
  return {
    ...loadConfig({ DATABASE_URL: databaseUrl, PAYTHROUGH_SANDBOX: 'off', PORT: '0' }),
    masterKeys: [Buffer.alloc(32, 7).toString('base64')],
  };
}

/** Creates the PostgreSQL database if it does not exist yet. */
export async function ensurePostgresDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
}

export async function openBenchDatabase(databaseUrl: string): Promise<DatabaseHandle> {
  if (databaseKindOf(databaseUrl) === 'postgres') await ensurePostgresDatabase(databaseUrl);
  const database = openDatabase(databaseUrl, { postgresPoolSize: 4 });
  await migrateToLatest(database.db, database.kind);
  return database;
}

/** The folder whose file system holds the data: the SQLite file's, or PostgreSQL's data directory when it is local. */
export async function dataFolderOf(database: DatabaseHandle, databaseUrl: string): Promise<string> {
  if (database.kind === 'sqlite') return path.dirname(path.resolve(sqliteFilePath(databaseUrl)));
  try {
    const row = await sql<{ data_directory: string }>`select current_setting('data_directory') as data_directory`.execute(database.db);
    const folder = row.rows[0]?.data_directory;
    if (folder) {
      statfsSync(folder);
      return folder;
    }
  } catch {
    // Not readable here (a remote server): fall back to this machine's root.
  }
  return '/';
}

export function freeBytes(folder: string): number {
  const stats = statfsSync(folder);
  return stats.bavail * stats.bsize;
}

/** Teams, superapps, mini programs and the users the benchmark acts as; idempotent. */
export async function ensureWorld(db: Kysely<Database>, now: number): Promise<void> {
  const exists = await db.selectFrom('teams').select('id').where('id', '=', superappTeamId(0)).executeTakeFirst();
  if (exists) return;
  await db.transaction().execute(async (trx) => {
    for (let index = 0; index < world.superapps; index++) {
      await trx
        .insertInto('teams')
        .values({
          id: superappTeamId(index),
          kind: 'superapp',
          name: `Bench superapp team ${index}`,
          status: 'active',
          expires_at: null,
          superapp_id: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      await trx
        .insertInto('superapps')
        .values({
          id: superappId(index),
          team_id: superappTeamId(index),
          name: `Bench superapp ${index}`,
          description: 'records benchmark',
          created_at: now,
          updated_at: now,
        })
        .execute();
      await trx
        .insertInto('superapp_payment_configs')
        .values({
          superapp_id: superappId(index),
          payment_enabled: 1,
          currencies_json: JSON.stringify(['CNY', 'USD']),
          channel_kind: 'http',
          channel_settings_json: '{}',
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    for (let team = 0; team < world.teams; team++) {
      await trx
        .insertInto('teams')
        .values({
          id: miniProgramTeamId(team),
          kind: 'miniprogram',
          name: `Bench mini program team ${team}`,
          status: 'active',
          expires_at: null,
          superapp_id: superappId(superappOfTeam(team)),
          created_at: now,
          updated_at: now,
        })
        .execute();
      for (let slot = 0; slot < world.miniProgramsPerTeam; slot++) {
        const mnp = team * world.miniProgramsPerTeam + slot;
        await trx
          .insertInto('mini_programs')
          .values({
            id: miniProgramId(mnp),
            team_id: miniProgramTeamId(team),
            name: `Bench shop ${mnp}`,
            icon_url: '',
            category: 'Shopping',
            created_at: now,
            updated_at: now,
          })
          .execute();
      }
    }
    const users = [
      { id: world.adminUserId, account: 'bench-admin', platform_role: 'platform_admin' as const },
      { id: world.mpOperatorUserId, account: 'bench-mp-operator', platform_role: 'member' as const },
      { id: world.saOperatorUserId, account: 'bench-sa-operator', platform_role: 'member' as const },
    ];
    for (const user of users) {
      await trx
        .insertInto('users')
        .values({ ...user, display_name: user.account, password_hash: 'not-a-hash', status: 'active', created_at: now, updated_at: now })
        .execute();
    }
    await trx
      .insertInto('team_members')
      .values({ team_id: miniProgramTeamId(0), user_id: world.mpOperatorUserId, role: 'operator', created_at: now })
      .execute();
    await trx
      .insertInto('team_members')
      .values({ team_id: superappTeamId(0), user_id: world.saOperatorUserId, role: 'operator', created_at: now })
      .execute();
  });
}

/** The actors the benchmark queries as (the same shape a session loads). */
export const benchActors = {
  admin: {
    kind: 'user',
    userId: world.adminUserId,
    account: 'bench-admin',
    platformRole: 'platform_admin',
    memberships: new Map(),
  } satisfies Actor,
  mpOperator: {
    kind: 'user',
    userId: world.mpOperatorUserId,
    account: 'bench-mp-operator',
    platformRole: 'member',
    memberships: new Map([[miniProgramTeamId(0), 'operator' as const]]),
  } satisfies Actor,
  saOperator: {
    kind: 'user',
    userId: world.saOperatorUserId,
    account: 'bench-sa-operator',
    platformRole: 'member',
    memberships: new Map([[superappTeamId(0), 'operator' as const]]),
  } satisfies Actor,
};

/** A small deterministic PRNG (mulberry32), so that two seeds of the same N are the same data. */
export function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
