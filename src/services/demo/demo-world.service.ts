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
import { sealingContexts } from '../../domain/sealing-contexts.ts';

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
  /** A virtual-payment-enabled mini game with two APPROVED items (SPEC §8.9); absent until its setup exists. */
  miniGames?: { ready: DemoReadyMiniGame };
}

/** SPEC §8.9's `miniGames.ready`: its delivery URL is the demo's own receiver. */
export interface DemoReadyMiniGame {
  mnpId: string;
  mchid: string;
  offerId: string;
  appKey: string;
  deliveryUrl: string;
  items: { productId: string; name: string; price: number; currency: string }[];
  /** The demo player's session key (the host checks `signature` with it). */
  sessionKey: string;
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

/** A demo user as created, before its API key. */
interface DemoAccount {
  id: string;
  account: string;
  password: string;
}

const manifestSettingKey = 'demo.manifest';

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
      await settingRepository.put(this.db, manifestSettingKey, this.secretBox.seal(JSON.stringify(manifest), sealingContexts.demoManifest));
      return manifest;
    });
  }

  private async stored(): Promise<DemoManifest | undefined> {
    const stored = await settingRepository.get(this.db, manifestSettingKey);
    if (!stored) return undefined;
    const manifest = JSON.parse(this.secretBox.open(stored, sealingContexts.demoManifest)) as DemoManifest;
    for (const refresh of this.refreshers) await refresh(manifest);
    return { ...manifest, baseUrl: this.config.publicUrl };
  }

  private async build(): Promise<DemoManifest> {
    const { superAdmin, admin } = await this.createSuperAdmin();
    const superappSide = await this.createSuperappTeam(admin);
    const shopSide = await this.createMiniProgramTeam(admin, superappSide.superapp.applicationId);
    const unboundSide = await this.createUnboundTeam(admin, superappSide.superapp.applicationId);

    const { miniPrograms } = this.services;
    const ready = await miniPrograms.create(admin, shopSide.team.id, { name: 'Demo Shop', category: 'Shopping' });
    const fresh = await miniPrograms.create(admin, shopSide.team.id, { name: 'Demo Coffee', category: 'Food' });
    const unbound = await miniPrograms.create(admin, unboundSide.team.id, { name: 'Demo Books', category: 'Education' });

    const manifest: DemoManifest = {
      baseUrl: this.config.publicUrl,
      platformId: await ensurePlatformId(this.db, this.clock),
      superAdmin,
      superapp: {
        applicationId: superappSide.superapp.applicationId,
        teamId: superappSide.team.id,
        currencies: [],
        merchants: [],
        users: await this.withApiKeys(superappSide.users, ['admin', 'seniorDeveloper', 'developer', 'operator', 'reviewer'] as const),
      },
      miniProgramTeam: {
        teamId: shopSide.team.id,
        users: await this.withApiKeys(shopSide.users, ['admin', 'seniorDeveloper', 'developer', 'operator', 'memberAdmin'] as const),
      },
      unboundTeam: { teamId: unboundSide.team.id, users: { admin: await this.withApiKey(unboundSide.admin) } },
      miniPrograms: {
        ready: {
          mnpId: ready.mnpId,
          mchid: '',
          serialNo: '',
          privateKeyPem: '',
          apiV3Key: '',
          platformSerial: '',
          platformPublicKeyPem: '',
        },
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

  /** The demo super admin (refused when the database has another one) and the actor the rest is built as. */
  private async createSuperAdmin(): Promise<{ superAdmin: DemoManifest['superAdmin']; admin: Actor }> {
    if (await userRepository.findSuperAdmin(this.db)) {
      throw new Error('This database already has a super admin that is not the demo one; run the demo on a fresh database');
    }
    const password = randomString(16);
    const superAdmin = await this.services.users.createUnchecked(systemActor('demo'), {
      account: 'demo-superadmin',
      displayName: 'Demo super admin',
      password,
      platformRole: 'super_admin',
    });
    return { superAdmin: { account: superAdmin.account, password }, admin: await this.actorOf(superAdmin.id) };
  }

  private async createSuperappTeam(admin: Actor) {
    const { teams, superapps } = this.services;
    const teamAdmin = await this.createMember(admin, 'demo-sa-admin', 'Superapp administrator');
    const team = await teams.create(admin, { kind: 'superapp', name: 'Demo Superapp Co.', administratorUserId: teamAdmin.id });
    const superapp = await superapps.create(admin, {
      teamId: team.id,
      name: 'Demo Superapp',
      description: 'The demo superapp with the sandbox channel',
    });
    const members = await this.addMembers(admin, team.id, 'Superapp', [
      ['seniorDeveloper', 'senior_developer', 'demo-sa-senior'],
      ['developer', 'developer', 'demo-sa-developer'],
      ['operator', 'operator', 'demo-sa-operator'],
      ['reviewer', 'reviewer', 'demo-sa-reviewer'],
    ]);
    return { team, superapp, users: { admin: teamAdmin, ...members } };
  }

  private async createMiniProgramTeam(admin: Actor, superappId: string) {
    const teamAdmin = await this.createMember(admin, 'demo-mp-admin', 'Mini program administrator');
    const team = await this.services.teams.create(admin, {
      kind: 'miniprogram',
      name: 'Demo Shop Team',
      superappId,
      administratorUserId: teamAdmin.id,
    });
    const members = await this.addMembers(admin, team.id, 'Mini program', [
      ['seniorDeveloper', 'senior_developer', 'demo-mp-senior'],
      ['developer', 'developer', 'demo-mp-developer'],
      ['operator', 'operator', 'demo-mp-operator'],
      ['memberAdmin', 'member_admin', 'demo-mp-memberadmin'],
    ]);
    return { team, users: { admin: teamAdmin, ...members } };
  }

  /** A mini program team with no merchant binding, so its mini programs cannot pay. */
  private async createUnboundTeam(admin: Actor, superappId: string) {
    const teamAdmin = await this.createMember(admin, 'demo-unbound-admin', 'Unbound team administrator');
    const team = await this.services.teams.create(admin, {
      kind: 'miniprogram',
      name: 'Demo Unbound Team',
      superappId,
      administratorUserId: teamAdmin.id,
    });
    return { team, admin: teamAdmin };
  }

  private async createMember(admin: Actor, account: string, displayName: string): Promise<DemoAccount> {
    const password = randomString(16);
    const view = await this.services.users.create(admin, { account, displayName, password, platformRole: 'member' });
    return { id: view.id, account, password };
  }

  /** Creates each member (titled after the team side and role) and adds them to the team, in order. */
  private async addMembers<K extends string>(
    admin: Actor,
    teamId: string,
    side: string,
    members: readonly (readonly [key: K, role: TeamRole, account: string])[],
  ): Promise<Record<K, DemoAccount>> {
    const created = {} as Record<K, DemoAccount>;
    for (const [key, role, account] of members) {
      created[key] = await this.createMember(admin, account, `${side} ${role.replace('_', ' ')}`);
      await this.services.teams.addMember(admin, teamId, { account, role });
    }
    return created;
  }

  private async withApiKey(user: DemoAccount): Promise<DemoUser> {
    const key = await this.services.apiKeys.create(await this.actorOf(user.id), 'demo');
    return { account: user.account, password: user.password, secretId: key.secretId, secretKey: key.secretKey };
  }

  /** Gives each listed user an API key, one after another in the listed order. */
  private async withApiKeys<K extends string>(group: Record<K, DemoAccount>, keys: readonly K[]): Promise<Record<K, DemoUser>> {
    const keyed = {} as Record<K, DemoUser>;
    for (const key of keys) keyed[key] = await this.withApiKey(group[key]);
    return keyed;
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
