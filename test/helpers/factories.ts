import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/schema.ts';
import { systemActor, type Actor } from '../../src/domain/access.ts';
import type { RoleKey } from '../../src/domain/permissions.ts';
import { miniProgramTeamRoles, superappTeamRoles, type PlatformRole, type TeamRole } from '../../src/domain/roles.ts';
import type { AppContext } from '../../src/composition.ts';
import { userRepository } from '../../src/repositories/user.repository.ts';
import { loadActor } from '../../src/services/auth/auth.service.ts';
import { ConsoleClient } from './console-client.ts';

/**
 * Test factories: users, tenants (a superapp team with its superapp and mini program teams) and
 * their sign-ins, built through the real services. Contexts from createTestContext hash passwords
 * with the fast test-only argon2id parameters, so building dozens of users is cheap.
 */

export interface TestUser {
  id: string;
  account: string;
  password: string;
  platformRole: PlatformRole;
}

const factoryActor = systemActor('test-factory');
let sequence = 0;

/** A fresh account name; the prefix keeps them readable in failure messages. */
export function uniqueAccount(prefix = 'user'): string {
  sequence += 1;
  return `${prefix}-${sequence}-${Math.random().toString(36).slice(2, 7)}`;
}

export async function createUser(
  context: AppContext,
  options: { account?: string; platformRole?: PlatformRole; password?: string; displayName?: string } = {},
): Promise<TestUser> {
  const account = options.account ?? uniqueAccount(options.platformRole ?? 'member');
  const password = options.password ?? `pw-${account}-secret`;
  const platformRole = options.platformRole ?? 'member';
  const view = await context.services.users.createUnchecked(factoryActor, {
    account,
    displayName: options.displayName ?? account,
    password,
    platformRole,
  });
  return { id: view.id, account, password, platformRole };
}

/** The actor of a user as a session would load it now (platform role plus live team roles). */
export async function actorOf(context: AppContext, user: { id: string }): Promise<Actor> {
  const row = await userRepository.findById(context.database.db, user.id);
  if (!row) throw new Error(`no user ${user.id}`);
  return loadActor(context.database.db, row, context.clock.nowMs());
}

export interface Platform {
  superAdmin: TestUser;
  platformAdmin: TestUser;
}

/** The deployment's super admin and one platform admin. */
export async function createPlatform(context: AppContext): Promise<Platform> {
  return {
    superAdmin: await createUser(context, { account: uniqueAccount('super-admin'), platformRole: 'super_admin' }),
    platformAdmin: await createUser(context, { account: uniqueAccount('platform-admin'), platformRole: 'platform_admin' }),
  };
}

export type TeamRoleKey = Exclude<RoleKey, 'super_admin' | 'platform_admin'>;

export interface Tenant {
  name: string;
  superappTeamId: string;
  applicationId: string;
  miniProgramTeamId: string;
  mnpId: string;
  /** One user per preset role: `sa:<role>` in the superapp team, `mp:<role>` in the mini program team. */
  members: Record<TeamRoleKey, TestUser>;
  /** Every team of the tenant (the superapp team first). */
  teamIds: string[];
  mnpIds: string[];
}

/**
 * A superapp team with a member in every preset role, its superapp, and a mini program team on that
 * superapp with a member in every preset role and one mini program.
 */
export async function createTenant(context: AppContext, name = uniqueAccount('tenant')): Promise<Tenant> {
  const { teams, superapps, miniPrograms } = context.services;
  const members = {} as Record<TeamRoleKey, TestUser>;
  const newMember = (role: TeamRole, side: 'sa' | 'mp') =>
    createUser(context, { account: uniqueAccount(`${name}-${side}-${role.replace('_', '-')}`) });

  members['sa:administrator'] = await newMember('administrator', 'sa');
  const superappTeam = await teams.create(factoryActor, {
    kind: 'superapp',
    name: `${name} superapp team`,
    administratorUserId: members['sa:administrator'].id,
  });
  const superapp = await superapps.create(factoryActor, {
    teamId: superappTeam.id,
    name: `${name} superapp`,
    description: `${name}'s superapp`,
  });
  for (const role of superappTeamRoles.filter((r) => r !== 'administrator')) {
    const user = await newMember(role, 'sa');
    await teams.addMember(factoryActor, superappTeam.id, { account: user.account, role });
    members[`sa:${role}`] = user;
  }

  members['mp:administrator'] = await newMember('administrator', 'mp');
  const miniProgramTeam = await teams.create(factoryActor, {
    kind: 'miniprogram',
    name: `${name} mini program team`,
    superappId: superapp.applicationId,
    administratorUserId: members['mp:administrator'].id,
  });
  for (const role of miniProgramTeamRoles.filter((r) => r !== 'administrator')) {
    const user = await newMember(role, 'mp');
    await teams.addMember(factoryActor, miniProgramTeam.id, { account: user.account, role });
    members[`mp:${role}`] = user;
  }
  const miniProgram = await miniPrograms.create(factoryActor, miniProgramTeam.id, { name: `${name} shop`, category: 'Shopping' });

  return {
    name,
    superappTeamId: superappTeam.id,
    applicationId: superapp.applicationId,
    miniProgramTeamId: miniProgramTeam.id,
    mnpId: miniProgram.mnpId,
    members,
    teamIds: [superappTeam.id, miniProgramTeam.id],
    mnpIds: [miniProgram.mnpId],
  };
}

/** Adds another mini program team (with an administrator and one mini program) to a tenant's superapp. */
export async function addMiniProgramTeam(
  context: AppContext,
  tenant: Tenant,
): Promise<{ teamId: string; mnpId: string; administrator: TestUser }> {
  const administrator = await createUser(context, { account: uniqueAccount(`${tenant.name}-mp2-administrator`) });
  const team = await context.services.teams.create(factoryActor, {
    kind: 'miniprogram',
    name: `${tenant.name} second mini program team`,
    superappId: tenant.applicationId,
    administratorUserId: administrator.id,
  });
  const miniProgram = await context.services.miniPrograms.create(factoryActor, team.id, { name: `${tenant.name} second shop` });
  tenant.teamIds.push(team.id);
  tenant.mnpIds.push(miniProgram.mnpId);
  return { teamId: team.id, mnpId: miniProgram.mnpId, administrator };
}

export function signIn(
  context: AppContext & { app: Parameters<typeof ConsoleClient.signIn>[0] },
  user: { account: string; password: string },
) {
  return ConsoleClient.signIn(context.app, user.account, user.password);
}

/**
 * Every row of every table, in a stable order: two snapshots are equal exactly when nothing in the
 * database changed in between.
 */
export async function snapshotDatabase(db: Kysely<Database>): Promise<Record<string, string[]>> {
  // Only the context's own tables: PostgreSQL's catalog also holds every parallel test's schema.
  const postgresTables = await sql<{
    name: string;
  }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`
    .execute(db)
    .then((result) => result.rows)
    .catch(() => undefined);
  const sqliteTables = postgresTables
    ? []
    : (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)).rows;
  const tables = (postgresTables ?? sqliteTables).map((row) => row.name).sort();
  const snapshot: Record<string, string[]> = {};
  if (postgresTables) {
    // One round trip for every table (the snapshot runs around each of hundreds of requests).
    for (const table of tables) snapshot[table] = [];
    if (tables.length === 0) return snapshot;
    const union = sql.join(
      tables.map((table) => sql`select ${table} as table_name, row_to_json(t)::text as row_json from ${sql.table(table)} t`),
      sql` union all `,
    );
    const { rows } = await sql<{ table_name: string; row_json: string }>`${union}`.execute(db);
    for (const row of rows) snapshot[row.table_name]!.push(row.row_json);
    for (const table of tables) snapshot[table]!.sort();
    return snapshot;
  }
  for (const table of tables) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db);
    snapshot[table] = rows.map((row) => JSON.stringify(row, Object.keys(row).sort())).sort();
  }
  return snapshot;
}
