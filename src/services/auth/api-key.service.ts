import type { SecretBox } from '../../crypto/secret-box.ts';
import type { DatabaseClient } from '../../db/schema.ts';
import type { Actor } from '../../domain/access.ts';
import type { Clock } from '../../domain/clock.ts';
import { forbidden, notFound } from '../../domain/errors.ts';
import { randomString } from '../../domain/ids.ts';
import { apiKeyRepository, type ApiKeyRow } from '../../repositories/api-key.repository.ts';
import { userRepository, type UserRow } from '../../repositories/user.repository.ts';
import { recordAudit } from '../tenancy/index.ts';
import { sealingContexts } from '../../domain/sealing-contexts.ts';

export interface ApiKeyView {
  id: string;
  secretId: string;
  description: string;
  status: 'active' | 'revoked';
  createdAt: number;
  lastUsedAt: number | null;
}

export const toApiKeyView = (row: ApiKeyRow): ApiKeyView => ({
  id: row.id,
  secretId: row.secret_id,
  description: row.description,
  status: row.status,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

/** Each user's own management-API keys. The SecretKey is shown once, and kept encrypted for TC3 checks. */
export class ApiKeyService {
  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
  ) {}

  async create(actor: Actor, description: string): Promise<ApiKeyView & { secretKey: string }> {
    if (!actor.userId) throw forbidden('Only users hold API keys');
    const userId = actor.userId;
    const now = this.clock.nowMs();
    const secretId = `AKID${randomString(32)}`;
    const secretKey = randomString(32);
    const row: ApiKeyRow = {
      id: `key_${randomString(20).toLowerCase()}`,
      user_id: userId,
      secret_id: secretId,
      secret_key_encrypted: this.secretBox.seal(secretKey, sealingContexts.apiKeySecret(secretId)),
      description,
      status: 'active',
      created_at: now,
      last_used_at: null,
    };
    await this.db.transaction().execute(async (trx) => {
      await apiKeyRepository.insert(trx, row);
      await recordAudit(trx, this.clock, actor, {
        action: 'api_key.create',
        targetType: 'api_key',
        targetId: row.id,
        after: { secretId, description },
      });
    });
    return { ...toApiKeyView(row), secretKey };
  }

  async listOwn(actor: Actor): Promise<ApiKeyView[]> {
    if (!actor.userId) return [];
    return (await apiKeyRepository.listByUser(this.db, actor.userId)).map(toApiKeyView);
  }

  async revoke(actor: Actor, id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const row = await apiKeyRepository.findById(trx, id);
      if (!row || row.user_id !== actor.userId) throw notFound('API key');
      await apiKeyRepository.revoke(trx, id);
      await recordAudit(trx, this.clock, actor, {
        action: 'api_key.revoke',
        targetType: 'api_key',
        targetId: id,
        before: { status: row.status },
        after: { status: 'revoked' },
      });
    });
  }

  /** For the management API's signature check: the active key's owner and its SecretKey. */
  async resolve(secretId: string): Promise<{ user: UserRow; secretKey: string; keyId: string } | undefined> {
    const row = await apiKeyRepository.findBySecretId(this.db, secretId);
    if (!row || row.status !== 'active') return undefined;
    const user = await userRepository.findById(this.db, row.user_id);
    if (!user || user.status !== 'active') return undefined;
    return { user, secretKey: this.secretBox.open(row.secret_key_encrypted, sealingContexts.apiKeySecret(secretId)), keyId: row.id };
  }

  markUsed(keyId: string) {
    return apiKeyRepository.touch(this.db, keyId, this.clock.nowMs());
  }
}
