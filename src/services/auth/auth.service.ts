import type { PasswordHasher } from '../../crypto/passwords.ts';
import { csrfTokenOf, newToken, sha256Hex } from '../../crypto/tokens.ts';
import type { Executor, DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import type { TeamRole } from '../../domain/roles.ts';
import { sessionRepository } from '../../repositories/session.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';
import { userRepository, type UserRow } from '../../repositories/user.repository.ts';
import { recordAudit } from '../tenancy/index.ts';
import type { RateLimiter } from './rate-limiter.ts';

export const sessionLifetimeMs = 12 * 60 * 60 * 1000;
const signInWindowMs = 15 * 60 * 1000;
const failuresPerAccount = 5;
const failuresPerAddress = 30;

// A real hash to compare against when the account does not exist, so timing does not reveal accounts.
const dummyHashPromise = new Map<PasswordHasher, Promise<string>>();

export interface SignedIn {
  sessionToken: string;
  csrfToken: string;
  actor: Actor;
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
    private readonly rateLimiter: RateLimiter,
  ) {}

  async signIn(account: string, password: string, clientAddress: string): Promise<SignedIn> {
    const accountKey = `sign-in:account:${account.toLowerCase()}`;
    const addressKey = `sign-in:address:${clientAddress}`;
    // Count the attempt before checking the password, atomically: parallel guesses cannot all slip
    // through a check made before any of them was counted.
    const accountAllowed = await this.rateLimiter.hit(accountKey, failuresPerAccount, signInWindowMs);
    const addressAllowed = await this.rateLimiter.hit(addressKey, failuresPerAddress, signInWindowMs);
    if (!accountAllowed || !addressAllowed) {
      throw new AppError('RequestLimitExceeded', 'Too many failed sign-in attempts; try again in 15 minutes');
    }
    const user = await userRepository.findByAccount(this.db, account);
    const passwordMatches = user
      ? await this.passwordHasher.verify(user.password_hash, password)
      : await this.passwordHasher.verify(await this.dummyHash(), password);
    if (!user || !passwordMatches || user.status !== 'active') {
      throw new AppError('AuthFailure.InvalidCredentials', 'The account or password is incorrect');
    }
    // A success clears the account's failures and does not count against its address.
    await this.rateLimiter.reset(accountKey);
    await this.rateLimiter.release(addressKey, signInWindowMs);
    const sessionToken = newToken();
    const csrfToken = csrfTokenOf(sessionToken);
    const now = this.clock.nowMs();
    const actor = await this.db.transaction().execute(async (trx) => {
      await sessionRepository.insert(trx, {
        token_hash: sha256Hex(sessionToken),
        user_id: user.id,
        // Only its hash: a database read must not yield a usable CSRF token.
        csrf_token: sha256Hex(csrfToken),
        created_at: now,
        expires_at: now + sessionLifetimeMs,
      });
      const signedInActor = await loadActor(trx, user, now);
      await recordAudit(trx, this.clock, signedInActor, { action: 'session.sign_in', targetType: 'user', targetId: user.id });
      return signedInActor;
    });
    return { sessionToken, csrfToken, actor };
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
