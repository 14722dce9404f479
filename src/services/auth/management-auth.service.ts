import { tc3Date, verifyTc3Signature, type Tc3Authorization } from '../../crypto/tc3.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import type { ApiKeyService } from './api-key.service.ts';
import { loadActor } from './auth.service.ts';

/** TC3 allows this much clock difference; there is no nonce, so the window is the replay limit. */
export const tc3MaxSkewSeconds = 5 * 60;

export interface SignedManagementRequest {
  authorization: Tc3Authorization;
  timestampSeconds: number;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
}

/** Authenticates management API calls: the API key's SecretKey checks the signature; its user acts. */
export class ManagementAuthService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly apiKeys: ApiKeyService,
  ) {}

  async authenticate(request: SignedManagementRequest): Promise<Actor> {
    const nowSeconds = Math.floor(this.clock.nowMs() / 1000);
    if (Math.abs(nowSeconds - request.timestampSeconds) > tc3MaxSkewSeconds) {
      throw new AppError('AuthFailure.SignatureExpire', 'X-TC-Timestamp is more than 5 minutes away from the server time');
    }
    if (request.authorization.date !== tc3Date(request.timestampSeconds)) {
      throw new AppError('AuthFailure.SignatureFailure', 'The credential scope date is not the UTC date of X-TC-Timestamp');
    }
    const key = await this.apiKeys.resolve(request.authorization.secretId);
    if (!key) throw new AppError('AuthFailure.SecretIdNotFound', 'The SecretId does not exist or is revoked');
    const valid = verifyTc3Signature({
      authorization: request.authorization,
      method: request.method,
      path: request.path,
      query: request.query,
      headers: request.headers,
      body: request.rawBody,
      timestampSeconds: request.timestampSeconds,
      secretKey: key.secretKey,
    });
    if (!valid) throw new AppError('AuthFailure.SignatureFailure', 'The request signature does not match');
    await this.apiKeys.markUsed(key.keyId);
    return loadActor(this.db, key.user, this.clock.nowMs());
  }
}
