import type { Config } from '../../config/config.ts';
import type { SecretBox } from '../../crypto/secret-box.ts';
import { withDatabaseLock } from '../../db/advisory-lock.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { type ApiKeyService, loadActor } from '../auth/index.ts';
import { systemActor, type Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { randomString } from '../../domain/ids.ts';
import type { TeamRole } from '../../domain/roles.ts';
import { ensurePlatformId, type MiniProgramService, type SuperappService, type TeamService, type UserService } from '../tenancy/index.ts';
import { settingRepository } from '../../repositories/setting.repository.ts';
import { userRepository } from '../../repositories/user.repository.ts';

interface TenancyServices {
  users: UserService;
  teams: TeamService;
  superapps: SuperappService;
  miniPrograms: MiniProgramService;
  apiKeys: ApiKeyService;
}

export interface DemoUser {
  account: string;
  password: string;
  secretId: string;
  secretKey: string;
}

/** The manifest of SPEC §6.2; later issues add the payment parts. Fields are added, never removed. */
export interface DemoManifest {
  baseUrl: string;
  platformId: string;
  superAdmin: { account: string; password: string };
  superapp: {
    applicationId: string;
    teamId: string;
    currencies: string[];
    merchants: { merchantId: string; merchantName: string }[];
    users: Record<'admin' | 'seniorDeveloper' | 'developer' | 'operator' | 'reviewer', DemoUser>;
  };
  miniProgramTeam: { teamId: string; users: Record<'admin' | 'seniorDeveloper' | 'developer' | 'operator' | 'memberAdmin', DemoUser> };
  unboundTeam: { teamId: string; users: { admin: DemoUser } };
  miniPrograms: {
    ready: DemoReadyMiniProgram;
    fresh: { mnpId: string };
    unbound: { mnpId: string };
  };
}

/** The approved demo mini program with a working merchant key pair and APIv3 key (SPEC §6.2). */
export interface DemoReadyMiniProgram {
  mnpId: string;
  mchid: string;
  /** The merchant API certificate serial (40 hex). */
  serialNo: string;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  apiV3Key: string;
  /** The platform key that signs now, by its public-key-mode id (`PUB_KEY_ID_…`). */
  platformSerial: string;
  /** SPKI PEM of that key. */
  platformPublicKeyPem: string;
  /** The same key's X.509 certificate serial, for certificate-mode clients (an addition to SPEC §6.2). */
  platformCertificateSerial?: string;
}

const manifestSettingKey = 'demo.manifest';
const manifestContext = 'demo-manifest';


/**
 * Builds the demo world once and remembers its manifest, sealed with the master key, so that
 * `demo --json` prints the same manifest again. Only the demo world's own secrets are kept this way.
 */
export class DemoWorldService {
  /** Steps later issues add (merchant binding, payment approval, credentials), run on first build. */
  private readonly extensions: ((manifest: DemoManifest, actors: DemoActors) => Promise<void>)[] = [];
  /** Updates of fields that change over time (the platform's signing key), applied on every print. */
  private readonly refreshers: ((manifest: DemoManifest) => Promise<void>)[] = [];

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
    private readonly config: Config,
    private readonly services: TenancyServices,
  ) {}

  extend(step: (manifest: DemoManifest, actors: DemoActors) => Promise<void>, refresh?: (manifest: DemoManifest) => Promise<void>) {
    this.extensions.push(step);
    if (refresh) this.refreshers.push(refresh);
  }

  /** The demo world's manifest when this database has one; never builds it (the demo shop reads it). */
  async existing(): Promise<DemoManifest | undefined> {
    return (await settingRepository.get(this.db, manifestSettingKey)) ? this.ensure() : undefined;
  }

  async ensure(): Promise<DemoManifest> {
    const stored = await this.stored();
    if (stored) return stored;
    // Instances starting together on a fresh database: one builds, the others wait and read its manifest.
    return withDatabaseLock(this.db, this.config.databaseKind, 'demo-world', async () => {
      const builtMeanwhile = await this.stored();
      if (builtMeanwhile) return builtMeanwhile;
      const manifest = await this.build();
      await settingRepository.put(this.db, manifestSettingKey, this.secretBox.seal(JSON.stringify(manifest), manifestContext));
      return manifest;
    });
  }

  private async stored(): Promise<DemoManifest | undefined> {
    const stored = await settingRepository.get(this.db, manifestSettingKey);
    if (!stored) return undefined;
    const manifest = JSON.parse(this.secretBox.open(stored, manifestContext)) as DemoManifest;
    for (const refresh of this.refreshers) await refresh(manifest);
    return { ...manifest, baseUrl: this.config.publicUrl };
  }

  private async build(): Promise<DemoManifest> {
    const { users, teams, superapps, miniPrograms } = this.services;
    const installer = systemActor('demo');
    if (await userRepository.findSuperAdmin(this.db)) {
      throw new Error('This database already has a super admin that is not the demo one; run the demo on a fresh database');
    }
    const superAdminPassword = randomString(16);
    const superAdmin = await users.createUnchecked(installer, {
      account: 'demo-superadmin',
      displayName: 'Demo super admin',
      password: superAdminPassword,
      platformRole: 'super_admin',
    });
    const admin = await this.actorOf(superAdmin.id);

    const member = async (account: string, displayName: string) => {
      const password = randomString(16);
      const view = await users.create(admin, { account, displayName, password, platformRole: 'member' });
      return { id: view.id, account, password };
    };

    const saAdmin = await member('demo-sa-admin', 'Superapp administrator');
    const superappTeam = await teams.create(admin, { kind: 'superapp', name: 'Demo Superapp Co.', administratorUserId: saAdmin.id });
    const superapp = await superapps.create(admin, { teamId: superappTeam.id, name: 'Demo Superapp', description: 'The demo superapp with the sandbox channel' });
    const saUsers = { admin: saAdmin } as Record<string, { id: string; account: string; password: string }>;
    for (const [key, role, account] of [
      ['seniorDeveloper', 'senior_developer', 'demo-sa-senior'],
      ['developer', 'developer', 'demo-sa-developer'],
      ['operator', 'operator', 'demo-sa-operator'],
      ['reviewer', 'reviewer', 'demo-sa-reviewer'],
    ] as const) {
      saUsers[key] = await member(account, `Superapp ${role.replace('_', ' ')}`);
      await teams.addMember(admin, superappTeam.id, { account, role: role as TeamRole });
    }

    const mpAdmin = await member('demo-mp-admin', 'Mini program administrator');
    const miniProgramTeam = await teams.create(admin, { kind: 'miniprogram', name: 'Demo Shop Team', superappId: superapp.applicationId, administratorUserId: mpAdmin.id });
    const mpUsers = { admin: mpAdmin } as Record<string, { id: string; account: string; password: string }>;
    for (const [key, role, account] of [
      ['seniorDeveloper', 'senior_developer', 'demo-mp-senior'],
      ['developer', 'developer', 'demo-mp-developer'],
      ['operator', 'operator', 'demo-mp-operator'],
      ['memberAdmin', 'member_admin', 'demo-mp-memberadmin'],
    ] as const) {
      mpUsers[key] = await member(account, `Mini program ${role.replace('_', ' ')}`);
      await teams.addMember(admin, miniProgramTeam.id, { account, role: role as TeamRole });
    }

    const unboundAdmin = await member('demo-unbound-admin', 'Unbound team administrator');
    const unboundTeam = await teams.create(admin, { kind: 'miniprogram', name: 'Demo Unbound Team', superappId: superapp.applicationId, administratorUserId: unboundAdmin.id });

    const ready = await miniPrograms.create(admin, miniProgramTeam.id, { name: 'Demo Shop', category: 'Shopping' });
    const fresh = await miniPrograms.create(admin, miniProgramTeam.id, { name: 'Demo Coffee', category: 'Food' });
    const unbound = await miniPrograms.create(admin, unboundTeam.id, { name: 'Demo Books', category: 'Education' });

    const withKey = async (user: { id: string; account: string; password: string }): Promise<DemoUser> => {
      const key = await this.services.apiKeys.create(await this.actorOf(user.id), 'demo');
      return { account: user.account, password: user.password, secretId: key.secretId, secretKey: key.secretKey };
    };
    const keyed = async <K extends string>(group: Record<string, { id: string; account: string; password: string }>, keys: readonly K[]) => {
      const out = {} as Record<K, DemoUser>;
      for (const key of keys) out[key] = await withKey(group[key]!);
      return out;
    };

    const manifest: DemoManifest = {
      baseUrl: this.config.publicUrl,
      platformId: await ensurePlatformId(this.db, this.clock),
      superAdmin: { account: superAdmin.account, password: superAdminPassword },
      superapp: {
        applicationId: superapp.applicationId,
        teamId: superappTeam.id,
        currencies: [],
        merchants: [],
        users: await keyed(saUsers, ['admin', 'seniorDeveloper', 'developer', 'operator', 'reviewer'] as const),
      },
      miniProgramTeam: { teamId: miniProgramTeam.id, users: await keyed(mpUsers, ['admin', 'seniorDeveloper', 'developer', 'operator', 'memberAdmin'] as const) },
      unboundTeam: { teamId: unboundTeam.id, users: { admin: await withKey(unboundAdmin) } },
      miniPrograms: {
        ready: { mnpId: ready.mnpId, mchid: '', serialNo: '', privateKeyPem: '', apiV3Key: '', platformSerial: '', platformPublicKeyPem: '' },
        fresh: { mnpId: fresh.mnpId },
        unbound: { mnpId: unbound.mnpId },
      },
    };
    const actors: DemoActors = {
      superAdmin: admin,
      actorOfAccount: async (account) => {
        const user = await userRepository.findByAccount(this.db, account);
        return this.actorOf(user?.id ?? '');
      },
    };
    for (const step of this.extensions) await step(manifest, actors);
    return manifest;
  }

  private async actorOf(userId: string): Promise<Actor> {
    const user = await userRepository.findById(this.db, userId);
    if (!user) throw new Error(`demo user ${userId} vanished`);
    return loadActor(this.db, user, this.clock.nowMs());
  }
}

export interface DemoActors {
  superAdmin: Actor;
  actorOfAccount(account: string): Promise<Actor>;
}
