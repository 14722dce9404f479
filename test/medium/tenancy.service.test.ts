import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseKind } from '../../src/config/config.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import type { Database } from '../../src/db/schema.ts';
import { systemActor } from '../../src/domain/access.ts';
import { AppError } from '../../src/domain/errors.ts';
import type { TeamRole } from '../../src/domain/roles.ts';
import { teamRepository } from '../../src/repositories/team.repository.ts';
import { userRepository } from '../../src/repositories/user.repository.ts';
import { actorOf, createPlatform, createTenant, createUser, signIn, type Platform, type Tenant } from '../helpers/factories.ts';
import { postgresReachable } from '../helpers/postgres.ts';
import {
  createTestContext,
  describeOnEachDatabase,
  openEmptyDatabase,
  withSchemaCatalogLock,
  type TestContext,
} from '../helpers/test-context.ts';

const admin = systemActor('tenancy-test');

/** The AppError code a promise rejects with (fails the test if it resolves or throws something else). */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  throw new Error('expected the call to be refused');
}

/** Table name → sorted column names, for the connection's own schema. */
async function tableShapes(db: Kysely<Database>, kind: DatabaseKind): Promise<Record<string, string[]>> {
  if (kind === 'postgres') {
    const { rows } = await sql<{ table_name: string; column_name: string }>`
      select c.table_name, c.column_name from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'`.execute(db);
    const shapes: Record<string, string[]> = {};
    for (const row of rows) (shapes[row.table_name] ??= []).push(row.column_name);
    for (const columns of Object.values(shapes)) columns.sort();
    return shapes;
  }
  const { rows: tables } = await sql<{
    name: string;
  }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db);
  const shapes: Record<string, string[]> = {};
  for (const { name } of tables) {
    const { rows } = await sql<{ name: string }>`select name from pragma_table_info(${name})`.execute(db);
    shapes[name] = rows.map((r) => r.name).sort();
  }
  return shapes;
}

describeOnEachDatabase('tenancy data layer', (kind) => {
  let context: TestContext;
  let platform: Platform;
  let tenant: Tenant;

  beforeAll(async () => {
    context = await createTestContext(kind);
    platform = await createPlatform(context);
    tenant = await createTenant(context);
  });
  afterAll(() => context?.close());

  describe('exactly one super admin', () => {
    it('the service refuses a second one', async () => {
      expect(await codeOf(createUser(context, { platformRole: 'super_admin' }))).toBe('ResourceInUse');
      const viaConsole = context.services.users.create(await actorOf(context, platform.superAdmin), {
        account: 'second-root',
        displayName: 'x',
        password: 'long enough password',
        platformRole: 'super_admin',
      });
      expect(await codeOf(viaConsole)).toBe('UnauthorizedOperation');
    });

    it('the database refuses a second one (partial unique index), whatever the caller', async () => {
      const now = context.clock.nowMs();
      const insert = userRepository.insert(context.database.db, {
        id: 'user_second_root',
        account: 'second-root-direct',
        display_name: 'x',
        password_hash: 'x',
        platform_role: 'super_admin',
        status: 'active',
        created_at: now,
        updated_at: now,
      });
      await expect(insert).rejects.toThrow(/unique|duplicate/i);
      const count = await context.database.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('platform_role', '=', 'super_admin')
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(1);
    });

    it('parallel attempts on a fresh database make exactly one; the others get ResourceInUse', async () => {
      const fresh = await createTestContext(kind);
      try {
        const attempts = await Promise.allSettled(
          [1, 2, 3, 4].map((n) => createUser(fresh, { account: `root-${n}`, platformRole: 'super_admin' })),
        );
        expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
        for (const attempt of attempts) {
          if (attempt.status === 'rejected') expect((attempt.reason as AppError).code).toBe('ResourceInUse');
        }
        expect(await fresh.services.users.countSuperAdmins()).toBe(1);
      } finally {
        await fresh.close();
      }
    });

    it('platform admins may be many, and only the super admin creates them', async () => {
      const platformAdminActor = await actorOf(context, platform.platformAdmin);
      const refused = context.services.users.create(platformAdminActor, {
        account: 'pa-by-pa',
        displayName: 'x',
        password: 'long enough password',
        platformRole: 'platform_admin',
      });
      expect(await codeOf(refused)).toBe('UnauthorizedOperation');
      const created = await context.services.users.create(await actorOf(context, platform.superAdmin), {
        account: 'second-platform-admin',
        displayName: 'x',
        password: 'long enough password',
        platformRole: 'platform_admin',
      });
      expect(created.platformRole).toBe('platform_admin');
    });
  });

  describe('exactly one Administrator per team', () => {
    const administrators = async (teamId: string) =>
      (await teamRepository.listMembers(context.database.db, teamId)).filter((m) => m.role === 'administrator');

    it("transferring the role swaps it: the old Administrator takes the new one's former role", async () => {
      const team = await createTenant(context);
      const oldAdministrator = team.members['mp:administrator'];
      const successor = team.members['mp:senior_developer'];
      await context.services.teams.changeMemberRole(
        await actorOf(context, oldAdministrator),
        team.miniProgramTeamId,
        successor.id,
        'administrator',
      );
      const members = await teamRepository.listMembers(context.database.db, team.miniProgramTeamId);
      expect(members.find((m) => m.user_id === successor.id)?.role).toBe('administrator');
      expect(members.find((m) => m.user_id === oldAdministrator.id)?.role).toBe('senior_developer');
      expect(await administrators(team.miniProgramTeamId)).toHaveLength(1);
    });

    it('a Member admin may not transfer it; nobody removes or demotes the Administrator; nobody is added as a second one', async () => {
      const teamId = tenant.miniProgramTeamId;
      const memberAdmin = await actorOf(context, tenant.members['mp:member_admin']);
      expect(
        await codeOf(context.services.teams.changeMemberRole(memberAdmin, teamId, tenant.members['mp:developer'].id, 'administrator')),
      ).toBe('UnauthorizedOperation');
      const administrator = tenant.members['mp:administrator'];
      expect(await codeOf(context.services.teams.removeMember(admin, teamId, administrator.id))).toBe('FailedOperation');
      expect(await codeOf(context.services.teams.changeMemberRole(admin, teamId, administrator.id, 'developer'))).toBe(
        'InvalidParameterValue',
      );
      const newcomer = await createUser(context);
      expect(await codeOf(context.services.teams.addMember(admin, teamId, { account: newcomer.account, role: 'administrator' }))).toBe(
        'InvalidParameterValue',
      );
      expect((await administrators(teamId)).map((m) => m.user_id)).toEqual([administrator.id]);
    });

    it('nobody changes their own role; a Member admin makes nobody Member admin; every change is audited', async () => {
      const team = await createTenant(context);
      const teamId = team.miniProgramTeamId;
      const memberAdminUser = team.members['mp:member_admin'];
      const memberAdmin = await actorOf(context, memberAdminUser);
      const roleOf = async (userId: string) => (await teamRepository.findMember(context.database.db, teamId, userId))?.role;
      // The way a Member admin once reached payment credentials: raising itself to Senior developer.
      expect(await codeOf(context.services.teams.changeMemberRole(memberAdmin, teamId, memberAdminUser.id, 'senior_developer'))).toBe(
        'UnauthorizedOperation',
      );
      const administratorUser = team.members['mp:administrator'];
      const administrator = await actorOf(context, administratorUser);
      expect(await codeOf(context.services.teams.changeMemberRole(administrator, teamId, administratorUser.id, 'developer'))).toBe(
        'UnauthorizedOperation',
      );
      const developer = team.members['mp:developer'];
      expect(await codeOf(context.services.teams.changeMemberRole(memberAdmin, teamId, developer.id, 'member_admin'))).toBe(
        'UnauthorizedOperation',
      );
      const newcomer = await createUser(context);
      expect(await codeOf(context.services.teams.addMember(memberAdmin, teamId, { account: newcomer.account, role: 'member_admin' }))).toBe(
        'UnauthorizedOperation',
      );
      expect([await roleOf(memberAdminUser.id), await roleOf(administratorUser.id), await roleOf(developer.id)]).toEqual([
        'member_admin',
        'administrator',
        'developer',
      ]);
      // What a Member admin may do, and the Administrator's grant of Member admin, both audited.
      await context.services.teams.changeMemberRole(memberAdmin, teamId, developer.id, 'operator');
      await context.services.teams.changeMemberRole(administrator, teamId, developer.id, 'member_admin');
      expect(await roleOf(developer.id)).toBe('member_admin');
      const audit = await context.database.db
        .selectFrom('audit_log')
        .select(['actor_user_id', 'before_json', 'after_json'])
        .where('action', '=', 'team.member.change_role')
        .where('target_id', '=', developer.id)
        .orderBy('id')
        .execute();
      expect(audit.map((entry) => [entry.actor_user_id, JSON.parse(entry.before_json!).role, JSON.parse(entry.after_json!).role])).toEqual([
        [memberAdminUser.id, 'developer', 'operator'],
        [administratorUser.id, 'operator', 'member_admin'],
      ]);
    });

    it('the database refuses a second Administrator row (partial unique index)', async () => {
      const extra = await createUser(context);
      const insert = teamRepository.insertMember(context.database.db, {
        team_id: tenant.superappTeamId,
        user_id: extra.id,
        role: 'administrator',
        created_at: context.clock.nowMs(),
      });
      await expect(insert).rejects.toThrow(/unique|duplicate/i);
    });

    it('concurrent transfers leave exactly one Administrator', async () => {
      const team = await createTenant(context);
      const actor = await actorOf(context, team.members['sa:administrator']);
      const candidates = [team.members['sa:developer'], team.members['sa:operator'], team.members['sa:reviewer']];
      await Promise.allSettled(
        candidates.map((c) => context.services.teams.changeMemberRole(actor, team.superappTeamId, c.id, 'administrator')),
      );
      expect(await administrators(team.superappTeamId)).toHaveLength(1);
      const roles = (await teamRepository.listMembers(context.database.db, team.superappTeamId)).map((m) => m.role).sort();
      expect(roles).toEqual(['administrator', 'developer', 'member_admin', 'operator', 'reviewer', 'senior_developer']);
    });
  });

  describe('only members join teams', () => {
    it('refuses platform admins and the super admin as members or Administrators', async () => {
      for (const user of [platform.superAdmin, platform.platformAdmin]) {
        expect(
          await codeOf(context.services.teams.addMember(admin, tenant.miniProgramTeamId, { account: user.account, role: 'developer' })),
        ).toBe('InvalidParameterValue');
        const team = context.services.teams.create(admin, { kind: 'superapp', name: 'admin-led team', administratorUserId: user.id });
        expect(await codeOf(team)).toBe('InvalidParameterValue');
      }
      expect(await teamRepository.membershipsOf(context.database.db, platform.platformAdmin.id)).toEqual([]);
    });

    it('refuses a disabled member', async () => {
      const user = await createUser(context);
      await context.services.users.setStatus(admin, user.id, 'disabled');
      expect(
        await codeOf(context.services.teams.addMember(admin, tenant.miniProgramTeamId, { account: user.account, role: 'operator' })),
      ).toBe('InvalidParameterValue');
    });

    it('answers a Member admin one error for every account it cannot add, whatever the reason, and changes nothing', async () => {
      const team = await createTenant(context);
      const teamId = team.miniProgramTeamId;
      const memberAdmin = await actorOf(context, team.members['mp:member_admin']);
      const disabled = await createUser(context);
      await context.services.users.setStatus(admin, disabled.id, 'disabled');
      /** The refusal's code, message and details, or 'added'. */
      const outcomeOf = async (account: string, role: TeamRole = 'developer') => {
        try {
          await context.services.teams.addMember(memberAdmin, teamId, { account, role });
          return 'added';
        } catch (error) {
          if (error instanceof AppError) return { code: error.code, message: error.message, details: error.details };
          throw error;
        }
      };
      const before = await teamRepository.listMembers(context.database.db, teamId);
      const cannotAdd = {
        code: 'InvalidParameterValue',
        message: 'account: this account cannot be added to the team',
        details: { field: 'account' },
      };
      const reasons = {
        'no such account': 'nobody-at-all-here',
        'the super admin': platform.superAdmin.account,
        'a platform admin': platform.platformAdmin.account,
        'a disabled member': disabled.account,
        'already a member': team.members['mp:developer'].account,
      };
      for (const [why, account] of Object.entries(reasons)) expect(await outcomeOf(account), why).toEqual(cannotAdd);
      expect(await teamRepository.listMembers(context.database.db, teamId)).toEqual(before);
      // Refusals about the request itself reveal nothing about other accounts and stay distinct, for any account.
      for (const account of [reasons['no such account'], reasons['the super admin']]) {
        expect(await outcomeOf(account, 'reviewer')).toMatchObject({ code: 'InvalidParameterValue', details: { field: 'role' } });
        expect(await outcomeOf(account, 'administrator')).toMatchObject({ code: 'InvalidParameterValue', details: { field: 'role' } });
        expect(await outcomeOf(account, 'member_admin')).toMatchObject({ code: 'UnauthorizedOperation' });
      }
      // A plain active member joins.
      expect(await outcomeOf(tenant.members['mp:operator'].account)).toBe('added');
    });

    it('refuses a role of the other team kind (review staff exist only in superapp teams)', async () => {
      const user = await createUser(context);
      expect(
        await codeOf(context.services.teams.addMember(admin, tenant.miniProgramTeamId, { account: user.account, role: 'reviewer' })),
      ).toBe('InvalidParameterValue');
    });
  });

  describe("a disabled or expired team's roles stop counting", () => {
    const disabledTitle =
      'disabled: the member no longer reaches the team, its mini programs ' + 'or (for a superapp team) the teams on its superapp';
    it(disabledTitle, async () => {
      const team = await createTenant(context);
      const developer = team.members['mp:developer'];
      const reviewer = team.members['sa:reviewer'];
      const client = await signIn(context, developer);
      expect((await client.get(`/teams/${team.miniProgramTeamId}`)).statusCode).toBe(200);

      await context.services.teams.update(admin, team.miniProgramTeamId, { status: 'disabled' });
      expect((await actorOf(context, developer)).memberships.has(team.miniProgramTeamId)).toBe(false);
      expect(await codeOf(context.services.teams.get(await actorOf(context, developer), team.miniProgramTeamId))).toBe('ResourceNotFound');
      expect(await codeOf(context.services.miniPrograms.listByTeam(await actorOf(context, developer), team.miniProgramTeamId))).toBe(
        'ResourceNotFound',
      );
      // The signed-in session reloads the roles on every request.
      expect((await client.get(`/teams/${team.miniProgramTeamId}`)).statusCode).toBe(404);

      await context.services.teams.update(admin, team.superappTeamId, { status: 'disabled' });
      expect(await codeOf(context.services.miniPrograms.listByTeam(await actorOf(context, reviewer), team.miniProgramTeamId))).toBe(
        'ResourceNotFound',
      );

      await context.services.teams.update(admin, team.miniProgramTeamId, { status: 'active' });
      expect((await client.get(`/teams/${team.miniProgramTeamId}`)).statusCode).toBe(200);
    });

    it('expired: roles count until the expiry time, not after (the clock moves)', async () => {
      const team = await createTenant(context);
      const operator = team.members['mp:operator'];
      const expiresAt = context.clock.nowMs() + 60_000;
      await context.services.teams.update(admin, team.miniProgramTeamId, { expiresAt });
      expect((await actorOf(context, operator)).memberships.get(team.miniProgramTeamId)).toBe('operator');
      context.clock.advance(60_000);
      expect((await actorOf(context, operator)).memberships.has(team.miniProgramTeamId)).toBe(false);
      const { view } = await context.services.teams.get(admin, team.miniProgramTeamId);
      expect(view).toMatchObject({ status: 'active', effectiveStatus: 'expired' });
      await context.services.teams.update(admin, team.miniProgramTeamId, { expiresAt: null });
      expect((await actorOf(context, operator)).memberships.get(team.miniProgramTeamId)).toBe('operator');
    });
  });

  describe('the audit log is append-only at the database level', () => {
    it('refuses UPDATE and DELETE, through Kysely and in plain SQL', async () => {
      const db = context.database.db;
      const countEntries = async () =>
        Number(
          (
            await db
              .selectFrom('audit_log')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const before = await countEntries();
      expect(before).toBeGreaterThan(0);
      await expect(db.updateTable('audit_log').set({ action: 'tampered' }).execute()).rejects.toThrow(/append-only/);
      await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
      await expect(
        sql`update audit_log set actor_account = 'someone else' where id = (select min(id) from audit_log)`.execute(db),
      ).rejects.toThrow(/append-only/);
      await expect(sql`delete from audit_log where id = (select max(id) from audit_log)`.execute(db)).rejects.toThrow(/append-only/);
      expect(await countEntries()).toBe(before);
      expect(await db.selectFrom('audit_log').select('id').where('action', '=', 'tampered').execute()).toEqual([]);
    });

    it('records every tenancy change with who, what, when and before/after', async () => {
      const actor = await actorOf(context, tenant.members['mp:administrator']);
      await context.services.miniPrograms.update(actor, tenant.mnpId, { name: 'Audited shop' });
      const [entry] = await context.services.audit.list(actor, { teamId: tenant.miniProgramTeamId, limit: 1 });
      expect(entry).toMatchObject({
        action: 'mini_program.update',
        actorUserId: tenant.members['mp:administrator'].id,
        targetId: tenant.mnpId,
        at: context.clock.nowMs(),
        after: expect.objectContaining({ name: 'Audited shop' }),
        before: expect.objectContaining({ name: expect.any(String) }),
      });
    });
  });

  describe('migrations', () => {
    it('are idempotent: a second run on a migrated database applies nothing and changes nothing', async () => {
      const shapes = await tableShapes(context.database.db, kind);
      const migrate = () => migrateToLatest(context.database.db, kind);
      const again = kind === 'postgres' ? await withSchemaCatalogLock('shared', migrate) : await migrate();
      expect(again).toEqual([]);
      expect(await tableShapes(context.database.db, kind)).toEqual(shapes);
    });

    it('run from empty, then again, each migration once', async () => {
      const { handle, dispose } = await openEmptyDatabase(kind);
      try {
        const migrate = () =>
          kind === 'postgres' ? withSchemaCatalogLock('shared', () => migrateToLatest(handle.db, kind)) : migrateToLatest(handle.db, kind);
        const first = await migrate();
        expect(first.length).toBeGreaterThan(0);
        expect(first[0]).toBe('0001-foundation');
        expect(await migrate()).toEqual([]);
        const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(handle.db);
        expect(rows.map((r) => r.name)).toEqual([...first].sort());
      } finally {
        await dispose();
      }
    });
  });
});

describe('one set of migrations for both databases', () => {
  it('gives SQLite and PostgreSQL the same tables and columns', async (test) => {
    if (!(await postgresReachable())) test.skip();
    const sqlite = await openEmptyDatabase('sqlite');
    const postgres = await openEmptyDatabase('postgres');
    try {
      await migrateToLatest(sqlite.handle.db, 'sqlite');
      await withSchemaCatalogLock('shared', () => migrateToLatest(postgres.handle.db, 'postgres'));
      const drop = (shapes: Record<string, string[]>) =>
        Object.fromEntries(Object.entries(shapes).filter(([name]) => !name.startsWith('kysely_')));
      expect(drop(await tableShapes(postgres.handle.db, 'postgres'))).toEqual(drop(await tableShapes(sqlite.handle.db, 'sqlite')));
    } finally {
      await sqlite.dispose();
      await postgres.dispose();
    }
  });
});
