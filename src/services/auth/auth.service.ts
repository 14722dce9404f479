import type { PasswordHasher } from '../../crypto/passwords.ts';
import { csrfTokenOf, newToken, sha256Hex } from '../../crypto/tokens.ts';
import type { Executor, DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError, forbidden, notFound } from '../../domain/errors.ts';
import type { TeamRole } from '../../domain/roles.ts';
import { apiKeyRepository } from '../../repositories/api-key.repository.ts';
import { sessionRepository } from '../../repositories/session.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';
import { userRepository, type UserRow } from '../../repositories/user.repository.ts';
import { recordAudit } from '../tenancy/index.ts';
import { toApiKeyView, type ApiKeyView } from './api-key.service.ts';
import type { PasswordAttemptLimiter } from './password-attempt-limiter.ts';

export const sessionLifetimeMs = 12 * 60 * 60 * 1000;

// One throwaway hash per hasher, compared against when the account does not exist.
const dummyHashPromise = new Map<PasswordHasher, Promise<string>>();

export interface SignedIn {
  sessionToken: string;
  csrfToken: string;
  actor: Actor;
}

/** A password changed: the caller's new session, and the API keys that still work (a password change leaves them). */
export interface PasswordChanged {
  sessionToken: string;
  csrfToken: string;
  activeApiKeys: ApiKeyView[];
}

/** Loads a user's actor: platform role and the roles of teams that are active and not expired. */
export async function loadActor(db: Executor, user: UserRow, nowMs: number): Promise<Actor> {
  const memberships = await teamRepository.listMembershipsOfUser(db, user.id);
  const live = memberships.filter((m) => m.status === 'active' && (m.expires_at === null || m.expires_at > nowMs));
  return {
    kind: 'user',
    userId: user.id,
    account: user.account,
    platformRole: user.platform_role,
    memberships: new Map(live.map((m) => [m.team_id, m.role as TeamRole])),
  };
}

export class AuthService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly passwordHasher: PasswordHasher,
    private readonly passwordAttempts: PasswordAttemptLimiter,
  ) {}

  async signIn(account: string, password: string, clientAddress: string): Promise<SignedIn> {
    const user = await this.passwordAttempts.attempt('sign-in', account.toLowerCase(), clientAddress, async () => {
      const found = await userRepository.findByAccount(this.db, account);
      // A real hash to compare against when the account does not exist, so timing does not reveal accounts.
      const matches = await this.passwordHasher.verify(found?.password_hash ?? (await this.dummyHash()), password);
      return found && matches && found.status === 'active' ? found : undefined;
    });
    if (!user) throw new AppError('AuthFailure.InvalidCredentials', 'The account or password is incorrect');
    const now = this.clock.nowMs();
    const { sessionToken, csrfToken, actor } = await this.db.transaction().execute(async (trx) => {
      const session = await this.startSession(trx, user.id, now);
      const signedInActor = await loadActor(trx, user, now);
      await recordAudit(trx, this.clock, signedInActor, { action: 'session.sign_in', targetType: 'user', targetId: user.id });
      return { ...session, actor: signedInActor };
    });
    return { sessionToken, csrfToken, actor };
  }

  /**
   * Any signed-in user changes their own password, proving the current one (attempts limited like sign-in).
   * Every session of theirs ends and the caller continues under a new one; their API keys are listed, as they
   * still work and the caller may want to revoke them.
   */
  async changeOwnPassword(actor: Actor, currentPassword: string, newPassword: string, clientAddress: string): Promise<PasswordChanged> {
    if (!actor.userId) throw forbidden();
    const userId = actor.userId;
    const user = await this.passwordAttempts.attempt('password-change', userId, clientAddress, async () => {
      const found = await userRepository.findById(this.db, userId);
      if (!found) throw notFound('User');
      return (await this.passwordHasher.verify(found.password_hash, currentPassword)) ? found : undefined;
    });
    if (!user) {
      throw new AppError('InvalidParameterValue', 'currentPassword: the current password is incorrect', { field: 'currentPassword' });
    }
    const passwordHash = await this.passwordHasher.hash(newPassword);
    const now = this.clock.nowMs();
    return this.db.transaction().execute(async (trx) => {
      await userRepository.update(trx, user.id, { password_hash: passwordHash, updated_at: now });
      await sessionRepository.deleteAllOfUser(trx, user.id);
      const session = await this.startSession(trx, user.id, now);
      await recordAudit(trx, this.clock, actor, { action: 'user.change_password', targetType: 'user', targetId: user.id });
      const keys = await apiKeyRepository.listByUser(trx, user.id);
      return { ...session, activeApiKeys: keys.filter((key) => key.status === 'active').map(toApiKeyView) };
    });
  }

  private async startSession(db: Executor, userId: string, now: number): Promise<{ sessionToken: string; csrfToken: string }> {
    const sessionToken = newToken();
    const csrfToken = csrfTokenOf(sessionToken);
    await sessionRepository.insert(db, {
      token_hash: sha256Hex(sessionToken),
      user_id: userId,
      // Only its hash: a database read must not yield a usable CSRF token.
      csrf_token: sha256Hex(csrfToken),
      created_at: now,
      expires_at: now + sessionLifetimeMs,
    });
    return { sessionToken, csrfToken };
  }

  /** The session's actor and CSRF token, or undefined if the token is unknown or expired. */
  async resolveSession(sessionToken: string): Promise<{ actor: Actor; csrfToken: string } | undefined> {
    const now = this.clock.nowMs();
    const session = await sessionRepository.findLive(this.db, sha256Hex(sessionToken), now);
    if (!session) return undefined;
    const user = await userRepository.findById(this.db, session.user_id);
    if (!user || user.status !== 'active') return undefined;
    const csrfToken = csrfTokenOf(sessionToken);
    // Sessions made before CSRF tokens were hashed keep their stored token until they expire.
    return {
      actor: await loadActor(this.db, user, now),
      csrfToken: session.csrf_token === sha256Hex(csrfToken) ? csrfToken : session.csrf_token,
    };
  }

  async signOut(sessionToken: string): Promise<void> {
    await sessionRepository.delete(this.db, sha256Hex(sessionToken));
  }

  private dummyHash(): Promise<string> {
    let promise = dummyHashPromise.get(this.passwordHasher);
    if (!promise) {
      promise = this.passwordHasher.hash(newToken());
      dummyHashPromise.set(this.passwordHasher, promise);
    }
    return promise;
  }
}
