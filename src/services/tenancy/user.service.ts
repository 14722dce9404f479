import type { PasswordHasher } from '../../crypto/passwords.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import { requireAllowed, requireVisible, type Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, forbidden, notFound } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import type { PlatformRole } from '../../domain/roles.ts';
import { isUniqueViolation } from '../../repositories/constraint-errors.ts';
import { sessionRepository } from '../../repositories/session.repository.ts';
import { userRepository, type UserRow } from '../../repositories/user.repository.ts';
import { recordAudit } from './audit.service.ts';

export interface UserView {
  id: string;
  account: string;
  displayName: string;
  platformRole: PlatformRole;
  status: 'active' | 'disabled';
  createdAt: number;
}

export const toUserView = (user: UserRow): UserView => ({
  id: user.id,
  account: user.account,
  displayName: user.display_name,
  platformRole: user.platform_role,
  status: user.status,
  createdAt: user.created_at,
});

export interface NewUser {
  account: string;
  displayName: string;
  password: string;
  platformRole: PlatformRole;
}

export class UserService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly passwordHasher: PasswordHasher,
  ) {}

  /** The super admin creates platform admins and members; platform admins create members. */
  async create(actor: Actor, input: NewUser): Promise<UserView> {
    requireVisible(actor, 'platform.users.manage', {}, 'Users');
    requireAllowed(actor, 'platform.users.manage', {});
    if (input.platformRole === 'super_admin') throw forbidden('There is exactly one super admin; it is created at install');
    if (input.platformRole === 'platform_admin' && actor.platformRole !== 'super_admin') {
      throw forbidden('Only the super admin creates platform admins');
    }
    return this.insert(actor, input);
  }

  /** Used by the command line and the demo: no actor checks beyond the one-super-admin rule. */
  async createUnchecked(actor: Actor, input: NewUser): Promise<UserView> {
    return this.insert(actor, input);
  }

  private async insert(actor: Actor, input: NewUser): Promise<UserView> {
    const passwordHash = await this.passwordHasher.hash(input.password);
    const now = this.clock.nowMs();
    return this.db.transaction().execute(async (trx) => {
      if (await userRepository.findByAccount(trx, input.account)) {
        throw new AppError('ResourceInUse', `The account "${input.account}" already exists`, { field: 'account' });
      }
      if (input.platformRole === 'super_admin' && (await userRepository.findSuperAdmin(trx))) {
        throw new AppError('ResourceInUse', 'A super admin already exists');
      }
      const user: UserRow = {
        id: newId('user', now),
        account: input.account,
        display_name: input.displayName,
        password_hash: passwordHash,
        platform_role: input.platformRole,
        status: 'active',
        created_at: now,
        updated_at: now,
      };
      try {
        await userRepository.insert(trx, user);
      } catch (error) {
        // A parallel insert won the race the checks above cannot see: the unique indexes decide.
        if (isUniqueViolation(error))
          throw new AppError(
            'ResourceInUse',
            input.platformRole === 'super_admin' ? 'A super admin already exists' : `The account "${input.account}" already exists`,
          );
        throw error;
      }
      const view = toUserView(user);
      await recordAudit(trx, this.clock, actor, { action: 'user.create', targetType: 'user', targetId: user.id, after: view });
      return view;
    });
  }

  async countSuperAdmins(): Promise<number> {
    return (await userRepository.findSuperAdmin(this.db)) ? 1 : 0;
  }

  async getSelf(actor: Actor): Promise<UserView> {
    const user = actor.userId ? await userRepository.findById(this.db, actor.userId) : undefined;
    if (!user) throw notFound('User');
    return toUserView(user);
  }

  async list(actor: Actor, search?: string): Promise<UserView[]> {
    requireVisible(actor, 'platform.users.manage', {}, 'Users');
    return (await userRepository.list(this.db, { search })).map(toUserView);
  }

  async setStatus(actor: Actor, userId: string, status: 'active' | 'disabled'): Promise<UserView> {
    requireVisible(actor, 'platform.users.manage', {}, 'User');
    requireAllowed(actor, 'platform.users.manage', {});
    return this.db.transaction().execute(async (trx) => {
      const user = await userRepository.findById(trx, userId);
      if (!user) throw notFound('User');
      if (user.platform_role === 'super_admin') throw forbidden('The super admin cannot be disabled');
      if (user.platform_role === 'platform_admin' && actor.platformRole !== 'super_admin') {
        throw forbidden('Only the super admin manages platform admins');
      }
      await userRepository.update(trx, userId, { status, updated_at: this.clock.nowMs() });
      if (status === 'disabled') await sessionRepository.deleteAllOfUser(trx, userId);
      const after = { ...toUserView(user), status };
      await recordAudit(trx, this.clock, actor, {
        action: 'user.set_status',
        targetType: 'user',
        targetId: userId,
        before: { status: user.status },
        after: { status },
      });
      return after;
    });
  }
}
